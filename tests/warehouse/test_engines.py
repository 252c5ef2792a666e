"""One table, two engines: what delta-spark writes, delta-rs appends to, and the reverse,
through checkpoints, without either upgrading the protocol the other needs."""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable
from pyspark.sql import SparkSession

from jobs.warehouse import Warehouse
from tests.warehouse.test_tables import CUSTOMER_ROWS, customers_df

# Reader 1, writer 2, no table features: what both engines read and write.
SHARED_PROTOCOL = (1, 2, None, None)


def protocol(warehouse: Warehouse, name: str) -> tuple[object, ...]:
    found = DeltaTable(warehouse.uri(name)).protocol()
    return (
        found.min_reader_version,
        found.min_writer_version,
        found.reader_features,
        found.writer_features,
    )


def test_spark_writes_then_delta_rs_appends_past_a_checkpoint(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    rows = customers_df(spark)
    for _ in range(11):  # delta-spark writes a checkpoint every 10 commits
        warehouse.write(rows, "customers")
    assert list(Path(warehouse.uri("customers"), "_delta_log").glob("*.checkpoint.parquet"))

    version = warehouse.store.append("customers", rows.toArrow())

    assert version == 12
    assert warehouse.read("customers").count() == 12 * len(CUSTOMER_ROWS)
    assert warehouse.store.read_arrow("customers").num_rows == 12 * len(CUSTOMER_ROWS)
    assert protocol(warehouse, "customers") == SHARED_PROTOCOL


def test_delta_rs_creates_then_spark_appends_and_merges(
    spark: SparkSession, warehouse: Warehouse
) -> None:
    rows = customers_df(spark)
    warehouse.store.append("customers", rows.toArrow())

    warehouse.write(rows, "customers")
    merged = warehouse.insert_new(
        customers_df(spark, [*CUSTOMER_ROWS[:1], ("fresh-mart", "c9", *CUSTOMER_ROWS[0][2:])]),
        "customers",
        keys=("retailer_id", "customer_id"),
    )

    assert not merged.skipped
    assert warehouse.read("customers").count() == 2 * len(CUSTOMER_ROWS) + 1
    assert warehouse.store.read_arrow("customers").num_rows == 2 * len(CUSTOMER_ROWS) + 1
    assert protocol(warehouse, "customers") == SHARED_PROTOCOL
    # the same MERGE again inserts nothing
    warehouse.insert_new(
        customers_df(spark, [("fresh-mart", "c9", *CUSTOMER_ROWS[0][2:])]),
        "customers",
        keys=("retailer_id", "customer_id"),
    )
    assert warehouse.read("customers").count() == 2 * len(CUSTOMER_ROWS) + 1
