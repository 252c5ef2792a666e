"""Per retailer workspace: daily volume and failing fast. (The request rate is
paced by jobs/providers/pacing.py, shared with the template deploy.)

Both live, with the workspace's token bucket, in the send operator's subtask
that owns the retailer: the job keys by retailer and the send operator is
chained to the rebatcher, so a retailer's batches all pass through one subtask
and one set of these.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class DailyCap:
    """Email the retailer may still send today (warming plan); None means uncapped."""

    remaining: int | None

    def reserve(self, wanted: int) -> int:
        if self.remaining is None:
            return wanted
        granted = min(wanted, self.remaining)
        self.remaining -= granted
        return granted

    def release(self, unused: int) -> None:
        if self.remaining is not None:
            self.remaining += unused


@dataclass
class CircuitBreaker:
    """Stops calling a workspace that keeps failing, so it cannot hold the others' slots.

    Closed: calls go through. After `threshold` consecutive failures it opens
    for `cooldown_s`; then one probe is let through (half-open), whose success
    closes it and whose failure opens it again.
    """

    threshold: int = 5
    cooldown_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _probing: bool = field(default=False, repr=False)

    def allows(self) -> bool:
        if self.opened_at is None:
            return True
        if self.clock() - self.opened_at < self.cooldown_s or self._probing:
            return False
        self._probing = True
        return True

    def succeeded(self) -> None:
        self.failures, self.opened_at, self._probing = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        self._probing = False
        if self.failures >= self.threshold or self.opened_at is not None:
            self.opened_at = self.clock()

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None
