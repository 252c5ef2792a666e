"""message_sends: one row per message, committed in batches, the last with the source version.

The driver collects each batch's outcomes from the Flink job and commits them
every `commit_rows` rows or `commit_seconds` seconds, so a killed run loses at
most the last interval's records (and the provider's idempotency key makes
their re-send harmless). New messages are appended; messages that already
have a pending (deferred or paused) row are updated in place with a MERGE.
The run's final commit carries the `txn` that moves the source position.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from jobs.delivery.plan import SOURCE_APP_ID, DeliveryPlan
from jobs.delivery.records import BatchReport, Outcome
from jobs.warehouse.registry import MESSAGE_SENDS
from jobs.warehouse.statuses import STATUSES
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
    commit_rows: int = 20_000
    commit_seconds: float = 5.0
    tally: RunTally = field(default_factory=RunTally)
    _pending: dict[str, Outcome] = field(default_factory=dict)
    _committed: set[str] = field(default_factory=set)
    _last_commit: float = field(default_factory=time.monotonic)

    def add(self, report: BatchReport) -> None:
        """Buffer one batch's outcomes; a message seen twice (task restart) keeps its first."""
        self.tally.add(report)
        for outcome in report.outcomes:
            if outcome.message_id in self._committed or outcome.message_id in self._pending:
                continue
            self._pending[outcome.message_id] = outcome
            self.tally.statuses[outcome.status] += 1
        if (
            len(self._pending) >= self.commit_rows
            or time.monotonic() - self._last_commit >= self.commit_seconds
        ):
            self.flush()

    def flush(self, *, run: RunTag | None = None) -> None:
        """Commit what is buffered (appends, then updates); `run` tags the last commit."""
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
        self._committed.update(self._pending)
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
        """message_sends rows in the registry's shape: each column is the outcome's
        field of that name, or one the run adds (`_run_columns`)."""
        added = self._run_columns(outcomes)
        schema = self.store.arrow_schema(MESSAGE_SENDS.name)
        return pa.table(
            [
                pa.array(
                    added[f.name] if f.name in added else [getattr(o, f.name) for o in outcomes]
                ).cast(f.type)
                for f in schema
            ],
            schema=schema,
        )

    def _run_columns(self, outcomes: list[Outcome]) -> dict[str, object]:
        """The columns that are not an outcome's field as it is: UTC times and the run's ids."""

        def utc(values: list[int | None]) -> pa.Array:
            return pa.array(values, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))

        return {
            "queued_at": utc([o.queued_at_ms for o in outcomes]),
            "first_attempt_at": utc([o.first_attempt_at_ms for o in outcomes]),
            "completed_at": utc([o.completed_at_ms for o in outcomes]),
            "send_latency_ms": [o.send_latency_ms for o in outcomes],
            "delivery_run_id": [self.plan.delivery_run_id] * len(outcomes),
            "source_version": [self.plan.source_to] * len(outcomes),
        }
