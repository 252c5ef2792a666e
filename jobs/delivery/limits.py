"""Politeness per retailer workspace: request rate, daily volume, and failing fast.

All three live in the send operator's subtask that owns the retailer: the job
keys by retailer and the send operator is chained to the rebatcher, so a
retailer's batches all pass through one subtask and one set of these.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from jobs.config import RetailerConfig

# The simulator (and a real provider) counts requests on arrival; scheduling
# jitter on a busy machine can bring requests closer than they left. Stay just
# under the rate, and keep half the burst in reserve for exactly that jitter.
RATE_SAFETY = 0.97
BURST_SHARE = 0.5


class TokenBucket:
    """Requests per second with a burst, as reservations: waiters leave in arrival order.

    Tokens may go negative: each caller takes its token at once and sleeps
    off the debt, so no lock is held while waiting and a Retry-After simply
    adds debt.
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._updated = clock()

    @classmethod
    def for_retailer(cls, retailer: RetailerConfig) -> TokenBucket:
        limit = retailer.rate_limit
        return cls(limit.requests_per_second * RATE_SAFETY, max(1, int(limit.burst * BURST_SHARE)))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take one token now; returns how long to wait before using it."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    def hold_off(self, seconds: float) -> None:
        """The provider said to wait (Retry-After): spend the tokens that time would bring."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate


@dataclass
class DailyCap:
    """Messages the retailer may still send today (warming plan); None means uncapped."""

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
