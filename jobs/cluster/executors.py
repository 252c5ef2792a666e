"""What each Spark executor's Python can import: the project and the libraries its
tasks need. A job whose executors lack the package fails mid-run with an ImportError
in a task; checking first names the host and the missing module instead."""

from __future__ import annotations

import importlib
import platform
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pyspark.sql import SparkSession

# What a task of ours may import on an executor: the project (every package of it,
# since a zip imports only regular packages) and the libraries those import.
EXECUTOR_IMPORTS = (
    "jobs",
    "jobs.audience",
    "jobs.config",
    "jobs.reporting",
    "jobs.templates",
    "jobs.warehouse",
    "pyarrow",
    "deltalake",
    "pydantic",
    "liquid",
)


@dataclass(frozen=True)
class ExecutorReport:
    host: str
    python: str
    # module -> where it was imported from, or the error that stopped it
    imported: dict[str, str]
    failed: dict[str, str]

    def line(self) -> str:
        where = self.imported.get("jobs", "-")
        state = "ok" if not self.failed else f"cannot import {sorted(self.failed)}"
        return f"{self.host} python {self.python}: {state}; jobs from {where}"


def check_executors(spark: SparkSession, *, tasks: int | None = None) -> list[ExecutorReport]:
    """One report per executor host, from tasks spread over every executor slot."""
    tasks = tasks or max(2, spark.sparkContext.defaultParallelism)
    rows = spark.sparkContext.parallelize(range(tasks), tasks).mapPartitions(_probe).collect()
    by_host = {report.host: report for report in rows}
    return [by_host[host] for host in sorted(by_host)]


def _probe(_partition: Iterable[int]) -> Iterator[ExecutorReport]:
    imported: dict[str, str] = {}
    failed: dict[str, str] = {}
    for name in EXECUTOR_IMPORTS:
        try:
            module = importlib.import_module(name)
            imported[name] = str(getattr(module, "__file__", None) or "namespace package")
        except Exception as error:  # an executor reports every failure, never stops
            failed[name] = f"{type(error).__name__}: {error}"
    yield ExecutorReport(socket.gethostname(), platform.python_version(), imported, failed)
