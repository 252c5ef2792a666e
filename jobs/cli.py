"""The `campaigns` command: one entry point, one subcommand per job or tool.

Each subcommand delegates to a thin entry module (the same module spark-submit
runs), so the CLI and a cluster submission execute identical code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from jobs import (
    bench,
    deliver_job,
    launch_job,
    preview_job,
    provider_sim,
    seed_job,
    templates_job,
)
from jobs.config import ConfigError, load_conf
from jobs.delivery.demo import demo_delivery
from jobs.quality.checks import DataQualityError
from jobs.runtime import add_common_arguments, configure_logging, emit, spark_job
from jobs.summary import format_summary
from jobs.templates import load_library
from jobs.templates.preview import PreviewError
from jobs.templates.validate import validate_library
from jobs.warehouse import WarehouseError


def _validate_config(args: argparse.Namespace) -> int:
    """Configuration, then every template rule for every retailer and campaign: the
    check a pull request runs before anything is deployed."""
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    problems = validate_library(conf, library)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        emit(f"template library is invalid ({len(problems)} {noun}); fix these lines:")
        for problem in problems:
            emit(f"  - {problem}")
        return 2
    emit(
        f"configuration OK: {conf.root} ({len(conf.retailers)} retailers, "
        f"{len(conf.campaigns)} campaigns, {len(library.templates)} templates "
        f"in {len(library.layouts)} layout(s), profile '{conf.profile.name}')"
    )
    return 0


def _summary(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-summary") as job:
        emit(format_summary(job.warehouse))
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The pipeline end to end on the embedded default: seed the warehouse and
    launch every configured campaign as of the seed's last day (Spark), then
    deliver through the provider simulator on loopback (Flink), and report.
    Running it again sends nothing twice."""
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-demo") as job:
        seed_job.seed(job, args)
        launches = launch_job.plan_launches(job.conf, sorted(job.conf.campaigns), as_of)
        launch_job.launch_campaigns(job, launches, as_of=as_of)
        emit(format_summary(job.warehouse))
        conf = job.conf
    emit(demo_delivery(conf))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="campaigns",
        description="Multi-tenant lifecycle marketing pipeline (Spark, Flink, Delta Lake).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        help_text: str,
        add: Callable[[argparse.ArgumentParser], None] = add_common_arguments,
    ) -> None:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add(sub)
        sub.set_defaults(handler=handler)

    command(
        "demo",
        _demo,
        "run the pipeline end to end on the embedded local default",
        seed_job.add_arguments,
    )
    command(
        "seed",
        seed_job.run,
        "generate the synthetic warehouse (customers, orders, consents)",
        seed_job.add_arguments,
    )
    command(
        "launch",
        launch_job.run,
        "launch campaigns: evaluate audiences and write campaign_events",
        launch_job.add_arguments,
    )
    command(
        "provider-sim",
        provider_sim.run,
        "run the provider simulator on loopback for every workspace of conf/",
        provider_sim.add_arguments,
    )
    command(
        "deliver",
        deliver_job.run,
        "deliver campaign_events through each retailer's workspace (PyFlink)",
        deliver_job.add_arguments,
    )
    command(
        "pause",
        deliver_job.pause,
        "pause a campaign's delivery (applied within seconds)",
        deliver_job.add_control_arguments,
    )
    command(
        "resume",
        deliver_job.resume,
        "resume a paused campaign; its paused messages go out on the next delivery",
        deliver_job.add_control_arguments,
    )
    command(
        "deploy-templates",
        templates_job.run,
        "create or update the template library in every retailer's workspace",
        templates_job.add_arguments,
    )
    command(
        "preview",
        preview_job.run,
        "render a template for a retailer, campaign and customer (or --serve the preview page)",
        preview_job.add_arguments,
    )
    command("summary", _summary, "print every warehouse table's version, rows and size")
    command("validate-config", _validate_config, "validate the whole conf/ tree")
    command("bench", bench.run, "run a benchmark and print its figures", bench.add_arguments)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except (ConfigError, WarehouseError, DataQualityError, PreviewError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
