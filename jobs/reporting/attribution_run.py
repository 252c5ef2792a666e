"""Recomputing attributed_orders for some retailers: the I/O around `attribution`.

Recomputing is the idempotent write: a rerun over the same data replaces each
retailer's partition with the same rows, and late engagement events (ingested
after the last run) move an order to its true last touch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import functions as F

from jobs.config.models import AttributionWindows
from jobs.reporting.attribution import attribute_orders, message_touches, offer_codes
from jobs.warehouse import Warehouse


def recompute_attribution(
    warehouse: Warehouse, windows: AttributionWindows, retailer_ids: list[str]
) -> str:
    """Recompute attributed_orders for `retailer_ids`; returns the summary line."""
    only = {"retailer_id": retailer_ids}
    touches_df = message_touches(
        warehouse.read_or_empty("message_sends", partitions=only),
        warehouse.read_or_empty("delivery_events", partitions=only),
    )
    attributed_df = attribute_orders(
        warehouse.read_or_empty("orders", partitions=only),
        touches_df,
        offer_codes(warehouse.read_or_empty("campaign_events", partitions=only)),
        windows=windows,
        attributed_at=datetime.now(UTC),
    ).cache()
    totals = attributed_df.agg(
        F.count("*").alias("orders"), F.coalesce(F.sum("revenue_cents"), F.lit(0)).alias("cents")
    ).first()
    warehouse.write(
        attributed_df,
        "attributed_orders",
        mode="overwrite_partitions",
        partitions={"retailer_id": list(retailer_ids)},
    )
    attributed_df.unpersist()
    orders, cents = (totals["orders"], totals["cents"]) if totals else (0, 0)
    return (
        f"attribution for {len(retailer_ids)} retailers: {orders:,} orders attributed, "
        f"${cents / 100:,.2f} revenue"
    )
