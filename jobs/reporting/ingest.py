"""Ingest each workspace's event export into `delivery_events`, exactly once.

The export is at-least-once and paged by an opaque cursor. Each run reads
every workspace from its saved cursor and inserts only event ids the table
lacks (an insert-only MERGE). The cursors it reached are committed *in the
same Delta commit* as the events (commit metadata `ingest.cursors`). A crash
before that commit loses nothing: the next run starts from the old cursors.
A crash after it duplicates nothing: the cursors moved with the data.

A workspace that fails keeps its cursor where its last complete page left
it and is reported; the others are ingested.

A retailer with texts has a second source, its SMS account: status callbacks become
the same events, and a STOP reply (which names a phone number, not a customer) becomes
an `unsubscribed` SMS event for each of that retailer's customers with the number, so
the next launch suppresses their texts and nothing else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from jobs.config import Conf, RetailerConfig
from jobs.providers import ProviderError, RetryableError
from jobs.providers.base import EventPage, ProviderEvent
from jobs.providers.pacing import RetryPolicy
from jobs.providers.routing import SMS_ROUTE, WORKSPACE_ROUTE, ProviderRouter
from jobs.warehouse.registry import CUSTOMERS, DELIVERY_EVENTS
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
CURSORS_KEY = "ingest.cursors"
KEYS = ("retailer_id", "event_id")


@dataclass
class WorkspaceIngest:
    retailer_id: str
    workspace_id: str  # or the SMS account's SID
    route: str = WORKSPACE_ROUTE
    pages: int = 0
    fetched: int = 0
    # Events the export gave that were not stored (malformed), and the first few reasons.
    refused: int = 0
    refused_examples: list[str] = field(default_factory=list)
    error: str | None = None
    # Every message the provider accepted before this is now in delivery_events.
    exported_through: datetime | None = None
    # STOP replies, and how many of them matched none of the retailer's customers.
    opt_outs: int = 0
    unmatched_opt_outs: int = 0


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
    for retailer, source_id, route in _sources(conf, chosen):
        progress = WorkspaceIngest(retailer.retailer_id, source_id, route)
        report.workspaces.append(progress)
        client: EventSource = (
            router.sms_for_retailer(retailer.retailer_id)
            if route == SMS_ROUTE
            else router.for_retailer(retailer.retailer_id)
        )
        try:
            for page in _pages(client, cursors.get(progress.workspace_id), page_size):
                pending += [_row(retailer, event, source_id) for event in page.events]
                pending += _opt_out_rows(store, retailer, page, progress)
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


class EventSource(Protocol):
    def export_events(self, cursor: str | None, *, limit: int = 1000) -> EventPage: ...


def _sources(conf: Conf, retailer_ids: list[str]) -> Iterator[tuple[RetailerConfig, str, str]]:
    """(retailer, source id, route): each retailer's workspace, then its SMS account."""
    for retailer in (conf.retailer(retailer_id) for retailer_id in retailer_ids):
        yield retailer, retailer.workspace.workspace_id, WORKSPACE_ROUTE
        if retailer.sms is not None:
            yield retailer, retailer.sms.account_sid, SMS_ROUTE


def _pages(client: EventSource, cursor: str | None, page_size: int) -> Iterator[EventPage]:
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


def _opt_out_rows(
    store: DeltaStore, retailer: RetailerConfig, page: EventPage, progress: WorkspaceIngest
) -> list[dict[str, object]]:
    """An `unsubscribed` SMS event per customer of this retailer with a number that
    replied STOP (the reply's id is the event's; the number itself is never stored)."""
    if not page.opt_outs:
        return []
    phones = {opt_out.phone for opt_out in page.opt_outs}
    customers = store.read_arrow(
        CUSTOMERS.name,
        columns=["customer_id", "phone"],
        partitions={"retailer_id": [retailer.retailer_id]},
    )
    customers = customers.filter(pc.is_in(customers["phone"], value_set=pa.array(sorted(phones))))
    by_phone: dict[str, list[str]] = {}
    for row in customers.to_pylist():
        by_phone.setdefault(row["phone"], []).append(row["customer_id"])
    progress.opt_outs += len(page.opt_outs)
    progress.unmatched_opt_outs += sum(o.phone not in by_phone for o in page.opt_outs)
    return [
        _row(
            retailer,
            ProviderEvent(
                event_id=f"{opt_out.event_id}:{customer_id}",
                message_id=opt_out.event_id,
                customer_id=customer_id,
                channel="sms",
                event_type="unsubscribed",
                occurred_at=opt_out.occurred_at,
            ),
            progress.workspace_id,
        )
        for opt_out in page.opt_outs
        for customer_id in by_phone.get(opt_out.phone, [])
    ]


def _row(retailer: RetailerConfig, event: ProviderEvent, source_id: str) -> dict[str, object]:
    return {
        "retailer_id": retailer.retailer_id,
        "event_id": event.event_id,
        "message_id": event.message_id,
        "customer_id": event.customer_id,
        "channel": event.channel,
        "event_type": event.event_type,
        "dispatch_id": event.dispatch_id,
        "occurred_at": datetime.fromisoformat(event.occurred_at),
        "workspace_id": source_id,
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
