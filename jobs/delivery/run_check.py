"""After delivery: did every message of a launched run get a status, and few fail?

Reads the Delta logs only (no Spark), so Airflow's check after each delivery is
cheap. A failed check is an operator error: a retry cannot fix a run whose
messages failed or were never recorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pyarrow as pa
import pyarrow.compute as pc

from jobs.allocation.waves import launched_run_ids
from jobs.audience.launch import default_run_id
from jobs.config import Conf
from jobs.errors import OperatorError
from jobs.warehouse.registry import CAMPAIGN_EVENTS, MESSAGE_SENDS
from jobs.warehouse.statuses import FINAL_STATUSES, STATUSES
from jobs.warehouse.store import DeltaStore


class RunCheckError(OperatorError):
    """A launched run whose delivery is incomplete or mostly failed."""


@dataclass(frozen=True)
class RunOutcome:
    """A run's events and the statuses message_sends holds for them."""

    run_id: str
    retailer_id: str
    events: int
    statuses: Counter[str]

    def line(self) -> str:
        counts = ", ".join(f"{s} {self.statuses[s]:,}" for s in STATUSES if self.statuses[s])
        return f"{self.run_id}: {self.events:,} events; {counts or 'no statuses'}"


def run_outcome(store: DeltaStore, conf: Conf, campaign_id: str, as_of: date) -> RunOutcome:
    """The run launched for `campaign_id` on `as_of` (all its waves, for an adaptive
    campaign), read from its retailer's partition."""
    campaign = conf.campaign(campaign_id)
    run_id = default_run_id(campaign.campaign_id, datetime.combine(as_of, time.min, UTC))
    run_ids = launched_run_ids(campaign, run_id)
    partition = {"retailer_id": [campaign.retailer_id]}
    events = _of_runs(
        store.read_arrow(CAMPAIGN_EVENTS.name, columns=["run_id"], partitions=partition), run_ids
    )
    sends = _of_runs(
        store.read_arrow(MESSAGE_SENDS.name, columns=["run_id", "status"], partitions=partition),
        run_ids,
    )
    statuses = Counter(sends.column("status").to_pylist())
    return RunOutcome(run_id, campaign.retailer_id, events.num_rows, statuses)


def _of_runs(table: pa.Table, run_ids: list[str]) -> pa.Table:
    return table.filter(pc.is_in(table["run_id"], pa.array(run_ids, pa.string())))


def require_complete(outcome: RunOutcome, *, max_failed_share: float, allow_pending: bool) -> None:
    """Raise with every problem of the run, each with what to do about it."""
    problems = run_problems(outcome.events, outcome.statuses, max_failed_share, allow_pending)
    if problems:
        raise RunCheckError(f"run {outcome.run_id} ({outcome.retailer_id}): " + "; ".join(problems))


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
