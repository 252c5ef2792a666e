"""What one delivery run reads: decided on the driver, from the Delta logs alone.

The source is the set of files added to campaign_events after the version the
last run committed (stored as a `txn` in message_sends, in the same commit as
that run's final results) up to the newest version. Carry-over adds the files
of retailers holding deferred or paused messages that may now go out; the
readers skip every message message_sends already records as final, so a file
read twice sends nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import pyarrow as pa
import pyarrow.compute as pc

from jobs.config import Conf
from jobs.delivery.controls import paused_campaigns
from jobs.delivery.records import CAP_DEFERRAL
from jobs.warehouse.registry import (
    CAMPAIGN_CONTROLS,
    CAMPAIGN_EVENTS,
    DELIVERY_SOURCE_APP_ID,
    MESSAGE_SENDS,
)
from jobs.warehouse.statuses import IN_DOUBT, PENDING_STATUSES
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import warming_caps

SOURCE_APP_ID = DELIVERY_SOURCE_APP_ID
LEDGER_COLUMNS = [
    "retailer_id",
    "campaign_id",
    "run_id",
    "channel",
    "status",
    "reason",
    "completed_at",
    "eligible_at",
]


@dataclass(frozen=True)
class WorkUnit:
    """One Parquet file of campaign_events, for one Flink reader task."""

    retailer_id: str
    path: str  # relative to the table root
    run_ids: tuple[str, ...] | None = None  # carry-over reads only these runs


@dataclass(frozen=True)
class DeliveryPlan:
    delivery_run_id: str
    source_from: int | None  # the last committed version; None before the first run
    source_to: int
    ledger_version: int | None
    units: tuple[WorkUnit, ...]
    caps: dict[str, int | None] = field(default_factory=dict)

    @property
    def has_new_version(self) -> bool:
        return self.source_from is None or self.source_to > self.source_from

    def describe(self) -> str:
        carried = sum(unit.run_ids is not None for unit in self.units)
        start = "start" if self.source_from is None else str(self.source_from)
        return (
            f"campaign_events versions ({start}, {self.source_to}]: "
            f"{len(self.units) - carried} new files, {carried} carry-over files"
        )


def plan_delivery(
    store: DeltaStore,
    conf: Conf,
    *,
    delivery_run_id: str,
    today: date,
    now: datetime | None = None,
) -> DeliveryPlan | None:
    """The next run's work, or None when campaign_events does not exist yet."""
    events = store.find(CAMPAIGN_EVENTS.name)
    if events is None:
        return None
    committed = store.last_run_version(MESSAGE_SENDS.name, SOURCE_APP_ID)
    ledger = store.find(MESSAGE_SENDS.name)
    ledger_df = (
        store.read_arrow(MESSAGE_SENDS.name, columns=LEDGER_COLUMNS, version=ledger.version())
        if ledger is not None
        else None
    )
    caps = remaining_caps(conf, ledger_df, today, warming_caps(store, conf, today))
    newest = _files(store, events.version())
    units = added_files(store, committed, events.version(), newest)
    new_paths = {unit.path for unit in units}
    # one work unit per file: a new file is read whole, its pending messages with it
    carried = carry_over(store, ledger_df, caps, newest, now=now or datetime.now(UTC))
    units += [u for u in carried if u.path not in new_paths]
    return DeliveryPlan(
        delivery_run_id=delivery_run_id,
        source_from=committed,
        source_to=events.version(),
        ledger_version=None if ledger is None else ledger.version(),
        units=tuple(units),
        caps=caps,
    )


def _files(store: DeltaStore, version: int) -> dict[str, str]:
    """Path -> retailer of every file in a snapshot of campaign_events."""
    actions = pa.table(
        store.delta_table(CAMPAIGN_EVENTS.name, version=version).get_add_actions(flatten=True)
    )
    return dict(
        zip(
            actions.column("path").to_pylist(),
            actions.column("partition.retailer_id").to_pylist(),
            strict=True,
        )
    )


def added_files(
    store: DeltaStore, committed: int | None, newest_version: int, newest: dict[str, str]
) -> list[WorkUnit]:
    """Files in the newest snapshot (`newest`: path -> retailer) the committed one lacked."""
    if committed is not None and committed >= newest_version:
        return []
    before = set(_files(store, committed)) if committed is not None else set()
    return [
        WorkUnit(retailer, path) for path, retailer in sorted(newest.items()) if path not in before
    ]


def remaining_caps(
    conf: Conf,
    ledger_df: pa.Table | None,
    today: date,
    warming: dict[str, int | None],
) -> dict[str, int | None]:
    """Each capped retailer's email left for today (UTC), after what the ledger sent or
    may have sent (in doubt: claimed, answer unknown).

    The cap is the lower of the retailer's own `daily_cap` and its share of its
    pool's warming cap (warming_schedule); push uses no sending IPs and is not capped.
    """
    midnight = datetime.combine(today, time.min, tzinfo=UTC)
    sent_today: dict[str, int] = defaultdict(int)
    if ledger_df is not None and ledger_df.num_rows:
        mask = pc.and_(
            pc.and_(
                pc.is_in(ledger_df["status"], pa.array(["sent", IN_DOUBT])),
                pc.equal(ledger_df["channel"], "email"),
            ),
            pc.greater_equal(
                ledger_df["completed_at"], pa.scalar(midnight, ledger_df["completed_at"].type)
            ),
        )
        for retailer in ledger_df.filter(mask).column("retailer_id").to_pylist():
            sent_today[retailer] += 1
    caps: dict[str, int | None] = {}
    for rid, retailer in conf.retailers.items():
        limits = [c for c in (retailer.daily_cap, warming.get(rid)) if c is not None]
        caps[rid] = max(0, min(limits) - sent_today[rid]) if limits else None
    return caps


def carry_over(
    store: DeltaStore,
    ledger_df: pa.Table | None,
    caps: dict[str, int | None],
    newest: dict[str, str],
    *,
    now: datetime,
) -> list[WorkUnit]:
    """Files holding deferred or paused messages that this run may now send (not those
    waiting for quiet hours to end or for their send time)."""
    if ledger_df is None or not ledger_df.num_rows:
        return []
    pending = ledger_df.filter(pc.is_in(ledger_df["status"], pa.array(PENDING_STATUSES)))
    still_paused = paused_campaigns(store.read_arrow(CAMPAIGN_CONTROLS.name))
    runs: dict[str, set[str]] = defaultdict(set)
    for row in pending.to_pylist():
        retailer = row["retailer_id"]
        if row["status"] == "paused" and (retailer, row["campaign_id"]) in still_paused:
            continue
        if row["reason"] == CAP_DEFERRAL and caps.get(retailer) == 0:
            continue
        if row["eligible_at"] is not None and row["eligible_at"] > now:
            continue
        runs[retailer].add(row["run_id"])
    return [
        WorkUnit(retailer, path, tuple(sorted(runs[retailer])))
        for path, retailer in sorted(newest.items())
        if retailer in runs
    ]
