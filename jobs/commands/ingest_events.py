"""`campaigns ingest-events`: every workspace's event export into delivery_events
(hourly in Airflow); safe to run at any time, and again.

Exits 1 when a workspace could not be read (the others are ingested, and the next
run picks the failed one up from its cursor)."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.metrics.publish import publish
from jobs.metrics.runs import ingest_figures
from jobs.providers.routing import ProviderRouter
from jobs.reporting.ingest import ingest_events
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--page-size", type=int, default=1000, help="events per export request")


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    router = ProviderRouter(conf)
    try:
        report = ingest_events(
            conf, DeltaStore.from_profile(conf.profile), router, page_size=args.page_size
        )
    finally:
        router.close()
    emit("\n".join([report.line(), *report.problem_lines()]))
    for line in publish("ingest_events", ingest_figures(report).registry()):
        emit(line)
    return 1 if report.failed else 0
