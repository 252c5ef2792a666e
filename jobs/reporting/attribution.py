"""Attribution: each order to the last message touch of the same retailer within its window.

A touch is a message that was sent (at its send time), opened or clicked (at
the event's time). An order counts for a touch when it falls within that
touch type's window after it (platform.yaml `reporting.attribution`: click
7 days, open 3 days, send 1 day by default). Of all the touches an order counts for,
across every campaign of its retailer, the most recent wins. On a tie, a click
beats an open and an open beats a send. Holdouts are never sent, so they never
have touches. Every join includes the retailer.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.config.models import AttributionWindows

KEYS = ["retailer_id", "customer_id"]
TOUCH_PRIORITY = {"click": 0, "open": 1, "send": 2}
OUTPUT = [
    "retailer_id",
    "order_id",
    "customer_id",
    "ordered_at",
    "revenue_cents",
    "discount_cents",
    "campaign_id",
    "run_id",
    "variant_id",
    "message_id",
    "channel",
    "touch_type",
    "touched_at",
    "is_offer_redeemed",
    "attributed_at",
]


def message_touches(message_sends_df: DataFrame, delivery_events_df: DataFrame) -> DataFrame:
    """One row per touch: every sent message, and every open and click of one."""
    sent_df = message_sends_df.filter(F.col("status") == "sent").select(
        "retailer_id",
        "message_id",
        "customer_id",
        "campaign_id",
        "run_id",
        "variant_id",
        "channel",
        F.col("completed_at").alias("sent_at"),
    )
    engaged_df = delivery_events_df.filter(F.col("event_type").isin("opened", "clicked")).select(
        "retailer_id",
        "message_id",
        F.when(F.col("event_type") == "clicked", "click").otherwise("open").alias("touch_type"),
        F.col("occurred_at").alias("touched_at"),
    )
    return (
        sent_df.withColumn("touch_type", F.lit("send"))
        .withColumn("touched_at", F.col("sent_at"))
        .unionByName(engaged_df.join(sent_df, on=["retailer_id", "message_id"], how="inner"))
        .drop("sent_at")
    )


def _window_end(windows: AttributionWindows) -> Column:
    hours = (
        F.when(F.col("touch_type") == "click", F.lit(windows.click_hours))
        .when(F.col("touch_type") == "open", F.lit(windows.open_hours))
        .otherwise(F.lit(windows.send_hours))
    )
    return F.col("touched_at") + F.make_dt_interval(hours=hours)


def attribute_orders(
    orders_df: DataFrame,
    touches_df: DataFrame,
    offer_codes_df: DataFrame,
    *,
    windows: AttributionWindows,
    attributed_at: datetime,
) -> DataFrame:
    """orders x touches -> attributed_orders rows (the last touch per order).

    `offer_codes_df` holds (retailer_id, message_id, promo_code) of the messages
    that carried an offer, so a redeemed code is recognised as that offer's.
    """
    priority = F.create_map(*[F.lit(x) for pair in TOUCH_PRIORITY.items() for x in pair])
    latest_first = Window.partitionBy("retailer_id", "order_id").orderBy(
        F.col("touched_at").desc(), priority[F.col("touch_type")].asc(), F.col("message_id")
    )
    return (
        orders_df.select(
            *KEYS,
            "order_id",
            "ordered_at",
            F.col("total_cents").alias("revenue_cents"),
            "discount_cents",
            F.col("promo_code").alias("order_promo_code"),
        )
        .join(touches_df, on=KEYS, how="inner")
        .filter(F.col("touched_at") <= F.col("ordered_at"))
        .filter(F.col("ordered_at") <= _window_end(windows))
        .withColumn("touch_rank", F.row_number().over(latest_first))
        .filter(F.col("touch_rank") == 1)
        .join(offer_codes_df, on=["retailer_id", "message_id"], how="left")
        .withColumn(
            "is_offer_redeemed",
            F.coalesce(F.col("order_promo_code") == F.col("promo_code"), F.lit(False)),
        )
        .withColumn("attributed_at", F.lit(attributed_at))
        .select(*OUTPUT)
    )


def offer_codes(campaign_events_df: DataFrame) -> DataFrame:
    """The promo code each message carried, for messages with an offer."""
    return campaign_events_df.filter(F.col("promo_code").isNotNull()).select(
        "retailer_id", "message_id", "promo_code"
    )
