"""An adaptive campaign end to end, on the simulator with a known best variant: each wave
decided, launched by Spark, delivered by the Flink job, its engagement ingested, the next
decided from it; then the readouts, and every step run again.

The simulator's audience is less engaged after the first wave (its `scale` drops, as in
the evening): the pooled rate of the variant the bandit favoured mixes waves in the
bandit's proportions and misses the true rate, the wave-stratified one recovers it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow.compute as pc
import pytest
import requests
import yaml
from pyspark.sql import SparkSession

from jobs.allocation.waves import decide_allocation, wave_run_id
from jobs.audience.launches import launch_campaigns, plan_launches
from jobs.config import Conf, load_conf
from jobs.delivery.run_check import require_complete, run_outcome
from jobs.dev.clusters import foreground
from jobs.dev.simulator.state import EngagementRates
from jobs.dev.synthetic.generator import SeedSpec
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.providers.routing import ProviderRouter
from jobs.reporting.catalog import register_catalog
from jobs.reporting.dashboards import render_dashboard, retailer_reports
from jobs.reporting.ingest import ingest_events
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse import Warehouse
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT
from tests.delivery.processes import (
    CAMPAIGNS,
    conf_on_port,
    free_port,
    job_env,
    simulator_process,
    wait_for,
)

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)

CAMPAIGN = "fresh-mart-subjects"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
RUN = f"{CAMPAIGN}-20261101"
WAVES = 3
# The truth the campaign should find: click probability of a delivered email per variant.
CLICKED = {"plain": 0.04, "question": 0.06, "personal": 0.12}
BEST = "personal"
# How engaged the audience is when each wave goes out (the first in the morning).
SCALE = {1: 1.0, 2: 0.35, 3: 0.35}
DELIVERED = 1 - EngagementRates().bounced_hard - EngagementRates().bounced_soft


def adaptive_campaign() -> dict[str, Any]:
    return {
        "campaign_id": CAMPAIGN,
        "retailer_id": "fresh-mart",
        "type": "promotional",
        "channels": ["email"],
        "variants": [{"variant_id": v, "variables": {"subject": f"{v} subject"}} for v in CLICKED],
        "holdout_share": 0.1,
        "templates": {"email": "winback-email"},
        "allocation": {
            "mode": "adaptive",
            "metric": "click",
            "waves": WAVES,
            "exploration_share": 0.3,
            "wave_interval": "1h",
        },
    }


@pytest.fixture(scope="module")
def sent_in_waves(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Conf, Warehouse, list[str]]]:
    """Every wave of the run through the real jobs; yields the conf, the warehouse and what
    each decision said."""
    tmp = tmp_path_factory.mktemp("adaptive")
    port = free_port()
    conf_dir = conf_on_port(tmp, port)
    (conf_dir / "campaigns" / f"{CAMPAIGN}.yaml").write_text(yaml.safe_dump(adaptive_campaign()))
    env = job_env(tmp / "warehouse")
    mp = pytest.MonkeyPatch()
    mp.setenv("CAMPAIGNS_WAREHOUSE_URI", str(tmp / "warehouse"))
    conf = load_conf(conf_dir)
    warehouse = Warehouse(spark, str(tmp / "warehouse"))
    store = DeltaStore(str(tmp / "warehouse"))
    seed_warehouse(warehouse, seed_retailers(conf, 3), SeedSpec(customers=24_000, orders=60_000))
    decisions = []
    # one delivery follows the stream (a JVM started once), as `deliver --follow` runs
    follower = [CAMPAIGNS, "deliver", "--follow", "--poll-seconds", "1", "--conf", str(conf_dir)]
    with (
        simulator_process(conf_dir, port, env) as base,
        foreground(follower, env, tmp / "deliver.log"),
    ):
        router = ProviderRouter(conf)
        assert deploy_library(conf, load_library(conf), router).ok
        for wave in range(1, WAVES + 1):
            engagement(base, scale=SCALE[wave])
            decisions.append(decide_allocation(store, conf.campaign(CAMPAIGN), RUN, wave).line())
            launches = plan_launches(conf, [CAMPAIGN], AS_OF, wave=wave)
            # the quality gates have their own tests; here they would only add minutes
            report = launch_campaigns(conf, warehouse, launches, as_of=AS_OF, quality=False)
            [launched] = report.launched
            wait_for(
                lambda: _recorded(store, wave_run_id(RUN, wave)) == launched.events,  # noqa: B023
                timeout=240,
            )
            ingest_events(conf, store, router)
        router.close()
    yield conf, warehouse, decisions
    mp.undo()


def _recorded(store: DeltaStore, run_id: str) -> int:
    """How many messages of the run the delivery has recorded a status of."""
    sends = store.read_arrow(
        "message_sends", columns=["run_id"], partitions={"retailer_id": ["fresh-mart"]}
    )
    return int(pc.sum(pc.equal(sends["run_id"], run_id)).as_py() or 0)


def engagement(base: str, *, scale: float) -> None:
    variants = {v: {"clicked": p, "opened": 0.35} for v, p in CLICKED.items()}
    answer = requests.post(
        f"{base}/_admin/engagement", json={"variants": variants, "scale": scale}, timeout=10
    )
    answer.raise_for_status()


def sends_by_wave(store: DeltaStore) -> dict[int, Counter[str]]:
    sends = store.read_arrow("message_sends", partitions={"retailer_id": ["fresh-mart"]})
    sent = sends.filter(pc.equal(sends["status"], "sent")).to_pylist()
    return {
        wave: Counter(s["variant_id"] for s in sent if s["run_id"] == wave_run_id(RUN, wave))
        for wave in range(1, WAVES + 1)
    }


def test_by_the_last_wave_the_best_variant_gets_most_sends_and_clicks_beat_an_even_split(
    sent_in_waves: tuple[Conf, Warehouse, list[str]],
) -> None:
    conf, warehouse, decisions = sent_in_waves
    store = warehouse.store
    by_wave = sends_by_wave(store)
    allocations = store.read_arrow("variant_allocations").to_pylist()

    # every decision is recorded: each wave, each variant, what it was decided from
    assert {(a["wave"], a["variant_id"]) for a in allocations} == {
        (w, v) for w in range(1, WAVES + 1) for v in CLICKED
    }, decisions
    first = [a for a in allocations if a["wave"] == 1]
    assert all(a["weight"] == pytest.approx(1 / 3) for a in first)
    assert all(a["trials"] == 0 for a in first)
    later = [a for a in allocations if a["wave"] == 2]
    assert sum(a["trials"] for a in later) == sum(by_wave[1].values())
    # the exploration wave is even; by the last the best variant has most of the sends
    assert max(by_wave[1].values()) - min(by_wave[1].values()) < 0.1 * sum(by_wave[1].values())
    assert by_wave[WAVES][BEST] > 0.6 * sum(by_wave[WAVES].values()), by_wave

    # clicks the run got, against what an even split of the same sends would expect
    clicks = _clicks(store)
    even = sum(
        sum(counts.values()) * SCALE[wave] * DELIVERED * sum(CLICKED.values()) / len(CLICKED)
        for wave, counts in by_wave.items()
    )
    assert clicks > even + 3 * even**0.5, (clicks, even, decisions)

    # check-run judges the run over all of its waves
    outcome = run_outcome(store, conf, CAMPAIGN, AS_OF.date())
    assert (
        outcome.events
        == sum(sum(c.values()) for c in by_wave.values()) + outcome.statuses["suppressed"]
    )
    require_complete(outcome, max_failed_share=0.05, allow_pending=False)


def test_the_stratified_estimate_recovers_the_true_rate_where_the_pooled_one_does_not(
    sent_in_waves: tuple[Conf, Warehouse, list[str]], spark: SparkSession
) -> None:
    conf, warehouse, _ = sent_in_waves
    register_catalog(spark, warehouse, conf, REPO_ROOT / "sql")
    readout = {
        r["variant_id"]: r.asDict()
        for r in spark.sql(
            "select * from rpt_adaptive_readout where retailer_id = 'fresh-mart'"
        ).collect()
    }
    by_wave = sends_by_wave(warehouse.store)
    total = sum(sum(c.values()) for c in by_wave.values())
    share = {wave: sum(c.values()) / total for wave, c in by_wave.items()}

    best = readout[BEST]
    truth = sum(share[w] * SCALE[w] for w in by_wave) * CLICKED[BEST] * DELIVERED
    assert best["estimator"] == "wave-stratified" and best["share_covered"] == pytest.approx(1)
    assert best["rate_ci_low"] <= truth <= best["rate_ci_high"], (truth, best)
    assert not best["pooled_ci_low"] <= truth <= best["pooled_ci_high"], (truth, best)
    # the marketer's page shows the waves and the stratified estimates
    page = render_dashboard(conf.retailer("fresh-mart"), retailer_reports(spark, "fresh-mart"))
    assert "Adaptive runs: waves" in page and "wave-stratified" in page
    for variant, row in readout.items():  # every variant, over the waves it was sent in
        covered = [w for w, c in by_wave.items() if c[variant]]
        rate = sum(share[w] * SCALE[w] for w in covered) / sum(share[w] for w in covered)
        truth = rate * CLICKED[variant] * DELIVERED
        assert row["rate_ci_low"] <= truth <= row["rate_ci_high"], (variant, truth, row)


def test_running_any_step_again_writes_nothing(
    sent_in_waves: tuple[Conf, Warehouse, list[str]],
) -> None:
    conf, warehouse, decisions = sent_in_waves
    store = warehouse.store
    versions = {
        t: store.delta_table(t).version() for t in ("campaign_events", "variant_allocations")
    }

    again = [decide_allocation(store, conf.campaign(CAMPAIGN), RUN, w) for w in (1, 2, 3)]
    relaunched = launch_campaigns(
        conf, warehouse, plan_launches(conf, [CAMPAIGN], AS_OF, wave=2), as_of=AS_OF
    )

    assert [r.written for r in again] == [False, False, False]
    assert [r.line().split(": ", 1)[1] for r in again] == [d.split(": ", 1)[1] for d in decisions]
    assert relaunched.already_launched == [wave_run_id(RUN, 2)] and not relaunched.launched
    assert {t: store.delta_table(t).version() for t in versions} == versions


def _clicks(store: DeltaStore) -> int:
    only = {"retailer_id": ["fresh-mart"]}
    sends = store.read_arrow("message_sends", columns=["message_id", "run_id"], partitions=only)
    ours = set(sends.filter(pc.starts_with(sends["run_id"], RUN))["message_id"].to_pylist())
    events = store.read_arrow("delivery_events", partitions=only).to_pylist()
    return len({e["message_id"] for e in events if e["event_type"] == "clicked"} & ours)
