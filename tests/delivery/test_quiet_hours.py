"""Quiet hours in the customer's local time, end to end through Flink with an injected
clock: a text due at night is deferred until 08:00 the customer's time, then sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.config import load_conf
from jobs.config.models import QuietHours
from tests.conftest import add_sms
from tests.delivery.conftest import DeliveryWorld, append_events, event_rows, make_world

ACCOUNT = "AC-freshmart"
# 22:30 in Chicago (CST, UTC-6) is 20:30 in Los Angeles (PST, UTC-8)
NIGHT = datetime(2026, 11, 3, 4, 30, tzinfo=UTC)
BEFORE_EIGHT = datetime(2026, 11, 3, 13, 59, tzinfo=UTC)  # 07:59 in Chicago
AFTER_EIGHT = datetime(2026, 11, 3, 14, 1, tzinfo=UTC)  # 08:01 in Chicago
EIGHT_IN_CHICAGO = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
SEND_AFTER = datetime(2026, 11, 3, 13, 30, tzinfo=UTC)


@pytest.fixture
def world(conf_dir: Path, tmp_path: Path) -> Iterator[DeliveryWorld]:
    conf = load_conf(add_sms(conf_dir))
    fresh_mart = conf.retailers["fresh-mart"].model_copy(
        update={"quiet_hours": {"push": QuietHours(start="22:00", end="07:00")}}
    )
    profile = conf.profile.model_copy(update={"warehouse_uri": str(tmp_path / "warehouse")})
    conf = dataclasses.replace(
        conf, profile=profile, retailers={**conf.retailers, "fresh-mart": fresh_mart}
    )
    yield from make_world(tmp_path, conf)


def night_events() -> list[dict[str, object]]:
    """Four customers on email, push and sms; two in Chicago, one in Los Angeles, one
    whose zone is unknown (the retailer's, Chicago, applies)."""
    rows = event_rows(
        "fresh-mart", "fresh-mart-winback", "run-night", 4, channels=("email", "push", "sms")
    )
    zones = ["America/Chicago", "America/Chicago", "America/Los_Angeles", None]
    for row in rows:
        n = int(str(row["customer_id"])[1:])
        row["time_zone"] = zones[n]
        if row["channel"] == "sms":
            row["address"] = f"+1312555{n:04d}"
        if n == 2 and row["channel"] == "email":
            row["send_after"] = SEND_AFTER  # the launch chose 13:30 UTC for this one
    return rows


def statuses(world: DeliveryWorld) -> dict[tuple[str, str], tuple[str, str | None, object]]:
    return {
        (s["customer_id"], s["channel"]): (s["status"], s["reason"], s["eligible_at"])
        for s in world.sends()
    }


def test_a_text_due_at_night_waits_for_eight_oclock_its_customers_time(
    world: DeliveryWorld,
) -> None:
    append_events(world.store, night_events())

    world.deliver(now=NIGHT)

    first = statuses(world)
    chicago = ("c00000", "c00001", "c00003")
    for customer in chicago:
        assert first[(customer, "sms")] == ("deferred", "quiet_hours", EIGHT_IN_CHICAGO)
        assert first[(customer, "push")][:2] == ("deferred", "quiet_hours")  # 22:00-07:00
        assert first[(customer, "email")][0] == "sent"  # no quiet hours for email
    # 20:30 in Los Angeles: texts and pushes may go; the email waits for its send time
    assert [first[("c00002", ch)][0] for ch in ("push", "sms")] == ["sent"] * 2
    assert first[("c00002", "email")] == ("deferred", "send_time", SEND_AFTER)
    account = world.sim.sms_accounts[ACCOUNT]
    assert [m["to"] for m in account.messages] == ["+13125550002"]

    assert world.deliver(now=NIGHT) is None  # nothing eligible: not even a Flink job
    world.deliver(now=BEFORE_EIGHT)  # pushes may go from 07:00, texts from 08:00

    morning = statuses(world)
    assert all(morning[(c, "push")][0] == "sent" for c in chicago)
    assert morning[("c00002", "email")][0] == "sent"
    assert all(morning[(c, "sms")][:2] == ("deferred", "quiet_hours") for c in chicago)
    assert len(account.messages) == 1

    world.deliver(now=AFTER_EIGHT)

    after = statuses(world)
    assert all(after[(c, ch)][0] == "sent" for c in chicago for ch in ("email", "push", "sms"))
    assert sorted(m["to"] for m in account.messages) == [f"+1312555{n:04d}" for n in range(4)]
    assert account.counters["delivered_twice"] == 0
