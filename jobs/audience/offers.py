"""Offers per variant, tiered by customer value, and unguessable promo codes.

Promo codes are HMAC-SHA256(secret, retailer|campaign|customer), computed with
Spark's built-in sha2 (HMAC is two nested hashes over the padded key), so
codes are unique per customer and campaign and cannot be derived from one
another without the secret, which comes from the environment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.audience.columns import dispatch, group_by_key, in_campaigns
from jobs.config.models import CampaignConfig, OfferRule

_BLOCK = 64  # SHA-256 block size in bytes
PROMO_CODE_HEX_DIGITS = 12
OFFER_COLUMNS = {
    "offer_kind": "string",
    "offer_percent": "double",
    "offer_amount_cents": "bigint",
    "offer_min_basket_cents": "bigint",
    "offer_expires_at": "timestamp",
}


def hmac_sha256_hex(secret: bytes, message: Column) -> Column:
    """HMAC-SHA256 as hex, from built-in functions (RFC 2104)."""
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    inner_key = bytes(b ^ 0x36 for b in key)
    outer_key = bytes(b ^ 0x5C for b in key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_key), F.encode(message, "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(outer_key), inner), 256)


def promo_code_column(secret: bytes) -> Column:
    """`XXXX-XXXX-XXXX` from the HMAC of (retailer, campaign, customer)."""
    digest = F.upper(
        hmac_sha256_hex(
            secret,
            F.concat_ws("|", F.col("retailer_id"), F.col("campaign_id"), F.col("customer_id")),
        )
    )
    groups = [F.substring(digest, start, 4) for start in range(1, PROMO_CODE_HEX_DIGITS, 4)]
    return F.concat_ws("-", *groups)


def _offer_values(rule: OfferRule, as_of: datetime) -> dict[str, Column]:
    """The offer's columns; a tier (highest threshold met) overrides percent or amount."""
    value = F.col("lifetime_spend_cents")
    tiers = sorted(rule.tiers, key=lambda t: t.min_customer_value_cents, reverse=True)

    def tiered(base: float | int | None, attribute: str) -> Column:
        cases = [
            (value >= F.lit(t.min_customer_value_cents), F.lit(getattr(t, attribute)))
            for t in tiers
            if getattr(t, attribute) is not None
        ]
        return dispatch(cases, F.lit(base))

    return {
        "offer_kind": F.lit(rule.kind),
        "offer_percent": tiered(rule.percent, "percent")
        if rule.kind == "percent_off"
        else F.lit(None),
        "offer_amount_cents": tiered(rule.amount_cents, "amount_cents")
        if rule.kind == "amount_off"
        else F.lit(None),
        "offer_min_basket_cents": F.lit(rule.min_basket_cents),
        "offer_expires_at": F.lit(as_of + timedelta(days=rule.expires_after_days)),
    }


def with_offer(
    df: DataFrame,
    campaigns: Sequence[CampaignConfig],
    *,
    as_of: datetime,
    promo_secret: bytes | None,
) -> DataFrame:
    """Offer columns for each row's variant; holdout rows get no offer and no code."""
    groups = group_by_key(
        ((v.variant_id, v.offer.model_dump_json()), (c.campaign_id, v.offer))
        for c in campaigns
        for v in c.variants
        if v.offer is not None
    )
    offers = [
        (
            in_campaigns([campaign_id for campaign_id, _ in members])
            & (F.col("variant_id") == F.lit(variant_id)),
            _offer_values(members[0][1], as_of),
        )
        for (variant_id, _), members in groups.items()
    ]
    if offers and promo_secret is None:
        raise ValueError("campaigns with offers need a promo code secret")
    columns = {
        name: dispatch(
            [(condition, values[name]) for condition, values in offers], F.lit(None)
        ).cast(dtype)
        for name, dtype in OFFER_COLUMNS.items()
    }
    has_offer = F.col("offer_kind").isNotNull() & ~F.col("is_holdout")
    promo = promo_code_column(promo_secret) if promo_secret else F.lit(None)
    return df.withColumns(columns).withColumn("promo_code", F.when(has_offer, promo).cast("string"))
