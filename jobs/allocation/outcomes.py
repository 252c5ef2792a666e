"""What each wave of an adaptive run sent each variant's customers, and how many succeeded.

A trial is a customer of the wave (not the holdout) with a message sent; a success is one
of those customers with an open (a click counts as one) or a click on any of the wave's
messages, or an order attributed to them (`conversion`, from attributed_orders). Only the
campaign's retailer's partitions are read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from jobs.allocation.bandit import ArmCounts
from jobs.warehouse.registry import ATTRIBUTED_ORDERS, DELIVERY_EVENTS, MESSAGE_SENDS
from jobs.warehouse.store import DeltaStore

SUCCESS_EVENTS = {"click": ["clicked"], "open": ["opened", "clicked"]}
_CUSTOMER_KEY = ["run_id", "variant_id", "customer_id"]


def wave_outcomes(
    store: DeltaStore, retailer_id: str, wave_run_ids: Sequence[str], metric: str
) -> dict[str, dict[str, ArmCounts]]:
    """Wave run id -> variant -> counts, for every wave run id that sent something."""
    only = {"retailer_id": [retailer_id]}
    sends = store.read_arrow(
        MESSAGE_SENDS.name,
        columns=["run_id", "variant_id", "customer_id", "message_id", "status", "is_holdout"],
        partitions=only,
    )
    in_waves = pc.is_in(sends["run_id"], pa.array(list(wave_run_ids), pa.string()))
    sent = sends.filter(
        pc.and_(
            pc.and_(in_waves, pc.equal(sends["status"], "sent")), pc.invert(sends["is_holdout"])
        )
    )
    trials = _distinct_customers(sent)
    successes = _distinct_customers(_successful(store, sent, only, wave_run_ids, metric))
    counted: dict[str, dict[str, ArmCounts]] = defaultdict(dict)
    for (run_id, variant_id), customers in trials.items():
        won = successes.get((run_id, variant_id), 0)
        counted[run_id][variant_id] = ArmCounts(trials=customers, successes=won)
    return dict(counted)


def pooled(
    outcomes: dict[str, dict[str, ArmCounts]], variant_ids: Sequence[str]
) -> dict[str, ArmCounts]:
    """Each variant's counts over the given waves (zero for one never sent)."""
    return {
        v: ArmCounts(
            trials=sum(w.get(v, ArmCounts(0, 0)).trials for w in outcomes.values()),
            successes=sum(w.get(v, ArmCounts(0, 0)).successes for w in outcomes.values()),
        )
        for v in variant_ids
    }


def _successful(
    store: DeltaStore,
    sent: pa.Table,
    only: dict[str, list[str]],
    wave_run_ids: Sequence[str],
    metric: str,
) -> pa.Table:
    """The sent rows whose customer succeeded on `metric`."""
    if metric == "conversion":
        orders = store.read_arrow(ATTRIBUTED_ORDERS.name, columns=_CUSTOMER_KEY, partitions=only)
        return orders.filter(pc.is_in(orders["run_id"], pa.array(list(wave_run_ids), pa.string())))
    events = store.read_arrow(
        DELIVERY_EVENTS.name, columns=["message_id", "event_type"], partitions=only
    )
    engaged = events.filter(
        pc.is_in(events["event_type"], pa.array(SUCCESS_EVENTS[metric], pa.string()))
    )
    engaged_ids = pc.unique(engaged["message_id"])
    return sent.filter(pc.is_in(sent["message_id"], engaged_ids))


def _distinct_customers(rows: pa.Table) -> dict[tuple[str, str], int]:
    """(run id, variant) -> how many distinct customers the rows name."""
    distinct = rows.select(_CUSTOMER_KEY).group_by(_CUSTOMER_KEY).aggregate([])
    counted = distinct.group_by(["run_id", "variant_id"]).aggregate([("customer_id", "count")])
    return {
        (run, variant): count
        for run, variant, count in zip(
            counted["run_id"].to_pylist(),
            counted["variant_id"].to_pylist(),
            counted["customer_id_count"].to_pylist(),
            strict=True,
        )
    }
