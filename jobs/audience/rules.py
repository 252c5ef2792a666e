"""Audience rules compiled to Spark column expressions (no Python UDFs).

A campaign's rule is a conjunction of conditions from its configuration; each
condition becomes a boolean Column over the features of `features.py`. Many
campaigns are evaluated in one pass by dispatching on `campaign_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.audience.columns import dispatch_by_campaign
from jobs.audience.features import categories_column, order_count_column, spend_cents_column
from jobs.config.models import (
    AudienceCondition,
    CampaignConfig,
    CategoryBought,
    DaysSinceLastOrder,
    DaysSinceSignup,
    LocaleIn,
    OrderCount,
    Range,
    SpendCents,
)


def condition_column(condition: AudienceCondition) -> Column:
    """One condition as a boolean Column; null features never match."""
    match condition:
        case DaysSinceSignup():
            return _in_range(F.col("days_since_signup"), condition)
        case DaysSinceLastOrder():
            recency = F.col("days_since_last_order")
            matched = _in_range(recency, condition)
            return (matched | recency.isNull()) if condition.include_never_ordered else matched
        case OrderCount():
            return _in_range(F.col(order_count_column(condition.window_days)), condition)
        case SpendCents():
            return _in_range(F.col(spend_cents_column(condition.window_days)), condition)
        case CategoryBought():
            wanted = F.array(*[F.lit(category) for category in condition.categories])
            return F.arrays_overlap(F.col(categories_column(condition.window_days)), wanted)
        case LocaleIn():
            return F.col("locale").isin(condition.locales)
    raise TypeError(f"no compiler for audience condition {condition!r}")


def audience_column(conditions: Sequence[AudienceCondition]) -> Column:
    """All conditions hold (an empty rule is everyone); never null."""
    if not conditions:
        return F.lit(True)
    combined = reduce(lambda a, b: a & b, (condition_column(c) for c in conditions))
    return F.coalesce(combined, F.lit(False))


def campaign_audience_column(campaigns: Sequence[CampaignConfig]) -> Column:
    """Each row's own campaign's rule, chosen by `campaign_id` (rows carry one campaign)."""
    return dispatch_by_campaign(
        campaigns,
        key=lambda c: tuple(condition.model_dump_json() for condition in c.audience),
        value=lambda c: audience_column(c.audience),
        default=F.lit(False),
    )


def _in_range(value: Column, bounds: Range) -> Column:
    checks = []
    if bounds.min is not None:
        checks.append(value >= F.lit(bounds.min))
    if bounds.max is not None:
        checks.append(value <= F.lit(bounds.max))
    return F.coalesce(reduce(lambda a, b: a & b, checks), F.lit(False))
