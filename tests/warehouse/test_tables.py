"""The warehouse layer's guarantees: round trips, atomicity, idempotency, schema checks."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.warehouse import (
    PartitionViolationError,
    RunTag,
    SchemaMismatchError,
    TableNotFoundError,
    UnknownTableError,
    Warehouse,
    table_spec,
)
from tests.conftest import T0

CUSTOMER_ROWS = [
    # two retailers share a customer id and an email address; nulls where allowed
    (
        "fresh-mart",
        "c0000001",
        "ava.adams1@example.com",
        None,
        "+13125550142",
        "Ava",
        "Adams",
        "en-US",
        "America/Chicago",
        T0,
        T0,
    ),
    (
        "green-grocer",
        "c0000001",
        "ava.adams1@example.com",
        "tok_1",
        None,
        "Ava",
        None,
        "es-US",
        None,
        T0,
        T0,
    ),
    ("green-grocer", "c0000002", None, None, None, None, None, None, None, T0, T0),
    (
        "maple-market",
        "c0000001",
        "bad email",
        "tok_2",
        "(514) 555-0199",
        "Ben",
        "Baker",
        "fr-CA",
        "America/Toronto",
        T0,
        T0,
    ),
]


def customers_df(spark: SparkSession, rows: list[tuple[object, ...]] = CUSTOMER_ROWS) -> DataFrame:
    return spark.createDataFrame(rows, table_spec("customers").schema)


def committed_parquet_files(warehouse: Warehouse, name: str) -> set[str]:
    return set(warehouse.delta_table(name).file_uris())


def parquet_files_on_disk(warehouse: Warehouse, name: str) -> set[str]:
    return {str(p) for p in Path(warehouse.uri(name)).rglob("*.parquet")}


def test_round_trip_returns_the_rows_written(spark: SparkSession, warehouse: Warehouse) -> None:
    written_df = customers_df(spark)
    warehouse.write(written_df, "customers")

    read_df = warehouse.read("customers")

    assert read_df.columns == table_spec("customers").column_names
    assert_df_equality(read_df, written_df, ignore_row_order=True, ignore_nullable=True)


def test_plain_delta_rs_reads_what_spark_wrote(spark: SparkSession, warehouse: Warehouse) -> None:
    warehouse.write(customers_df(spark), "customers")

    table = DeltaTable(warehouse.uri("customers")).to_pyarrow_table()

    assert table.num_rows == len(CUSTOMER_ROWS)
    assert table.schema.field("signup_at").type == pa.timestamp("us", tz="UTC")
    assert set(table.column_names) == set(table_spec("customers").column_names)
    assert DeltaTable(warehouse.uri("customers")).metadata().partition_columns == ["retailer_id"]


def test_rerunning_a_tagged_run_adds_nothing(spark: SparkSession, warehouse: Warehouse) -> None:
    first = warehouse.write(customers_df(spark), "customers", run=RunTag("seed-test", 1))
    again = warehouse.write(customers_df(spark), "customers", run=RunTag("seed-test", 1))

    assert not first.skipped
    assert again.skipped
    assert again.version == first.version
    assert warehouse.read("customers").count() == len(CUSTOMER_ROWS)
    assert warehouse.last_run_version("customers", "seed-test") == 1


def test_next_run_version_is_written(spark: SparkSession, warehouse: Warehouse) -> None:
    warehouse.write(customers_df(spark), "customers", run=RunTag("job", 1))
    result = warehouse.write(customers_df(spark), "customers", run=RunTag("job", 2))

    assert not result.skipped
    assert warehouse.read("customers").count() == 2 * len(CUSTOMER_ROWS)


def test_two_appends_commit_both(spark: SparkSession, warehouse: Warehouse) -> None:
    first = warehouse.write(customers_df(spark), "customers")
    second = warehouse.write(customers_df(spark), "customers")

    assert second.version == first.version + 1
    assert warehouse.read("customers").count() == 2 * len(CUSTOMER_ROWS)


def test_reading_an_older_version(spark: SparkSession, warehouse: Warehouse) -> None:
    first = warehouse.write(customers_df(spark), "customers")
    warehouse.write(customers_df(spark), "customers")

    assert warehouse.read("customers", version=first.version).count() == len(CUSTOMER_ROWS)


def test_partition_overwrite_touches_only_its_partitions(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    warehouse.write(customers_df(spark), "customers")
    untouched_before = {
        f
        for f in committed_parquet_files(warehouse, "customers")
        if "retailer_id=green-grocer" not in f
    }
    replacement = [
        (
            "green-grocer",
            "c0000009",
            "new@example.com",
            None,
            None,
            "Nora",
            "Ito",
            "en-US",
            None,
            T0,
            T0,
        )
    ]

    warehouse.write(
        customers_df(spark, replacement),
        "customers",
        mode="overwrite_partitions",
        partitions={"retailer_id": ["green-grocer"]},
    )

    after = committed_parquet_files(warehouse, "customers")
    assert untouched_before <= after
    rows = {(r.retailer_id, r.customer_id) for r in warehouse.read("customers").collect()}
    assert rows == {
        ("fresh-mart", "c0000001"),
        ("green-grocer", "c0000009"),
        ("maple-market", "c0000001"),
    }


def test_partition_overwrite_refuses_rows_outside_its_partitions(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    warehouse.write(customers_df(spark), "customers")
    version = warehouse.delta_table("customers").version()

    with pytest.raises(PartitionViolationError, match="outside the partitions being overwritten"):
        warehouse.write(
            customers_df(spark),
            "customers",
            mode="overwrite_partitions",
            partitions={"retailer_id": ["green-grocer"]},
        )

    assert warehouse.delta_table("customers").version() == version
    assert warehouse.read("customers").count() == len(CUSTOMER_ROWS)


def test_full_overwrite_replaces_everything(spark: SparkSession, warehouse: Warehouse) -> None:
    warehouse.write(customers_df(spark), "customers")
    warehouse.write(customers_df(spark, CUSTOMER_ROWS[:1]), "customers", mode="overwrite")

    assert warehouse.read("customers").count() == 1


def test_failed_write_leaves_the_table_unchanged(spark: SparkSession, warehouse: Warehouse) -> None:
    warehouse.write(customers_df(spark), "customers")
    version = warehouse.delta_table("customers").version()
    # many rows over several tasks; one row fails mid-job after others were written
    failing_df = spark.range(0, 20_000, numPartitions=4).select(
        F.when(F.col("id") % 2 == 0, "fresh-mart").otherwise("green-grocer").alias("retailer_id"),
        F.when(F.col("id") == 15_000, F.raise_error(F.lit("boom")))
        .otherwise(F.concat(F.lit("x"), F.col("id").cast("string")))
        .alias("customer_id"),
        *[
            F.lit(None).cast("string").alias(c)
            for c in ("email", "push_token", "phone", "first_name", "last_name", "locale")
        ],
        F.lit(None).cast("string").alias("time_zone"),
        F.lit(T0).alias("signup_at"),
        F.lit(T0).alias("updated_at"),
    )

    with pytest.raises(Exception, match="boom"):
        warehouse.write(failing_df, "customers")

    assert warehouse.delta_table("customers").version() == version
    assert warehouse.read("customers").count() == len(CUSTOMER_ROWS)
    # Files the failed tasks finished stay on disk, outside the snapshot, until a vacuum.
    assert committed_parquet_files(warehouse, "customers") <= parquet_files_on_disk(
        warehouse, "customers"
    )


def test_schema_mismatch_names_every_difference(spark: SparkSession, warehouse: Warehouse) -> None:
    bad_df = (
        customers_df(spark)
        .drop("locale")
        .withColumn("signup_at", F.lit("yesterday"))
        .withColumn("loyalty_tier", F.lit(1))
    )

    with pytest.raises(SchemaMismatchError) as error:
        warehouse.write(bad_df, "customers")

    message = str(error.value)
    assert "missing columns ['locale']" in message
    assert "unexpected columns ['loyalty_tier']" in message
    assert "'signup_at' is string but must be timestamp" in message
    assert not warehouse.exists("customers")


def test_null_in_a_required_column_fails_the_write(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    rows = [("fresh-mart", None, None, None, None, None, None, None, None, T0, T0)]
    nullable_schema = table_spec("customers").schema
    df = spark.createDataFrame(
        rows,
        nullable_schema.__class__(
            [f.__class__(f.name, f.dataType, True) for f in nullable_schema.fields]
        ),
    )

    with pytest.raises(
        SchemaMismatchError, match="no value for 'customer_id', which is declared NOT NULL"
    ):
        warehouse.write(df, "customers")
    assert warehouse.read("customers").count() == 0


def test_existing_table_with_drifted_schema_is_refused(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    DeltaTable.create(warehouse.uri("customers"), schema=pa.schema([("retailer_id", pa.string())]))

    with pytest.raises(SchemaMismatchError, match="column 'customer_id' is missing"):
        warehouse.write(customers_df(spark), "customers")


def test_reading_a_drifted_table_names_every_difference(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    """`total_cents` written as a string and a nullable key used to surface only as a
    confusing failure later in the launch."""
    declared = warehouse.store.arrow_schema("orders")
    drifted = pa.schema(
        [
            pa.field("total_cents", pa.string())
            if f.name == "total_cents"
            else f.with_nullable(True)
            if f.name == "order_id"
            else f
            for f in declared
        ]
    )
    DeltaTable.create(warehouse.uri("orders"), schema=drifted, partition_by=["retailer_id"])

    with pytest.raises(SchemaMismatchError) as error:
        warehouse.read("orders")

    message = str(error.value)
    assert "the Delta table at " in message and warehouse.uri("orders") in message
    assert "'total_cents' is string but is declared int64" in message
    assert "'order_id' may be null but is declared required (a key)" in message
    assert "before reading it" in message


def test_missing_and_unknown_tables_say_what_to_do(warehouse: Warehouse) -> None:
    with pytest.raises(TableNotFoundError, match="campaigns seed"):
        warehouse.read("orders")
    with pytest.raises(UnknownTableError, match="declared tables are"):
        warehouse.read("customer")


def test_summary_counts_from_the_log(spark: SparkSession, warehouse: Warehouse) -> None:
    warehouse.write(customers_df(spark), "customers")

    summary = warehouse.summary("customers")

    assert (summary.rows, summary.partitions) == (4, 3)
    assert warehouse.rows_by_partition("customers") == {
        ("fresh-mart",): 1,
        ("green-grocer",): 2,
        ("maple-market",): 1,
    }
