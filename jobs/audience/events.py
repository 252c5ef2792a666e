"""The engine's output: campaign_events rows and the run statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.audience.columns import dispatch, group_by_key, in_campaigns
from jobs.audience.hashing import hex_digest
from jobs.config.models import CampaignConfig
from jobs.templates.variables import PROFILE_VARIABLES
from jobs.warehouse import table_spec


def customer_variables_column() -> Column:
    """The customer's own template variables as map<string, string>."""
    return F.create_map(
        *[part for name in PROFILE_VARIABLES for part in (F.lit(name), F.col(name).cast("string"))]
    )


def message_id_column() -> Column:
    """Deterministic per (run, retailer, customer, channel): the same message in every run,
    and the provider's idempotency key where it takes one."""
    return hex_digest(F.col("run_id"), F.col("retailer_id"), F.col("customer_id"), F.col("channel"))


def template_column(campaigns: Sequence[CampaignConfig]) -> Column:
    """The variant's template for the channel, else the campaign's; none for the holdout."""
    groups = group_by_key(
        (
            (variant.variant_id, channel, variant.templates.get(channel, c.templates[channel])),
            c.campaign_id,
        )
        for c in campaigns
        for variant in c.variants
        for channel in c.channels
    )
    cases = [
        (
            in_campaigns(ids)
            & (F.col("variant_id") == F.lit(variant_id))
            & (F.col("channel") == F.lit(channel)),
            F.lit(template),
        )
        for (variant_id, channel, template), ids in groups.items()
    ]
    return dispatch(cases, F.lit(None).cast("string"))


def to_campaign_events(
    eligible_df: DataFrame, campaigns: Sequence[CampaignConfig], *, created_at: datetime
) -> DataFrame:
    """Rows in the exact shape of `campaign_events` (the select is the schema contract)."""
    return (
        eligible_df.withColumn("message_id", message_id_column())
        .withColumn("template_id", F.when(~F.col("is_holdout"), template_column(campaigns)))
        .withColumn("variables", customer_variables_column())
        .withColumn("created_at", F.lit(created_at))
        .select(*table_spec("campaign_events").column_names)
    )


@dataclass(frozen=True)
class RunStats:
    """What one campaign run did; becomes its `campaign_runs` row."""

    retailer_id: str
    campaign_id: str
    run_id: str
    audience_customers: int
    audience_size: int
    suppressed_by_reason: dict[str, int]
    holdout_size: int
    events: int


def run_statistics(decided_df: DataFrame) -> list[RunStats]:
    """Counts per run from decided candidates, in one small aggregation.

    `audience_size` counts (customer, channel) candidates; every candidate is
    either suppressed for exactly one reason or an event (holdout included).
    Each audience customer has exactly one row on its campaign's first channel,
    which is how customers are counted without a second distinct count.
    """
    run_keys = ["retailer_id", "campaign_id", "run_id"]
    counts = (
        decided_df.groupBy(*run_keys, "suppression_reason", "is_holdout")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.count(F.when(F.col("is_first_channel"), F.lit(1))).alias("customers"),
        )
        .collect()
    )
    stats: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in counts:
        key = tuple(row[k] for k in run_keys)
        entry = stats.setdefault(
            key, {"size": 0, "customers": 0, "suppressed": {}, "holdout": 0, "events": 0}
        )
        entry["size"] += row["rows"]
        entry["customers"] += row["customers"]
        reason = row["suppression_reason"]
        if reason is not None:
            entry["suppressed"][reason] = entry["suppressed"].get(reason, 0) + row["rows"]
        else:
            entry["events"] += row["rows"]
            entry["holdout"] += row["rows"] if row["is_holdout"] else 0
    return [
        RunStats(
            retailer_id=key[0],
            campaign_id=key[1],
            run_id=key[2],
            audience_customers=entry["customers"],
            audience_size=entry["size"],
            suppressed_by_reason=entry["suppressed"],
            holdout_size=entry["holdout"],
            events=entry["events"],
        )
        for key, entry in sorted(stats.items())
    ]
