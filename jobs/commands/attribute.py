"""`campaigns attribute`: orders to the last message touch within its window,
recomputed per retailer into attributed_orders (Spark)."""

from __future__ import annotations

import argparse

from jobs.commands.common import (
    add_common_arguments,
    add_retailer_option,
    emit,
    selected_retailers,
    spark_job,
)
from jobs.reporting.attribution_run import recompute_attribution


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_retailer_option(parser, "retailer to recompute")


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-attribution") as job:
        retailer_ids = selected_retailers(job.conf, args.retailer)
        windows = job.conf.platform.reporting.attribution
        emit(recompute_attribution(job.warehouse, windows, retailer_ids))
    return 0
