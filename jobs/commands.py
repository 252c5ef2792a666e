"""The commands that are not jobs of their own: demo and summary."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from jobs import launch_job, seed_job
from jobs.delivery.demo import demo_delivery
from jobs.runtime import emit, spark_job
from jobs.seed_job import add_arguments as add_demo_arguments
from jobs.summary import format_summary

__all__ = ["add_demo_arguments", "demo", "summary"]


def summary(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-summary") as job:
        emit(format_summary(job.warehouse))
    return 0


def demo(args: argparse.Namespace) -> int:
    """The pipeline end to end on the embedded default: seed the warehouse and
    launch every configured campaign as of the seed's last day (Spark), then
    deliver through the provider simulator on loopback (Flink), and report.
    Running it again sends nothing twice."""
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-demo") as job:
        seed_job.seed(job, args)
        launches = launch_job.plan_launches(job.conf, sorted(job.conf.campaigns), as_of)
        launch_job.launch_campaigns(job, launches, as_of=as_of)
        emit(format_summary(job.warehouse))
        conf = job.conf
    emit(demo_delivery(conf))
    return 0
