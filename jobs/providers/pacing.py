"""Politeness towards a provider workspace: its request rate, and how to retry.

Shared by every caller of the provider API: the delivery job's send operator
and the template deploy both pace each workspace with a `TokenBucket` built
from the retailer's configured limit, and retry with one `RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay_s: float = 0.2
    max_delay_s: float = 10.0
    longest_wait_s: float = 60.0  # a longer Retry-After defers the batch to a later run

    def is_long_wait(self, retry_after: float | None) -> bool:
        """Longer than a batch may wait within a run: defer instead of holding the run."""
        return retry_after is not None and retry_after > self.longest_wait_s

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the provider gives one, else exponential backoff with jitter."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)
