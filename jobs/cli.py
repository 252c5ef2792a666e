"""The `campaigns` command: the one entry point of every job and tool.

`campaigns VERB ...`, `spark-submit jobs/cli.py VERB ...`, `flink run -py jobs/cli.py
VERB ...` and the Airflow DAGs all start here, so a laptop and a cluster execute
identical code. Each verb is one module of `jobs.commands` (or, for the development
tools, `jobs.dev.commands`) with `add_arguments(parser)` and `run(args) -> int`.
Only the chosen verb's module is imported: `campaigns preview` or `campaigns pause`
start in a second or two, without Spark's quality gates.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from dataclasses import dataclass

from jobs.commands.common import configure_logging
from jobs.errors import OperatorError


@dataclass(frozen=True)
class Verb:
    help: str
    is_dev: bool = False  # a development tool: jobs.dev, present in a checkout, not the wheel

    def module(self, name: str) -> str:
        package = "jobs.dev.commands" if self.is_dev else "jobs.commands"
        return f"{package}.{name.replace('-', '_')}"


VERBS: dict[str, Verb] = {
    "validate-config": Verb("validate conf/ and every template rule for every retailer"),
    "check-inputs": Verb(
        "data quality gate on customers, orders and consents (what launch checks first)"
    ),
    "launch": Verb("launch campaigns: evaluate audiences and write campaign_events"),
    "decide-allocation": Verb(
        "adaptive campaigns: decide a wave's variant weights from the earlier waves"
    ),
    "deploy-templates": Verb(
        "validate, then create or update changed templates in every retailer's workspace"
    ),
    "preview": Verb(
        "render a template for a retailer, campaign and customer (or --serve the preview page)"
    ),
    "deliver": Verb("deliver campaign_events through each retailer's workspace (PyFlink)"),
    "pause": Verb("pause a campaign's delivery (applied within seconds)"),
    "resume": Verb("resume a paused campaign; its paused messages go out on the next delivery"),
    "status": Verb(
        "what is waiting to be sent per retailer and why, the lease, each job's last commit"
    ),
    "maintain": Verb(
        "table upkeep: compact small files, checkpoint, vacuum (keeping pinned versions)"
    ),
    "check-run": Verb("check a launched run after delivery: every message recorded, few failures"),
    "ingest-events": Verb(
        "pull every workspace's event export into delivery_events (exactly once)"
    ),
    "attribute": Verb("attribute orders to the last message touch within its window (Spark)"),
    "update-warming": Verb(
        "decide today's email cap of every warming IP pool from yesterday's deliverability"
    ),
    "simulate-warming": Verb(
        "run the warming update over simulated weeks of sending (throwaway warehouse)"
    ),
    "onboard-retailer": Verb(
        "add a retailer: validate, provision its workspace, deploy templates, start warming"
    ),
    "sql": Verb(
        "Spark SQL over the warehouse and sql/ (shell, -e, -f) or a JDBC endpoint (--jdbc)"
    ),
    "dashboard": Verb(
        "write one HTML dashboard per retailer from the SQL reports (--serve to serve them)"
    ),
    "results": Verb("print each campaign's sends, engagement, conversions, revenue and ROI"),
    "summary": Verb("print every warehouse table's version, rows and size"),
    "check-executors": Verb(
        "check that every Spark executor can import the project (run with spark-submit)"
    ),
    "demo": Verb("run the pipeline end to end on the embedded local default", is_dev=True),
    "seed": Verb("generate the synthetic warehouse (customers, orders, consents)", is_dev=True),
    "provider-sim": Verb("run the provider simulator on loopback for every workspace", is_dev=True),
    "bench": Verb("run a benchmark and print its figures", is_dev=True),
    "package": Verb(
        "write the production package as a zip for spark-submit --py-files", is_dev=True
    ),
}


def available_verbs() -> dict[str, Verb]:
    """Every production verb, and the development tools where `jobs.dev` is installed."""
    has_dev = importlib.util.find_spec("jobs.dev") is not None
    return {name: verb for name, verb in VERBS.items() if has_dev or not verb.is_dev}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Every verb is listed; only `selected` gets its module imported and its arguments."""
    parser = argparse.ArgumentParser(
        prog="campaigns",
        description="Multi-tenant lifecycle marketing pipeline (Spark, Flink, Delta Lake).",
    )
    verbs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, verb in available_verbs().items():
        sub = verbs.add_parser(name, help=verb.help, description=verb.help)
        if name == selected:
            module = importlib.import_module(verb.module(name))
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    argv = sys.argv[1:] if argv is None else argv
    selected = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(selected).parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except OperatorError as error:
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
