"""`campaigns bench templates`: the whole library to 350 retailers' workspaces.

Three deploys against the simulator (its own process, on one core, each
workspace at its configured rate limit), each timed end to end: load the
library, validate it for every retailer and campaign, list every workspace,
write what changed, record it in `template_deployments`.

1. first deploy: every template created in every workspace (goal under 60 s);
2. one template changed (the winback email's HTML): updated wherever it is
   received, everything else skipped by content hash (goal under 10 s);
3. no change: nothing written.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
from pathlib import Path

from jobs.commands.common import add_common_arguments, emit
from jobs.config import Conf
from jobs.dev.bench.platform import simulated_platform
from jobs.dev.simulator.server import point_conf_at
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import DEFAULT_CONCURRENCY, DeployReport, deploy_library
from jobs.text.liquid import parse
from jobs.warehouse.store import DeltaStore

BENCH_WAREHOUSE = Path("var/bench-templates")
CHANGED_TEMPLATE = Path("templates/library/winback/winback-email.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--retailers", type=int, default=350, help="retailers (default 350)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)


def run(args: argparse.Namespace) -> int:
    with (
        simulated_platform(args, BENCH_WAREHOUSE) as platform,
        tempfile.TemporaryDirectory(prefix="bench-templates-") as scratch,
    ):
        conf = point_conf_at(
            _with_own_library(platform.conf, Path(scratch)), platform.simulator_url
        )
        first = _deploy(conf, platform.store, args.concurrency)
        _change_one_template(conf.root / CHANGED_TEMPLATE)
        change = _deploy(conf, platform.store, args.concurrency)
        same = _deploy(conf, platform.store, args.concurrency)
    emit(f"bench templates: {len(conf.retailers)} retailers, concurrency {args.concurrency}")
    for label, report, goal in (
        ("first deploy", first, 60.0),
        ("one template changed", change, 10.0),
        ("no change", same, None),
    ):
        counts = report.counts()
        verdict = (
            ""
            if goal is None
            else f"  (goal < {goal:.0f} s: {'met' if report.seconds < goal else 'NOT met'})"
        )
        emit(
            f"  {label:<22} {report.seconds:6.1f} s (validation {report.validate_seconds:4.1f} s)"
            f"  created {counts['created']:>5,}  "
            f"updated {counts['updated']:>5,}  unchanged {counts['unchanged']:>5,}  "
            f"failed retailers {len(report.failed_retailers)}{verdict}"
        )
    return 0 if all(r.ok for r in (first, change, same)) else 1


def _with_own_library(conf: Conf, scratch: Path) -> Conf:
    """A private copy of conf/templates (and campaigns), so the benchmark can edit one."""
    for folder in ("templates", "campaigns"):
        shutil.copytree(conf.root / folder, scratch / folder)
    return dataclasses.replace(conf, root=scratch)


def _change_one_template(path: Path) -> None:
    text = path.read_text()
    path.write_text(
        text.replace("<p>{{ body_copy }}</p>", '<p class="lead">{{ body_copy }}</p>', 1)
    )


def _deploy(conf: Conf, store: DeltaStore, concurrency: int) -> DeployReport:
    """As a fresh `campaigns deploy-templates` would: nothing parsed beforehand."""
    parse.cache_clear()
    router = ProviderRouter(conf)
    try:
        return deploy_library(
            conf, load_library(conf), router, store=store, concurrency=concurrency
        )
    finally:
        router.close()
