"""Ingest each workspace's event export into `delivery_events`, exactly once.

The export is at-least-once and paged by an opaque cursor. Each run reads
every workspace from its saved cursor and inserts only event ids the table
lacks (an insert-only MERGE). The cursors it reached are committed *in the
same Delta commit* as the events (commit metadata `ingest.cursors`). A crash
before that commit loses nothing: the next run starts from the old cursors.
A crash after it duplicates nothing: the cursors moved with the data.

A workspace that fails keeps its cursor where its last complete page left
it and is reported; the others are ingested.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from jobs.config import Conf, RetailerConfig
from jobs.providers import ProviderError, RetryableError
from jobs.providers.base import EventPage, ProviderEvent
from jobs.providers.braze import BrazeClient
from jobs.providers.pacing import RetryPolicy
from jobs.providers.routing import ProviderRouter
from jobs.warehouse.registry import DELIVERY_EVENTS
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
CURSORS_KEY = "ingest.cursors"
KEYS = ("retailer_id", "event_id")


@dataclass
class WorkspaceIngest:
    retailer_id: str
    workspace_id: str
    pages: int = 0
    fetched: int = 0
    # Events the export gave that were not stored (malformed), and the first few reasons.
    refused: int = 0
    refused_examples: list[str] = field(default_factory=list)
    error: str | None = None
    # Every message the provider accepted before this is now in delivery_events.
    exported_through: datetime | None = None


@dataclass
class IngestReport:
    workspaces: list[WorkspaceIngest] = field(default_factory=list)
    inserted: int = 0
    commits: int = 0
    seconds: float = 0.0

    @property
    def fetched(self) -> int:
        return sum(w.fetched for w in self.workspaces)

    @property
    def failed(self) -> list[WorkspaceIngest]:
        return [w for w in self.workspaces if w.error]

    @property
    def refused(self) -> int:
        return sum(w.refused for w in self.workspaces)

    def line(self) -> str:
        return (
            f"events ingested from {len(self.workspaces)} workspaces in {self.seconds:.1f} s: "
            f"fetched {self.fetched:,}, new {self.inserted:,}, "
            f"duplicates {self.fetched - self.inserted:,}, refused {self.refused:,}, "
            f"{self.commits} commit(s); failed workspaces: {len(self.failed)}"
        )

    def problem_lines(self) -> list[str]:
        """Per workspace: why it failed, and what of its export was refused."""
        lines = []
        for w in self.workspaces:
            who = f"  {w.retailer_id} ({w.workspace_id})"
            if w.error:
                lines.append(f"{who}: failed, its cursor kept: {w.error}")
            if w.refused:
                examples = "; ".join(w.refused_examples)
                lines.append(f"{who}: refused {w.refused:,} malformed event(s) (e.g. {examples})")
        return lines


def saved_cursors(store: DeltaStore) -> dict[str, str]:
    """Workspace id -> the export cursor the last committed ingestion reached."""
    raw = store.newest_metadata(DELIVERY_EVENTS.name, CURSORS_KEY)
    return {} if raw is None else dict(json.loads(raw))


def ingest_events(
    conf: Conf,
    store: DeltaStore,
    router: ProviderRouter,
    *,
    page_size: int = 1000,
    commit_rows: int = 100_000,
    retailer_ids: list[str] | None = None,
) -> IngestReport:
    """Every workspace (or `retailer_ids`' only) from its saved cursor to the end of its
    export."""
    started = time.monotonic()
    report = IngestReport()
    saved = saved_cursors(store)
    cursors = dict(saved)
    pending: list[dict[str, object]] = []
    chosen = sorted(retailer_ids if retailer_ids is not None else conf.retailers)
    for retailer in (conf.retailer(retailer_id) for retailer_id in chosen):
        progress = WorkspaceIngest(retailer.retailer_id, retailer.workspace.workspace_id)
        report.workspaces.append(progress)
        client = router.for_retailer(retailer.retailer_id)
        try:
            for page in _pages(client, cursors.get(progress.workspace_id), page_size):
                pending += [_row(retailer, event) for event in page.events]
                _note_refused(progress, page)
                cursors[progress.workspace_id] = page.next_cursor
                if page.exported_through:
                    progress.exported_through = datetime.fromisoformat(page.exported_through)
                progress.pages += 1
                progress.fetched += len(page.events)
                if len(pending) >= commit_rows:
                    _commit(store, pending, cursors, report)
                    pending = []
        except ProviderError as error:
            progress.error = str(error)
            log.error("event export of %s failed: %s", progress.workspace_id, error)
    if pending or cursors != saved:
        _commit(store, pending, cursors, report)
    report.seconds = time.monotonic() - started
    return report


def _pages(client: BrazeClient, cursor: str | None, page_size: int) -> Iterator[EventPage]:
    """Pages until one comes back short (the end of the export for now)."""
    retry = RetryPolicy(max_attempts=5)
    attempt = 1
    while True:
        try:
            page = client.export_events(cursor, limit=page_size)
        except RetryableError as error:
            if attempt >= retry.max_attempts or retry.is_long_wait(error.retry_after):
                raise
            time.sleep(retry.delay(attempt, error.retry_after))
            attempt += 1
            continue
        attempt = 1
        yield page
        if page.size < page_size:
            return
        cursor = page.next_cursor


# Reasons kept per workspace for the report; the count covers every refused event.
REFUSED_EXAMPLES = 3


def _note_refused(progress: WorkspaceIngest, page: EventPage) -> None:
    if page.refused:
        progress.refused += len(page.refused)
        room = REFUSED_EXAMPLES - len(progress.refused_examples)
        progress.refused_examples += page.refused[:room]
        log.warning(
            "%s: refused %d malformed event(s) of the export (e.g. %s)",
            progress.workspace_id,
            len(page.refused),
            page.refused[0],
        )


def _row(retailer: RetailerConfig, event: ProviderEvent) -> dict[str, object]:
    return {
        "retailer_id": retailer.retailer_id,
        "event_id": event.event_id,
        "message_id": event.message_id,
        "customer_id": event.customer_id,
        "channel": event.channel,
        "event_type": event.event_type,
        "dispatch_id": event.dispatch_id,
        "occurred_at": datetime.fromisoformat(event.occurred_at),
        "workspace_id": retailer.workspace.workspace_id,
        "ip_pool": retailer.ip_pool,
        "ingested_at": datetime.now(UTC),
    }


def _commit(
    store: DeltaStore,
    rows: list[dict[str, object]],
    cursors: dict[str, str],
    report: IngestReport,
) -> None:
    """New events and the cursors that reach past them, in one commit."""
    unique = list({(r["retailer_id"], r["event_id"]): r for r in rows}.values())
    table = pa.Table.from_pylist(unique, schema=store.arrow_schema(DELIVERY_EVENTS.name))
    report.inserted += store.insert_new(
        DELIVERY_EVENTS.name,
        table,
        keys=KEYS,
        metadata={CURSORS_KEY: json.dumps(cursors, sort_keys=True)},
        always_commit=True,
    )
    report.commits += 1
