"""The delivery job end to end: Delta in, Flink mini cluster, simulator on loopback, Delta out."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs.config import Conf
from jobs.delivery.plan import SOURCE_APP_ID
from jobs.warehouse.registry import MESSAGE_SENDS
from tests.delivery.conftest import (
    DeliveryWorld,
    append_events,
    event_rows,
    make_world,
    standard_events,
    with_rate_limit,
)

WORKSPACES = {
    "fresh-mart": "ws-freshmart",
    "green-grocer": "ws-greengrocer",
    "maple-market": "ws-maplemarket",
}


def test_every_event_gets_exactly_one_status_and_batches_stay_bounded(
    world: DeliveryWorld,
) -> None:
    events = standard_events()
    version = append_events(world.store, events)
    # No max-wait flush during the run: partial batches can only leave at end of input.
    summary = world.deliver(max_wait_ms=600_000)

    assert summary is not None
    sends = world.sends()
    assert sorted(s["message_id"] for s in sends) == sorted(e["message_id"] for e in events)
    expected = Counter("suppressed" if e["is_holdout"] else "sent" for e in events)
    assert Counter(s["status"] for s in sends) == expected
    assert summary.tally.batch_sizes == len(events)
    assert summary.tally.largest_batch <= 50
    assert max(s["batch_size"] for s in sends) <= 50
    assert world.store.last_run_version(MESSAGE_SENDS.name, SOURCE_APP_ID) == version
    for retailer_id, workspace_id in WORKSPACES.items():
        own = {e["message_id"] for e in events if e["retailer_id"] == retailer_id}
        accepted = [m["message_id"] for m in world.accepted(workspace_id)]
        assert len(accepted) == len(set(accepted))
        assert set(accepted) == {
            e["message_id"]
            for e in events
            if e["retailer_id"] == retailer_id and not e["is_holdout"]
        }
        assert set(accepted) <= own


def test_properties_follow_the_precedence_rule(world: DeliveryWorld) -> None:
    append_events(world.store, standard_events())
    world.deliver()

    fresh = {m["message_id"]: m for m in world.accepted("ws-freshmart")}
    offer = next(
        m for m in fresh.values() if m["variant_id"] == "ten-percent" and m["channel"] == "email"
    )
    props = offer["properties"]
    assert props["subject"] == "We miss you at FreshMart"  # campaign beats template default
    assert props["cta_url"] == "https://freshmart.example/shop"  # retailer beats template
    assert props["disclaimer"] == "Offer valid once per customer."  # template default
    assert props["first_name"].startswith("Ann")  # customer's own
    assert props["offer_text"] == "10% off orders over $30.00."
    assert props["promo_code"].startswith("P")
    maple = world.accepted("ws-maplemarket")[0]["properties"]
    assert maple["brand_name"] == "Maple Market"
    assert maple["cta_url"] == "https://maplemarket.example/deals"


def test_events_of_an_unconfigured_retailer_are_deferred_and_the_rest_sent(
    world: DeliveryWorld,
) -> None:
    ghost = event_rows("ghost-mart", "ghost-mart-winback", "run-x-1", 30)
    good = event_rows("green-grocer", "green-grocer-welcome", "run-gg-1", 30, template="welcome")
    append_events(world.store, [*ghost, *good])

    world.deliver()

    sends = world.sends()
    assert Counter((s["retailer_id"], s["status"]) for s in sends) == {
        ("ghost-mart", "deferred"): 30,
        ("green-grocer", "sent"): 30,
    }
    reason = next(s["reason"] for s in sends if s["retailer_id"] == "ghost-mart")
    assert "retailer not configured" in reason and "ghost-mart" in reason


def test_a_second_run_sends_nothing_and_new_versions_are_picked_up(world: DeliveryWorld) -> None:
    first = event_rows("green-grocer", "green-grocer-welcome", "run-gg-1", 60, template="welcome")
    append_events(world.store, first)
    world.deliver()
    assert world.deliver() is None  # nothing new: no Flink job at all

    second = event_rows("green-grocer", "green-grocer-welcome", "run-gg-2", 40, template="welcome")
    version = append_events(world.store, second)
    summary = world.deliver()

    assert summary is not None and summary.tally.statuses["sent"] == 40
    assert len(world.accepted("ws-greengrocer")) == 100
    assert world.sim.workspaces["ws-greengrocer"].counters["duplicates"] == 0
    assert world.store.last_run_version(MESSAGE_SENDS.name, SOURCE_APP_ID) == version


def test_rate_limits_hold_at_the_simulator(tmp_path: Path, base_conf: Conf) -> None:
    rate, burst = 4.0, 3
    conf = with_rate_limit(base_conf, "maple-market", rate, burst)
    for world in make_world(tmp_path, conf):
        events = event_rows(
            "maple-market", "maple-market-weekly-deals", "run-mm-1", 700, template="weekly-deals"
        )
        append_events(world.store, events)
        world.sim.workspaces["ws-maplemarket"].request_times.clear()
        world.deliver()

        ws = world.sim.workspaces["ws-maplemarket"]
        assert ws.counters["429"] == 0
        assert len(ws.messages) == 700
        times = ws.request_times
        assert len(times) == 14
        for i, start in enumerate(times):
            for j in range(i, len(times)):
                # Any window holds at most burst + rate x its length requests.
                assert j - i + 1 <= burst + rate * (times[j] - start) + 1e-6


def test_transient_errors_and_timeouts_still_end_with_everything_sent(
    world: DeliveryWorld,
) -> None:
    events = standard_events()
    append_events(world.store, events)
    world.sim.faults.update({"error_rate": 0.05, "timeout_rate": 0.05, "timeout_hold_s": 0.2})

    summary = world.deliver()

    assert summary is not None
    assert Counter(s["status"] for s in world.sends()) == Counter(
        "suppressed" if e["is_holdout"] else "sent" for e in events
    )
    counters = Counter[str]()
    for ws in world.sim.workspaces.values():
        counters.update(ws.counters)
    assert counters["500"] + counters["timeout"] > 0
    assert counters["duplicates"] == 0 or summary.tally.requests > 0
    assert max(s["attempts"] for s in world.sends()) > 1


def test_one_workspace_down_leaves_the_others_sent_and_is_caught_up_later(
    world: DeliveryWorld,
) -> None:
    events = standard_events()
    append_events(world.store, events)
    world.sim.workspaces["ws-greengrocer"].faults.update({"outage": True})

    world.deliver(breaker_cooldown_s=60.0)

    by_retailer = Counter((s["retailer_id"], s["status"]) for s in world.sends())
    assert by_retailer[("green-grocer", "deferred")] == 130
    assert by_retailer[("fresh-mart", "sent")] == sum(
        1 for e in events if e["retailer_id"] == "fresh-mart" and not e["is_holdout"]
    )
    assert by_retailer[("maple-market", "sent")] == 75
    # The breaker stopped the calls long before every batch had tried six times.
    assert world.sim.workspaces["ws-greengrocer"].counters["503"] < 6 * 3

    world.sim.workspaces["ws-greengrocer"].faults.update({"outage": False})
    world.deliver()

    sends = world.sends()
    assert len(sends) == len(events)  # updated in place: still one row per message
    assert Counter(s["status"] for s in sends if s["retailer_id"] == "green-grocer") == {
        "sent": 130
    }
    assert len(world.accepted("ws-greengrocer")) == 130


def test_daily_cap_defers_the_excess_until_the_next_day(tmp_path: Path, base_conf: Conf) -> None:
    maple = base_conf.retailers["maple-market"].model_copy(update={"daily_cap": 40})
    conf = dataclasses.replace(base_conf, retailers={**base_conf.retailers, "maple-market": maple})
    for world in make_world(tmp_path, conf):
        events = event_rows(
            "maple-market", "maple-market-weekly-deals", "run-mm-1", 75, template="weekly-deals"
        )
        append_events(world.store, events)
        today = datetime.now(UTC).date()

        world.deliver(today=today)
        assert Counter(s["status"] for s in world.sends()) == {"sent": 40, "deferred": 35}
        assert world.deliver(today=today) is None  # nothing may go out today

        world.deliver(today=today + timedelta(days=1))
        assert Counter(s["status"] for s in world.sends()) == {"sent": 75}
        assert len(world.accepted("ws-maplemarket")) == 75
