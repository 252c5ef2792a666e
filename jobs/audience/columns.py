"""Column helpers shared by the engine's transformations."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.config.models import CampaignConfig

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")


def dispatch(cases: Sequence[tuple[Column, Column]], default: Column) -> Column:
    """`CASE WHEN c1 THEN v1 ... ELSE default END`: per-campaign logic in one expression."""
    if not cases:
        return default
    (first_condition, first_value), *rest = cases
    expression = F.when(first_condition, first_value)
    for condition, value in rest:
        expression = expression.when(condition, value)
    return expression.otherwise(default)


def dispatch_by_campaign(
    campaigns: Sequence[CampaignConfig],
    key: Callable[[CampaignConfig], KeyT],
    value: Callable[[CampaignConfig], Column],
    default: Column,
) -> Column:
    """Per-campaign logic with one branch per distinct `key`, not per campaign.

    Hundreds of retailers run the same standard rules; grouping campaigns whose
    key is equal (`campaign_id IN (...)`) keeps the generated code small enough
    for Spark's whole-stage code generation (a method over 64 KB falls back to
    slow interpretation).
    """
    groups = group_by_key((key(campaign), campaign) for campaign in campaigns)
    return dispatch(
        [
            (in_campaigns([c.campaign_id for c in members]), value(members[0]))
            for members in groups.values()
        ],
        default,
    )


def group_by_key(pairs: Iterable[tuple[KeyT, ValueT]]) -> dict[KeyT, list[ValueT]]:
    """Values grouped by key in first-seen order: the members of one `IN (...)` branch."""
    groups: dict[KeyT, list[ValueT]] = {}
    for group_key, value in pairs:
        groups.setdefault(group_key, []).append(value)
    return groups


def in_campaigns(campaign_ids: list[str]) -> Column:
    return F.col("campaign_id").isin(campaign_ids)
