"""The simulator's model of a provider: workspaces, limits, engagement, faults.

Everything here is plain Python driven by the HTTP handlers in `app.py`;
randomness is seeded per message id so engagement is reproducible.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from liquid import Environment, StrictUndefined
from liquid.template import BoundTemplate

RenderMode = Literal["full", "sample", "off"]
LIQUID = Environment(undefined=StrictUndefined)


@dataclass
class TokenBucket:
    """Requests per second with a burst; `take` says how long to wait when empty."""

    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def take(self) -> float:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class Faults:
    """Injected misbehaviour; every field can be changed at run time."""

    latency_ms: float = 0.0  # fixed latency added to each request
    latency_jitter_ms: float = 0.0  # plus an exponential tail with this mean
    error_rate: float = 0.0  # share of requests answered 500
    timeout_rate: float = 0.0  # share of requests held for `timeout_hold_s`
    timeout_hold_s: float = 30.0
    outage: bool = False  # every request answered 503
    throttle_burst: int = 0  # the next N requests answered 429
    # Answers a provider should never give, to test that nothing trusts their shape:
    send_without_results: bool = False  # sends accepted, 200 without per-recipient results
    export_html_page: bool = False  # the export answers 200 with an HTML error page
    export_without_cursor: bool = False  # export pages lack `next_cursor`

    def update(self, changes: dict[str, Any]) -> None:
        """All of `changes` or none: a bad value must not leave half a fault set."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        checked = {name: _fault_value(name, getattr(self, name), v) for name, v in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)


def _fault_value(name: str, current: object, value: object) -> Any:
    """JSON's own types only: the string "false" is not false (it used to switch an
    outage on), and a rate is a share between 0 and 1."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} is true or false (JSON booleans), not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} is a number, not {value!r}")
    if value < 0 or (name.endswith("_rate") and value > 1):
        share = " between 0 and 1" if name.endswith("_rate") else " of 0 or more"
        raise ValueError(f"{name} is a number{share}, not {value!r}")
    if isinstance(current, int) and value != int(value):
        raise ValueError(f"{name} is a whole number, not {value!r}")
    return type(current)(value)  # type: ignore[call-arg]


@dataclass
class EngagementRates:
    """Probabilities of each event for an accepted message; variants may differ."""

    bounced_hard: float = 0.004
    bounced_soft: float = 0.004
    opened: float = 0.35
    clicked: float = 0.08  # share of delivered messages that are clicked (implies opened)
    unsubscribed: float = 0.002
    complained: float = 0.0005
    duplicate_rate: float = 0.02  # share of events exported twice (at-least-once)
    # Each customer has a hidden hour of the day (UTC) they read messages at. With a lift
    # above 0, a message that arrives within an hour of it is opened (1 + lift) times as
    # often, one that arrives at another hour (1 - lift / 4) times, and opens happen at
    # that hour: the history send-time optimization learns from. 0: no time of day.
    preferred_hour_lift: float = 0.0

    def for_variant(
        self, overrides: dict[str, dict[str, float]], variant: str | None
    ) -> EngagementRates:
        return EngagementRates(**{**asdict(self), **overrides.get(variant or "", {})})

    def scaled(self, factor: float) -> EngagementRates:
        """The same rates with opens and clicks scaled by `factor` (at most 1)."""
        if factor == 1.0:
            return self
        return replace(
            self, opened=min(1.0, self.opened * factor), clicked=min(1.0, self.clicked * factor)
        )


def utc_now() -> datetime:
    """The simulator's default clock."""
    return datetime.now(UTC)


@dataclass
class PoolCap:
    """The daily volume cap of an IP pool (warming); None means uncapped."""

    daily_cap: int | None = None
    day: str = ""
    sent: int = 0

    def remaining(self, today: date) -> int | None:
        """What is left of today's cap (the count restarts each UTC day)."""
        if self.day != today.isoformat():
            self.day, self.sent = today.isoformat(), 0
        return None if self.daily_cap is None else max(0, self.daily_cap - self.sent)


