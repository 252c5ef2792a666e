"""What the campaigns engine requires of its inputs and guarantees of its output."""

from __future__ import annotations

from collections.abc import Sequence

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
                gxe.ExpectColumnValuesToMatchRegex(
                    column="email", regex=EMAIL_PATTERN, mostly=MIN_VALID_EMAIL_SHARE
                ),
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
