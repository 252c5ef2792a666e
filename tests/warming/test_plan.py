"""The warming state machine: advance, hold, back off, and the ramp's shape."""

from __future__ import annotations

import itertools

import pytest

from jobs.config.models import HoldWhen, IpPool, WarmingPlan, WarmingSettings
from jobs.warming.plan import PoolDay, PoolState, first_day, next_day, ramp_cap, shares

POOL = IpPool(daily_capacity=40_000, warming=WarmingPlan(start_daily_volume=200, ramp_days=30))
SETTINGS = WarmingSettings()


def good(sent: int) -> PoolDay:
    return PoolDay(
        sent=sent, delivered=round(sent * 0.99), bounced=round(sent * 0.01), complaints=0
    )


def at(step: int, bad_days: int = 0) -> PoolState:
    cap = ramp_cap(POOL.warming, POOL.daily_capacity, step)  # type: ignore[arg-type]
    return PoolState(step=step, state="ramping", bad_days=bad_days, daily_cap=cap, reason="")


def test_the_ramp_starts_small_and_reaches_capacity_on_its_last_step() -> None:
    caps = [ramp_cap(POOL.warming, POOL.daily_capacity, step) for step in range(30)]  # type: ignore[arg-type]
    assert caps[0] == 200 and caps[-1] == 40_000
    assert all(later > earlier for earlier, later in itertools.pairwise(caps))
    assert first_day(POOL).daily_cap == 200 and first_day(POOL).state == "ramping"


def test_a_good_day_that_used_the_cap_advances_one_step() -> None:
    today = next_day(at(5), good(at(5).daily_cap), POOL, SETTINGS)
    assert (today.state, today.step, today.daily_cap) == ("ramping", 6, at(6).daily_cap)
    assert today.reason.startswith("good day")


@pytest.mark.parametrize(
    ("day", "breach"),
    [
        (PoolDay(sent=1000, delivered=900, bounced=40, complaints=0), "delivered 90.0% <= 90.0%"),
        (PoolDay(sent=1000, delivered=940, bounced=51, complaints=0), "bounces 5.1% > 5.0%"),
        (PoolDay(sent=1000, delivered=990, bounced=10, complaints=2), "complaints 0.20% > 0.10%"),
    ],
)
def test_each_threshold_holds_the_cap(day: PoolDay, breach: str) -> None:
    today = next_day(at(8), day, POOL, SETTINGS)
    assert (today.state, today.step, today.bad_days) == ("holding", 8, 1)
    assert today.daily_cap == at(8).daily_cap
    assert breach in today.reason


def test_thresholds_come_from_configuration() -> None:
    lenient = WarmingSettings(hold_when=HoldWhen(bounce_rate_above=0.10))
    day = PoolDay(sent=1000, delivered=940, bounced=60, complaints=0)
    assert next_day(at(8), day, POOL, lenient).state == "ramping"
    assert next_day(at(8), day, POOL, SETTINGS).state == "holding"


def test_bad_days_in_a_row_back_the_ramp_off_and_good_days_recover() -> None:
    spike = PoolDay(sent=2000, delivered=1760, bounced=240, complaints=0)
    held = next_day(at(10), spike, POOL, SETTINGS)
    backed = next_day(held, spike, POOL, SETTINGS)
    assert (held.state, held.step) == ("holding", 10)
    assert (backed.state, backed.step, backed.bad_days) == ("backing_off", 7, 0)
    assert backed.daily_cap == at(7).daily_cap < held.daily_cap
    recovered = next_day(backed, good(backed.daily_cap), POOL, SETTINGS)
    assert (recovered.state, recovered.step) == ("ramping", 8)


def test_a_good_day_clears_the_count_of_bad_days() -> None:
    spike = PoolDay(sent=2000, delivered=1760, bounced=240, complaints=0)
    held = next_day(at(10), spike, POOL, SETTINGS)
    cleared = next_day(held, good(held.daily_cap), POOL, SETTINGS)
    again = next_day(cleared, spike, POOL, SETTINGS)
    assert cleared.bad_days == 0 and again.state == "holding"


def test_no_email_or_an_unused_cap_holds_without_advancing() -> None:
    idle = next_day(at(4), PoolDay(0, 0, 0, 0), POOL, SETTINGS)
    assert (idle.state, idle.step, idle.reason) == ("holding", 4, "no email sent")
    light = next_day(at(4), good(at(4).daily_cap // 3), POOL, SETTINGS)
    assert (light.state, light.step) == ("holding", 4)
    assert "held: sent" in light.reason


def test_the_last_step_is_warmed_at_the_pools_capacity() -> None:
    warmed = next_day(at(28), good(at(28).daily_cap), POOL, SETTINGS)
    assert (warmed.state, warmed.step, warmed.daily_cap) == ("warmed", 29, 40_000)
    stays = next_day(warmed, good(40_000), POOL, SETTINGS)
    assert (stays.state, stays.step, stays.daily_cap) == ("warmed", 29, 40_000)


def test_a_shared_pools_cap_is_split_over_its_retailers_to_the_message() -> None:
    split = shares(1001, ["b-shop", "a-shop", "c-shop"])
    assert split == {"a-shop": 334, "b-shop": 334, "c-shop": 333}
    assert sum(split.values()) == 1001
    assert shares(500, []) == {}


def test_backing_off_never_goes_below_the_first_step() -> None:
    spike = PoolDay(sent=200, delivered=170, bounced=30, complaints=0)
    held = next_day(at(1), spike, POOL, SETTINGS)
    backed = next_day(held, spike, POOL, SETTINGS)
    assert (backed.step, backed.daily_cap) == (0, 200)
    assert backed.reason.startswith("backed off 1 step after 2 bad days")
    again = next_day(next_day(backed, spike, POOL, SETTINGS), spike, POOL, SETTINGS)
    assert (again.step, again.daily_cap) == (0, 200)
    assert again.reason.startswith("held after 2 bad days")
