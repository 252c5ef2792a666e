"""`campaigns launch CAMPAIGN ... | --all`: audience -> suppression -> variant -> offer ->
one event per customer and channel in campaign_events (Spark).

    campaigns launch fresh-mart-winback [--run-id ID] [--as-of 2026-11-01]
    campaigns launch spring-subjects --wave 2 --as-of 2026-11-01   (adaptive: one wave)
    spark-submit jobs/cli.py launch --all
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

from jobs.audience.launches import launch_campaigns, plan_launches
from jobs.commands.common import (
    add_common_arguments,
    emit,
    moment_argument,
    run_id_argument,
    spark_job,
)
from jobs.config import Conf, load_conf
from jobs.errors import OperatorError
from jobs.metrics.publish import publish
from jobs.metrics.runs import launch_figures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "campaign_ids", nargs="*", metavar="CAMPAIGN_ID", help="campaigns to launch (or --all)"
    )
    parser.add_argument("--all", action="store_true", help="launch every configured campaign")
    parser.add_argument(
        "--run-id",
        type=run_id_argument,
        default=None,
        help="run id (one campaign only); default <campaign>-<as-of day>",
    )
    parser.add_argument(
        "--as-of",
        type=moment_argument,
        default=None,
        help="logical date or time of the run, UTC (default: today 00:00)",
    )
    parser.add_argument(
        "--wave",
        type=int,
        default=None,
        help="adaptive campaigns: launch this wave (1..waves) with its decided weights",
    )
    parser.add_argument(
        "--skip-quality",
        action="store_true",
        help="skip the Great Expectations gates (not for production)",
    )


def run(args: argparse.Namespace) -> int:
    as_of = args.as_of or datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    conf = load_conf(args.conf, profile=args.profile)
    ids = _campaign_ids(conf, args)
    # before Spark starts
    launches = plan_launches(conf, ids, as_of, run_id=args.run_id, wave=args.wave)
    started = time.monotonic()
    with spark_job(args, app_name="campaigns-launch", conf=conf) as job:
        report = launch_campaigns(
            job.conf, job.warehouse, launches, as_of=as_of, quality=not args.skip_quality
        )
        emit("\n".join(report.lines()))
    figures = launch_figures(report, launches, time.monotonic() - started)
    for line in publish("launch", figures.registry()):
        emit(line)
    if report.refused:
        raise OperatorError(
            f"{len(report.refused)} run(s) refused by the per-retailer data checks (listed "
            "above; nothing of theirs was written, the others launched). Fix those "
            "retailers' rows at their source and launch them again."
        )
    return 0


def _campaign_ids(conf: Conf, args: argparse.Namespace) -> list[str]:
    """The named campaigns, or with --all those of the mode asked for: every fixed one,
    or with --wave every adaptive one (their own DAGs send adaptive runs wave by wave)."""
    if not args.all:
        return list(args.campaign_ids)
    wanted_adaptive = args.wave is not None
    chosen = [c for c, cc in conf.campaigns.items() if cc.allocation.is_adaptive == wanted_adaptive]
    for skipped in sorted(set(conf.campaigns) - set(chosen)):
        emit(
            f"skipped {skipped}: "
            + ("not adaptive" if wanted_adaptive else "adaptive, sent in waves (--wave K)")
        )
    return sorted(chosen)
