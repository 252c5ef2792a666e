"""Audience features and rule compilation, on small inline data with awkward rows."""

from __future__ import annotations

from datetime import timedelta

from chispa import assert_df_equality
from pydantic import TypeAdapter
from pyspark.sql import DataFrame, SparkSession

from jobs.audience.features import FeatureWindows, with_customer_features
from jobs.audience.rules import audience_column, campaign_audience_column
from jobs.config.models import AudienceCondition, CampaignConfig
from jobs.warehouse import table_spec
from tests.conftest import T0

AS_OF = T0 + timedelta(days=400)
CONDITION = TypeAdapter(AudienceCondition)


def customer(
    retailer: str,
    customer_id: str,
    *,
    signup_days_ago: int,
    locale: str = "en-US",
    email: str | None = "a@b.com",
) -> tuple[object, ...]:
    signup = AS_OF - timedelta(days=signup_days_ago)
    return (retailer, customer_id, email, None, None, "Ann", "Lee", locale, None, signup, signup)


def order(
    retailer: str,
    customer_id: str,
    order_id: str,
    *,
    days_ago: int,
    cents: int,
    category: str = "produce",
) -> tuple[object, ...]:
    return (
        retailer,
        order_id,
        customer_id,
        AS_OF - timedelta(days=days_ago),
        cents,
        0,
        None,
        category,
        1,
    )


def features(
    spark: SparkSession,
    customers: list[tuple[object, ...]],
    orders: list[tuple[object, ...]],
    windows: FeatureWindows,
) -> DataFrame:
    customers_df = spark.createDataFrame(customers, table_spec("customers").schema)
    orders_df = spark.createDataFrame(orders, table_spec("orders").schema)
    return with_customer_features(customers_df, orders_df, as_of=AS_OF, windows=windows)


def matching(df: DataFrame, *conditions: dict[str, object]) -> set[tuple[str, str]]:
    rule = audience_column([CONDITION.validate_python(c) for c in conditions])
    return {(r.retailer_id, r.customer_id) for r in df.filter(rule).collect()}


WINDOWS = FeatureWindows(order_windows=frozenset({30, 365}), category_windows=frozenset({90}))
CUSTOMERS = [
    customer("fresh-mart", "c1", signup_days_ago=300),
    customer("fresh-mart", "c2", signup_days_ago=5, locale="es-US"),
    customer("fresh-mart", "c3", signup_days_ago=200),  # never ordered
    customer("green-grocer", "c1", signup_days_ago=10),  # same id, other retailer
    customer("green-grocer", "c9", signup_days_ago=-3),  # signs up after as-of
]
ORDERS = [
    order("fresh-mart", "c1", "o1", days_ago=100, cents=5_000, category="bakery"),
    order("fresh-mart", "c1", "o2", days_ago=70, cents=7_000, category="bakery"),
    order("fresh-mart", "c1", "o3", days_ago=-1, cents=99_000),  # after as-of: ignored
    order("fresh-mart", "c2", "o4", days_ago=2, cents=1_000, category="produce"),
    order("green-grocer", "c1", "o5", days_ago=1, cents=123_400, category="pet"),
]


def test_features_are_per_retailer_and_before_as_of(spark: SparkSession) -> None:
    df = features(spark, CUSTOMERS, ORDERS, WINDOWS)
    rows = {(r.retailer_id, r.customer_id): r for r in df.collect()}

    assert set(rows) == {
        ("fresh-mart", "c1"),
        ("fresh-mart", "c2"),
        ("fresh-mart", "c3"),
        ("green-grocer", "c1"),
    }
    c1 = rows[("fresh-mart", "c1")]
    assert (c1.lifetime_orders, c1.lifetime_spend_cents, c1.days_since_last_order) == (
        2,
        12_000,
        70,
    )
    assert (c1.order_count_30d, c1.order_count_365d, c1.spend_cents_365d) == (0, 2, 12_000)
    assert c1.favourite_category == "bakery" and c1.categories_90d == ["bakery"]
    never = rows[("fresh-mart", "c3")]
    assert never.days_since_last_order is None
    assert (never.lifetime_orders, never.order_count_365d, never.categories_90d) == (0, 0, [])
    assert rows[("green-grocer", "c1")].lifetime_spend_cents == 123_400


