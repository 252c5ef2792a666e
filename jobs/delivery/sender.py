"""One batch through the provider: pause, caps, rate limit, retries, and an outcome per message.

Retryable failures (429, 5xx, timeouts) back off exponentially with jitter and
honour Retry-After; a workspace that keeps failing trips its circuit breaker
and its batches are deferred at once instead of holding send slots that other
retailers need. Nothing transient becomes a permanent failure: what could not
be sent now is recorded as deferred and a later run sends it. Permanent
errors (validation, authentication) are recorded per recipient.

Every request is claimed in the intent log before it leaves and its answer is
recorded after (`intents.py`). A request left without an answer (a timeout, a
dropped connection) is retried only where the provider drops repeated message ids;
elsewhere it is `in_doubt` until the provider's export tells (`reconcile.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from jobs.config import ConfigError
from jobs.config.models import QuietHours
from jobs.delivery.controls import PauseWatcher
from jobs.delivery.lease import LeaseLostError
from jobs.delivery.limits import CircuitBreaker, DailyCap
from jobs.delivery.records import (
    CAP_DEFERRAL,
    BatchReport,
    EventChunk,
    MessageEvent,
    Outcome,
    Status,
)
from jobs.delivery.timing import not_before, zone_of
from jobs.providers import (
    AsyncProvider,
    PermanentError,
    Recipient,
    RecipientResult,
    RetryableError,
    SendBatch,
    UnclearAnswerError,
)
from jobs.providers.base import CHANNELS
from jobs.providers.pacing import RetryPolicy, TokenBucket
from jobs.providers.routing import SMS_ROUTE, ProviderRouter, route_of
from jobs.templates.variables import message_variables
from jobs.warehouse.statuses import IN_DOUBT

# Push sends through no sending IP: nothing to reserve, nothing to release.
UNCAPPED = DailyCap(None)


@dataclass
class SendLane:
    """Everything the sender keeps per retailer workspace: client, limits, breaker."""

    client: AsyncProvider
    # Requests per second of the workspace; None where the client paces each of its
    # requests itself (an SMS provider: one request a text, at the sender's rate).
    bucket: TokenBucket | None
    cap: DailyCap
    breaker: CircuitBreaker
    # Requests open at once; a batch waits here, not in the client, so that a
    # pause or an open breaker is checked right before the request leaves.
    slots: asyncio.Semaphore
    # Per channel, the local hours nothing is sent, and the zone of customers without one.
    quiet_hours: Mapping[str, QuietHours | None] = field(default_factory=dict)
    time_zone: str = "UTC"

    def cap_for(self, channel: str) -> DailyCap:
        """The daily cap protects the sending IPs' reputation: email only."""
        return self.cap if channel == "email" else UNCAPPED


def new_lane(
    router: ProviderRouter,
    retailer_id: str,
    route: str,
    *,
    daily_cap: int | None,
    breaker: CircuitBreaker,
    max_in_flight: int,
) -> SendLane:
    """A retailer's workspace (email and push: its request rate, the email cap) or its
    SMS account (the client paces each text at the sender's rate; no sending IPs)."""
    retailer = router.conf.retailer(retailer_id)
    if route == SMS_ROUTE:
        client: AsyncProvider = router.async_sms_for_retailer(retailer_id)
        bucket, cap = None, UNCAPPED
    else:
        client = router.async_for_retailer(retailer_id)
        bucket = TokenBucket.for_retailer(retailer)
        cap = DailyCap(daily_cap)
    return SendLane(
        client,
        bucket,
        cap,
        breaker,
        asyncio.Semaphore(max_in_flight),
        quiet_hours={channel: retailer.quiet_hours_for(channel) for channel in CHANNELS},
        time_zone=retailer.timezone,
    )


class SendLog(Protocol):
    """Where claims and outcomes become durable (`intents.IntentLog`)."""

    async def claim(self, claims: list[Outcome], attempt: int) -> None: ...
    def record(self, outcomes: list[Outcome], attempt: int) -> None: ...


def is_uncertain(error: RetryableError) -> bool:
    """No answer, a gateway's timeout, or an acceptance without per-recipient results:
    the provider may have taken the request."""
    return isinstance(error, UnclearAnswerError) or error.status is None or error.status == 504