@dataclass
class StoredTemplate:
    template_id: str
    channel: str
    fields: dict[str, str]
    required_properties: list[str]
    compiled: dict[str, BoundTemplate]

    @classmethod
    def compile(cls, channel: str, body: dict[str, Any]) -> StoredTemplate:
        """Liquid syntax errors surface here, at create/update time, as a 400."""
        source = {str(k): str(v) for k, v in dict(body["fields"]).items()}
        return cls(
            str(body["template_id"]),
            channel,
            source,
            [str(p) for p in body.get("required_properties", [])],
            {name: LIQUID.from_string(text) for name, text in source.items()},
        )

    def render(self, properties: dict[str, Any]) -> dict[str, str]:
        return {name: template.render(**properties) for name, template in self.compiled.items()}

    def public(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id,
            "fields": self.fields,
            "required_properties": self.required_properties,
        }


@dataclass(kw_only=True)
class ProviderAccount:
    """What the simulator keeps of every account it serves, workspace or SMS account:
    injected faults, accepted messages and their events, counters, request times."""

    faults: Faults = field(default_factory=Faults)
    # How many requests named each message id (a repeat is a retry or a duplicate).
    requests_per_message: Counter[str] = field(default_factory=Counter)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    expanded_messages: int = 0
    counters: Counter[str] = field(default_factory=Counter)
    # Arrival time (monotonic) of every authenticated request, to audit client rate limits.
    request_times: list[float] = field(default_factory=list)


@dataclass
class WorkspaceState(ProviderAccount):
    workspace_id: str
    retailer_id: str
    api_key: str
    ip_pool: str
    limiter: TokenBucket
    sending_identity: str | None = None  # the From address of its email
    # Braze drops no repeated message id: a repeat is a second email (`delivered_twice`).
    # True models a provider that honours an idempotency key (`duplicate` results).
    deduplicates: bool = False
    templates: dict[tuple[str, str], StoredTemplate] = field(default_factory=dict)
    sent_ids: set[str] = field(default_factory=set)


def sent_event(message: dict[str, Any]) -> dict[str, Any]:
    """What Braze Currents calls a send event: one per accepted message, with the message's
    id and the request's dispatch id (a message sent twice has two)."""
    return {
        "event_id": str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{message['message_id']}/sent/{message['dispatch_id']}")
        ),
        "message_id": message["message_id"],
        "customer_id": message["customer_id"],
        "channel": message["channel"],
        "event_type": "sent",
        "occurred_at": message["accepted_at"],
        "variant_id": message.get("variant_id"),
        "campaign_run_id": message.get("campaign_run_id"),
        "dispatch_id": message["dispatch_id"],
    }


# When customers like to read (UTC hours: North American evenings and mornings), drawn
# per customer from this mix; a repeated hour weighs more.
READING_HOURS = [0, 0, 1, 1, 1, 2, 2, 3, 12, 13, 13, 14, 14, 15, 17, 19, 21, 23]


def preferred_hour(customer_key: str) -> int:
    """A customer's hidden reading hour (UTC), fixed by who they are."""
    digest = hashlib.sha256(f"reading-hour/{customer_key}".encode()).digest()
    return READING_HOURS[int.from_bytes(digest[:4], "big") % len(READING_HOURS)]


def _hours_apart(a: int, b: int) -> int:
    return min((a - b) % 24, (b - a) % 24)


def _reading_time(sent_at: datetime, hour: int, minute: int) -> datetime:
    """The first time at the customer's reading hour after `sent_at` (or just after it,
    when it arrived in that hour)."""
    if _hours_apart(sent_at.hour, hour) <= 1:
        return sent_at + timedelta(minutes=minute)
    reading = sent_at.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return reading if reading > sent_at else reading + timedelta(days=1)


