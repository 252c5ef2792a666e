"""Benchmarks: they print figures; tests never assert on time.

campaigns bench seed [--customers 1000000 --orders 10000000 --retailers 350]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from jobs import seed_job
from jobs.config.loader import WAREHOUSE_URI_ENV
from jobs.runtime import emit, spark_job
from jobs.synthetic.generator import SeedSpec
from jobs.synthetic.seed import seed_retailers, seed_warehouse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    benches = parser.add_subparsers(dest="bench", required=True)
    seed = benches.add_parser("seed", help="time `campaigns seed` at platform scale")
    seed_job.add_arguments(seed)
    seed.set_defaults(retailers=350, customers=1_000_000, orders=10_000_000, bench_run=bench_seed)


def run(args: argparse.Namespace) -> int:
    result: int = args.bench_run(args)
    return result


def bench_seed(args: argparse.Namespace) -> int:
    """Seed a throw-away warehouse and report wall time and rows per second."""
    scratch = tempfile.mkdtemp(prefix="campaigns-bench-")
    os.environ[WAREHOUSE_URI_ENV] = scratch
    try:
        spec = SeedSpec(
            seed=args.seed, customers=args.customers, orders=args.orders, as_of=args.as_of
        )
        with spark_job(args, app_name="campaigns-bench-seed") as job:
            started = time.perf_counter()
            report = seed_warehouse(
                job.warehouse, seed_retailers(job.conf, args.retailers), spec, force=True
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
