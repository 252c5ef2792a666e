"""`campaigns update-warming` (`spark-submit jobs/cli.py update-warming`): each warming IP
pool's cap for the day from yesterday's deliverability.

Airflow's daily reporting DAG runs the update after attribution, before the day's
deliveries; rerunning a day rewrites that day's rows, never advancing a ramp twice.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from jobs.commands.common import add_common_arguments, day_argument, emit, spark_job
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.warming.update import DELIVERABILITY_VIEWS, update_warming


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--date",
        type=day_argument,
        default=None,
        help="the day to decide caps for, judged on the day before (default: today, UTC)",
    )


def run(args: argparse.Namespace) -> int:
    today = args.date or datetime.now(UTC).date()
    with spark_job(args, app_name="campaigns-warming") as job:
        register_catalog(
            job.spark,
            job.warehouse,
            job.conf,
            default_sql_dir(job.conf),
            views=DELIVERABILITY_VIEWS,
        )
        run = update_warming(job.spark, job.warehouse.store, job.conf, today)
        emit("\n".join(run.lines()))
    return 0
