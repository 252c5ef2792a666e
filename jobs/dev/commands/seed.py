"""`campaigns seed`: the synthetic commerce warehouse (customers, orders, consents).

campaigns seed --customers 1000000 --orders 10000000 --retailers 350
"""

from __future__ import annotations

import argparse

from jobs.commands.common import (
    JobContext,
    add_common_arguments,
    day_argument,
    emit,
    spark_job,
)
from jobs.dev.synthetic.generator import SeedSpec
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.warehouse.summary import format_summary


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
        type=day_argument,
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
    emit(report.line())


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-seed") as job:
        seed(job, args)
        emit(format_summary(job.warehouse))
    return 0
