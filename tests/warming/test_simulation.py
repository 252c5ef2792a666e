"""Six simulated weeks of warming: the real daily update over real tables and Spark SQL."""

from __future__ import annotations

from pyspark.sql import SparkSession

from jobs.config import load_conf
from jobs.warehouse import Warehouse
from jobs.warming.simulation import Scenario, WarmingSimulation
from tests.conftest import REPO_CONF, REPO_ROOT


def test_six_weeks_ramp_hold_on_a_bounce_spike_back_off_and_recover(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    conf = load_conf(REPO_CONF)  # maple-dedicated: 1,000 a day up to 50,000 in 35 steps
    scenario = Scenario(days=42, daily_demand=20_000, spike_days=(15, 16))
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
    # weeks one and two: one step a day from 1,000
    assert by_day[1].pool_cap == 1000 and by_day[1].state == "ramping"
    assert all(by_day[n].state == "ramping" for n in range(1, 16))
    assert caps[:15] == sorted(set(caps[:15]))
    # the spike on day 15 holds day 16; the second bad day backs off three steps
    assert (by_day[16].state, by_day[16].pool_cap) == ("holding", by_day[15].pool_cap)
    assert "bounces 12.0% > 5.0%" in by_day[16].reason
    assert by_day[17].state == "backing_off"
    assert (by_day[17].step, by_day[17].pool_cap) == (by_day[12].step, by_day[12].pool_cap)
    # recovery: ramping again from the day after, back to the pre-spike cap three days later
    assert all(by_day[n].state == "ramping" for n in range(18, 33))
    assert by_day[20].pool_cap == by_day[15].pool_cap
    assert by_day[32].pool_cap > by_day[15].pool_cap * 3
    # once the cap is far above what the pool sends, it stops rising
    final = by_day[42]
    assert final.state == "holding" and "held: sent 20,000" in final.reason
    assert max(caps) < 50_000

    schedule = warehouse.store.read_arrow("warming_schedule").to_pylist()
    assert len(schedule) == 42
    assert {row["retailer_id"] for row in schedule} == {"maple-market"}
