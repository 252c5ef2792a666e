"""`campaigns bench NAME`: benchmarks print figures; tests never assert on time.

campaigns bench seed       seeding at platform scale
campaigns bench audience   one campaign per retailer, one run, vs DuckDB
campaigns bench provider   the simulator's raw capacity
campaigns bench delivery   1M events through the Flink delivery job
campaigns bench jdbc       time until `campaigns sql --jdbc` answers, vs a bare Spark session
campaigns bench templates  the template library to 350 workspaces: first, change, none
campaigns bench chaos      kill -9s against a provider without deduplication: in doubt, lag
campaigns bench maintain   a warehouse after 50 delivery runs, before and after upkeep
campaigns bench adaptive   adaptive allocation vs a fixed split over simulated campaigns
campaigns bench send-time  optimized send times vs sending at once, open-rate lift by seed
"""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments
from jobs.dev.bench import (
    adaptive,
    audience,
    chaos,
    delivery,
    jdbc,
    maintain,
    provider,
    seed,
    send_time,
    templates,
)
from jobs.dev.commands import seed as seed_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    benches = parser.add_subparsers(dest="bench", required=True)
    for name, module, help_text in (
        ("seed", seed, "time `campaigns seed` at platform scale"),
        ("audience", audience, "launch one campaign per retailer in one run; DuckDB reference"),
    ):
        sub = benches.add_parser(name, help=help_text, description=help_text)
        seed_command.add_arguments(sub)
        if module is audience:
            audience.add_arguments(sub)
        sub.set_defaults(
            retailers=350, customers=1_000_000, orders=10_000_000, bench_run=module.run
        )

    sub = benches.add_parser("provider", help="the provider simulator's raw capacity")
    provider.add_arguments(sub)
    sub.set_defaults(bench_run=provider.run)

    sub = benches.add_parser("delivery", help="the delivery job against the simulator, 1M events")
    delivery.add_arguments(sub)
    sub.set_defaults(bench_run=delivery.run)

    sub = benches.add_parser(
        "chaos", help="deliveries killed with -9 against a provider without deduplication"
    )
    chaos.add_arguments(sub)
    sub.set_defaults(bench_run=chaos.run)

    sub = benches.add_parser(
        "maintain", help="a warehouse after 50 delivery runs, before and after table upkeep"
    )
    maintain.add_arguments(sub)
    sub.set_defaults(bench_run=maintain.run)

    sub = benches.add_parser(
        "adaptive", help="adaptive allocation vs a fixed even split over simulated campaigns"
    )
    adaptive.add_arguments(sub)
    sub.set_defaults(bench_run=adaptive.run)

    sub = benches.add_parser(
        "send-time", help="optimized send times vs sending at once: open-rate lift per seed"
    )
    add_common_arguments(sub)
    send_time.add_arguments(sub)
    sub.set_defaults(bench_run=send_time.run)

    sub = benches.add_parser("jdbc", help="time until the JDBC endpoint answers beeline")
    jdbc.add_arguments(sub)
    sub.set_defaults(bench_run=jdbc.run)

    sub = benches.add_parser("templates", help="deploy the template library to 350 workspaces")
    templates.add_arguments(sub)
    sub.set_defaults(bench_run=templates.run)


def run(args: argparse.Namespace) -> int:
    result: int = args.bench_run(args)
    return result
