"""Per-customer features that audience rules are evaluated against.

One pass over orders computes every windowed aggregate all launched campaigns
need, so launching 350 campaigns costs one scan, not 350.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.config.models import (
    CampaignConfig,
    CategoryBought,
    OrderCount,
    SpendCents,
)

FAVOURITE_CATEGORY_WINDOW_DAYS = 365
KEYS = ["retailer_id", "customer_id"]


@dataclass(frozen=True)
class FeatureWindows:
    """The look-back windows (days) the campaigns' rules refer to."""

    order_windows: frozenset[int]
    category_windows: frozenset[int]

    @classmethod
    def for_campaigns(cls, campaigns: Iterable[CampaignConfig]) -> FeatureWindows:
        conditions = [condition for c in campaigns for condition in c.audience]
        return cls(
            order_windows=frozenset(
                c.window_days for c in conditions if isinstance(c, OrderCount | SpendCents)
            ),
            category_windows=frozenset(
                c.window_days for c in conditions if isinstance(c, CategoryBought)
            ),
        )


def order_count_column(window_days: int) -> str:
    return f"order_count_{window_days}d"


def spend_cents_column(window_days: int) -> str:
    return f"spend_cents_{window_days}d"


def categories_column(window_days: int) -> str:
    return f"categories_{window_days}d"


def with_customer_features(
    customers_df: DataFrame, orders_df: DataFrame, *, as_of: datetime, windows: FeatureWindows
) -> DataFrame:
    """Customers who had signed up by `as_of`, with recency, frequency, value and categories.

    Only orders before `as_of` count, so a launch replayed for an earlier day
    sees what that day saw. Customers who never ordered keep null recency and
    zero counts.
    """
    before_df = orders_df.filter(F.col("ordered_at") < F.lit(as_of))
    order_features_df = before_df.groupBy(*KEYS).agg(*_order_aggregates(as_of, windows))
    zero_filled = {
        name: 0
        for w in windows.order_windows
        for name in (order_count_column(w), spend_cents_column(w))
    }
    return (
        customers_df.filter(F.col("signup_at") <= F.lit(as_of))
        .join(order_features_df, on=KEYS, how="left")
        .fillna({"lifetime_orders": 0, "lifetime_spend_cents": 0, **zero_filled})
        .withColumn("days_since_signup", F.datediff(F.lit(as_of), F.col("signup_at")))
        .withColumn("days_since_last_order", F.datediff(F.lit(as_of), F.col("last_order_at")))
        .withColumns(
            {
                categories_column(w): F.coalesce(
                    F.col(categories_column(w)), F.array().cast("array<string>")
                )
                for w in windows.category_windows
            }
        )
    )


def _order_aggregates(as_of: datetime, windows: FeatureWindows) -> list[Column]:
    def since(days: int) -> Column:
        return F.col("ordered_at") >= F.lit(as_of - timedelta(days=days))

    aggregates = [
        F.max("ordered_at").alias("last_order_at"),
        F.count(F.lit(1)).alias("lifetime_orders"),
        F.sum("total_cents").alias("lifetime_spend_cents"),
        F.mode(
            F.when(since(FAVOURITE_CATEGORY_WINDOW_DAYS), F.col("category")), deterministic=True
        ).alias("favourite_category"),
    ]
    for days in sorted(windows.order_windows):
        aggregates += [
            F.count(F.when(since(days), F.lit(1))).alias(order_count_column(days)),
            F.sum(F.when(since(days), F.col("total_cents")).otherwise(F.lit(0))).alias(
                spend_cents_column(days)
            ),
        ]
    for days in sorted(windows.category_windows):
        aggregates.append(
            F.collect_set(F.when(since(days), F.col("category"))).alias(categories_column(days))
        )
    return aggregates
