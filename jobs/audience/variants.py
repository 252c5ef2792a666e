"""Sticky, weighted experiment variants, the holdout group, and the waves of an adaptive run.

A customer's bucket is a salted hash of (campaign, retailer, customer): the
same on every run and every channel, independent across campaigns, and never
shared between two retailers' customers who happen to have the same id.

An adaptive run (allocation mode 'adaptive') is sent in waves: a second hash, salted
with the logical run, puts each customer in one wave's slice of [0, 1), so relaunching
a wave takes the same customers. Within a wave the bucket is drawn against the
cumulative weights decided for it (jobs/allocation): the same customers get the same
variants on a relaunch. The holdout is the bottom of the bucket in every mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.allocation.waves import WaveLaunch
from jobs.audience.columns import dispatch, dispatch_by_campaign, in_campaigns
from jobs.audience.hashing import unit_interval
from jobs.config.models import HOLDOUT_VARIANT, CampaignConfig

VARIANT_SALT = "campaigns.variant.v1"
WAVE_SALT = "campaigns.wave.v1"
Weights = tuple[tuple[str, float], ...]


def bucket_column() -> Column:
    return unit_interval(
        VARIANT_SALT, F.col("campaign_id"), F.col("retailer_id"), F.col("customer_id")
    )


def variant_column(holdout_share: float, weights: Weights, bucket: Column) -> Column:
    """The holdout takes the bottom of [0, 1); variants split the rest by weight (a variant
    of weight 0 gets nobody)."""
    weighted = [(variant_id, weight) for variant_id, weight in weights if weight > 0]
    total = sum(weight for _, weight in weighted)
    cases = [(bucket < F.lit(holdout_share), F.lit(HOLDOUT_VARIANT))]
    upper = holdout_share
    for variant_id, weight in weighted[:-1]:
        upper += (1 - holdout_share) * weight / total
        cases.append((bucket < F.lit(upper), F.lit(variant_id)))
    return dispatch(cases, F.lit(weighted[-1][0]))


def campaign_weights(campaign: CampaignConfig, waves: Mapping[str, WaveLaunch]) -> Weights:
    """The weights a launch assigns by: its wave's when it sends one, else the configured."""
    wave = waves.get(campaign.campaign_id)
    if wave is not None:
        return tuple(wave.weights.items())
    return tuple((v.variant_id, v.weight) for v in campaign.variants)


def with_variant(
    df: DataFrame,
    campaigns: Sequence[CampaignConfig],
    waves: Mapping[str, WaveLaunch] | None = None,
) -> DataFrame:
    waves = waves or {}
    bucket = bucket_column()
    return df.withColumn(
        "variant_id",
        dispatch_by_campaign(
            campaigns,
            key=lambda c: (c.holdout_share, campaign_weights(c, waves)),
            value=lambda c: variant_column(c.holdout_share, campaign_weights(c, waves), bucket),
            default=F.lit(None).cast("string"),
        ),
    ).withColumn("is_holdout", F.col("variant_id") == F.lit(HOLDOUT_VARIANT))


def in_wave_column(waves: Mapping[str, WaveLaunch]) -> Column:
    """True for the customers of each launched wave's slice; campaigns sent without waves
    keep their whole audience."""
    cases = []
    for campaign_id, wave in waves.items():
        position = unit_interval(
            WAVE_SALT,
            F.col("campaign_id"),
            F.col("retailer_id"),
            F.lit(wave.run_id),
            F.col("customer_id"),
        )
        low, high = wave.bounds
        cases.append((in_campaigns([campaign_id]), (position >= low) & (position < high)))
    return dispatch(cases, F.lit(True))