@dataclass
class _Attempt:
    attempts: int = 0
    throttled: int = 0
    bucket_wait_s: float = 0.0  # waiting for the workspace's rate limit to allow a request
    first_at_ms: int | None = None
    results: list[RecipientResult] | None = None
    status: Status = "sent"
    reason: str | None = None


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class BatchSender:
    """Sends batches of any retailer; `lane_for(retailer, route)` builds the state of a
    retailer's workspace or SMS account (`routing.route_of`) on first use."""

    lane_for: Callable[[str, str], SendLane]
    pauses: PauseWatcher | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    intents: SendLog | None = None
    # What "now" is for quiet hours and send times (tests and replays inject one).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _lanes: dict[tuple[str, str], SendLane] = field(default_factory=dict)

    def lane(self, retailer_id: str, channel: str) -> SendLane:
        key = (retailer_id, route_of(channel))
        if key not in self._lanes:
            self._lanes[key] = self.lane_for(*key)
        return self._lanes[key]

    def _paused(self, batch: EventChunk) -> bool:
        return self.pauses is not None and self.pauses.is_paused(
            batch.retailer_id, batch.group.campaign_id
        )

    async def deliver(self, batch: EventChunk) -> BatchReport:
        """Decide and, where allowed, send one batch; every message gets exactly one outcome."""
        if batch.group.is_holdout:
            return _report(batch, _decided(batch, batch.events, "suppressed", "holdout"), 0, 0)
        if self._paused(batch):
            return _report(batch, _decided(batch, batch.events, "paused", "campaign paused"), 0, 0)
        try:
            ws = self.lane(batch.retailer_id, batch.group.channel)
        except ConfigError as error:
            # Events of a retailer this deployment does not know (yet): nothing is
            # sent, and a run after its configuration lands picks them up.
            reason = f"retailer not configured: {error}"
            return _report(batch, _decided(batch, batch.events, "deferred", reason), 0, 0)
        outcomes, due = self._not_yet(ws, batch)
        if not due:
            return _report(batch, outcomes, 0, 0)
        if not ws.breaker.allows():
            reason = "workspace unavailable (circuit open)"
            return _report(batch, outcomes + _decided(batch, due, "deferred", reason), 0, 0)
        cap = ws.cap_for(batch.group.channel)
        allowed = cap.reserve(len(due))
        sendable, over_cap = due[:allowed], due[allowed:]
        outcomes += _decided(batch, over_cap, "deferred", CAP_DEFERRAL)
        if not sendable:
            return _report(batch, outcomes, 0, 0)
        attempt = await self._send_with_retries(ws, batch._replace(events=sendable))
        if attempt.results is None and attempt.status != IN_DOUBT:
            cap.release(len(sendable))  # nothing left; a request in doubt still counts
        answered = _sent_outcomes(batch, sendable, attempt)
        if self.intents is not None and attempt.attempts:
            self.intents.record([o for o in answered if o.status != IN_DOUBT], attempt.attempts)
        outcomes.extend(answered)
        requests = _requests(attempt)
        return _report(batch, outcomes, requests, attempt.throttled, attempt.bucket_wait_s)

    def _not_yet(
        self, ws: SendLane, batch: EventChunk
    ) -> tuple[list[Outcome], tuple[MessageEvent, ...]]:
        """Messages inside their quiet hours or before their send time, deferred until
        they become eligible; and the messages that may go now."""
        window = ws.quiet_hours.get(batch.group.channel)
        if window is None and all(e.send_after_ms is None for e in batch.events):
            return [], batch.events
        now = self.clock()
        waiting: list[Outcome] = []
        due: list[MessageEvent] = []
        for event in batch.events:
            wait = not_before(
                now,
                zone=zone_of(event.time_zone, ws.time_zone),
                window=window,
                send_after=_instant(event.send_after_ms),
            )
            if wait is None:
                due.append(event)
            else:
                eligible_ms = int(wait[0].timestamp() * 1000)
                waiting.append(
                    _outcome(batch, event, "deferred", wait[1], eligible_at_ms=eligible_ms)
                )
        return waiting, tuple(due)

    async def _send_with_retries(self, ws: SendLane, batch: EventChunk) -> _Attempt:
        request = _send_batch(batch)
        attempt = _Attempt()
        while True:
            try:
                async with ws.slots:
                    waiting_since = time.monotonic()
                    if ws.bucket is not None:
                        await ws.bucket.acquire()
                    attempt.bucket_wait_s += time.monotonic() - waiting_since
                    if self._paused(batch):
                        attempt.status, attempt.reason = "paused", "campaign paused"
                        return attempt
                    attempt.attempts += 1
                    attempt.first_at_ms = attempt.first_at_ms or now_ms()
                    if not await self._claimed(batch, attempt):
                        return attempt
                    attempt.results = await ws.client.send_batch(request)
                _judge(ws.breaker, attempt.results)
                return attempt
            except PermanentError as error:
                attempt.status, attempt.reason = "failed", str(error)
                return attempt
            except RetryableError as error:
                if not ws.client.deduplicates and is_uncertain(error):
                    # a repeat could be a second email: the provider's export decides
                    attempt.status = IN_DOUBT
                    attempt.reason = f"no answer ({error}): the provider's export decides"
                    return attempt
                self._not_accepted(batch, attempt, error)
                if self.policy.is_long_wait(error.retry_after):
                    # e.g. the provider's daily volume cap: come back in a later run.
                    attempt.status, attempt.reason = "deferred", f"provider asks to wait: {error}"
                    return attempt
                if error.status == 429 and ws.bucket is not None:
                    attempt.throttled += 1
                    ws.bucket.slow_down()
                    ws.bucket.hold_off(error.retry_after or 1.0)
                else:
                    ws.breaker.failed()  # rate limiting is politeness, not an outage
                if attempt.attempts >= self.policy.max_attempts or not ws.breaker.allows():
                    attempt.status = "deferred"
                    attempt.reason = f"retries exhausted after {attempt.attempts}: {error}"
                    return attempt
                await asyncio.sleep(self.policy.delay(attempt.attempts, error.retry_after))

    async def _claimed(self, batch: EventChunk, attempt: _Attempt) -> bool:
        """Claim the attempt in the intent log before it leaves; False: send nothing."""
        if self.intents is None:
            return True
        claims = [
            _outcome(
                batch,
                event,
                IN_DOUBT,
                "request leaving, answer not recorded yet",
                attempts=attempt.attempts,
                first_at_ms=attempt.first_at_ms,
            )
            for event in batch.events
        ]
        try:
            await self.intents.claim(claims, attempt.attempts)
        except LeaseLostError as error:
            attempt.status, attempt.reason = "deferred", f"not sent: {error}"
            return False
        return True

    def _not_accepted(self, batch: EventChunk, attempt: _Attempt, error: RetryableError) -> None:
        """An answer that the request was refused closes that attempt's claim."""
        if self.intents is not None:
            reason = f"not accepted: {error}"
            self.intents.record(_decided(batch, batch.events, "deferred", reason), attempt.attempts)


