"""warming_schedule and capacity_alerts on a real Delta warehouse: what delivery enforces."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from jobs.config import Conf, load_conf
from jobs.config.models import IpPool, WarmingPlan
from jobs.delivery.plan import remaining_caps
from jobs.warehouse.registry import WARMING_SCHEDULE
from jobs.warehouse.store import DeltaStore
from jobs.warming.plan import PoolDay
from jobs.warming.schedule import (
    capacity_alerts,
    decide,
    latest_states,
    start_plan,
    warming_caps,
    write_alerts,
    write_decisions,
)
from tests.conftest import REPO_CONF

MONDAY = date(2026, 3, 2)
GOOD = PoolDay(sent=1000, delivered=990, bounced=10, complaints=0)


@pytest.fixture
def conf() -> Conf:
    """The repository's conf/ with shared-a warming too: fresh-mart and green-grocer share it."""
    base = load_conf(REPO_CONF)
    pools = {
        **base.platform.ip_pools,
        "shared-a": IpPool(
            daily_capacity=100_000, warming=WarmingPlan(start_daily_volume=1000, ramp_days=28)
        ),
    }
    return dataclasses.replace(base, platform=base.platform.model_copy(update={"ip_pools": pools}))


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    return DeltaStore(str(tmp_path / "warehouse"))


def morning(
    store: DeltaStore,
    conf: Conf,
    today: date,
    judged: dict[str, PoolDay],
    members: dict[str, PoolDay] | None = None,
) -> None:
    write_decisions(store, decide(conf, latest_states(store, today), judged, today, members))


def test_a_pool_without_history_starts_its_plan_split_over_its_retailers(
    store: DeltaStore, conf: Conf
) -> None:
    morning(store, conf, MONDAY, {})
    rows = {
        (r["retailer_id"], r["ip_pool"]): r
        for r in store.read_arrow(WARMING_SCHEDULE.name).to_pylist()
    }
    assert set(rows) == {
        ("fresh-mart", "shared-a"),
        ("green-grocer", "shared-a"),
        ("maple-market", "maple-dedicated"),
    }
    assert rows["fresh-mart", "shared-a"]["daily_cap"] == 500
    assert rows["green-grocer", "shared-a"]["daily_cap"] == 500
    assert rows["fresh-mart", "shared-a"]["pool_daily_cap"] == 1000
    assert rows["maple-market", "maple-dedicated"]["daily_cap"] == 1000
    assert warming_caps(store, conf, MONDAY) == {
        "fresh-mart": 500,
        "green-grocer": 500,
        "maple-market": 1000,
    }


def test_the_whole_pools_deliverability_moves_every_member(store: DeltaStore, conf: Conf) -> None:
    morning(store, conf, MONDAY, {})
    tuesday = MONDAY + timedelta(days=1)
    spike = PoolDay(sent=1000, delivered=880, bounced=120, complaints=0)
    fresh = PoolDay(sent=900, delivered=780, bounced=120, complaints=0)
    green = PoolDay(sent=100, delivered=100, bounced=0, complaints=0)
    members = {"fresh-mart": fresh, "green-grocer": green, "maple-market": GOOD}
    morning(store, conf, tuesday, {"shared-a": spike, "maple-dedicated": GOOD}, members)
    caps = warming_caps(store, conf, tuesday)
    assert caps["fresh-mart"] == caps["green-grocer"] == 500  # shared-a held
    assert caps["maple-market"] > 1000  # its own pool advanced
    today = {
        r["retailer_id"]: r
        for r in store.read_arrow(WARMING_SCHEDULE.name).to_pylist()
        if r["schedule_date"] == tuesday
    }
    assert today["green-grocer"]["state"] == "holding"
    assert today["maple-market"]["judged_sent"] == 1000  # alone in its pool


def test_a_shared_pools_member_sees_only_its_own_figures(store: DeltaStore, conf: Conf) -> None:
    """The pool is judged as a whole; a member's row (and dashboard) shows its own email,
    never the other members' volume or complaint rate."""
    morning(store, conf, MONDAY, {})
    tuesday = MONDAY + timedelta(days=1)
    spike = PoolDay(sent=1000, delivered=880, bounced=120, complaints=3)
    fresh = PoolDay(sent=900, delivered=780, bounced=120, complaints=3)
    green = PoolDay(sent=100, delivered=100, bounced=0, complaints=0)
    members = {"fresh-mart": fresh, "green-grocer": green}
    morning(store, conf, tuesday, {"shared-a": spike}, members)
    today = {
        r["retailer_id"]: r
        for r in store.read_arrow(WARMING_SCHEDULE.name).to_pylist()
        if r["schedule_date"] == tuesday
    }
    mine = today["green-grocer"]
    assert (mine["judged_sent"], mine["judged_bounce_rate"]) == (100, 0.0)
    assert mine["judged_complaint_rate"] == 0.0
    assert "yours: 100 sent" in mine["reason"] and "cap held" in mine["reason"]
    assert today["fresh-mart"]["judged_sent"] == 900
    for row in (today["fresh-mart"], today["green-grocer"]):
        assert "1,000" not in row["reason"] and "12.0%" not in row["reason"]


