"""`campaigns decide-allocation CAMPAIGN --wave K [--as-of DAY]`: decide and record the
variant weights of wave K of an adaptive campaign's run from the sends and engagement of
waves 1..K-1 (variant_allocations); `launch CAMPAIGN --wave K` then sends by them.

Deciding a wave already decided prints that decision and writes nothing.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

from jobs.allocation.waves import decide_allocation
from jobs.audience.launch import default_run_id
from jobs.commands.common import add_common_arguments, emit, moment_argument, run_id_argument
from jobs.config import load_conf
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("campaign_id", help="an adaptive campaign of conf/campaigns")
    parser.add_argument("--wave", type=int, required=True, help="the wave to decide (1..waves)")
    parser.add_argument(
        "--as-of",
        type=moment_argument,
        default=None,
        help="logical date of the run, UTC (default: today 00:00), as given to launch",
    )
    parser.add_argument(
        "--run-id", type=run_id_argument, default=None, help="the run, if launched with --run-id"
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    campaign = conf.campaign(args.campaign_id)
    as_of = args.as_of or datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)
    run_id = args.run_id or default_run_id(campaign.campaign_id, as_of)
    report = decide_allocation(DeltaStore.from_profile(conf.profile), campaign, run_id, args.wave)
    emit(report.line())
    return 0
