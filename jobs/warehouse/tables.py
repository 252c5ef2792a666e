"""The one way Spark jobs read and write warehouse tables: delta-spark.

Delta tables live under the profile's warehouse URI, one folder a table. Spark
reads and writes them with `format("delta")`; a repeated run writes nothing
(Delta's own `txnAppId`/`txnVersion`), and an insert-only MERGE goes through
`DeltaTable`. The log-only questions (does it exist, which version, how many
rows per partition, which runs committed) are answered by delta-rs through the
same `DeltaStore` the Flink delivery uses, without a Spark job.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from delta.tables import DeltaTable as SparkDeltaTable
from deltalake import DeltaTable
from py4j.protocol import Py4JError, Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.config.models import Profile
from jobs.warehouse.delta_log import WriteMode, on_object_store, require_declared_schema
from jobs.warehouse.errors import PartitionViolationError, SchemaMismatchError, WarehouseError
from jobs.warehouse.registry import TABLES, TableSpec, table_spec
from jobs.warehouse.store import DeltaStore, PartitionFilter, RunTag

# delta-spark's error classes for rows outside an overwrite's `replaceWhere` (checked
# while planning, or as a constraint while the tasks write).
_OUTSIDE_REPLACE_WHERE = {"DELTA_REPLACE_WHERE_MISMATCH", "DELTA_VIOLATE_CONSTRAINT_WITH_VALUES"}
_NOT_NULL_VIOLATED = "DELTA_NOT_NULL_CONSTRAINT_VIOLATED"


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int
    skipped: bool


@dataclass(frozen=True)
class TableSummary:
    table: str
    uri: str
    version: int
    rows: int
    files: int
    size_bytes: int
    rows_by_partition: dict[tuple[str | None, ...], int]

    @property
    def partitions(self) -> int:
        return len(self.rows_by_partition)


@dataclass
class Warehouse:
    spark: SparkSession
    root_uri: str
    storage_options_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_profile(cls, spark: SparkSession, profile: Profile) -> Warehouse:
        return cls(spark, profile.warehouse_uri.rstrip("/"), dict(profile.storage_options_env))

    @property
    def store(self) -> DeltaStore:
        """The same tables without Spark: log access, Arrow reads and delta-rs commits."""
        return DeltaStore(self.root_uri, self.storage_options_env)

    @property
    def storage_options(self) -> dict[str, str]:
        return self.store.storage_options

    def uri(self, name: str) -> str:
        return self.store.uri(name)

    def find(self, name: str, *, version: int | None = None) -> DeltaTable | None:
        """The table's Delta log, opened once, or None before anything created it."""
        return self.store.find(name, version=version)

    def delta_table(self, name: str, *, version: int | None = None) -> DeltaTable:
        return self.store.delta_table(name, version=version)

    def exists(self, name: str) -> bool:
        return self.find(name) is not None

    def read(
        self, name: str, *, version: int | None = None, partitions: PartitionFilter | None = None
    ) -> DataFrame:
        """The table's snapshot (current, or at `version`) as a DataFrame.

        `partitions` ({column: values}) becomes a filter on partition columns, which
        Delta prunes from the log: a job for ten retailers never lists the other 340.
        """
        return self._read(self.delta_table(name, version=version), name, version, partitions)

    def read_or_empty(self, name: str, *, partitions: PartitionFilter | None = None) -> DataFrame:
        """The table, or an empty DataFrame of its declared schema before it first exists."""
        table = self.find(name)
        if table is None:
            return self.spark.createDataFrame([], table_spec(name).schema)
        return self._read(table, name, None, partitions)

    def _read(
        self,
        table: DeltaTable,
        name: str,
        version: int | None,
        partitions: PartitionFilter | None,
    ) -> DataFrame:
        spec = table_spec(name)
        require_declared_schema(table, self.store.arrow_schema(name), doing="reading")
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        df = reader.load(spark_path(self.uri(name)))
        for column, values in (partitions or {}).items():
            df = df.filter(F.col(column).isin(list(values)))
        return df.select(*spec.column_names)

    def write(
        self,
        df: DataFrame,
        name: str,
        *,
        mode: WriteMode = "append",
        partitions: PartitionFilter | None = None,
        run: RunTag | None = None,
        metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """Write `df` to table `name` in one commit; a repeated `run` writes nothing.

        The table is created first with the registry's schema and partitioning (by
        delta-rs, with the protocol both engines write), so Spark only ever appends
        to or overwrites a table whose shape is declared.
        """
        spec = table_spec(name)
        conformed = conform_to_spec(df, spec)
        table = self.store.ensure(name)
        if run is not None and self.store.is_committed(table, run):
            return WriteResult(name, table.version(), skipped=True)
        writer = conformed.write.format("delta").mode("append" if mode == "append" else "overwrite")
        if mode == "overwrite_partitions":
            writer = writer.option("replaceWhere", _replace_where(spec, partitions))
        if run is not None:
            writer = writer.option("txnAppId", run.app_id).option("txnVersion", run.version)
        if metadata:
            writer = writer.option("userMetadata", json.dumps(metadata, sort_keys=True))
        before = table.version()
        try:
            writer.save(spark_path(self.uri(name)))
        except (CapturedException, Py4JJavaError) as error:
            typed = _typed_write_error(error, name, mode, partitions)
            if typed is None:
                raise
            raise typed from error
        table.update_incremental()
        return WriteResult(name, table.version(), skipped=table.version() == before)

    def insert_new(self, df: DataFrame, name: str, *, keys: Sequence[str]) -> WriteResult:
        """Insert the rows whose keys the table lacks, in one commit (insert-only MERGE).

        Idempotent by content: writing the same rows again inserts nothing.
        """
        spec = table_spec(name)
        conformed = conform_to_spec(df, spec)
        table = self.store.ensure(name)
        before = table.version()
        on = " and ".join(f"target.{key} <=> source.{key}" for key in keys)
        (
            SparkDeltaTable.forPath(self.spark, spark_path(self.uri(name)))
            .alias("target")
            .merge(conformed.alias("source"), on)
            .whenNotMatchedInsertAll()
            .execute()
        )
        table.update_incremental()
        return WriteResult(name, table.version(), skipped=table.version() == before)

    def last_run_version(self, name: str, app_id: str) -> int | None:
        """The last run version `app_id` committed to `name`, if any."""
        return self.store.last_run_version(name, app_id)

    def rows_by_partition(self, name: str) -> dict[tuple[str | None, ...], int]:
        """Row counts per partition, from the log's file statistics (no scan)."""
        return self.summary(name).rows_by_partition

    def summary(self, name: str) -> TableSummary:
        """Version, rows, files, size and rows per partition, from the log alone."""
        return self._summarize(name, self.delta_table(name))

    def summaries(self) -> dict[str, TableSummary]:
        """The summary of every declared table that exists (each log read once)."""
        tables = {name: self.find(name) for name in TABLES}
        return {name: self._summarize(name, t) for name, t in tables.items() if t is not None}

    def _summarize(self, name: str, table: DeltaTable) -> TableSummary:
        rows_by_partition: dict[tuple[str | None, ...], int] = {}
        files = size_bytes = 0
        for action in pa.table(table.get_add_actions(flatten=True)).to_pylist():
            key = tuple(v for k, v in action.items() if k.startswith("partition."))
            rows_by_partition[key] = rows_by_partition.get(key, 0) + int(action["num_records"] or 0)
            files += 1
            size_bytes += int(action["size_bytes"])
        return TableSummary(
            table=name,
            uri=self.uri(name),
            version=table.version(),
            rows=sum(rows_by_partition.values()),
            files=files,
            size_bytes=size_bytes,
            rows_by_partition=rows_by_partition,
        )


def conform_to_spec(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Select the declared columns in order, or fail naming every difference."""
    declared = {f.name: f.dataType for f in spec.schema.fields}
    actual = {f.name: f.dataType for f in df.schema.fields}
    missing = [name for name in declared if name not in actual]
    extra = [name for name in actual if name not in declared]
    wrong = [
        f"'{name}' is {actual[name].simpleString()} but must be {dtype.simpleString()}"
        for name, dtype in declared.items()
        if name in actual and actual[name].simpleString() != dtype.simpleString()
    ]
    if missing or extra or wrong:
        details = []
        if missing:
            details.append(f"missing columns {missing}")
        if extra:
            details.append(f"unexpected columns {extra}")
        details.extend(wrong)
        raise SchemaMismatchError(
            f"cannot write to table '{spec.name}': "
            + "; ".join(details)
            + ". Select and cast the columns to the schema declared in jobs/warehouse/registry.py."
        )
    return df.select(*spec.column_names)


def delta_errors(error: Exception) -> dict[str, dict[str, str]]:
    """The error classes (with their message parameters) of the JVM exception behind
    `error` and of its causes.

    A failure inside a task reaches the driver wrapped in a job failure, so the
    class that says what happened is one of the causes. PySpark hands JVM errors
    over as a CapturedException or, for some, a plain Py4JJavaError (always so once
    PyFlink's py4j hook is installed in the process). Both keep the Java exception.
    """
    java = getattr(error, "_origin", None) or getattr(error, "java_exception", None)
    found: dict[str, dict[str, str]] = {}
    for _depth in range(20):
        if java is None:
            break
        with contextlib.suppress(Py4JError):  # not a SparkThrowable
            error_class = java.getErrorClass()
            if error_class:
                found[str(error_class)] = dict(java.getMessageParameters())
        java = java.getCause()
    return found


def _typed_write_error(
    error: Exception, name: str, mode: WriteMode, partitions: PartitionFilter | None
) -> WarehouseError | None:
    """The warehouse error a failed Delta write stands for, when it is one we name."""
    errors = delta_errors(error)
    if mode == "overwrite_partitions" and set(errors) & _OUTSIDE_REPLACE_WHERE:
        return PartitionViolationError(
            f"cannot overwrite partitions {dict(partitions or {})} of table '{name}': some "
            "rows lie outside the partitions being overwritten; filter the rows to those "
            "partitions first"
        )
    if _NOT_NULL_VIOLATED in errors:
        column = errors[_NOT_NULL_VIOLATED].get("columnName", "?")
        return SchemaMismatchError(
            f"cannot write to table '{name}': a row has no value for '{column}', which is "
            "declared NOT NULL in jobs/warehouse/registry.py; drop or fix those rows first"
        )
    return None


def _replace_where(spec: TableSpec, partitions: PartitionFilter | None) -> str:
    """The `replaceWhere` predicate of a partition overwrite, over partition columns only."""
    if not partitions:
        raise WarehouseError("mode 'overwrite_partitions' needs partitions={column: [values]}")
    outside = sorted(set(partitions) - set(spec.partition_by))
    if outside:
        raise WarehouseError(
            f"table '{spec.name}' is partitioned by {list(spec.partition_by)}, not {outside}"
        )
    return " and ".join(
        f"{column} in ({', '.join(_sql_string(v) for v in values)})"
        for column, values in partitions.items()
    )


def _sql_string(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def spark_path(uri: str) -> str:
    """Spark's Hadoop file systems call S3 `s3a`."""
    return "s3a://" + uri.removeprefix("s3://") if on_object_store(uri) else uri
