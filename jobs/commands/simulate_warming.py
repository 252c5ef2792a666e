"""`campaigns simulate-warming`: the real daily warming update over simulated weeks of
sending, in a throwaway warehouse: how a pool's ramp answers a bounce spike, before
the thresholds in platform.yaml meet real mail."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.reporting.catalog import default_sql_dir
from jobs.warming.simulation import Scenario, simulate, table, warming_pool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    defaults = Scenario()
    parser.add_argument("--pool", default=None, help="warming IP pool (default: the first)")
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument(
        "--demand", type=int, default=defaults.daily_demand, help="email the pool wants a day"
    )
    parser.add_argument("--bounce-rate", type=float, default=defaults.bounce_rate)
    parser.add_argument(
        "--spike-days",
        default=",".join(map(str, defaults.spike_days)),
        help="comma-separated day numbers with a bounce spike (empty: none)",
    )
    parser.add_argument("--spike-bounce-rate", type=float, default=defaults.spike_bounce_rate)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="write the simulated warehouse here and keep it (default: a temporary folder)",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    pool = warming_pool(conf, args.pool)
    scenario = Scenario(
        days=args.days,
        daily_demand=args.demand,
        bounce_rate=args.bounce_rate,
        spike_days=tuple(int(d) for d in args.spike_days.split(",") if d.strip()),
        spike_bounce_rate=args.spike_bounce_rate,
    )
    days = simulate(conf, pool, scenario, sql_dir=default_sql_dir(conf), keep=args.keep)
    emit("\n".join(table(days)))
    return 0
