"""`campaigns results`: each campaign's sends, delivery, engagement, conversions,
attributed revenue and ROI, from rpt_campaign_performance (as the demo ends)."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit, spark_job
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.reporting.summary import campaign_results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-results") as job:
        register_catalog(
            job.spark,
            job.warehouse,
            job.conf,
            default_sql_dir(job.conf),
            views=("rpt_campaign_performance",),
        )
        emit(campaign_results(job.spark))
    return 0
