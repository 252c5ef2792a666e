"""The one way jobs read and write warehouse tables.

Delta tables live under the profile's warehouse URI, one folder a table.
Reads take a snapshot's file list from the Delta log (delta-rs) and scan the
Parquet natively in Spark; writes go through the `delta_rs` Spark data source.
With `delta_engine: delta-spark` (clusters that have the jars) both go
through Spark's native `format("delta")` instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

from jobs.config.models import Profile
from jobs.warehouse.datasource import FORMAT_NAME
from jobs.warehouse.delta_log import (
    WriteMode,
    WriteRequest,
    committed_transactions,
    ensure_table,
    require_declared_schema,
    sweep_failed_write,
)
from jobs.warehouse.errors import (
    PartitionViolationError,
    SchemaMismatchError,
    UnsupportedTableError,
    WarehouseError,
)
from jobs.warehouse.files import hive_directory
from jobs.warehouse.registry import TABLES, TableSpec, table_spec
from jobs.warehouse.store import DeltaStore, RunTag, check_readable

_TASK_ERROR = re.compile(r"(SchemaMismatchError|PartitionViolationError): ([^\n]+)")


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
    engine: str = "delta-rs"

    @classmethod
    def from_profile(cls, spark: SparkSession, profile: Profile) -> Warehouse:
        return cls(
            spark,
            profile.warehouse_uri.rstrip("/"),
            dict(profile.storage_options_env),
            profile.delta_engine,
        )

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
        self,
        name: str,
        *,
        version: int | None = None,
        partitions: dict[str, list[str]] | None = None,
    ) -> DataFrame:
        """The table's snapshot (current, or at `version`) as a DataFrame.

        `partitions` ({column: values}) prunes files from the log before Spark
        sees them: a job for ten retailers never lists the other 340.
        """
        if self.engine == "delta-spark":
            reader = self.spark.read.format("delta")
            if version is not None:
                reader = reader.option("versionAsOf", version)
            df = reader.load(self.uri(name))
            for column, values in (partitions or {}).items():
                df = df.filter(F.col(column).isin(values))
            return df
        return self._read_snapshot(self.delta_table(name, version=version), name, partitions)

    def read_or_empty(
        self, name: str, *, partitions: dict[str, list[str]] | None = None
    ) -> DataFrame:
        """The table, or an empty DataFrame of its declared schema before it first exists."""
        table = self.find(name)
        if table is None:
            return self.spark.createDataFrame([], table_spec(name).schema)
        if self.engine == "delta-spark":
            return self.read(name, partitions=partitions)
        return self._read_snapshot(table, name, partitions)

    def _read_snapshot(
        self, table: DeltaTable, name: str, partitions: dict[str, list[str]] | None
    ) -> DataFrame:
        require_declared_schema(table, self.store.arrow_schema(name), doing="reading")
        schema = from_arrow_schema(pa.schema(table.schema().to_arrow()))
        check_readable(table, name)
        actions = [
            action
            for action in pa.table(table.get_add_actions(flatten=True)).to_pylist()
            if all(action.get(f"partition.{c}") in v for c, v in (partitions or {}).items())
        ]
        if not actions:
            return self.spark.createDataFrame([], schema)
        partition_by = table.metadata().partition_columns
        _check_hive_layout(actions, partition_by, name)
        root = table.table_uri.rstrip("/")
        paths = [_spark_path(f"{root}/{action['path']}") for action in actions]
        return (
            self.spark.read.schema(schema)
            .option("basePath", _spark_path(root))
            .parquet(*paths)
            .select(*schema.fieldNames())
        )

    def write(
        self,
        df: DataFrame,
        name: str,
        *,
        mode: WriteMode = "append",
        partitions: dict[str, list[str | None]] | None = None,
        run: RunTag | Sequence[RunTag] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """Write `df` to table `name` atomically; a repeated `run` writes nothing.

        Several run tags may share one commit (one launch of many campaigns);
        the write is skipped when all of them were committed before.
        """
        spec = table_spec(name)
        conformed = conform_to_spec(df, spec)
        uri = self.uri(name)
        runs = [run] if isinstance(run, RunTag) else list(run or [])
        if self.engine == "delta-spark":
            return self._write_native(conformed, spec, mode, partitions, runs)
        table = ensure_table(
            uri, to_arrow_schema(spec.schema), spec.partition_by, self.storage_options
        )
        transactions = [(tag.app_id, tag.version) for tag in runs]
        if transactions and committed_transactions(table, transactions) == len(transactions):
            return WriteResult(name, table.version(), skipped=True)
        request = WriteRequest(
            table_uri=uri,
            mode=mode,
            partition_by=spec.partition_by,
            partitions=partitions,
            transactions=transactions,
            storage_options_env=self.storage_options_env,
            commit_metadata=dict(metadata or {}),
        )
        before = table.version()
        try:
            conformed.write.format(FORMAT_NAME).mode("append").option(
                "write_request", request.to_json()
            ).save()
        except Exception as error:
            sweep_failed_write(request)
            raise _typed_task_error(error) from error
        after = self.delta_table(name).version()
        return WriteResult(name, after, skipped=after == before)

    def _write_native(
        self,
        df: DataFrame,
        spec: TableSpec,
        mode: WriteMode,
        partitions: dict[str, list[str | None]] | None,
        runs: list[RunTag],
    ) -> WriteResult:
        writer = df.write.format("delta").partitionBy(*spec.partition_by)
        writer = writer.mode("append" if mode == "append" else "overwrite")
        if mode == "overwrite_partitions" and partitions:
            writer = writer.option(
                "replaceWhere",
                " and ".join(
                    f"{col} in ({', '.join(repr(v) for v in values)})"
                    for col, values in partitions.items()
                ),
            )
        if len(runs) > 1:
            raise WarehouseError("delta-spark records one txn per write; write runs separately")
        if runs:
            writer = writer.option("txnAppId", runs[0].app_id)
            writer = writer.option("txnVersion", runs[0].version)
        writer.save(self.uri(spec.name))
        version = self.delta_table(spec.name).version()
        return WriteResult(spec.name, version, skipped=False)

    def last_run_version(self, name: str, app_id: str) -> int | None:
        """The last run version `app_id` committed to `name`, if any."""
        return self.store.last_run_version(name, app_id)

    def committed_runs(self, name: str, runs: Sequence[RunTag]) -> set[RunTag]:
        """The runs `name` already holds, from one read of its log."""
        return self.store.committed_runs(name, runs)

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


def _typed_task_error(error: Exception) -> Exception:
    """A warehouse error raised inside a Spark task, re-raised as itself for the caller.

    Spark normally surfaces it as a PythonException; once PyFlink has run in the
    same process its py4j hook surfaces the same text as a Py4JJavaError, so the
    text is what is matched.
    """
    found = _TASK_ERROR.search(str(error))
    if not found:
        return error
    kind = {cls.__name__: cls for cls in (SchemaMismatchError, PartitionViolationError)}
    return kind[found.group(1)](f"{found.group(2).strip()} (in a Spark task)")


def _check_hive_layout(
    actions: list[dict[str, object]], partition_by: list[str], name: str
) -> None:
    """Spark recovers partition values from `col=value` folders; make sure they are there."""
    if not partition_by:
        return
    for action in actions:
        values = {col: action[f"partition.{col}"] for col in partition_by}
        expected = hive_directory({k: None if v is None else str(v) for k, v in values.items()})
        if not str(action["path"]).startswith(expected + "/"):
            raise UnsupportedTableError(
                f"table '{name}': file {action['path']} is not laid out as {expected}/..., so "
                "its partition values cannot be recovered; read it with delta-spark."
            )


def _spark_path(uri: str) -> str:
    """Spark's Hadoop file systems call S3 `s3a`."""
    return "s3a://" + uri.removeprefix("s3://") if uri.startswith("s3://") else uri
