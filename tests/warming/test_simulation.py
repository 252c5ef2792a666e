"""Six simulated weeks of warming: the real daily update over real tables and Spark SQL."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from jobs.config import load_conf
from jobs.warehouse import Warehouse
from jobs.warming.simulation import Scenario, WarmingSimulation
from tests.conftest import REPO_CONF, REPO_ROOT

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)


def test_four_weeks_ramp_hold_on_a_bounce_spike_back_off_and_recover(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    conf = load_conf(REPO_CONF)  # maple-dedicated: 1,000 a day up to 50,000 in 35 steps
    scenario = Scenario(days=28, daily_demand=4_500, spike_days=(8, 9))
    days = WarmingSimulation(
        spark,
        warehouse,
        conf,
        REPO_ROOT / "sql",
        "maple-dedicated",
        scenario,
    ).run()
    by_day = {d.number: d for d in days}
    caps = [d.pool_cap for d in days]

    # delivery never sent more than the day's cap, and sent all of it while demand exceeded it
    assert all(d.sent == min(d.pool_cap, scenario.daily_demand) for d in days)
    # week one: one step a day from 1,000
    assert by_day[1].pool_cap == 1000 and by_day[1].state == "ramping"
    assert all(by_day[n].state == "ramping" for n in range(1, 9))
    assert caps[:8] == sorted(set(caps[:8]))
    # the spike on day 8 holds day 9; the second bad day backs off three steps
    assert (by_day[9].state, by_day[9].pool_cap) == ("holding", by_day[8].pool_cap)
    assert "bounces 12.0% > 5.0%" in by_day[9].reason
    assert by_day[10].state == "backing_off"
    assert (by_day[10].step, by_day[10].pool_cap) == (by_day[5].step, by_day[5].pool_cap)
    # recovery: ramping again from the day after, back to the pre-spike cap three days later
    assert all(by_day[n].state == "ramping" for n in range(11, 27))
    assert by_day[13].pool_cap == by_day[8].pool_cap
    assert by_day[24].pool_cap > by_day[8].pool_cap * 3
    # once the cap is far above what the pool sends, it stops rising
    final = by_day[28]
    assert final.state == "holding" and "held: sent 4,500" in final.reason
    assert max(caps) < 50_000

    schedule = warehouse.store.read_arrow("warming_schedule").to_pylist()
    assert len(schedule) == 28
    assert {row["retailer_id"] for row in schedule} == {"maple-market"}
