"""Column helpers shared by the engine's transformations."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F


def dispatch(cases: Sequence[tuple[Column, Column]], default: Column) -> Column:
    """`CASE WHEN c1 THEN v1 ... ELSE default END`: per-campaign logic in one expression."""
    if not cases:
        return default
    (first_condition, first_value), *rest = cases
    expression = F.when(first_condition, first_value)
    for condition, value in rest:
        expression = expression.when(condition, value)
    return expression.otherwise(default)


def is_campaign(campaign_id: str) -> Column:
    return F.col("campaign_id") == F.lit(campaign_id)
