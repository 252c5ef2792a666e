"""`campaigns check-executors`: can every Spark executor import the project?

Run it with the same `spark-submit` options as the jobs (`--py-files`, the Python
environment): it exits 1 naming each executor host and module that fails."""

from __future__ import annotations

import argparse

from jobs.cluster.executors import check_executors
from jobs.commands.common import add_common_arguments, emit, spark_job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-check-executors") as job:
        reports = check_executors(job.spark)
    for report in reports:
        emit(report.line())
        for module, error in sorted(report.failed.items()):
            emit(f"  {module}: {error}")
    return 1 if any(report.failed for report in reports) else 0
