"""The records that flow through the delivery job, as plain picklable tuples.

Flink moves them between the JVM and Python workers; named tuples keep the
code readable at no serialization cost beyond a tuple's.
"""

from __future__ import annotations

from typing import NamedTuple

from jobs.warehouse.statuses import Status

CAP_DEFERRAL = "daily cap reached"


class GroupKey(NamedTuple):
    """What one provider request may hold: one run, channel, variant and template."""

    run_id: str
    campaign_id: str
    channel: str
    variant_id: str
    template_id: str | None
    is_holdout: bool


class MessageEvent(NamedTuple):
    message_id: str
    customer_id: str
    address: str | None
    customer_variables: dict[str, str | None]  # the most specific layer; see `EventChunk.base`
    queued_at_ms: int
    is_recorded: bool  # message_sends already has a (pending) row for it
    time_zone: str | None = None  # the customer's (none: the retailer's)
    send_after_ms: int | None = None  # not before (send-time optimization)


class EventChunk(NamedTuple):
    """Events of one retailer and group, at most a batch's worth, from one file.

    `base` holds every variable layer but the customer's (template, retailer,
    campaign): the same for the whole group, so it travels once per chunk.
    """

    retailer_id: str
    group: GroupKey
    events: tuple[MessageEvent, ...]
    base: dict[str, str]

    @property
    def oldest_ms(self) -> int:
        return min(event.queued_at_ms for event in self.events)


class Outcome(NamedTuple):
    """What happened to one message; becomes its message_sends row."""

    retailer_id: str
    message_id: str
    run_id: str
    campaign_id: str
    customer_id: str
    channel: str
    variant_id: str
    is_holdout: bool
    template_id: str | None
    status: Status
    reason: str | None
    attempts: int
    dispatch_id: str | None
    batch_size: int
    queued_at_ms: int
    first_attempt_at_ms: int | None
    completed_at_ms: int
    is_recorded: bool
    segments: int | None = None  # what a text was billed as
    eligible_at_ms: int | None = None  # deferred until (quiet hours, send time)

    @property
    def send_latency_ms(self) -> int | None:
        if self.first_attempt_at_ms is None:
            return None
        return self.completed_at_ms - self.first_attempt_at_ms


class BatchReport(NamedTuple):
    """One sent (or decided) batch, as the job collects it."""

    retailer_id: str
    batch_size: int
    requests: int
    throttled: int
    outcomes: tuple[Outcome, ...]
    bucket_wait_s: float = 0.0  # time its requests waited for the workspace's rate limit
