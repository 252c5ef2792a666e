"""The `campaigns` command: one entry point, one subcommand per job or tool.

Each subcommand delegates to a thin entry module (the same module spark-submit
or flink run starts), so the CLI and a cluster submission execute identical
code. Only the chosen command's module is imported: `campaigns preview` or
`campaigns pause` start in a second or two, without Spark's quality gates.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

from jobs.errors import OperatorError
from jobs.runtime import add_common_arguments, configure_logging


@dataclass(frozen=True)
class Command:
    module: str
    handler: str
    help: str
    arguments: str | None = "add_arguments"  # None: only --conf and --profile


COMMANDS: dict[str, Command] = {
    "demo": Command(
        "jobs.commands",
        "demo",
        "run the pipeline end to end on the embedded local default",
        "add_demo_arguments",
    ),
    "seed": Command(
        "jobs.seed_job", "run", "generate the synthetic warehouse (customers, orders, consents)"
    ),
    "launch": Command(
        "jobs.launch_job", "run", "launch campaigns: evaluate audiences and write campaign_events"
    ),
    "provider-sim": Command(
        "jobs.provider_sim", "run", "run the provider simulator on loopback for every workspace"
    ),
    "check-inputs": Command(
        "jobs.checks_job",
        "check_inputs",
        "data quality gate on customers, orders and consents (what launch checks first)",
    ),
    "check-run": Command(
        "jobs.checks_job",
        "check_run",
        "check a launched run after delivery: every message recorded, few failures",
        "add_run_arguments",
    ),
    "deliver": Command(
        "jobs.deliver_job",
        "run",
        "deliver campaign_events through each retailer's workspace (PyFlink)",
    ),
    "pause": Command(
        "jobs.deliver_job",
        "pause",
        "pause a campaign's delivery (applied within seconds)",
        "add_control_arguments",
    ),
    "resume": Command(
        "jobs.deliver_job",
        "resume",
        "resume a paused campaign; its paused messages go out on the next delivery",
        "add_control_arguments",
    ),
    "deploy-templates": Command(
        "jobs.templates_job",
        "run",
        "validate, then create or update changed templates in every retailer's workspace",
    ),
    "preview": Command(
        "jobs.preview_job",
        "run",
        "render a template for a retailer, campaign and customer (or --serve the preview page)",
    ),
    "ingest-events": Command(
        "jobs.ingest_job",
        "run",
        "pull every workspace's event export into delivery_events (exactly once)",
    ),
    "onboard-retailer": Command(
        "jobs.onboard_job",
        "run",
        "add a retailer: validate, provision its workspace, deploy templates, start warming",
    ),
    "update-warming": Command(
        "jobs.warming_job",
        "run",
        "decide today's email cap of every warming IP pool from yesterday's deliverability",
    ),
    "simulate-warming": Command(
        "jobs.warming_job",
        "simulate",
        "run the warming update over simulated weeks of sending (throwaway warehouse)",
        "add_simulation_arguments",
    ),
    "attribute": Command(
        "jobs.attribute_job",
        "run",
        "attribute orders to the last message touch within its window (Spark)",
    ),
    "sql": Command(
        "jobs.sql_job",
        "run",
        "Spark SQL over the warehouse and sql/ (shell, -e, -f) or a JDBC endpoint (--jdbc)",
    ),
    "dashboard": Command(
        "jobs.dashboard_job",
        "run",
        "write one HTML dashboard per retailer from the SQL reports (--serve to serve them)",
    ),
    "results": Command(
        "jobs.commands",
        "results",
        "print each campaign's sends, engagement, conversions, revenue and ROI",
        None,
    ),
    "summary": Command(
        "jobs.commands", "summary", "print every warehouse table's version, rows and size", None
    ),
    "validate-config": Command(
        "jobs.validate_job",
        "run",
        "validate conf/ and every template rule for every retailer and campaign",
        None,
    ),
    "bench": Command("jobs.bench", "run", "run a benchmark and print its figures"),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Every command is listed; only `selected` gets its module imported and its arguments."""
    parser = argparse.ArgumentParser(
        prog="campaigns",
        description="Multi-tenant lifecycle marketing pipeline (Spark, Flink, Delta Lake).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.help, description=command.help)
        if name == selected:
            module = importlib.import_module(command.module)
            add = getattr(module, command.arguments) if command.arguments else add_common_arguments
            add(sub)
            sub.set_defaults(handler=getattr(module, command.handler))
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    argv = sys.argv[1:] if argv is None else argv
    selected = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(selected if selected in COMMANDS else None).parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except OperatorError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
