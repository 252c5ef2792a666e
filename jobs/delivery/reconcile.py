"""Before a run plans: settle every send a dead run (or a timeout) left in doubt.

What the intent log (`intents.py`) and message_sends say, message by message:

- an outcome the log holds but message_sends lacks (the run died before committing
  it): recorded as it was;
- a claim without an outcome, or a message_sends row `in_doubt`: the request may have
  reached the provider. Where the provider drops repeated message ids, it is simply
  sent again. Elsewhere the provider's export decides (read through the ingestion,
  so it lands in delivery_events exactly once): a `sent` event for the message means
  sent; an export complete past the claim's time plus `grace_s` without one means not
  sent, and it goes out again; an export not there yet leaves it `in_doubt`, and the
  next run looks again.

Everything settled is committed to message_sends in one commit, then the dead runs'
logs are deleted: a crash in between only repeats the same, idempotent, work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from jobs.config import Conf
from jobs.delivery.intents import latest_per_message, read_intents, remove_intents
from jobs.delivery.lease import DeliveryLease
from jobs.providers.routing import ProviderRouter, route_of
from jobs.reporting.ingest import ingest_events
from jobs.warehouse.registry import DELIVERY_EVENTS, MESSAGE_SENDS
from jobs.warehouse.statuses import FINAL_STATUSES, IN_DOUBT
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
KEYS = ("retailer_id", "message_id")
RESENT = "in doubt, then not in the provider's export: sent again"
RESENT_DEDUPLICATED = "in doubt: sent again (the provider drops repeated message ids)"


@dataclass
class ReconcileReport:
    """What reconciliation settled (counts only: no personal data)."""

    recorded: int = 0  # outcomes the log held and message_sends lacked
    in_doubt: int = 0  # requests nobody knew the answer to
    sent_per_export: int = 0
    resent: int = 0
    still_in_doubt: int = 0

    def line(self) -> str:
        return (
            f"reconciled: {self.recorded:,} outcomes recorded from the intent log; "
            f"{self.in_doubt:,} in doubt: {self.sent_per_export:,} sent per the provider's "
            f"export, {self.resent:,} to send again, {self.still_in_doubt:,} still in doubt"
        )


def reconcile(
    store: DeltaStore,
    conf: Conf,
    lease: DeliveryLease,
    *,
    grace_s: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> ReconcileReport | None:
    """Settle what earlier runs left; None when they left nothing."""
    intents, runs = read_intents(store)
    ledger = _ledger_statuses(store)
    doubtful_in_ledger = _in_doubt_rows(store, ledger)
    if not runs and not doubtful_in_ledger.num_rows:
        return None
    final = ledger.filter(pc.is_in(ledger["status"], pa.array(FINAL_STATUSES)))
    # the log's last word on each message message_sends does not already hold as final
    latest = _without(latest_per_message(intents), set(_keys(final)))
    latest = latest.drop_columns(["kind", "attempt"])
    known = latest.filter(pc.not_equal(latest["status"], IN_DOUBT))
    claims = latest.filter(pc.equal(latest["status"], IN_DOUBT)).cast(doubtful_in_ledger.schema)
    # both sources of doubt, one row a message: the log's claim is the newer word
    doubtful = pa.concat_tables([claims, _without(doubtful_in_ledger, set(_keys(claims)))])
    report = ReconcileReport(recorded=known.num_rows, in_doubt=doubtful.num_rows)
    settled = _settle(store, conf, doubtful, report, grace_s=grace_s, clock=clock, sleep=sleep)
    rows = pa.concat_tables([known, settled])
    if rows.num_rows:
        lease.check(margin_s=lease.margin_s)
        store.upsert(MESSAGE_SENDS.name, rows, keys=KEYS, metadata={"delivery": "reconciliation"})
    remove_intents(store, runs)
    log.info("%s", report.line())
    return report


def _settle(
    store: DeltaStore,
    conf: Conf,
    doubtful: pa.Table,
    report: ReconcileReport,
    *,
    grace_s: float,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> pa.Table:
    """Each message in doubt as sent, to send again, or still in doubt."""
    if not doubtful.num_rows:
        return doubtful
    dedup = {rid for rid, r in conf.retailers.items() if r.workspace.deduplicates}
    retailers = sorted(set(doubtful["retailer_id"].to_pylist()) - dedup)
    rows = doubtful.to_pylist()
    verdicts = _ask_export(store, conf, retailers, rows, grace_s, clock)
    pending_since = [row["completed_at"] for row in rows if verdicts.get(_key(row), "") == IN_DOUBT]
    if pending_since:
        wait = (max(pending_since) + timedelta(seconds=grace_s) - clock()).total_seconds()
        if 0 < wait <= grace_s:  # young claims: the export catches up within the grace
            sleep(wait)
            verdicts = _ask_export(store, conf, retailers, rows, grace_s, clock)
    for row in rows:
        verdict = RESENT_DEDUPLICATED if row["retailer_id"] in dedup else verdicts[_key(row)]
        if verdict.startswith("sent:"):
            row.update(status="sent", reason=None, dispatch_id=verdict.removeprefix("sent:"))
            report.sent_per_export += 1
        elif verdict == IN_DOUBT:
            row.update(reason="no answer: waiting for the provider's export")
            report.still_in_doubt += 1
        else:
            row.update(status="deferred", reason=verdict)
            report.resent += 1
    return pa.Table.from_pylist(rows, schema=doubtful.schema)


def _ask_export(
    store: DeltaStore,
    conf: Conf,
    retailer_ids: list[str],
    rows: list[dict[str, object]],
    grace_s: float,
    clock: Callable[[], datetime],
) -> dict[tuple[str, str], str]:
    """Per message: `sent:<dispatch id>`, `RESENT` (the export shows no send) or
    `in_doubt` (the export does not reach far enough yet)."""
    if not retailer_ids:
        return {}
    router = ProviderRouter(conf)
    try:
        ingest = ingest_events(conf, store, router, retailer_ids=retailer_ids)
    finally:
        router.close()
    # how far each source's export is complete: the workspace's for email and push, the
    # SMS account's for texts
    through = {
        (w.retailer_id, w.route): w.exported_through for w in ingest.workspaces if not w.error
    }
    sent = _sent_events(store, retailer_ids)
    verdicts = {}
    for row in rows:
        key = _key(row)
        horizon = through.get((key[0], route_of(str(row["channel"]))))
        claimed_at = row["completed_at"]
        assert isinstance(claimed_at, datetime)
        if key in sent:
            verdicts[key] = f"sent:{sent[key]}"
        elif horizon is not None and horizon >= claimed_at + timedelta(seconds=grace_s):
            verdicts[key] = RESENT  # the export is complete past it, and holds no send
        else:
            verdicts[key] = IN_DOUBT
    return verdicts


def _sent_events(store: DeltaStore, retailer_ids: list[str]) -> dict[tuple[str, str], str]:
    """(retailer, message) -> dispatch id of each `sent` event the export has shown."""
    events = store.read_arrow(
        DELIVERY_EVENTS.name,
        columns=["retailer_id", "message_id", "event_type", "dispatch_id"],
        partitions={"retailer_id": retailer_ids},
    )
    events = events.filter(pc.equal(events["event_type"], "sent"))
    return {(r["retailer_id"], r["message_id"]): r["dispatch_id"] or "" for r in events.to_pylist()}


def _ledger_statuses(store: DeltaStore) -> pa.Table:
    """Every message_sends row's key and status: the one read both checks share."""
    columns = ["retailer_id", "message_id", "status"]
    if store.find(MESSAGE_SENDS.name) is None:
        return store.arrow_schema(MESSAGE_SENDS.name).empty_table().select(columns)
    return store.read_arrow(MESSAGE_SENDS.name, columns=columns)


def _in_doubt_rows(store: DeltaStore, ledger: pa.Table) -> pa.Table:
    """message_sends rows in doubt, whole rows read only for the retailers that have any."""
    schema = store.arrow_schema(MESSAGE_SENDS.name)
    doubtful = ledger.filter(pc.equal(ledger["status"], IN_DOUBT))
    if not doubtful.num_rows:
        return schema.empty_table()
    retailers = sorted(set(doubtful["retailer_id"].to_pylist()))
    sends = store.read_arrow(MESSAGE_SENDS.name, partitions={"retailer_id": retailers})
    return sends.filter(pc.equal(sends["status"], IN_DOUBT)).select(schema.names).cast(schema)


def _without(table: pa.Table, keys: set[tuple[str, str]]) -> pa.Table:
    """The rows of `table` whose (retailer, message) is not in `keys`."""
    return table.filter(pa.array([key not in keys for key in _keys(table)], pa.bool_()))


def _keys(table: pa.Table) -> list[tuple[str, str]]:
    return list(zip(table["retailer_id"].to_pylist(), table["message_id"].to_pylist(), strict=True))


def _key(row: dict[str, object]) -> tuple[str, str]:
    return str(row["retailer_id"]), str(row["message_id"])
