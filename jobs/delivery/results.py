"""message_sends: one row per message, committed in batches, the last with the source version.

The driver collects each batch's outcomes from the Flink job and commits them
every `commit_rows` rows or `commit_seconds` seconds. What a killed run had not
committed yet is in its intent log, and the next run records it before sending
anything (`reconcile.py`). New messages are appended; messages that already
have a pending (deferred or paused) row are updated in place with a MERGE.
The run's final commit carries the `txn` that moves the source position.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from jobs.delivery.lease import DeliveryLease
from jobs.delivery.plan import SOURCE_APP_ID, DeliveryPlan
from jobs.delivery.records import BatchReport, Outcome
from jobs.warehouse.registry import MESSAGE_SENDS
from jobs.warehouse.statuses import STATUSES, Status
from jobs.warehouse.store import DeltaStore, RunTag

log = logging.getLogger(__name__)


@dataclass
class RunTally:
    """What a run did, for its summary line (counts only: no personal data)."""

    statuses: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    largest_batch: int = 0
    batch_sizes: int = 0
    requests: int = 0
    throttled: int = 0
    commits: int = 0
    commit_s: float = 0.0
    started: float = field(default_factory=time.monotonic)
    first_report_s: float | None = None  # seconds from the start to the first result

    def add(self, report: BatchReport) -> None:
        if self.first_report_s is None:
            self.first_report_s = time.monotonic() - self.started
            log.info("first batch results after %.1f s", self.first_report_s)
        self.batches += 1
        self.batch_sizes += report.batch_size
        self.largest_batch = max(self.largest_batch, report.batch_size)
        self.requests += report.requests
        self.throttled += report.throttled

    @property
    def messages(self) -> int:
        return sum(self.statuses.values())

    def line(self) -> str:
        counts = ", ".join(f"{status} {self.statuses[status]:,}" for status in STATUSES)
        return (
            f"{self.messages:,} messages: {counts}; {self.batches:,} batches "
            f"(largest {self.largest_batch}), {self.requests:,} requests, "
            f"{self.throttled} throttled (429), {self.commits} commits ({self.commit_s:.1f} s)"
        )


@dataclass
class ResultCommitter:
    store: DeltaStore
    plan: DeliveryPlan
    lease: DeliveryLease | None = None
    commit_rows: int = 20_000
    commit_seconds: float = 5.0
    tally: RunTally = field(default_factory=RunTally)
    _pending: dict[str, Outcome] = field(default_factory=dict)
    _committed: dict[str, Status] = field(default_factory=dict)
    _last_commit: float = field(default_factory=time.monotonic)

    def add(self, report: BatchReport) -> None:
        """Buffer one batch's outcomes. A message seen twice keeps its first outcome, but
        `sent` beats any other: a message the provider took is never recorded otherwise."""
        self.tally.add(report)
        for outcome in report.outcomes:
            known = self._pending.get(outcome.message_id)
            before = known.status if known else self._committed.get(outcome.message_id)
            if before is not None and (before == "sent" or outcome.status != "sent"):
                continue
            if before is not None:
                self.tally.statuses[before] -= 1
                # already committed: the row is there to update
                outcome = outcome._replace(is_recorded=outcome.is_recorded or known is None)
            self._pending[outcome.message_id] = outcome
            self.tally.statuses[outcome.status] += 1
        if (
            len(self._pending) >= self.commit_rows
            or time.monotonic() - self._last_commit >= self.commit_seconds
        ):
            self.flush()

    def flush(self, *, run: RunTag | None = None) -> None:
        """Commit what is buffered (appends, then updates); `run` tags the last commit."""
        if self.lease is not None:  # a holder that stalled past its lease commits nothing
            self.lease.check(margin_s=self.lease.margin_s)
        started = time.monotonic()
        outcomes = list(self._pending.values())
        new = [o for o in outcomes if not o.is_recorded]
        updates = [o for o in outcomes if o.is_recorded]
        metadata = {"delivery_run_id": self.plan.delivery_run_id}
        if updates:
            self.store.upsert(
                MESSAGE_SENDS.name,
                self._rows(updates),
                keys=("retailer_id", "message_id"),
                run=None if new else run,
                metadata=metadata,
            )
            self.tally.commits += 1
        if new or (run is not None and not updates):
            self.store.append(MESSAGE_SENDS.name, self._rows(new), run=run, metadata=metadata)
            self.tally.commits += 1
        self._committed.update((m, o.status) for m, o in self._pending.items())
        self._pending.clear()
        self._last_commit = time.monotonic()
        self.tally.commit_s += self._last_commit - started

    def finish(self) -> None:
        """The final commit: the rest of the results and the new source position, together."""
        self.flush(run=RunTag(SOURCE_APP_ID, self.plan.source_to))

    def abandon(self) -> None:
        """The job failed: keep what was really sent, but do not move the source position."""
        if self._pending:
            self.flush()

    def _rows(self, outcomes: list[Outcome]) -> pa.Table:
        return message_sends_rows(
            outcomes,
            delivery_run_id=self.plan.delivery_run_id,
            source_version=self.plan.source_to,
            schema=self.store.arrow_schema(MESSAGE_SENDS.name),
        )


def message_sends_rows(
    outcomes: list[Outcome], *, delivery_run_id: str, source_version: int, schema: pa.Schema
) -> pa.Table:
    """message_sends rows in the registry's shape (`schema`): each column is the outcome's
    field of that name, or one the run adds (UTC times, the run's ids)."""

    def utc(values: list[int | None]) -> pa.Array:
        return pa.array(values, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))

    added: dict[str, object] = {
        "queued_at": utc([o.queued_at_ms for o in outcomes]),
        "first_attempt_at": utc([o.first_attempt_at_ms for o in outcomes]),
        "completed_at": utc([o.completed_at_ms for o in outcomes]),
        "send_latency_ms": [o.send_latency_ms for o in outcomes],
        "eligible_at": utc([o.eligible_at_ms for o in outcomes]),
        "delivery_run_id": [delivery_run_id] * len(outcomes),
        "source_version": [source_version] * len(outcomes),
    }
    return pa.table(
        [
            pa.array(
                added[f.name] if f.name in added else [getattr(o, f.name) for o in outcomes]
            ).cast(f.type)
            for f in schema
        ],
        schema=schema,
    )
