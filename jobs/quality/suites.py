"""What the campaigns engine requires of its inputs and guarantees of its output."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import great_expectations.expectations as gxe
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.config.models import HOLDOUT_VARIANT, CampaignConfig
from jobs.quality.checks import QualityGate, QualityReport
from jobs.warehouse.registry import EMAIL_PATTERN

# Invalid addresses are expected (they are suppressed as invalid_contact); a feed
# where more than this share is malformed is broken, not noisy.
MIN_VALID_EMAIL_SHARE = 0.9


def check_inputs(
    gate: QualityGate,
    *,
    customers_df: DataFrame,
    orders_df: DataFrame,
    consents_df: DataFrame,
    known_retailers: Sequence[str],
) -> QualityReport:
    """Ids present and unique per retailer, known retailers, plausible email feed."""
    report = QualityReport()
    known = list(known_retailers)
    report.extend(
        gate.validate(
            customers_df,
            "customers",
            [
                gxe.ExpectColumnValuesToNotBeNull(column="retailer_id"),
                gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["retailer_id", "customer_id"]),
                gxe.ExpectColumnValuesToBeInSet(column="retailer_id", value_set=known),
            ],
        )
    )
    report.extend(
        gate.validate(
            orders_df,
            "orders",
            [
                gxe.ExpectColumnValuesToNotBeNull(column="order_id"),
                gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["retailer_id", "order_id"]),
                gxe.ExpectColumnValuesToBeInSet(column="retailer_id", value_set=known),
                gxe.ExpectColumnValuesToBeBetween(column="total_cents", min_value=0),
            ],
        )
    )
    report.extend(
        gate.validate(
            consents_df,
            "consents",
            [
                gxe.ExpectCompoundColumnsToBeUnique(
                    column_list=["retailer_id", "customer_id", "channel"]
                ),
                gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=["email", "push"]),
                gxe.ExpectColumnValuesToBeInSet(column="retailer_id", value_set=known),
            ],
        )
    )
    return report


def refused_retailers(
    customers_df: DataFrame, orders_df: DataFrame, *, as_of: datetime
) -> dict[str, list[str]]:
    """Retailer -> why its rows cannot be launched from, measured per retailer (one pass
    over each table): a feed that is broken for one tenant must not hide behind the
    others' healthy rows, nor stop their launches.

    Refused: fewer than 90% well-formed emails, blank customer ids, signups or orders
    dated after the run's logical time (a clock or feed error upstream)."""
    customer_counts = customers_df.groupBy("retailer_id").agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.col("email").rlike(EMAIL_PATTERN).cast("int")).alias("valid_emails"),
        F.sum((F.trim("customer_id") == "").cast("int")).alias("blank_customer_ids"),
        F.sum((F.col("signup_at") > F.lit(as_of)).cast("int")).alias("future_signups"),
    )
    order_counts = orders_df.groupBy("retailer_id").agg(
        F.sum((F.trim("customer_id") == "").cast("int")).alias("blank_order_customer_ids"),
        F.sum((F.col("ordered_at") > F.lit(as_of)).cast("int")).alias("future_orders"),
    )
    refused: dict[str, list[str]] = {}
    for row in customer_counts.join(order_counts, "retailer_id", "full").collect():
        reasons = _row_reasons(row.asDict(), as_of)
        if reasons:
            refused[row["retailer_id"]] = reasons
    return refused


def _row_reasons(counts: dict[str, int | None], as_of: datetime) -> list[str]:
    rows, valid = counts["rows"] or 0, counts["valid_emails"] or 0
    reasons = []
    if rows and valid / rows < MIN_VALID_EMAIL_SHARE:
        reasons.append(
            f"customers: {valid:,} of {rows:,} emails are well formed ({valid / rows:.0%}; at "
            f"least {MIN_VALID_EMAIL_SHARE:.0%} needed): the email feed looks broken"
        )
    counted = (
        ("blank_customer_ids", "customers: {n:,} rows with a blank customer_id"),
        ("blank_order_customer_ids", "orders: {n:,} rows with a blank customer_id"),
        ("future_signups", "customers: {n:,} signups dated after the run ({as_of})"),
        ("future_orders", "orders: {n:,} orders dated after the run ({as_of})"),
    )
    for column, text in counted:
        if counts[column]:
            reasons.append(text.format(n=counts[column], as_of=f"{as_of:%Y-%m-%d %H:%M} UTC"))
    return reasons


def check_events(
    gate: QualityGate, events_df: DataFrame, campaigns: Sequence[CampaignConfig]
) -> QualityReport:
    """One event per (run, customer, channel); configured variants; the campaign's retailer.

    Campaign-scoped membership is checked on `campaign|variant` and
    `campaign|retailer` keys: a plain value-in-set check stays cheap with
    hundreds of campaigns, where GE's pair-in-set metric does not.
    """
    variant_keys = sorted(
        f"{c.campaign_id}|{v}"
        for c in campaigns
        for v in [*(x.variant_id for x in c.variants), HOLDOUT_VARIANT]
    )
    retailer_keys = sorted(f"{c.campaign_id}|{c.retailer_id}" for c in campaigns)
    keyed_df = events_df.select(
        "retailer_id",
        "run_id",
        "customer_id",
        "channel",
        "message_id",
        "address",
        F.concat_ws("|", "campaign_id", "variant_id").alias("campaign_variant"),
        F.concat_ws("|", "campaign_id", "retailer_id").alias("campaign_retailer"),
    )
    return gate.validate(
        keyed_df,
        "campaign_events",
        [
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["retailer_id", "run_id", "customer_id", "channel"]
            ),
            gxe.ExpectColumnValuesToBeUnique(column="message_id"),
            gxe.ExpectColumnValuesToBeInSet(column="campaign_variant", value_set=variant_keys),
            gxe.ExpectColumnValuesToBeInSet(column="campaign_retailer", value_set=retailer_keys),
            gxe.ExpectColumnValuesToNotBeNull(column="address"),
        ],
    )
