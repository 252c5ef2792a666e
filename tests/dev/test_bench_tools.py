"""What the benchmarks measure with: the DuckDB anchor of `bench audience` computes the
engine's own events, the memory sampler sees the processes a benchmark starts, and the
event-log profile counts overlapping jobs once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.audience.launch import CampaignLaunch, launch
from jobs.config import load_conf
from jobs.dev.bench.audience_duckdb import DuckDbReference
from jobs.dev.bench.memory import peak_memory
from jobs.dev.bench.spark_profile import top_stages
from jobs.dev.synthetic.campaigns import retailer_config, winback_campaign
from jobs.dev.synthetic.generator import SeedSpec
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.warehouse import Warehouse
from tests.conftest import REPO_CONF

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_duckdb_anchor_computes_the_engines_events(spark: SparkSession, tmp_path: Path) -> None:
    """Row for row and value for value, so `bench audience` compares two engines that did
    the same work (the variant's hash aside: the shares agree)."""
    conf = load_conf(REPO_CONF)
    warehouse = Warehouse(spark, str(tmp_path / "warehouse"))
    retailers = seed_retailers(conf, 5)
    seed_warehouse(
        warehouse,
        retailers,
        SeedSpec(seed=5, customers=4_000, orders=40_000, as_of=date(2026, 11, 1)),
    )
    configs = [retailer_config(conf, r) for r in retailers]
    launches = [CampaignLaunch(winback_campaign(c), c, f"{c.retailer_id}-bench") for c in configs]
    launch(warehouse, launches, as_of=AS_OF, promo_secret=b"test", gate=None)

    reference = DuckDbReference(warehouse, launches)
    try:
        comparison = reference.compare(
            reference.run([c.retailer_id for c in configs], AS_OF, label="test")
        )
    finally:
        reference.close()

    assert comparison.engine_rows > 1_000
    assert comparison.same, comparison.line()
    assert abs(comparison.engine_holdout_share - comparison.reference_holdout_share) < 0.03


def test_peak_memory_counts_the_processes_a_benchmark_starts() -> None:
    allocate = (
        "import sys, time; block = bytearray(300 * 2**20); print(1, flush=True); time.sleep(2)"
    )
    with peak_memory(interval_s=0.05) as memory:
        child = subprocess.Popen([sys.executable, "-c", allocate], stdout=subprocess.PIPE)
        assert child.stdout is not None and child.stdout.readline()
        child.wait(timeout=30)

    assert memory.peaks["python workers"] >= 300 * 2**20
    assert memory.peaks["driver"] > 0
    assert memory.total >= memory.peaks["python workers"] + memory.peaks["driver"] - 2**20
    assert f"python workers {memory.peaks['python workers'] / 2**30:.2f} GiB" in memory.line()


def test_the_profile_counts_overlapping_jobs_of_a_call_site_once(tmp_path: Path) -> None:
    site = "collect at /repo/jobs/audience/events.py:98"
    events = [
        _job_start(0, site, 1_000, stage=0),
        _job_start(1, site, 2_000, stage=1),  # a broadcast started by the same query
        _job_end(0, 5_000),
        _job_end(1, 4_000),
        _stage(0, site, tasks=4, read=2**20),
        _stage(1, site, tasks=2, read=0),
        _job_start(2, "save at /repo/jobs/warehouse/tables.py:155", 6_000, stage=2),
        _job_end(2, 7_500),
    ]
    log = tmp_path / "app-1"
    log.write_text("\n".join(json.dumps(e) for e in events))

    ranked = top_stages(tmp_path)

    assert [(t.call_site, t.seconds) for t in ranked] == [
        ("collect at jobs/audience/events.py:98", 4.0),
        ("save at jobs/warehouse/tables.py:155", 1.5),
    ]
    assert (ranked[0].stages, ranked[0].tasks, ranked[0].input_mb) == (2, 6, 1.0)


def _job_start(job: int, site: str, at: int, *, stage: int) -> dict[str, object]:
    return {
        "Event": "SparkListenerJobStart",
        "Job ID": job,
        "Submission Time": at,
        "Stage Infos": [{"Stage ID": stage, "Stage Name": site}],
        "Properties": {"callSite.short": site},
    }


def _job_end(job: int, at: int) -> dict[str, object]:
    return {"Event": "SparkListenerJobEnd", "Job ID": job, "Completion Time": at}


def _stage(stage: int, site: str, *, tasks: int, read: int) -> dict[str, object]:
    return {
        "Event": "SparkListenerStageCompleted",
        "Stage Info": {
            "Stage ID": stage,
            "Stage Name": site,
            "Number of Tasks": tasks,
            "Accumulables": [{"Name": "internal.metrics.input.bytesRead", "Value": read}],
        },
    }
