"""Variants (sticky, weighted, with holdout) and offers (tiers, HMAC promo codes)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from scipy.stats import chisquare

from jobs.allocation.waves import WaveLaunch
from jobs.audience.offers import hmac_sha256_hex, with_offer
from jobs.audience.variants import in_wave_column, with_variant
from jobs.config.models import HOLDOUT_VARIANT, CampaignConfig
from tests.conftest import T0


def campaign(campaign_id: str = "promo", holdout: float = 0.1, **extra: object) -> CampaignConfig:
    return CampaignConfig.model_validate(
        {
            "campaign_id": campaign_id,
            "retailer_id": "r1",
            "type": "promotional",
            "channels": ["email"],
            "templates": {"email": "t"},
            "holdout_share": holdout,
            "variants": [
                {"variant_id": "a", "weight": 50},
                {
                    "variant_id": "b",
                    "weight": 30,
                    "offer": {
                        "kind": "percent_off",
                        "percent": 10,
                        "min_basket_cents": 2000,
                        "expires_after_days": 7,
                        "tiers": [{"min_customer_value_cents": 50_000, "percent": 20}],
                    },
                },
                {
                    "variant_id": "c",
                    "weight": 20,
                    "offer": {"kind": "amount_off", "amount_cents": 500},
                },
            ],
            **extra,
        }
    )


def customers(
    spark: SparkSession, n: int, *, campaign_id: str = "promo", retailer: str = "r1"
) -> DataFrame:
    return spark.range(n).select(
        F.lit(retailer).alias("retailer_id"),
        F.lit(campaign_id).alias("campaign_id"),
        F.concat(F.lit("c"), F.col("id").cast("string")).alias("customer_id"),
        (F.col("id") * 1000).alias("lifetime_spend_cents"),
    )


def test_split_matches_the_weights(spark: SparkSession) -> None:
    n = 200_000
    counts = {
        r.variant_id: r["count"]
        for r in with_variant(customers(spark, n), [campaign()])
        .groupBy("variant_id")
        .count()
        .collect()
    }
    expected = {HOLDOUT_VARIANT: 0.1 * n, "a": 0.45 * n, "b": 0.27 * n, "c": 0.18 * n}

    statistic, p_value = chisquare([counts[k] for k in expected], list(expected.values()))

    assert set(counts) == set(expected)
    assert p_value > 0.001, (counts, statistic)


def test_assignment_is_sticky_and_independent_between_campaigns(spark: SparkSession) -> None:
    first = with_variant(customers(spark, 5_000), [campaign()])
    again = with_variant(customers(spark, 5_000).repartition(7), [campaign()])
    other = with_variant(customers(spark, 5_000, campaign_id="other"), [campaign("other")])

    def variants(df: DataFrame) -> dict[str, str]:
        return {r.customer_id: r.variant_id for r in df.collect()}

    first_variants, other_variants = variants(first), variants(other)
    assert first_variants == variants(again)
    same = sum(v == other_variants[k] for k, v in first_variants.items())
    assert same < 0.5 * 5_000  # unrelated campaigns do not reuse the same buckets


def test_same_customer_id_at_two_retailers_is_bucketed_independently(
    spark: SparkSession,
) -> None:
    r1 = {
        r.customer_id: r.variant_id
        for r in with_variant(customers(spark, 3_000, retailer="r1"), [campaign()]).collect()
    }
    r2 = {
        r.customer_id: r.variant_id
        for r in with_variant(customers(spark, 3_000, retailer="r2"), [campaign()]).collect()
    }

    assert sum(r1[k] == r2[k] for k in r1) < 0.5 * 3_000


def adaptive() -> CampaignConfig:
    """Three unweighted variants sent in three waves, the first over a fifth."""
    return campaign(
        variants=[{"variant_id": v} for v in "abc"],
        allocation={"mode": "adaptive", "waves": 3, "exploration_share": 0.2},
    )


def wave(number: int, weights: dict[str, float], run_id: str = "promo-20261101") -> WaveLaunch:
    return WaveLaunch(run_id, number, adaptive().allocation.wave_bounds(number), weights)


def test_waves_split_a_run_into_disjoint_slices_that_a_relaunch_takes_again(
    spark: SparkSession,
) -> None:
    people = customers(spark, 20_000)
    even = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}

    def members(number: int, run_id: str = "promo-20261101") -> set[str]:
        launched = {"promo": wave(number, even, run_id)}
        return {r.customer_id for r in people.filter(in_wave_column(launched)).collect()}

    waves = [members(k) for k in (1, 2, 3)]

    assert sum(len(w) for w in waves) == 20_000 and len(set().union(*waves)) == 20_000
    assert abs(len(waves[0]) - 4_000) < 250 and abs(len(waves[1]) - 8_000) < 350
    assert members(2) == waves[1]  # the same wave again: the same customers
    assert len(members(1, "promo-20261108") & waves[0]) < 0.3 * len(waves[0])  # next run: new


def test_a_wave_assigns_by_its_weights_and_keeps_the_holdout(spark: SparkSession) -> None:
    people = customers(spark, 50_000)
    launched = {"promo": wave(2, {"a": 0.0, "b": 0.25, "c": 0.75})}

    def split(df: DataFrame) -> dict[str, int]:
        return {r.variant_id: r["count"] for r in df.groupBy("variant_id").count().collect()}

    counts = split(with_variant(people, [adaptive()], launched))
    fixed = {r.customer_id: r.variant_id for r in with_variant(people, [campaign()]).collect()}
    weighted = {
        r.customer_id: r.variant_id for r in with_variant(people, [adaptive()], launched).collect()
    }

    assert "a" not in counts  # weight 0: nobody
    expected = [0.1 * 50_000, 0.9 * 0.25 * 50_000, 0.9 * 0.75 * 50_000]
    _, p_value = chisquare([counts[k] for k in (HOLDOUT_VARIANT, "b", "c")], expected)
    assert p_value > 0.001, counts
    # the holdout is the same customers whatever the wave's weights
    assert {c for c, v in fixed.items() if v == HOLDOUT_VARIANT} == {
        c for c, v in weighted.items() if v == HOLDOUT_VARIANT
    }


def test_hmac_matches_the_standard_library(spark: SparkSession) -> None:
    messages = ["r1|promo|c1", "", "ünïcode|x"]
    for secret in (b"short", b"k" * 100):
        df = spark.createDataFrame([(m,) for m in messages], "m string")
        got = [r.h for r in df.select(hmac_sha256_hex(secret, F.col("m")).alias("h")).collect()]
        want = [hmac.new(secret, m.encode(), hashlib.sha256).hexdigest() for m in messages]
        assert got == want


def offers(spark: SparkSession, secret: bytes = b"s3cret") -> dict[str, dict[str, object]]:
    df = with_variant(customers(spark, 2_000), [campaign()])
    result = with_offer(df, [campaign()], as_of=T0, promo_secret=secret)
    return {r.customer_id: r.asDict() for r in result.collect()}


def test_offers_follow_variant_and_tier(spark: SparkSession) -> None:
    rows = offers(spark).values()
    by_variant: dict[str, list[dict[str, object]]] = {}
    for r in rows:
        by_variant.setdefault(str(r["variant_id"]), []).append(r)

    assert all(
        r["offer_kind"] is None and r["promo_code"] is None
        for v in ("a", HOLDOUT_VARIANT)
        for r in by_variant[v]
    )
    for r in by_variant["b"]:
        assert r["offer_kind"] == "percent_off"
        assert r["offer_percent"] == (20.0 if int(r["lifetime_spend_cents"]) >= 50_000 else 10.0)
        assert r["offer_min_basket_cents"] == 2000
        assert r["offer_expires_at"] == (T0 + timedelta(days=7)).replace(tzinfo=None)
    assert {r["offer_amount_cents"] for r in by_variant["c"]} == {500}


def test_promo_codes_are_unique_and_need_the_secret(spark: SparkSession) -> None:
    codes = {k: r["promo_code"] for k, r in offers(spark).items() if r["promo_code"]}
    other_secret = {
        k: r["promo_code"] for k, r in offers(spark, b"other").items() if r["promo_code"]
    }

    assert len(set(codes.values())) == len(codes) > 500
    assert all(len(str(c)) == 14 and str(c).count("-") == 2 for c in codes.values())
    assert not set(codes.values()) & set(other_secret.values())


def test_offers_without_a_secret_are_refused(spark: SparkSession) -> None:
    df = with_variant(customers(spark, 10), [campaign()])

    with pytest.raises(ValueError, match="promo code secret"):
        with_offer(df, [campaign()], as_of=T0, promo_secret=None)
