"""`campaigns bench audience`: launch one campaign per retailer in one run.

On the platform-scale seed (350 retailers, 1M customers, 10M orders) the
engine launches the retailers' winback campaigns at once, at a quarter, half
and all of the customers (whole retailers, smallest ids first), so how cost
grows is visible. At each scale DuckDB computes the same events from the same
Parquet files in the same run (the anchor, `audience_duckdb.py`) and the two
outputs are compared row by row; then the full launch runs again with its
quality gates. Goals: within 6x of DuckDB and under 20 s; gates at most +25%.
Peak memory of the driver, the JVM and the Python workers is printed;
`--event-log DIR` writes Spark's event log there and prints the costliest call
sites.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from jobs.audience.launch import CampaignLaunch, LaunchReport, launch
from jobs.commands.common import emit, spark_job
from jobs.config.loader import WAREHOUSE_URI_ENV
from jobs.dev.bench.audience_duckdb import DuckDbReference
from jobs.dev.bench.memory import peak_memory
from jobs.dev.bench.seed import seed_spec
from jobs.dev.bench.spark_profile import event_log_settings, profile_lines
from jobs.dev.synthetic.campaigns import retailer_config, winback_campaign
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.quality.checks import QualityGate
from jobs.warehouse import Warehouse

BENCH_WAREHOUSE = Path("var/bench-warehouse")
BENCH_SECRET = b"benchmark-only-secret"
PIPELINE_TABLES = ("campaign_events", "campaign_runs")
SCALES = (0.25, 0.5, 1.0)
GOAL_RATIO, GOAL_SECONDS, GOAL_GATE_SHARE = 6.0, 20.0, 0.25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event-log",
        type=Path,
        metavar="DIR",
        help="write Spark's event log to DIR and print the costliest call sites",
    )


def run(args: argparse.Namespace) -> int:
    os.environ[WAREHOUSE_URI_ENV] = str(BENCH_WAREHOUSE.resolve())
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    profile = args.event_log
    extra = event_log_settings(profile) if profile else None
    with (
        peak_memory() as memory,
        spark_job(args, app_name="campaigns-bench-audience", extra_conf=extra) as job,
    ):
        retailers = seed_retailers(job.conf, args.retailers)
        seeded = seed_warehouse(job.warehouse, retailers, seed_spec(args))
        emit(
            f"bench audience: warehouse {BENCH_WAREHOUSE} "
            f"({'reused' if seeded.skipped else 'seeded'}: {seeded.rows})"
        )
        configs = [retailer_config(job.conf, r) for r in retailers]
        launches = [
            CampaignLaunch(winback_campaign(c), c, f"{c.retailer_id}-bench") for c in configs
        ]
        customers = {
            str(key[0]): rows for key, rows in job.warehouse.rows_by_partition("customers").items()
        }
        reference = DuckDbReference(job.warehouse, launches)
        try:
            _warm_up(job.warehouse, _holding(launches, customers, SCALES[0]), as_of)
            for share in SCALES:
                scaled = _holding(launches, customers, share)
                engine_s = _scale(job.warehouse, reference, scaled, customers, share, as_of)
            _gated(job.warehouse, launches, as_of, engine_s)
        finally:
            reference.close()
    emit(f"bench audience: {memory.line()}")
    if profile:
        emit(f"bench audience: costliest call sites (Spark event log in {profile}):")
        for line in profile_lines(profile):
            emit(line)
    return 0


def _scale(
    warehouse: Warehouse,
    reference: DuckDbReference,
    launches: list[CampaignLaunch],
    customers: dict[str, int],
    share: float,
    as_of: datetime,
) -> float:
    """One launch of `launches` (the retailers holding `share` of the customers), the
    reference on the same retailers, both outputs compared; the engine's seconds."""
    retailer_ids = sorted(lo.retailer.retailer_id for lo in launches)
    seconds, report = _timed_launch(warehouse, launches, as_of, gate=None)
    events = sum(s.events for s in report.launched)
    anchor = reference.run(retailer_ids, as_of, label=f"scale-{share}")
    comparison = reference.compare(anchor)
    held = sum(customers[r] for r in retailer_ids)
    ratio = seconds / anchor.seconds
    goals = f"; goal within {GOAL_RATIO:g}x and under {GOAL_SECONDS:g} s" if share == 1.0 else ""
    emit(
        f"bench audience, {share:.0%} scale: {len(launches)} campaigns, {held:,} customers, "
        f"{events:,} events: engine {seconds:.1f} s, DuckDB {anchor.seconds:.1f} s "
        f"({anchor.rows:,} rows, 2 threads) = {ratio:.1f}x{goals}"
    )
    emit(f"bench audience, {share:.0%} scale: {comparison.line()}")
    return seconds


def _warm_up(warehouse: Warehouse, launches: list[CampaignLaunch], as_of: datetime) -> None:
    """The first launch in a JVM also loads classes and generates code; the scales are
    measured after it, so the line shows how the work grows, not the start-up."""
    seconds, _ = _timed_launch(warehouse, launches, as_of, gate=None)
    emit(f"bench audience: warm-up launch ({SCALES[0]:.0%} scale, not counted) {seconds:.1f} s")


def _gated(
    warehouse: Warehouse, launches: list[CampaignLaunch], as_of: datetime, ungated_s: float
) -> None:
    seconds, _ = _timed_launch(warehouse, launches, as_of, gate=QualityGate())
    emit(
        f"bench audience, 100% scale with quality gates: {seconds:.1f} s = "
        f"{seconds / ungated_s - 1:+.0%} over the same launch without them "
        f"(goal at most {GOAL_GATE_SHARE:+.0%})"
    )


def _timed_launch(
    warehouse: Warehouse,
    launches: list[CampaignLaunch],
    as_of: datetime,
    *,
    gate: QualityGate | None,
) -> tuple[float, LaunchReport]:
    _drop_pipeline_tables(warehouse)
    started = time.perf_counter()
    report = launch(warehouse, launches, as_of=as_of, promo_secret=BENCH_SECRET, gate=gate)
    return time.perf_counter() - started, report


def _holding(
    launches: list[CampaignLaunch], customers: dict[str, int], share: float
) -> list[CampaignLaunch]:
    """The launches of whole retailers, in id order, until they hold `share` of all
    customers (`customers`: retailer -> customers)."""
    wanted, chosen, held = share * sum(customers.values()), [], 0
    for launch_ in sorted(launches, key=lambda lo: lo.retailer.retailer_id):
        if held >= wanted:
            break
        chosen.append(launch_)
        held += customers.get(launch_.retailer.retailer_id, 0)
    return chosen


def _drop_pipeline_tables(warehouse: Warehouse) -> None:
    """The bench owns its warehouse: each measured launch starts from no history."""
    for name in PIPELINE_TABLES:
        shutil.rmtree(warehouse.uri(name), ignore_errors=True)
