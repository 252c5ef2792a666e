"""Send-time optimization: each message at the local hour its customer engages most.

A customer's opens and clicks by local hour are few and noisy, so each hour's count is
shrunk toward the retailer's population (a Dirichlet prior: the population's share of
that hour times `PRIOR_STRENGTH` pseudo-events). A customer with no history therefore
gets the population's best hour, and one with a long history their own:

    score(hour) = own engagements at that hour + PRIOR_STRENGTH x population share(hour)

The launch picks, among the whole hours of the campaign's window after `as_of`, the one
whose local hour scores best (the earliest on a tie) and writes it as the message's
`send_after`; delivery releases it then, within rate limits, caps and quiet hours.
Everything is Spark columns (no UDF), joined on (retailer, customer).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.audience.columns import dispatch, in_campaigns
from jobs.config.models import CampaignConfig

# How many engagements the population's habit is worth against a customer's own: with
# 4, a customer needs a handful of opens at one hour before it beats the crowd's.
PRIOR_STRENGTH = 4.0
ENGAGEMENTS = ("opened", "clicked")
KEYS = ["retailer_id", "customer_id"]
HOURS = 24


def engagement_by_hour(
    delivery_events_df: DataFrame, zones_df: DataFrame, as_of: datetime
) -> DataFrame:
    """(retailer, customer, local hour, engagements) before `as_of`, in each customer's
    zone (`zones_df`: retailer, customer, time_zone)."""
    return (
        delivery_events_df.filter(
            F.col("event_type").isin(*ENGAGEMENTS) & (F.col("occurred_at") < F.lit(as_of))
        )
        .join(zones_df, on=KEYS, how="inner")
        .withColumn("hour", F.hour(F.from_utc_timestamp("occurred_at", F.col("time_zone"))))
        .groupBy(*KEYS, "hour")
        .agg(F.count(F.lit(1)).alias("engagements"))
    )


def population_by_hour(by_hour_df: DataFrame) -> DataFrame:
    """(retailer, population: hour -> engagements, total): the retailer's habit, the prior."""
    return (
        by_hour_df.groupBy("retailer_id", "hour")
        .agg(F.sum("engagements").alias("n"))
        .groupBy("retailer_id")
        .agg(
            F.map_from_entries(F.collect_list(F.struct("hour", "n"))).alias("population"),
            F.sum("n").alias("total"),
        )
    )


def own_by_hour(by_hour_df: DataFrame) -> DataFrame:
    """(retailer, customer, own: hour -> engagements)."""
    return by_hour_df.groupBy(*KEYS).agg(
        F.map_from_entries(F.collect_list(F.struct("hour", "engagements"))).alias("own")
    )


def _score(hour: Column) -> Column:
    """A customer's smoothed engagement at a local hour (Laplace on the population too,
    so an hour nobody engaged at keeps a little weight)."""
    population_share = (F.coalesce(F.col("population")[hour], F.lit(0)) + F.lit(1.0)) / (
        F.coalesce(F.col("total"), F.lit(0)) + F.lit(float(HOURS))
    )
    own = F.coalesce(F.col("own")[hour], F.lit(0))
    return own + F.lit(PRIOR_STRENGTH) * population_share


def with_send_after(
    events_df: DataFrame,
    campaigns: Sequence[CampaignConfig],
    delivery_events_df: DataFrame,
    zones_df: DataFrame,
    *,
    as_of: datetime,
) -> DataFrame:
    """`send_after` for the messages of campaigns that ask for an optimized send time
    (null for the others: as soon as allowed). `zones_df` (retailer, customer, time_zone)
    holds every customer of the retailers, so the population's habit is everybody's."""
    optimized = [c for c in campaigns if c.send_time.is_optimized]
    if not optimized:
        return events_df.withColumn("send_after", F.lit(None).cast("timestamp"))
    start = _next_whole_hour(as_of)
    by_hour_df = engagement_by_hour(delivery_events_df, zones_df, as_of)
    window = dispatch(
        [(in_campaigns([c.campaign_id]), F.lit(c.send_time.window_hours)) for c in optimized],
        F.lit(None).cast("int"),
    )
    # each whole hour of the window: (score at its local hour, -offset) -> best, earliest
    candidates = F.transform(
        F.sequence(F.lit(0), window - 1),
        lambda k: F.struct(
            _score(F.hour(F.from_utc_timestamp(_plus_hours(start, k), F.col("time_zone")))).alias(
                "score"
            ),
            (-k).alias("earliest"),
        ),
    )
    best_offset = -F.array_max(candidates)["earliest"]
    return (
        events_df.join(own_by_hour(by_hour_df), on=KEYS, how="left")
        .join(F.broadcast(population_by_hour(by_hour_df)), on="retailer_id", how="left")
        .withColumn(
            "send_after",
            F.when(window.isNotNull() & ~F.col("is_holdout"), _plus_hours(start, best_offset)),
        )
        .drop("own", "population", "total")
    )


def _next_whole_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def _plus_hours(start: datetime, hours: Column) -> Column:
    return F.timestamp_seconds(F.lit(int(start.timestamp())) + hours * 3600)
