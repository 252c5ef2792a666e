"""The pure pieces of delivery: rebatching, token bucket, daily cap, circuit breaker."""

from __future__ import annotations

import asyncio

import pytest

from jobs.delivery.limits import CircuitBreaker, DailyCap
from jobs.delivery.rebatch import Rebatcher
from jobs.delivery.records import EventChunk, GroupKey, MessageEvent
from jobs.providers.pacing import TokenBucket

EMAIL = GroupKey("run-1", "camp", "email", "control", "winback-email", False)
PUSH = GroupKey("run-1", "camp", "push", "control", "winback-push", False)


def chunk(
    n: int, group: GroupKey = EMAIL, *, retailer: str = "fresh-mart", start: int = 0
) -> EventChunk:
    events = tuple(
        MessageEvent(f"m{start + i}", f"c{start + i}", "a@example.com", {}, 0, False)
        for i in range(n)
    )
    return EventChunk(retailer, group, events, {"brand_name": retailer})


def test_full_chunks_pass_straight_through_and_partials_merge_per_group() -> None:
    rebatcher = Rebatcher("fresh-mart")
    assert [len(b.events) for b in rebatcher.add(chunk(50), 0)] == [50]
    assert rebatcher.add(chunk(30, start=100), 0) == []
    assert rebatcher.add(chunk(10, PUSH, start=200), 0) == []
    merged = rebatcher.add(chunk(30, start=300), 0)
    assert [len(b.events) for b in merged] == [50]
    assert {b.group for b in merged} == {EMAIL}
    assert merged[0].base == {"brand_name": "fresh-mart"}
    assert rebatcher.buffered == 10 + 10
    drained = rebatcher.drain()
    assert sorted(len(b.events) for b in drained) == [10, 10]
    assert rebatcher.buffered == 0


def test_partial_batches_leave_after_the_maximum_wait() -> None:
    rebatcher = Rebatcher("fresh-mart", max_wait_ms=1_000)
    rebatcher.add(chunk(5), now_ms=10_000)
    assert rebatcher.due(10_999) == []
    assert [len(b.events) for b in rebatcher.due(11_000)] == [5]


def test_no_event_is_lost_or_duplicated_across_any_chunking() -> None:
    rebatcher = Rebatcher("fresh-mart")
    sizes = [7, 50, 13, 1, 49, 50, 22, 3]
    out = []
    start = 0
    for n in sizes:
        out += rebatcher.add(chunk(n, start=start), 0)
        start += n
    out += rebatcher.drain()
    ids = [e.message_id for b in out for e in b.events]
    assert sorted(ids) == sorted(f"m{i}" for i in range(sum(sizes)))
    assert all(len(b.events) <= 50 for b in out)


def test_a_chunk_of_another_retailer_is_refused() -> None:
    with pytest.raises(ValueError, match="never mix retailers"):
        Rebatcher("fresh-mart").add(chunk(3, retailer="green-grocer"), 0)


def test_token_bucket_spends_its_burst_then_waits_for_the_rate() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(rate=10.0, burst=2, clock=lambda: now[0], sleep=sleep)

    async def take(n: int) -> list[float]:
        return [await bucket.acquire() for _ in range(n)]

    waits = asyncio.run(take(4))
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.1) and waits[3] == pytest.approx(0.1)


def test_after_a_stall_no_more_than_the_burst_leaves_at_once() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(rate=10.0, burst=2, clock=lambda: now[0], sleep=sleep)

    async def take() -> list[float]:
        for _ in range(2):
            await bucket.acquire()
        now[0] += 5.0  # the process stalled for 5 s with waiters queued
        return [await bucket.acquire() for _ in range(4)]

    waits = asyncio.run(take())
    assert waits[:2] == [0.0, 0.0]  # the burst, refilled during the stall
    assert waits[2:] == [pytest.approx(0.1), pytest.approx(0.1)]  # then the rate again


def test_retry_after_spends_the_tokens_that_time_would_bring() -> None:
    bucket = TokenBucket(rate=5.0, burst=5, clock=lambda: 0.0)
    bucket.hold_off(2.0)
    assert bucket._tokens == pytest.approx(-10.0)


def test_a_429_slows_the_bucket_down_but_never_below_half() -> None:
    bucket = TokenBucket(rate=10.0, burst=4, clock=lambda: 0.0)
    bucket.slow_down()
    assert bucket.rate == pytest.approx(9.0) and bucket.burst == 1.0
    for _ in range(20):
        bucket.slow_down()
    assert bucket.rate == pytest.approx(5.0)


def test_daily_cap_grants_what_is_left_and_takes_back_unsent() -> None:
    cap = DailyCap(remaining=120)
    assert cap.reserve(50) == 50
    assert cap.reserve(50) == 50
    assert cap.reserve(50) == 20
    cap.release(20)
    assert cap.reserve(50) == 20
    assert DailyCap(remaining=None).reserve(10**6) == 10**6


def test_circuit_breaker_opens_after_failures_and_probes_once_after_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown_s=10.0, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.allows()
        breaker.failed()
    assert breaker.is_open and not breaker.allows()
    now[0] = 10.0
    assert breaker.allows()  # the probe
    assert not breaker.allows()  # only one at a time
    breaker.failed()
    assert not breaker.allows()
    now[0] = 20.0
    assert breaker.allows()
    breaker.succeeded()
    assert not breaker.is_open and breaker.allows()
