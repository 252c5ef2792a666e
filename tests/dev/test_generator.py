"""The synthetic warehouse: deterministic for a seed, and shaped like real data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.config import load_conf
from jobs.dev.synthetic.generator import (
    SeedSpec,
    SyntheticRetailer,
    generate_consents,
    generate_customers,
    generate_orders,
)
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.warehouse import INPUT_TABLES, Warehouse, table_spec
from tests.conftest import REPO_CONF

SPEC = SeedSpec(seed=11, customers=3_000, orders=30_000, as_of=date(2026, 11, 1))


@pytest.fixture(scope="module")
def retailers() -> list[SyntheticRetailer]:
    return seed_retailers(load_conf(REPO_CONF), 4)


def tables(
    spark: SparkSession, spec: SeedSpec, retailers: list[SyntheticRetailer]
) -> dict[str, DataFrame]:
    customers_df = generate_customers(spark, spec, retailers)
    return {
        "customers": customers_df.select(*table_spec("customers").column_names),
        "orders": generate_orders(customers_df, spec),
        "consents": generate_consents(customers_df, spec, retailers),
    }


def test_same_seed_gives_identical_tables(
    spark: SparkSession, retailers: list[SyntheticRetailer]
) -> None:
    first, second = tables(spark, SPEC, retailers), tables(spark, SPEC, retailers)

    for name in INPUT_TABLES:
        assert_df_equality(first[name], second[name], ignore_row_order=True)


def test_other_seed_gives_other_data(
    spark: SparkSession, retailers: list[SyntheticRetailer]
) -> None:
    first = tables(spark, SPEC, retailers)["customers"]
    other = tables(spark, SeedSpec(seed=12, customers=3_000, orders=30_000), retailers)["customers"]

    assert first.select("email").subtract(other.select("email")).count() > 1_000


def test_retailers_come_from_conf_then_synthetic(retailers: list[SyntheticRetailer]) -> None:
    assert [r.retailer_id for r in retailers] == [
        "fresh-mart",
        "green-grocer",
        "maple-market",
        "retailer-0004",
    ]
    assert retailers[2].channels == ["email"]


def test_shape_of_the_data(spark: SparkSession, retailers: list[SyntheticRetailer]) -> None:
    data = tables(spark, SPEC, retailers)
    customers_df, orders_df, consents_df = data["customers"], data["orders"], data["consents"]
    n_customers, n_orders = customers_df.count(), orders_df.count()

    assert abs(n_customers - SPEC.customers) / SPEC.customers < 0.02
    assert abs(n_orders - SPEC.orders) / SPEC.orders < 0.1
    # keys are unique per retailer, and customer ids repeat across retailers
    assert customers_df.select("retailer_id", "customer_id").distinct().count() == n_customers
    assert orders_df.select("retailer_id", "order_id").distinct().count() == n_orders
    assert customers_df.groupBy("customer_id").count().filter("count > 1").count() > 100
    # the same person (email) shops at several retailers
    shared_emails = (
        customers_df.filter(F.col("email").contains("@"))
        .groupBy("email")
        .agg(F.countDistinct("retailer_id").alias("n"))
        .filter("n > 1")
        .count()
    )
    assert shared_emails > 20
    invalid = customers_df.filter(
        ~F.col("email").rlike(r"^[^@\s]+@[^@\s]+\.[a-z]+$") | F.col("email").isNull()
    ).count()
    assert 0.005 < invalid / n_customers < 0.04
    # every order falls between the customer's signup and the as-of day
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    joined = orders_df.join(customers_df, on=["retailer_id", "customer_id"], how="inner")
    assert joined.count() == n_orders
    assert (
        joined.filter(
            (F.col("ordered_at") < F.col("signup_at")) | (F.col("ordered_at") > F.lit(as_of))
        ).count()
        == 0
    )
    never_ordered = customers_df.join(orders_df, ["retailer_id", "customer_id"], "left_anti")
    assert 0.15 < never_ordered.count() / n_customers < 0.35
    # consents exist only for channels the retailer enables, push only with a device token
    assert (
        consents_df.filter(
            (F.col("retailer_id") == "maple-market") & (F.col("channel") == "push")
        ).count()
        == 0
    )
    push_without_token = (
        consents_df.filter((F.col("channel") == "push") & F.col("is_opted_in"))
        .join(customers_df, ["retailer_id", "customer_id"], "inner")
        .filter(F.col("push_token").isNull())
        .count()
    )
    assert push_without_token == 0


def test_seeding_twice_writes_once(
    spark: SparkSession, warehouse: Warehouse, retailers: list[SyntheticRetailer]
) -> None:
    small = SeedSpec(seed=3, customers=500, orders=2_000)

    first = seed_warehouse(warehouse, retailers, small)
    versions = {name: warehouse.summary(name).version for name in INPUT_TABLES}
    second = seed_warehouse(warehouse, retailers, small)

    assert not first.skipped and second.skipped
    assert {name: warehouse.summary(name).version for name in INPUT_TABLES} == versions
    assert second.rows == first.rows
    assert first.rows["customers"] == warehouse.read("customers").count()
