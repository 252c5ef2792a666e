"""Sticky, weighted experiment variants and the holdout group.

A customer's bucket is a salted hash of (campaign, retailer, customer): the
same on every run and every channel, independent across campaigns, and never
shared between two retailers' customers who happen to have the same id.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.audience.columns import dispatch, dispatch_by_campaign
from jobs.audience.hashing import unit_interval
from jobs.config.models import HOLDOUT_VARIANT, CampaignConfig

VARIANT_SALT = "campaigns.variant.v1"


def bucket_column() -> Column:
    return unit_interval(
        VARIANT_SALT, F.col("campaign_id"), F.col("retailer_id"), F.col("customer_id")
    )


def variant_column(campaign: CampaignConfig, bucket: Column) -> Column:
    """The holdout takes the bottom of [0, 1); variants split the rest by weight."""
    total = sum(v.weight for v in campaign.variants)
    cases = [(bucket < F.lit(campaign.holdout_share), F.lit(HOLDOUT_VARIANT))]
    upper = campaign.holdout_share
    for variant in campaign.variants[:-1]:
        upper += (1 - campaign.holdout_share) * variant.weight / total
        cases.append((bucket < F.lit(upper), F.lit(variant.variant_id)))
    return dispatch(cases, F.lit(campaign.variants[-1].variant_id))


def with_variant(df: DataFrame, campaigns: Sequence[CampaignConfig]) -> DataFrame:
    bucket = bucket_column()
    return df.withColumn(
        "variant_id",
        dispatch_by_campaign(
            campaigns,
            key=lambda c: (c.holdout_share, tuple((v.variant_id, v.weight) for v in c.variants)),
            value=lambda c: variant_column(c, bucket),
            default=F.lit(None).cast("string"),
        ),
    ).withColumn("is_holdout", F.col("variant_id") == F.lit(HOLDOUT_VARIANT))
