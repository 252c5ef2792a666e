"""Entry module: `campaigns attribute` (spark-submit jobs/attribute_job.py), orders to
the last message touch within its window, recomputed per retailer into attributed_orders.

Recomputing is the idempotent write: a rerun over the same data replaces each
retailer's partition with the same rows, and late engagement events (ingested
after the last run) move an order to its true last touch.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from pyspark.sql import functions as F

from jobs.reporting.attribution import attribute_orders, message_touches, offer_codes
from jobs.runtime import (
    JobContext,
    add_common_arguments,
    add_retailer_option,
    emit,
    entry_main,
    selected_retailers,
    spark_job,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    add_retailer_option(parser, "retailer to recompute")


def attribute(job: JobContext, retailer_ids: list[str]) -> str:
    """Recompute attributed_orders for `retailer_ids`; returns the summary line."""
    only = {"retailer_id": retailer_ids}
    warehouse = job.warehouse
    touches_df = message_touches(
        warehouse.read_or_empty("message_sends", partitions=only),
        warehouse.read_or_empty("delivery_events", partitions=only),
    )
    attributed_df = attribute_orders(
        warehouse.read_or_empty("orders", partitions=only),
        touches_df,
        offer_codes(warehouse.read_or_empty("campaign_events", partitions=only)),
        windows=job.conf.platform.reporting.attribution,
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


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-attribution") as job:
        emit(attribute(job, selected_retailers(job.conf, args.retailer)))
    return 0


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="attribute_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    raise SystemExit(main())
