"""`campaigns summary`: every warehouse table's version, rows, files and size, and the
largest retailers' input rows."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit, spark_job
from jobs.warehouse.summary import format_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-summary") as job:
        emit(format_summary(job.warehouse))
    return 0
