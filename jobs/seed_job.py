"""Entry module: generate the synthetic warehouse.

spark-submit jobs/seed_job.py --customers 1000000 --orders 10000000 --retailers 350
campaigns seed ...
"""

from __future__ import annotations

import argparse
from datetime import date

from jobs.runtime import (
    JobContext,
    add_common_arguments,
    emit,
    entry_main,
    spark_job,
)
from jobs.summary import format_seed_report, format_summary
from jobs.synthetic.generator import SeedSpec
from jobs.synthetic.seed import seed_retailers, seed_warehouse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    defaults = SeedSpec()
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    parser.add_argument("--retailers", type=int, default=3, help="number of retailers")
    parser.add_argument(
        "--customers",
        type=int,
        default=defaults.customers,
        help="customers across all retailers (approximate)",
    )
    parser.add_argument(
        "--orders",
        type=int,
        default=defaults.orders,
        help="orders across all retailers (approximate)",
    )
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=defaults.as_of,
        help="the day the data ends (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rewrite even if the tables already hold this seed"
    )


def seed(job: JobContext, args: argparse.Namespace) -> None:
    """Seed the warehouse the arguments describe and print what happened."""
    spec = SeedSpec(seed=args.seed, customers=args.customers, orders=args.orders, as_of=args.as_of)
    report = seed_warehouse(
        job.warehouse, seed_retailers(job.conf, args.retailers), spec, force=args.force
    )
    emit(format_seed_report(report))


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-seed") as job:
        seed(job, args)
        emit(format_summary(job.warehouse))
    return 0


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="seed_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    raise SystemExit(main())
