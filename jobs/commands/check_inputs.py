"""`campaigns check-inputs`: the Great Expectations suite on customers, orders and
consents (what `launch` checks first), on the partitions the launch reads.

Exits 2 with what is wrong, which the DAGs treat as final (no retry): a retry
cannot fix bad rows."""

from __future__ import annotations

import argparse

from jobs.audience.launch import read_inputs
from jobs.commands.common import (
    add_common_arguments,
    add_retailer_option,
    emit,
    selected_retailers,
    spark_job,
)
from jobs.quality.checks import QualityGate, require
from jobs.quality.suites import check_inputs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    # Another tenant's bad rows never stop a launch: its DAG checks its own retailer.
    add_retailer_option(parser, "check only this retailer's rows")


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-check-inputs") as job:
        retailer_ids = selected_retailers(job.conf, args.retailer)
        inputs = read_inputs(job.warehouse, retailer_ids)
        report = check_inputs(
            QualityGate(),
            customers_df=inputs.customers_df,
            orders_df=inputs.orders_df,
            consents_df=inputs.consents_df,
            known_retailers=retailer_ids,
        )
        require(report, "launch")
        emit(report.render())
    return 0
