"""`campaigns deploy-templates`: validate the template library, then create or update
what changed in every retailer's workspace; the step CI/CD runs on merge.

Exit 0 when every template reached every workspace; 1 when something was withheld
(validation) or a workspace failed (the summary says which); 99 with --if-changed when
there was nothing to deploy."""

from __future__ import annotations

import argparse

from jobs.commands.common import (
    NOTHING_TO_DO,
    add_common_arguments,
    add_retailer_option,
    emit,
    selected_retailers,
)
from jobs.config import load_conf
from jobs.metrics.publish import publish
from jobs.metrics.runs import deploy_figures
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import DEFAULT_CONCURRENCY, deploy_library
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"workspaces deployed at once (default {DEFAULT_CONCURRENCY}); "
        "each is paced by its own rate limit",
    )
    add_retailer_option(parser, "deploy only to this retailer's workspace")
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help=f"exit {NOTHING_TO_DO} without contacting any workspace when nothing changed "
        "since the last complete deploy (what the scheduled Airflow DAG runs)",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    selected_retailers(conf, args.retailer)  # an unknown id fails here, before any request
    router = ProviderRouter(conf)
    try:
        report = deploy_library(
            conf,
            load_library(conf),
            router,
            store=DeltaStore.from_profile(conf.profile),
            concurrency=args.concurrency,
            retailer_ids=args.retailer,
            if_changed=args.if_changed,
        )
    finally:
        router.close()
    for line in report.lines():
        emit(line)
    if not report.skipped:
        for line in publish("deploy_templates", deploy_figures(report).registry()):
            emit(line)
    if report.skipped:
        return NOTHING_TO_DO
    return 0 if report.ok else 1