def test_favourite_category_is_last_years_most_ordered_first_by_name_on_ties(
    spark: SparkSession,
) -> None:
    old = [
        order("fresh-mart", "c1", f"old{n}", days_ago=400, cents=100, category="dairy")
        for n in range(5)
    ]
    recent = [
        order("fresh-mart", "c1", f"p{n}", days_ago=10 + n, cents=100, category=category)
        for n, category in enumerate(["produce", "bakery", "produce", "bakery"])
    ]
    lapsed = [order("fresh-mart", "c2", "x1", days_ago=500, cents=100, category="pet")]
    customers = [customer("fresh-mart", c, signup_days_ago=900) for c in ("c1", "c2")]

    df = features(spark, customers, old + recent + lapsed, WINDOWS)

    rows = {r.customer_id: r for r in df.collect()}
    assert rows["c1"].favourite_category == "bakery"
    assert sorted(rows["c1"].categories_90d) == ["bakery", "produce"]
    assert (rows["c1"].lifetime_orders, rows["c1"].order_count_365d) == (9, 4)
    assert rows["c2"].favourite_category is None and rows["c2"].categories_90d == []


def test_each_condition_selects_the_right_customers(spark: SparkSession) -> None:
    df = features(spark, CUSTOMERS, ORDERS, WINDOWS)

    assert matching(df, {"rule": "days_since_signup", "max": 14}) == {
        ("fresh-mart", "c2"),
        ("green-grocer", "c1"),
    }
    assert matching(df, {"rule": "days_since_last_order", "min": 60}) == {("fresh-mart", "c1")}
    assert matching(
        df, {"rule": "days_since_last_order", "min": 60, "include_never_ordered": True}
    ) == {("fresh-mart", "c1"), ("fresh-mart", "c3")}
    assert matching(df, {"rule": "order_count", "min": 2, "window_days": 365}) == {
        ("fresh-mart", "c1")
    }
    assert matching(df, {"rule": "spend_cents", "min": 100_000, "window_days": 30}) == {
        ("green-grocer", "c1")
    }
    assert matching(
        df, {"rule": "category_bought", "categories": ["bakery", "pet"], "window_days": 90}
    ) == {("fresh-mart", "c1"), ("green-grocer", "c1")}
    assert matching(df, {"rule": "locale", "locales": ["es-US"]}) == {("fresh-mart", "c2")}


def test_conditions_combine_with_and_and_empty_rule_is_everyone(spark: SparkSession) -> None:
    df = features(spark, CUSTOMERS, ORDERS, WINDOWS)

    assert matching(
        df, {"rule": "days_since_signup", "max": 14}, {"rule": "locale", "locales": ["en-US"]}
    ) == {("green-grocer", "c1")}
    assert len(matching(df)) == 4


def test_rows_are_judged_by_their_own_campaigns_rule(spark: SparkSession) -> None:
    df = features(spark, CUSTOMERS, ORDERS, WINDOWS)
    campaigns = [
        CampaignConfig.model_validate(
            {
                "campaign_id": cid,
                "retailer_id": "fresh-mart",
                "type": "winback",
                "channels": ["email"],
                "audience": audience,
                "templates": {"email": "t"},
                "variants": [{"variant_id": "a", "weight": 1}],
            }
        )
        for cid, audience in (
            ("new", [{"rule": "days_since_signup", "max": 14}]),
            ("lapsed", [{"rule": "days_since_last_order", "min": 60}]),
        )
    ]
    tagged_df = df.crossJoin(
        spark.createDataFrame([("new",), ("lapsed",), ("other",)], "campaign_id string")
    )

    selected = {
        (r.campaign_id, r.retailer_id, r.customer_id)
        for r in tagged_df.filter(campaign_audience_column(campaigns)).collect()
    }

    assert selected == {
        ("new", "fresh-mart", "c2"),
        ("new", "green-grocer", "c1"),
        ("lapsed", "fresh-mart", "c1"),
    }


def test_feature_frame_equals_the_hand_computed_one(spark: SparkSession) -> None:
    """chispa comparison of the schema-contract columns, two retailers sharing id c1."""
    selected = [
        "retailer_id",
        "customer_id",
        "lifetime_orders",
        "lifetime_spend_cents",
        "days_since_last_order",
        "order_count_30d",
        "favourite_category",
    ]
    actual_df = features(spark, CUSTOMERS, ORDERS, WINDOWS).select(*selected)
    expected_df = spark.createDataFrame(
        [
            ("fresh-mart", "c1", 2, 12_000, 70, 0, "bakery"),
            ("fresh-mart", "c2", 1, 1_000, 2, 1, "produce"),
            ("fresh-mart", "c3", 0, 0, None, 0, None),
            ("green-grocer", "c1", 1, 123_400, 1, 1, "pet"),
        ],
        "retailer_id string, customer_id string, lifetime_orders bigint, "
        "lifetime_spend_cents bigint, days_since_last_order int, order_count_30d bigint, "
        "favourite_category string",
    )

    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
