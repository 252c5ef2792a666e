"""Entry module: the checks Airflow runs around a launch. `campaigns check-inputs` (Spark,
the Great Expectations suite on customers, orders and consents) before the engine, and
`campaigns check-run` (Delta logs only) after delivery: every event of the run has a
recorded status, and failures stay under a threshold.

Both exit 2 with what is wrong, which the DAGs treat as final (no retry): a retry
cannot fix bad rows or a run whose messages failed.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, date, datetime, time

import pyarrow.compute as pc

from jobs.audience.launch import default_run_id, read_inputs
from jobs.config import load_conf
from jobs.errors import OperatorError
from jobs.runtime import (
    add_common_arguments,
    add_retailer_option,
    emit,
    entry_main,
    selected_retailers,
    spark_job,
)
from jobs.warehouse.store import DeltaStore

FINAL_STATUSES = ("sent", "failed", "suppressed")


class RunCheckError(OperatorError):
    """A launched run whose delivery is incomplete or mostly failed."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    # Another tenant's bad rows never stop a launch: its DAG checks its own retailer.
    add_retailer_option(parser, "check only this retailer's rows")


def check_inputs(args: argparse.Namespace) -> int:
    """The launch's own input gate, on the same partitions the launch reads."""
    # Imported here: Great Expectations takes seconds to import, check-run needs none of it.
    from jobs.quality.checks import QualityGate, require
    from jobs.quality.suites import check_inputs as input_suite

    with spark_job(args, app_name="campaigns-check-inputs") as job:
        retailer_ids = selected_retailers(job.conf, args.retailer)
        inputs = read_inputs(job.warehouse, retailer_ids)
        report = input_suite(
            QualityGate(),
            customers_df=inputs.customers_df,
            orders_df=inputs.orders_df,
            consents_df=inputs.consents_df,
            known_retailers=retailer_ids,
        )
        require(report, "launch")
        emit(report.render())
    return 0


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("campaign_id", metavar="CAMPAIGN_ID")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
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


def check_run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    campaign = conf.campaign(args.campaign_id)
    run_id = default_run_id(campaign.campaign_id, datetime.combine(args.as_of, time.min, UTC))
    store = DeltaStore.from_profile(conf.profile)
    partition = [("retailer_id", "=", campaign.retailer_id)]
    events = store.read_arrow(
        "campaign_events", columns=["run_id", "message_id"], partitions=partition
    )
    events = events.filter(pc.equal(events["run_id"], run_id))
    sends = store.read_arrow(
        "message_sends", columns=["run_id", "message_id", "status"], partitions=partition
    )
    sends = sends.filter(pc.equal(sends["run_id"], run_id))
    counts = Counter(sends.column("status").to_pylist())
    emit(f"{run_id}: {events.num_rows:,} events; " + _statuses(counts))
    problems = run_problems(events.num_rows, counts, args.max_failed_share, args.allow_pending)
    if problems:
        raise RunCheckError(f"run {run_id} ({campaign.retailer_id}): " + "; ".join(problems))
    return 0


def run_problems(
    events: int, counts: Counter[str], max_failed_share: float, allow_pending: bool
) -> list[str]:
    """What is wrong with a run's outcome, each with what to do about it."""
    problems = []
    if events == 0:
        problems.append("no events: the launch wrote nothing (check its task log)")
    recorded = sum(counts.values())
    if recorded < events:
        problems.append(
            f"{events - recorded:,} events have no recorded status: run `campaigns deliver`"
        )
    pending = recorded - sum(counts[s] for s in FINAL_STATUSES)
    if pending and not allow_pending:
        problems.append(
            f"{pending:,} messages are deferred or paused: a later delivery sends them "
            "(pass --allow-pending where caps are expected to hold messages back)"
        )
    failed_share = counts["failed"] / recorded if recorded else 0.0
    if failed_share > max_failed_share:
        problems.append(
            f"{failed_share:.1%} of messages failed (more than {max_failed_share:.0%}): see "
            "message_sends.reason for the provider's answers"
        )
    return problems


def _statuses(counts: Counter[str]) -> str:
    return ", ".join(f"{status} {n:,}" for status, n in sorted(counts.items())) or "no statuses"


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="checks_job", description=__doc__, add_arguments=add_arguments, run=check_inputs
    )


if __name__ == "__main__":
    raise SystemExit(main())
