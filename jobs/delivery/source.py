"""Reading campaign_events files into per-group chunks of personalized messages.

Each file belongs to one retailer (the table is partitioned by it). A reader
skips every message message_sends already records as final (the ledger,
pinned at the plan's version), assembles each recipient's properties with the
one precedence rule, and hands on chunks of at most one batch per group, so
the keyed exchange moves batches' worth of messages, not single messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jobs.config import Conf
from jobs.delivery.plan import WorkUnit
from jobs.delivery.records import EventChunk, GroupKey, MessageEvent
from jobs.providers import MAX_RECIPIENTS_PER_BATCH
from jobs.templates import TemplateLibrary
from jobs.templates.variables import configured_layers, customer_layer, merge_variables
from jobs.warehouse.registry import CAMPAIGN_EVENTS, MESSAGE_SENDS
from jobs.warehouse.statuses import FINAL_STATUSES, IN_DOUBT
from jobs.warehouse.store import DeltaStore, Snapshot

EVENT_COLUMNS = [
    "run_id",
    "campaign_id",
    "message_id",
    "customer_id",
    "channel",
    "address",
    "variant_id",
    "is_holdout",
    "template_id",
    "offer_kind",
    "offer_percent",
    "offer_amount_cents",
    "offer_min_basket_cents",
    "offer_expires_at",
    "promo_code",
    "variables",
    "created_at",
    "time_zone",
    "send_after",
]


@dataclass
class EventReader:
    store: DeltaStore
    conf: Conf
    library: TemplateLibrary
    ledger_version: int | None
    chunk_size: int = MAX_RECIPIENTS_PER_BATCH
    _ledgers: dict[str, dict[str, str]] = field(default_factory=dict)
    _bases: dict[tuple[str, str, str, str | None], dict[str, str]] = field(default_factory=dict)

    @cached_property
    def _ledger_snapshot(self) -> Snapshot | None:
        """message_sends at the plan's ledger version, opened once for every retailer."""
        if self.ledger_version is None:
            return None
        return self.store.snapshot(MESSAGE_SENDS.name, version=self.ledger_version)

    def ledger(self, retailer_id: str) -> dict[str, str]:
        """message_id -> recorded status for one retailer, at the plan's ledger version."""
        if retailer_id not in self._ledgers:
            snapshot = self._ledger_snapshot
            rows = (
                snapshot.read(
                    columns=["message_id", "status"], partitions={"retailer_id": [retailer_id]}
                )
                if snapshot is not None
                else pa.table({"message_id": [], "status": []})
            )
            self._ledgers[retailer_id] = dict(
                zip(rows["message_id"].to_pylist(), rows["status"].to_pylist(), strict=True)
            )
        return self._ledgers[retailer_id]

    def read(self, unit: WorkUnit) -> Iterator[EventChunk]:
        table = self.store.read_file(CAMPAIGN_EVENTS.name, unit.path, columns=EVENT_COLUMNS)
        if unit.run_ids is not None:
            table = table.filter(pc.is_in(table["run_id"], pa.array(unit.run_ids)))
        recorded = self.ledger(unit.retailer_id)
        groups: dict[GroupKey, list[MessageEvent]] = {}
        bases: dict[GroupKey, dict[str, str]] = {}
        for row in _rows(table):
            status = recorded.get(row["message_id"])
            if status in FINAL_STATUSES or status == IN_DOUBT:
                continue  # done, or possibly sent: reconciliation decides, not a resend
            group = GroupKey(
                row["run_id"],
                row["campaign_id"],
                row["channel"],
                row["variant_id"],
                row["template_id"],
                row["is_holdout"],
            )
            if group not in groups:
                groups[group] = []
                bases[group] = {} if group.is_holdout else self._base(unit.retailer_id, group)
            events = groups[group]
            events.append(_event(row, is_recorded=status is not None))
            if len(events) == self.chunk_size:
                yield EventChunk(unit.retailer_id, group, tuple(events), bases[group])
                events.clear()
        for group, events in groups.items():
            if events:
                yield EventChunk(unit.retailer_id, group, tuple(events), bases[group])

    def _base(self, retailer_id: str, group: GroupKey) -> dict[str, str]:
        key = (retailer_id, group.campaign_id, group.variant_id, group.template_id)
        if key not in self._bases:
            self._bases[key] = _base_variables(self, *key)
        return self._bases[key]


def _rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """Rows as dicts, converted column by column (Arrow's row-wise conversion, with
    timezone-aware datetimes and maps, costs several times more per event)."""
    timed = ("variables", "created_at", "offer_expires_at", "send_after")
    plain = [c for c in EVENT_COLUMNS if c not in timed]
    columns = {name: table[name].to_pylist() for name in plain}
    columns["created_at_ms"] = pc.divide(table["created_at"].cast(pa.int64()), 1000).to_pylist()
    columns["send_after_ms"] = pc.divide(table["send_after"].cast(pa.int64()), 1000).to_pylist()
    columns["offer_expires_on"] = pc.strftime(
        table["offer_expires_at"], format="%Y-%m-%d"
    ).to_pylist()
    variables = table["variables"].combine_chunks()
    keys, values = variables.keys.to_pylist(), variables.items.to_pylist()
    offsets = variables.offsets.to_pylist()
    valid = variables.is_valid().to_pylist()
    names = list(columns)
    for i, row in enumerate(zip(*columns.values(), strict=True)):
        record = dict(zip(names, row, strict=True))
        start, end = offsets[i], offsets[i + 1]
        record["variables"] = (
            dict(zip(keys[start:end], values[start:end], strict=True)) if valid[i] else {}
        )
        yield record


def _event(row: dict[str, Any], *, is_recorded: bool) -> MessageEvent:
    return MessageEvent(
        row["message_id"],
        row["customer_id"],
        row["address"],
        customer_layer(row) if not row["is_holdout"] else {},
        row["created_at_ms"],
        is_recorded,
        row["time_zone"],
        row["send_after_ms"],
    )


def _base_variables(
    reader: EventReader,
    retailer_id: str,
    campaign_id: str,
    variant_id: str,
    template_id: str | None,
) -> dict[str, str]:
    retailer = reader.conf.retailers.get(retailer_id)
    if retailer is None or template_id is None:
        return {}  # the sender defers these messages until the retailer is configured
    layers = configured_layers(
        reader.conf,
        reader.library,
        retailer,
        template_id,
        campaign=reader.conf.campaigns.get(campaign_id),
        variant_id=variant_id,
    )
    return merge_variables(*layers.values())