def test_rerunning_a_morning_does_not_advance_twice(store: DeltaStore, conf: Conf) -> None:
    morning(store, conf, MONDAY, {})
    tuesday = MONDAY + timedelta(days=1)
    for _ in range(3):
        morning(store, conf, tuesday, {"maple-dedicated": GOOD})
    rows = [
        r
        for r in store.read_arrow(WARMING_SCHEDULE.name).to_pylist()
        if r["retailer_id"] == "maple-market"
    ]
    assert sorted((r["schedule_date"], r["step"]) for r in rows) == [(MONDAY, 0), (tuesday, 1)]


def test_delivery_caps_come_from_the_newest_row_on_or_before_today(
    store: DeltaStore, conf: Conf
) -> None:
    morning(store, conf, MONDAY, {})
    later = MONDAY + timedelta(days=3)  # the update has not run since Monday
    assert warming_caps(store, conf, later)["maple-market"] == 1000
    assert warming_caps(store, conf, MONDAY - timedelta(days=1))["maple-market"] == 1000
    warm = dataclasses.replace(
        conf,
        platform=conf.platform.model_copy(
            update={
                "ip_pools": {**conf.platform.ip_pools, "shared-a": IpPool(daily_capacity=10**6)}
            }
        ),
    )
    assert warming_caps(store, warm, MONDAY)["fresh-mart"] is None  # a warm pool


def test_delivery_takes_the_lower_cap_and_counts_only_todays_email(
    store: DeltaStore, conf: Conf
) -> None:
    now = datetime.combine(MONDAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    ledger = pa.table(
        {
            "retailer_id": ["maple-market"] * 4 + ["fresh-mart"],
            "channel": ["email", "email", "push", "email", "email"],
            "status": ["sent", "sent", "sent", "deferred", "sent"],
            "completed_at": [now, now, now, now, now - timedelta(days=1)],
        }
    )
    maple = conf.retailers["maple-market"].model_copy(update={"daily_cap": 600})
    capped = dataclasses.replace(conf, retailers={**conf.retailers, "maple-market": maple})
    caps = remaining_caps(capped, ledger, MONDAY, {"maple-market": 1000, "fresh-mart": 500})
    assert caps["maple-market"] == 598  # min(600, 1000) less two email sent today
    assert caps["fresh-mart"] == 500  # yesterday's send does not count
    assert caps["green-grocer"] is None  # no cap given


def test_a_pool_near_capacity_raises_one_alert_per_retailer_and_day(
    store: DeltaStore, conf: Conf
) -> None:
    busy = {"shared-a": PoolDay(85_000, 84_000, 1000, 0), "maple-dedicated": GOOD}
    alerts = capacity_alerts(conf, busy, MONDAY)
    assert {(a["retailer_id"], a["ip_pool"]) for a in alerts} == {
        ("fresh-mart", "shared-a"),
        ("green-grocer", "shared-a"),
    }
    assert alerts[0]["utilization"] == pytest.approx(0.85)
    assert "add IPs" in str(alerts[0]["message"])
    assert write_alerts(store, alerts) == 2
    assert write_alerts(store, alerts) == 0


def test_starting_a_plan_is_safe_to_repeat_and_joins_a_warming_pool(
    store: DeltaStore, conf: Conf
) -> None:
    first = start_plan(store, conf, "maple-market", MONDAY)
    assert first is not None and first.caps == {"maple-market": 1000}
    assert start_plan(store, conf, "maple-market", MONDAY) is None
    assert start_plan(store, conf, "maple-market", MONDAY + timedelta(days=1)) is None
    morning(store, conf, MONDAY, {})  # shared-a starts with both retailers
    tuesday = MONDAY + timedelta(days=1)
    morning(store, conf, tuesday, {"shared-a": GOOD})
    newcomer = conf.retailers["green-grocer"].model_copy(
        update={"retailer_id": "corner-shop", "slug": "cornershop"}
    )
    grown = dataclasses.replace(conf, retailers={**conf.retailers, "corner-shop": newcomer})
    joined = start_plan(store, grown, "corner-shop", tuesday)
    assert joined is not None and joined.state.step == 1  # the pool's state, not a restart
    assert set(joined.caps) == {"corner-shop", "fresh-mart", "green-grocer"}
    assert sum(joined.caps.values()) == joined.state.daily_cap
    assert warming_caps(store, grown, tuesday)["corner-shop"] == joined.caps["corner-shop"]
