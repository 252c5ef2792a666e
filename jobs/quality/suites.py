"""What the campaigns engine requires of its inputs and guarantees of its output."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import get_args

import great_expectations.expectations as gxe
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.config.models import HOLDOUT_VARIANT, CampaignConfig, Channel
from jobs.quality.checks import QualityGate, QualityReport
from jobs.warehouse.registry import EMAIL_PATTERN, PHONE_PATTERN

# Invalid addresses are expected (they are suppressed as invalid_contact); a feed
# where more than this share is malformed is broken, not noisy.
MIN_VALID_EMAIL_SHARE = 0.9
# Phones come from checkout forms: more are typed without their country code, and such
# a number is never guessed (it is suppressed as invalid_contact); below this share
# the phone feed is broken (e.g. an export that drops the '+').
MIN_VALID_PHONE_SHARE = 0.8


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
                gxe.ExpectColumnValuesToBeInSet(
                    column="channel", value_set=list(get_args(Channel))
                ),
                gxe.ExpectColumnValuesToBeInSet(column="retailer_id", value_set=known),
            ],
        )
    )
    return report


# How far ahead of this machine's clock a row may be dated before it is called a feed
# error (clocks of the source systems drift a little).
CLOCK_SKEW = timedelta(hours=1)


def refused_retailers(
    customers_df: DataFrame,
    orders_df: DataFrame,
    consents_df: DataFrame,
    *,
    now: datetime,
) -> dict[str, list[str]]:
    """Retailer -> why its rows cannot be launched from: the launch's own quality gate,
    one aggregation per input table grouped by retailer, over the columns the launch
    reads. A feed broken for one tenant must neither hide behind the others' healthy
    rows nor stop their launches.

    Refused: fewer than 90% well-formed emails or 80% E.164 phones (of those given),
    missing or blank customer ids, consents for an unknown channel, a negative order
    total, signups or orders dated in the future (a clock or feed error upstream; the
    wall clock's future, not the run's logical date: a backfill sees later rows, rightly).

    Ids given twice are checked where they would do harm, on the launch's own output
    (`repeated_messages`: a repeated customer or consent row repeats a message), a
    pass over 400k events rather than a distinct count over 3M input rows. What the
    launch does not use (order ids, repeats outside any audience) is left to
    `campaigns check-inputs`, the full suite the DAGs run before the launch."""
    future = F.lit(now + CLOCK_SKEW)
    customer_counts = customers_df.groupBy("retailer_id").agg(
        F.count("email").alias("emails"),
        F.sum(F.col("email").rlike(EMAIL_PATTERN).cast("int")).alias("valid_emails"),
        F.count("phone").alias("phones"),
        F.sum(F.col("phone").rlike(PHONE_PATTERN).cast("int")).alias("valid_phones"),
        _missing_ids("customer_id").alias("blank_customer_ids"),
        F.sum((F.col("signup_at") > future).cast("int")).alias("future_signups"),
    )
    order_counts = orders_df.groupBy("retailer_id").agg(
        _missing_ids("customer_id").alias("blank_order_customer_ids"),
        F.sum((F.col("ordered_at") > future).cast("int")).alias("future_orders"),
        F.sum((F.col("total_cents") < 0).cast("int")).alias("negative_order_totals"),
    )
    channels = list(get_args(Channel))
    consent_counts = consents_df.groupBy("retailer_id").agg(
        F.sum((~F.col("channel").isin(channels)).cast("int")).alias("unknown_consent_channels"),
    )
    counts_df = customer_counts.join(order_counts, "retailer_id", "full").join(
        consent_counts, "retailer_id", "full"
    )
    refused: dict[str, list[str]] = {}
    for row in counts_df.collect():
        reasons = _row_reasons(row.asDict(), now + CLOCK_SKEW)
        if reasons:
            refused[row["retailer_id"]] = reasons
    return refused


def _missing_ids(column: str) -> Column:
    return F.sum((F.col(column).isNull() | (F.trim(column) == "")).cast("int"))


def _row_reasons(counts: dict[str, int | None], future: datetime) -> list[str]:
    reasons = []
    for kind, floor, form in (
        ("email", MIN_VALID_EMAIL_SHARE, "well formed"),
        ("phone", MIN_VALID_PHONE_SHARE, "in E.164 (+ and country code)"),
    ):
        given, valid = counts[f"{kind}s"] or 0, counts[f"valid_{kind}s"] or 0
        if given and valid / given < floor:
            reasons.append(
                f"customers: {valid:,} of {given:,} {kind}s are {form} ({valid / given:.0%}; "
                f"at least {floor:.0%} needed): the {kind} feed looks broken"
            )
    after = f"{future:%Y-%m-%d %H:%M} UTC"
    counted = (
        ("blank_customer_ids", "customers: {n:,} rows with a missing or blank customer_id"),
        ("blank_order_customer_ids", "orders: {n:,} rows with a missing or blank customer_id"),
        ("negative_order_totals", "orders: {n:,} orders with a negative total_cents"),
        (
            "unknown_consent_channels",
            f"consents: {{n:,}} rows for a channel other than {', '.join(get_args(Channel))}",
        ),
        ("future_signups", f"customers: {{n:,}} signups dated in the future (after {after})"),
        ("future_orders", f"orders: {{n:,}} orders dated in the future (after {after})"),
    )
    for column, text in counted:
        if counts[column]:
            reasons.append(text.format(n=counts[column]))
    return reasons


def repeated_messages(events_df: DataFrame) -> dict[str, list[str]]:
    """Retailer -> why its runs cannot be written: a customer who would get one run's
    message on one channel more than once, which only a customer or consent row given
    twice upstream can cause. Refusing that retailer's runs keeps the others going."""
    repeats = (
        events_df.groupBy("retailer_id", "run_id", "customer_id", "channel")
        .count()
        .filter(F.col("count") > 1)
        .groupBy("retailer_id")
        .agg(F.count(F.lit(1)).alias("keys"))
        .collect()
    )
    return {
        row["retailer_id"]: [
            f"campaign_events: {row['keys']:,} customers would get a run's message on one "
            "channel more than once: a customer or consent row is given twice upstream "
            "(`campaigns check-inputs` names the rows)"
        ]
        for row in repeats
    }


def check_events(
    gate: QualityGate, events_df: DataFrame, campaigns: Sequence[CampaignConfig]
) -> QualityReport:
    """Configured variants, the campaign's retailer, an address on every event.

    One event per (run, customer, channel) is checked by `repeated_messages` first
    (it refuses the retailer concerned, not the launch); the message id needs no
    check of its own: it is the SHA-256 of that key (`events.message_id_column`).

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
        "address",
        F.concat_ws("|", "campaign_id", "variant_id").alias("campaign_variant"),
        F.concat_ws("|", "campaign_id", "retailer_id").alias("campaign_retailer"),
    )
    return gate.validate(
        keyed_df,
        "campaign_events",
        [
            gxe.ExpectColumnValuesToBeInSet(column="campaign_variant", value_set=variant_keys),
            gxe.ExpectColumnValuesToBeInSet(column="campaign_retailer", value_set=retailer_keys),
            gxe.ExpectColumnValuesToNotBeNull(column="address"),
        ],
    )
