"""Politeness per retailer workspace: request rate, daily volume, and failing fast.

All three live in the send operator's subtask that owns the retailer: the job
keys by retailer and the send operator is chained to the rebatcher, so a
retailer's batches all pass through one subtask and one set of these.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from jobs.config import RetailerConfig

# The simulator (and a real provider) counts requests on arrival; scheduling
# jitter on a busy machine can bring requests closer than they left. Stay just
# under the rate, and keep half the burst in reserve for exactly that jitter. (At 99%
# and a quarter of the burst, `bench delivery` saw 26 429s over 746 requests.)
RATE_SAFETY = 0.97
_EPSILON = 1e-9
BURST_SHARE = 0.5


class TokenBucket:
    """Requests per second with a burst; waiters are served one at a time, in order.

    A waiter takes a token only once the clock has really produced it: if the
    process stalls (a busy machine), the requests that were due leave at most
    `burst` at a time, never all at once, so the provider sees no more than
    its limit allows.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()
        self._floor = rate / 2

    @classmethod
    def for_retailer(cls, retailer: RetailerConfig) -> TokenBucket:
        limit = retailer.rate_limit
        return cls(limit.requests_per_second * RATE_SAFETY, max(1, int(limit.burst * BURST_SHARE)))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1.0 - _EPSILON:  # not lost to float rounding
                    self._tokens -= 1.0
                    return waited
                pause = (1.0 - self._tokens) / self.rate
                await self._sleep(pause)
                waited += pause

    def hold_off(self, seconds: float) -> None:
        """The provider said to wait (Retry-After): spend the tokens that time would bring."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate

    def slow_down(self) -> None:
        """A 429 despite the margins: this workspace sees our requests bunched. Send one
        at a time and 10% slower (never below half the starting rate) for the rest of
        the run; the next run starts from the configuration again."""
        self._refill()
        self.rate = max(self._floor, self.rate * 0.9)
        self.burst = 1.0
        self._tokens = min(self._tokens, self.burst)


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
