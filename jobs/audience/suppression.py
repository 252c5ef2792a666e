"""Who must not be messaged, and why.

Every (campaign, customer, channel) candidate gets at most one suppression
reason, the first that applies in `REASONS` order, so the per-reason counts in
`campaign_runs` add up exactly to audience minus events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from jobs.audience.columns import dispatch
from jobs.warehouse.registry import EMAIL_PATTERN, PHONE_PATTERN

REASONS = (
    "unsubscribed",
    "no_consent",
    "hard_bounced",
    "complained",
    "invalid_contact",
    "already_messaged",
    "frequency_cap",
)
CHANNEL_PRIORITY = {"email": 1, "push": 2, "sms": 3}
# Where each channel's address comes from, and what a well-formed one looks like.
ADDRESS_COLUMNS = {"email": "email", "push": "push_token", "sms": "phone"}
ADDRESS_PATTERNS = {"email": EMAIL_PATTERN, "sms": PHONE_PATTERN}
KEYS = ["retailer_id", "customer_id"]


def with_channel_candidates(audience_df: DataFrame) -> DataFrame:
    """One row per campaign channel, carrying the channel's address."""
    return audience_df.withColumn("channel", F.explode("channels")).withColumn(
        "address",
        dispatch(
            [
                (F.col("channel") == channel, F.col(column))
                for channel, column in ADDRESS_COLUMNS.items()
            ],
            F.lit(None).cast("string"),
        ),
    )


def with_suppression_reason(
    candidates_df: DataFrame,
    *,
    consents_df: DataFrame,
    history_df: DataFrame,
    delivery_events_df: DataFrame,
    as_of: datetime,
    current_run_ids: Sequence[str],
) -> DataFrame:
    """Adds `suppression_reason` (null when the message may go out).

    `history_df` is earlier campaign_events: it feeds both the re-launch
    exclusion and the frequency cap (non-holdout rows in the retailer's
    window). The runs being launched now are never their own history.
    """
    earlier_df = history_df.filter(~F.col("run_id").isin(list(current_run_ids)))
    flagged_df = (
        candidates_df.join(_consent_flags(consents_df), on=[*KEYS, "channel"], how="left")
        .join(_delivery_flags(delivery_events_df, as_of), on=[*KEYS, "channel"], how="left")
        .join(_already_messaged(earlier_df), on=[*KEYS, "campaign_id", "channel"], how="left")
    )
    reason_df = flagged_df.withColumn("suppression_reason", _first_reason())
    return _with_frequency_cap(reason_df, earlier_df, as_of).drop(
        "is_opted_in",
        "is_unsubscribed",
        "has_hard_bounced",
        "has_complained",
        "has_unsubscribed_event",
        "is_already_messaged",
        "prior_messages",
    )


def _consent_flags(consents_df: DataFrame) -> DataFrame:
    return consents_df.select(
        *KEYS,
        "channel",
        "is_opted_in",
        F.col("unsubscribed_at").isNotNull().alias("is_unsubscribed"),
    )


def _delivery_flags(delivery_events_df: DataFrame, as_of: datetime) -> DataFrame:
    """Hard bounces, complaints and unsubscribes the provider reported before `as_of`."""

    def ever(event_type: str) -> F.Column:
        return F.max(F.col("event_type") == F.lit(event_type))

    return (
        delivery_events_df.filter(F.col("occurred_at") < F.lit(as_of))
        .groupBy(*KEYS, "channel")
        .agg(
            ever("bounced_hard").alias("has_hard_bounced"),
            ever("complained").alias("has_complained"),
            ever("unsubscribed").alias("has_unsubscribed_event"),
        )
    )


def _already_messaged(earlier_df: DataFrame) -> DataFrame:
    return (
        earlier_df.select(*KEYS, "campaign_id", "channel")
        .distinct()
        .withColumn("is_already_messaged", F.lit(True))
    )


def _first_reason() -> F.Column:
    is_valid_contact = dispatch(
        [
            (F.col("channel") == channel, F.coalesce(F.col("address").rlike(pattern), F.lit(False)))
            for channel, pattern in ADDRESS_PATTERNS.items()
        ],
        F.col("address").isNotNull(),
    )
    checks = [
        ("unsubscribed", F.col("is_unsubscribed") | F.col("has_unsubscribed_event")),
        ("no_consent", ~F.col("is_opted_in")),
        ("hard_bounced", F.col("has_hard_bounced")),
        ("complained", F.col("has_complained")),
        ("invalid_contact", ~is_valid_contact),
        ("already_messaged", F.col("is_already_messaged")),
    ]
    return dispatch(
        [
            (F.coalesce(condition, F.lit(reason == "no_consent")), F.lit(reason))
            for reason, condition in checks
        ],
        F.lit(None).cast("string"),
    ).alias("suppression_reason")


def _with_frequency_cap(df: DataFrame, earlier_df: DataFrame, as_of: datetime) -> DataFrame:
    """At most `frequency_max` marketing messages per customer in the retailer's window.

    Messages already planned since the window opened count first, including
    those of campaigns launched earlier the same day (created after `as_of`);
    then this launch's eligible messages take the remaining room in a stable
    order (campaign, then email before push).
    """
    windows_df = df.select("retailer_id", "frequency_window_days").distinct()
    prior_df = (
        earlier_df.filter(~F.col("is_holdout"))
        .join(F.broadcast(windows_df), on="retailer_id", how="inner")
        .filter(
            F.col("created_at")
            >= F.lit(as_of) - F.make_interval(days=F.col("frequency_window_days"))
        )
        .groupBy(*KEYS)
        .agg(F.count(F.lit(1)).alias("prior_messages"))
    )
    priority = dispatch(
        [(F.col("channel") == F.lit(c), F.lit(p)) for c, p in CHANNEL_PRIORITY.items()],
        F.lit(len(CHANNEL_PRIORITY) + 1),
    )
    order = Window.partitionBy(*KEYS).orderBy(
        F.col("suppression_reason").isNotNull(), "campaign_id", priority
    )
    ranked_df = df.join(prior_df, on=KEYS, how="left").withColumn(
        "send_rank", F.row_number().over(order)
    )
    over_cap = (F.coalesce(F.col("prior_messages"), F.lit(0)) + F.col("send_rank")) > F.col(
        "frequency_max"
    )
    return ranked_df.withColumn(
        "suppression_reason",
        F.when(F.col("suppression_reason").isNull() & over_cap, F.lit("frequency_cap")).otherwise(
            F.col("suppression_reason")
        ),
    ).drop("send_rank")