def _requests(attempt: _Attempt) -> int:
    """Requests the batch took: one an attempt, or, where each text is a request of its
    own, the sum of what each recipient took."""
    counted = [r.requests for r in attempt.results or () if r.requests is not None]
    return sum(counted) if counted else attempt.attempts


def _instant(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _judge(breaker: CircuitBreaker, results: list[RecipientResult]) -> None:
    """A batch that the provider answered counts as success, unless it left it all
    unsent or unanswered (a provider of one request a text that is not answering)."""
    if results and all(r.status in ("not_sent", "unknown") for r in results):
        breaker.failed()
    else:
        breaker.succeeded()


# What each recipient's answer makes of its message.
RESULT_STATUS: dict[str, Status] = {
    "accepted": "sent",
    "duplicate": "sent",
    "rejected": "failed",
    "not_sent": "deferred",
    "unknown": IN_DOUBT,
}


def _send_batch(batch: EventChunk) -> SendBatch:
    group = batch.group
    return SendBatch(
        retailer_id=batch.retailer_id,
        channel=group.channel,  # type: ignore[arg-type]
        template_id=group.template_id or "",
        recipients=tuple(
            Recipient(
                e.message_id,
                batch.retailer_id,
                e.customer_id,
                e.address or "",
                message_variables(batch.base, e.customer_variables),
            )
            for e in batch.events
        ),
        campaign_run_id=group.run_id,
        variant_id=group.variant_id,
    )


def _outcome(
    batch: EventChunk,
    event: MessageEvent,
    status: Status,
    reason: str | None,
    *,
    attempts: int = 0,
    dispatch_id: str | None = None,
    first_at_ms: int | None = None,
    segments: int | None = None,
    eligible_at_ms: int | None = None,
) -> Outcome:
    group = batch.group
    return Outcome(
        retailer_id=batch.retailer_id,
        message_id=event.message_id,
        run_id=group.run_id,
        campaign_id=group.campaign_id,
        customer_id=event.customer_id,
        channel=group.channel,
        variant_id=group.variant_id,
        is_holdout=group.is_holdout,
        template_id=group.template_id,
        status=status,
        reason=reason,
        attempts=attempts,
        dispatch_id=dispatch_id,
        batch_size=len(batch.events),
        queued_at_ms=event.queued_at_ms,
        first_attempt_at_ms=first_at_ms,
        completed_at_ms=now_ms(),
        segments=segments,
        eligible_at_ms=eligible_at_ms,
        is_recorded=event.is_recorded,
    )


def _decided(
    batch: EventChunk, events: tuple[MessageEvent, ...], status: Status, reason: str
) -> list[Outcome]:
    return [_outcome(batch, event, status, reason) for event in events]


def _sent_outcomes(
    batch: EventChunk, events: tuple[MessageEvent, ...], attempt: _Attempt
) -> list[Outcome]:
    if attempt.results is None:
        return [
            _outcome(
                batch,
                e,
                attempt.status,
                attempt.reason,
                attempts=attempt.attempts,
                first_at_ms=attempt.first_at_ms,
            )
            for e in events
        ]
    return [
        _outcome(
            batch,
            event,
            RESULT_STATUS[result.status],
            None if result.status in ("accepted", "duplicate") else result.reason,
            attempts=attempt.attempts if result.requests is None else result.requests,
            dispatch_id=result.dispatch_id,
            first_at_ms=attempt.first_at_ms,
            segments=result.segments,
        )
        for event, result in zip(events, attempt.results, strict=True)
    ]


def _report(
    batch: EventChunk,
    outcomes: list[Outcome],
    requests: int,
    throttled: int,
    bucket_wait_s: float = 0.0,
) -> BatchReport:
    return BatchReport(
        batch.retailer_id, len(batch.events), requests, throttled, tuple(outcomes), bucket_wait_s
    )
