"""`campaigns bench seed`: seeding at platform scale (goal: under 2 minutes on 2 cores)."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from jobs.commands.common import emit, spark_job
from jobs.config.loader import WAREHOUSE_URI_ENV
from jobs.dev.synthetic.generator import SeedSpec
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse


def seed_spec(args: argparse.Namespace) -> SeedSpec:
    return SeedSpec(seed=args.seed, customers=args.customers, orders=args.orders, as_of=args.as_of)


def run(args: argparse.Namespace) -> int:
    """Seed a throw-away warehouse and report wall time and rows per second."""
    scratch = tempfile.mkdtemp(prefix="campaigns-bench-")
    os.environ[WAREHOUSE_URI_ENV] = scratch
    try:
        with spark_job(args, app_name="campaigns-bench-seed") as job:
            started = time.perf_counter()
            report = seed_warehouse(
                job.warehouse, seed_retailers(job.conf, args.retailers), seed_spec(args), force=True
            )
            wall = time.perf_counter() - started
            master = job.spark.sparkContext.master
        total = sum(report.rows.values())
        emit(
            f"bench seed: {report.retailers} retailers, "
            + ", ".join(f"{name} {rows:,}" for name, rows in report.rows.items())
        )
        emit(
            f"bench seed: wall {wall:.1f} s on {master} ({total / wall:,.0f} rows/s written); "
            f"goal: under 120 s"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0
