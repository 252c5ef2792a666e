"""`campaigns check-run CAMPAIGN --as-of DAY`: after delivery, every event of the run has
a recorded status and failures stay under a threshold (Delta logs only, no Spark).

Exits 2 with what is wrong, which the DAGs treat as final (no retry)."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, day_argument, emit
from jobs.config import load_conf
from jobs.delivery.run_check import require_complete, run_outcome
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("campaign_id", metavar="CAMPAIGN_ID")
    parser.add_argument(
        "--as-of",
        type=day_argument,
        required=True,
        help="the run's logical date (the launch's --as-of day)",
    )
    parser.add_argument(
        "--max-failed-share",
        type=float,
        default=0.05,
        help="largest share of the run's messages that may have failed (default 0.05)",
    )
    parser.add_argument(
        "--allow-pending",
        action="store_true",
        help="deferred and paused messages pass (a warming or daily cap holds them back)",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    outcome = run_outcome(DeltaStore.from_profile(conf.profile), conf, args.campaign_id, args.as_of)
    emit(outcome.line())
    require_complete(
        outcome, max_failed_share=args.max_failed_share, allow_pending=args.allow_pending
    )
    return 0