def engagement_events(message: dict[str, Any], rates: EngagementRates) -> list[dict[str, Any]]:
    """The events one accepted message produces, reproducible from its message id."""
    draw = random.Random(hashlib.sha256(message["message_id"].encode()).digest()).random
    sent_at = datetime.fromisoformat(message["accepted_at"])
    reading_at = None
    if rates.preferred_hour_lift:
        hour = preferred_hour(f"{message.get('workspace_id')}/{message['customer_id']}")
        near = _hours_apart(sent_at.astimezone(UTC).hour, hour) <= 1
        lift = rates.preferred_hour_lift
        rates = rates.scaled(1 + lift if near else max(0.0, 1 - lift / 4))
        reading_at = _reading_time(sent_at.astimezone(UTC), hour, int(draw() * 50))
    outcome = draw()
    if outcome < rates.bounced_hard:
        types = ["bounced_hard"]
    elif outcome < rates.bounced_hard + rates.bounced_soft:
        types = ["bounced_soft"]
    else:
        types = ["delivered"]
        clicked = draw() < rates.clicked
        if clicked or draw() < max(0.0, rates.opened - rates.clicked):
            types.append("opened")
        if clicked:
            types.append("clicked")
        if draw() < rates.unsubscribed:
            types.append("unsubscribed")
        if draw() < rates.complained:
            types.append("complained")
    return [sent_event(message)] + [
        {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message['message_id']}/{kind}")),
            "message_id": message["message_id"],
            "customer_id": message["customer_id"],
            "channel": message["channel"],
            "event_type": kind,
            "occurred_at": (
                reading_at + timedelta(minutes=step)
                if reading_at is not None and kind in ("opened", "clicked")
                else sent_at + timedelta(minutes=5 * step + 1)
            ).isoformat(),
            "variant_id": message.get("variant_id"),
            "campaign_run_id": message.get("campaign_run_id"),
        }
        for step, kind in enumerate(types)
    ]


@dataclass
class SmsRates:
    """What becomes of an accepted text: delivery receipts and shortened-link clicks."""

    undelivered: float = 0.02  # 30007: filtered by the carrier (soft)
    failed: float = 0.01  # 30003: unreachable handset (hard)
    clicked: float = 0.06
    duplicate_rate: float = 0.02  # callbacks are retried: at-least-once


@dataclass
class SmsAccountState(ProviderAccount):
    """A retailer's account at the Twilio-style provider: one sender number, its rate."""

    account_sid: str
    retailer_id: str
    auth_token: str
    sender: str
    limiter: TokenBucket  # the sender's messages per second
    # Numbers that replied STOP: the provider refuses to text them (21610) from then on.
    opted_out: set[str] = field(default_factory=set)


def sms_events(message: dict[str, Any], rates: SmsRates) -> list[dict[str, Any]]:
    """The status callbacks of one accepted text, reproducible from its message id (the
    SID is new every time)."""
    seed = message["message_id"] or message["sid"]
    draw = random.Random(hashlib.sha256(f"sms/{seed}".encode()).digest()).random
    accepted = datetime.fromisoformat(message["accepted_at"])
    outcome = draw()
    steps: list[tuple[str, int | None]]
    if outcome < rates.failed:
        steps = [("failed", 30003)]
    elif outcome < rates.failed + rates.undelivered:
        steps = [("undelivered", 30007)]
    else:
        steps = [("delivered", None)]
        if draw() < rates.clicked:
            steps.append(("clicked", None))
    return [
        {
            "type": "status",
            "EventSid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{message['sid']}/{status}")),
            "AccountSid": message["account_sid"],
            "MessageSid": message["sid"],
            "MessageStatus": status,
            "ErrorCode": code,
            "Timestamp": (accepted + timedelta(seconds=10 + 300 * step)).isoformat(),
            "StatusCallback": message["status_callback"],
        }
        for step, (status, code) in enumerate([("queued", None), ("sent", None), *steps])
    ]
