"""BatchSender against the real simulator: retries, Retry-After, caps, breaker, rejections."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from functools import cache

from jobs.config import load_conf
from jobs.delivery.limits import CircuitBreaker
from jobs.delivery.records import CAP_DEFERRAL, BatchReport, EventChunk, GroupKey, MessageEvent
from jobs.delivery.sender import BatchSender, SendLane, new_lane
from jobs.dev.simulator.state import PoolCap
from jobs.providers.pacing import RetryPolicy
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library, merge_variables
from jobs.templates.variables import configured_layers
from jobs.warehouse.statuses import IN_DOUBT
from tests.conftest import REPO_CONF
from tests.delivery.conftest import DeliveryWorld

GROUP = GroupKey("run-1", "fresh-mart-winback", "email", "control", "winback-email", False)


@cache
def props() -> dict[str, str]:
    """What delivery sends for the winback email at fresh-mart: every layer but the customer's."""
    conf = load_conf(REPO_CONF)
    layers = configured_layers(
        conf, load_library(conf), conf.retailer("fresh-mart"), "winback-email"
    )
    return merge_variables(*layers.values())


def batch(n: int, *, start: int = 0, group: GroupKey = GROUP) -> EventChunk:
    events = tuple(
        MessageEvent(
            f"m{start + i}", f"c{start + i}", f"c{i}@example.com", {"first_name": "Ann"}, 0, False
        )
        for i in range(n)
    )
    return EventChunk("fresh-mart", group, events, props())


def run(
    world: DeliveryWorld, batches: list[EventChunk], *, cap: int | None = None, threshold: int = 5
) -> list[BatchReport]:
    """Send batches one after another through fresh lanes, in one event loop."""

    async def go() -> list[BatchReport]:
        router = ProviderRouter(world.conf, timeout=5.0)

        def lane(retailer_id: str, route: str) -> SendLane:
            breaker = CircuitBreaker(threshold=threshold, cooldown_s=60)
            return new_lane(
                router, retailer_id, route, daily_cap=cap, breaker=breaker, max_in_flight=4
            )

        sender = BatchSender(lane_for=lane, policy=RetryPolicy(base_delay_s=0.01, max_delay_s=0.05))
        try:
            return [await sender.deliver(b) for b in batches]
        finally:
            await router.aclose()

    return asyncio.run(go())


def statuses(report: BatchReport) -> Counter[str]:
    return Counter(o.status for o in report.outcomes)


def test_a_throttled_request_waits_as_told_and_then_succeeds(world: DeliveryWorld) -> None:
    world.sim.workspaces["ws-freshmart"].faults.update({"throttle_burst": 2})
    [report] = run(world, [batch(10)])
    assert statuses(report) == {"sent": 10}
    assert report.requests == 3 and report.throttled == 2
    assert {o.attempts for o in report.outcomes} == {3}
    assert all(o.dispatch_id for o in report.outcomes)


def test_a_validation_error_fails_the_batch_with_the_reason(world: DeliveryWorld) -> None:
    wrong = GROUP._replace(template_id="no-such-template")
    [report] = run(world, [batch(5, group=wrong)])
    assert statuses(report) == {"failed": 5}
    assert "unknown template" in (report.outcomes[0].reason or "")
    assert report.requests == 1  # permanent: never retried


def test_one_recipient_rejected_by_the_provider_fails_alone(world: DeliveryWorld) -> None:
    good = batch(3)._replace(base={k: v for k, v in props().items() if k != "headline"})
    fixed = [e._replace(customer_variables={"headline": "Hi"}) for e in good.events]
    mixed = good._replace(events=(fixed[0], good.events[1], fixed[2]))
    [report] = run(world, [mixed])
    by_id = {o.message_id: o for o in report.outcomes}
    assert by_id["m1"].status == "failed" and "template_error" in (by_id["m1"].reason or "")
    assert by_id["m0"].status == by_id["m2"].status == "sent"


def test_the_daily_cap_defers_what_is_over_it(world: DeliveryWorld) -> None:
    reports = run(world, [batch(50), batch(50, start=50)], cap=70)
    assert statuses(reports[0]) == {"sent": 50}
    assert statuses(reports[1]) == {"sent": 20, "deferred": 30}
    assert {o.reason for o in reports[1].outcomes if o.status == "deferred"} == {CAP_DEFERRAL}
    assert len(world.accepted("ws-freshmart")) == 70


def test_an_open_breaker_defers_without_calling_the_workspace(world: DeliveryWorld) -> None:
    world.sim.workspaces["ws-freshmart"].faults.update({"outage": True})
    reports = run(world, [batch(5), batch(5, start=5)], threshold=3)
    assert statuses(reports[0]) == {"deferred": 5}
    assert reports[0].requests == 3
    assert statuses(reports[1]) == {"deferred": 5}
    assert reports[1].requests == 0
    assert "circuit open" in (reports[1].outcomes[0].reason or "")


def test_holdout_messages_are_recorded_suppressed_and_never_sent(world: DeliveryWorld) -> None:
    holdout = GROUP._replace(template_id=None, is_holdout=True)
    [report] = run(world, [batch(7, group=holdout)])
    assert statuses(report) == {"suppressed": 7}
    assert report.requests == 0 and world.accepted("ws-freshmart") == []


def test_a_provider_daily_cap_defers_at_once_instead_of_holding_the_run(
    world: DeliveryWorld,
) -> None:
    world.sim.clock = lambda: datetime(2026, 11, 2, 12, tzinfo=UTC)  # 12 h before its midnight
    world.sim.pools.setdefault("shared-a", PoolCap()).daily_cap = 0
    [report] = run(world, [batch(5)])
    assert statuses(report) == {"deferred": 5}
    assert report.requests == 1
    assert "provider asks to wait" in (report.outcomes[0].reason or "")


def test_an_answer_without_results_leaves_messages_in_doubt_never_sent_twice(
    world: DeliveryWorld,
) -> None:
    """Braze does not deduplicate: a retry of an accepted request is a second email."""
    world.sim.workspaces["ws-freshmart"].faults.update({"send_without_results": True})

    [report] = run(world, [batch(10)])

    assert statuses(report) == {IN_DOUBT: 10} and report.requests == 1
    assert "the provider's export decides" in (report.outcomes[0].reason or "")
    requests_per_message = world.sim.workspaces["ws-freshmart"].requests_per_message
    assert sorted(requests_per_message.values()) == [1] * 10
