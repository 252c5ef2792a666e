"""Groups of at most 50 recipients per (retailer, run, channel, variant, template).

A batch leaves when it is full, when its oldest event has waited `max_wait_ms`,
or when the input ends. The last one matters: in a bounded Flink job pending
processing-time timers are dropped at end of input, so the Flink wrapper
(`flink.RebatchFunction`) also drains on the final watermark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.delivery.records import EventChunk, GroupKey, MessageEvent
from jobs.providers import MAX_RECIPIENTS_PER_BATCH


@dataclass
class _Pending:
    base: dict[str, str]
    since_ms: int
    events: list[MessageEvent] = field(default_factory=list)


@dataclass
class Rebatcher:
    """The buffers of one retailer (one Flink key); pure, so it is tested without Flink."""

    retailer_id: str
    max_size: int = MAX_RECIPIENTS_PER_BATCH
    max_wait_ms: int = 1_000
    _pending: dict[GroupKey, _Pending] = field(default_factory=dict)

    def add(self, chunk: EventChunk, now_ms: int) -> list[EventChunk]:
        """Buffer a chunk; return the batches it completes (a full chunk passes straight on)."""
        if chunk.retailer_id != self.retailer_id:
            raise ValueError(
                f"a chunk of retailer '{chunk.retailer_id}' reached the rebatcher of "
                f"'{self.retailer_id}'; batches must never mix retailers"
            )
        pending = self._pending.get(chunk.group)
        if pending is None and len(chunk.events) == self.max_size:
            return [chunk]
        if pending is None:
            pending = self._pending[chunk.group] = _Pending(chunk.base, now_ms)
        pending.events.extend(chunk.events)
        full = []
        while len(pending.events) >= self.max_size:
            full.append(self._batch(chunk.group, pending, pending.events[: self.max_size]))
            del pending.events[: self.max_size]
        if not pending.events:
            del self._pending[chunk.group]
        return full

    def due(self, now_ms: int) -> list[EventChunk]:
        """Partial batches that have waited long enough."""
        late = [g for g, p in self._pending.items() if now_ms - p.since_ms >= self.max_wait_ms]
        return [self._flush(group) for group in late]

    def drain(self) -> list[EventChunk]:
        """Everything still buffered: the end-of-input flush."""
        return [self._flush(group) for group in list(self._pending)]

    @property
    def buffered(self) -> int:
        return sum(len(p.events) for p in self._pending.values())

    def _flush(self, group: GroupKey) -> EventChunk:
        pending = self._pending.pop(group)
        return self._batch(group, pending, pending.events)

    def _batch(self, group: GroupKey, pending: _Pending, events: list[MessageEvent]) -> EventChunk:
        return EventChunk(self.retailer_id, group, tuple(events), pending.base)
