"""Spark-free access to warehouse tables, for jobs that run without a Spark session.

The delivery job (Flink), its control commands (pause, resume), the ingestion and
the template deployments read and commit Delta tables here with delta-rs and Arrow
only. The same registry declares the shapes, and every table is created here with
the protocol delta-spark also writes, so a table written here reads back in Spark
exactly as if Spark had written it (docs/warehouse.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError
from deltalake.table import TableMerger
from pyspark.sql.pandas.types import to_arrow_schema

from jobs.config.models import Profile
from jobs.warehouse.delta_log import (
    ensure_table,
    open_filesystem,
    open_table,
    require_declared_schema,
    storage_options_from_env,
)
from jobs.warehouse.errors import SchemaMismatchError, TableNotFoundError, UnsupportedTableError
from jobs.warehouse.registry import table_spec

# Reader features the delta-rs reads (delivery, ingestion) must not meet.
_UNSUPPORTED_READER_FEATURES = {"deletionVectors", "columnMapping"}

# Which partitions to read or replace: {partition column: the values wanted}.
PartitionFilter = Mapping[str, Sequence[str | None]]


@dataclass(frozen=True)
class RunTag:
    """Identifies one run of one job, for idempotent writes (a Delta `txn` action).

    `app_id` names the job and its scope (e.g. `campaigns-engine/<campaign>`);
    `version` grows with every run. A version at or below the last committed
    one is skipped.
    """

    app_id: str
    version: int


@dataclass(frozen=True)
class DeltaStore:
    """Tables under one warehouse root, by registry name."""

    root_uri: str
    storage_options_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_profile(cls, profile: Profile) -> DeltaStore:
        return cls(profile.warehouse_uri.rstrip("/"), dict(profile.storage_options_env))

    @property
    def storage_options(self) -> dict[str, str]:
        return storage_options_from_env(self.storage_options_env)

    def uri(self, name: str) -> str:
        return f"{self.root_uri}/{table_spec(name).name}"

    def arrow_schema(self, name: str) -> pa.Schema:
        return to_arrow_schema(table_spec(name).schema)

    def find(self, name: str, *, version: int | None = None) -> DeltaTable | None:
        """The table's Delta log, opened once, or None before anything created it."""
        return open_table(self.uri(name), self.storage_options, version)

    def delta_table(self, name: str, *, version: int | None = None) -> DeltaTable:
        table = self.find(name, version=version)
        if table is None:
            raise TableNotFoundError(
                f"table '{name}' does not exist at {self.uri(name)}; "
                "run `campaigns seed` (inputs) or the job that produces it first"
            )
        return table

    def ensure(self, name: str) -> DeltaTable:
        spec = table_spec(name)
        return ensure_table(
            self.uri(name), self.arrow_schema(name), spec.partition_by, self.storage_options
        )

    def last_run_version(self, name: str, app_id: str) -> int | None:
        """The last run version `app_id` committed to `name`, if any."""
        table = self.find(name)
        return None if table is None else table.transaction_version(app_id)

    def is_committed(self, table: DeltaTable, run: RunTag) -> bool:
        """True when `run` (or a later version of its application) committed to `table`."""
        committed = table.transaction_version(run.app_id)
        return committed is not None and committed >= run.version

    def read_arrow(
        self,
        name: str,
        *,
        columns: list[str] | None = None,
        partitions: PartitionFilter | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """A snapshot as Arrow (empty, with the declared schema, before the table exists),
        read by delta-rs with only the partitions and columns asked for."""
        return self.snapshot(name, version=version).read(columns=columns, partitions=partitions)

    def snapshot(self, name: str, *, version: int | None = None) -> Snapshot:
        """One version of a table, its log read and its files listed once, to be read
        partition by partition (see `Snapshot`)."""
        table = self.find(name, version=version)
        if table is not None:
            check_readable(table, name)
            require_declared_schema(table, self.arrow_schema(name), doing="reading")
        return Snapshot(self, name, table)

    def read_file(self, name: str, path: str, *, columns: list[str]) -> pa.Table:
        """One data file of the table, by the path its log names (the delivery's work unit).

        Only data columns may be asked for: partition values live in the path.
        """
        schema = self.arrow_schema(name)
        rows = pq.read_table(unquote(path), columns=columns, filesystem=self.table_filesystem(name))
        return rows.cast(pa.schema([schema.field(c) for c in columns]))

    def table_filesystem(self, name: str) -> pafs.FileSystem:
        """pyarrow's own filesystem, rooted at the table's folder.

        delta-rs reads through a Python-implemented filesystem by default, whose
        threads outlive the interpreter: about one process in two that read a
        partition that way aborted at exit ("terminate called without an active
        exception", delta-io/delta-rs#2184, pola-rs/polars#24169), after its work.
        """
        filesystem, root = open_filesystem(self.uri(name), self.storage_options)
        return pafs.SubTreeFileSystem(root, filesystem)

    def append(
        self,
        name: str,
        rows: pa.Table,
        *,
        run: RunTag | None = None,
        metadata: dict[str, str] | None = None,
        at_version: int | None = None,
    ) -> int:
        """Append rows in one commit, optionally tagged; returns the table's new version.

        With `at_version`, the commit must be exactly that version: when another writer
        committed it first, `CommitFailedError` is raised instead of retrying on top of
        theirs (compare-and-swap, for a lease).
        """
        table = self.ensure(name)
        if at_version is not None and table.version() != at_version - 1:
            raise CommitFailedError(f"{name} is at version {table.version()}, not {at_version - 1}")
        write_deltalake(
            table,
            self.conform(name, rows),
            mode="append",
            partition_by=list(table_spec(name).partition_by) or None,
            commit_properties=_commit_properties(
                run, metadata, retries=0 if at_version is not None else None
            ),
        )
        table.update_incremental()
        return table.version()

    def upsert(
        self,
        name: str,
        rows: pa.Table,
        *,
        keys: Sequence[str],
        run: RunTag | None = None,
        metadata: dict[str, str] | None = None,
    ) -> int:
        """Insert new rows and replace rows with the same keys, in one commit (Delta MERGE)."""
        table = self.ensure(name)
        (
            self._merge(table, name, rows, keys, _commit_properties(run, metadata))
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return table.version()

    def insert_new(
        self,
        name: str,
        rows: pa.Table,
        *,
        keys: Sequence[str],
        metadata: dict[str, str] | None = None,
        always_commit: bool = False,
    ) -> int:
        """Insert the rows whose keys the table lacks (insert-only MERGE); returns how many.

        With `always_commit`, `metadata` is committed even when every row was already
        there (an empty commit), so a position recorded in it still advances.
        """
        table = self.ensure(name)
        before = table.version()
        inserted = 0
        if rows.num_rows:
            merge = self._merge(table, name, rows, keys, _commit_properties(None, metadata))
            metrics = merge.when_not_matched_insert_all().execute()
            inserted = int(metrics["num_target_rows_inserted"])
            table.update_incremental()
        if always_commit and table.version() == before:
            self.append(name, self.arrow_schema(name).empty_table(), metadata=metadata)
        return inserted

    def _merge(
        self,
        table: DeltaTable,
        name: str,
        rows: pa.Table,
        keys: Sequence[str],
        commit: CommitProperties,
    ) -> TableMerger:
        """A MERGE of `rows` on `keys`, the target pruned to the partitions the rows touch."""
        predicate = " and ".join(f"target.{key} = source.{key}" for key in keys)
        for key in (k for k in table_spec(name).partition_by if k in keys):
            values = sorted({str(v) for v in rows.column(key).to_pylist()})
            listed = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
            predicate = f"target.{key} in ({listed}) and {predicate}"
        return table.merge(
            self.conform(name, rows),
            predicate,
            source_alias="source",
            target_alias="target",
            commit_properties=commit,
        )

    def newest_metadata(self, name: str, key: str, *, look_back: int = 100) -> str | None:
        """`key` of the newest commit (of the last `look_back`) that carries it."""
        for commit in self.commit_metadata(name, look_back=look_back):
            if key in commit:
                return commit[key]
        return None

    def commit_metadata(self, name: str, *, look_back: int = 100) -> list[dict[str, str]]:
        """What the last `look_back` commits recorded, newest first, whichever engine
        wrote them: delta-rs keeps each key in commitInfo, delta-spark keeps them as one
        JSON object in `userMetadata`."""
        table = self.find(name)
        return [_job_metadata(c) for c in (table.history(look_back) if table is not None else [])]

    def conform(self, name: str, rows: pa.Table) -> pa.Table:
        """Rows in the registry's column order and types, or an error naming the differences."""
        schema = self.arrow_schema(name)
        missing = sorted(set(schema.names) - set(rows.column_names))
        extra = sorted(set(rows.column_names) - set(schema.names))
        if missing or extra:
            raise SchemaMismatchError(
                f"rows for table '{name}' lack columns {missing} and have unknown columns "
                f"{extra}; the registry (jobs/warehouse/registry.py) declares {schema.names}"
            )
        return rows.select(schema.names).cast(schema)


def _commit_properties(
    run: RunTag | None, metadata: dict[str, str] | None, *, retries: int | None = None
) -> CommitProperties:
    transactions = [Transaction(run.app_id, run.version)] if run else None
    return CommitProperties(
        custom_metadata=dict(metadata or {}),
        app_transactions=transactions,
        max_commit_retries=retries,
    )


class Snapshot:
    """A table version opened once and read any number of times, by partition.

    Opening a version replays its log, and delta-rs lists every data file of the
    table for each read it is asked for (the partition filter applies after). A
    reader asking for many partitions of one version (the delivery's ledger, one
    retailer at a time) pays that once here: the file list becomes one Arrow
    dataset whose fragments carry their partition values, which Arrow prunes by
    the filter before reading anything. Measured (`bench delivery`): a second
    delivery over 350 retailers stalled for minutes on its ledger reads before;
    with one snapshot the run sent 478,875 messages in 58 s.
    """

    def __init__(self, store: DeltaStore, name: str, table: DeltaTable | None) -> None:
        self._schema = store.arrow_schema(name)
        self._dataset = (
            None
            if table is None
            else table.to_pyarrow_dataset(filesystem=store.table_filesystem(name))
        )

    def read(
        self, *, columns: list[str] | None = None, partitions: PartitionFilter | None = None
    ) -> pa.Table:
        wanted = columns or self._schema.names
        if self._dataset is None:
            return self._schema.empty_table().select(wanted)
        rows = self._dataset.to_table(columns=wanted, filter=_partition_expression(partitions))
        return rows.select(wanted).cast(pa.schema([self._schema.field(c) for c in wanted]))


def _partition_expression(partitions: PartitionFilter | None) -> pc.Expression | None:
    """{column: values} as an Arrow filter (one conjunction of `in`s)."""
    expression = None
    for column, values in (partitions or {}).items():
        term = pc.field(column).isin(list(values))
        expression = term if expression is None else expression & term
    return expression


def _job_metadata(commit: dict[str, Any]) -> dict[str, str]:
    metadata = {k: str(v) for k, v in commit.items() if isinstance(v, str)}
    user = commit.get("userMetadata")
    if isinstance(user, str) and user.startswith("{"):
        metadata.update({k: str(v) for k, v in json.loads(user).items()})
    return metadata


def check_readable(table: DeltaTable, name: str) -> None:
    features = set(table.protocol().reader_features or [])
    unsupported = features & _UNSUPPORTED_READER_FEATURES
    if unsupported:
        raise UnsupportedTableError(
            f"table '{name}' uses Delta reader features {sorted(unsupported)}, which the "
            "delta-rs reads of the delivery and the ingestion do not honour; rewrite it "
            "without them (for deletion vectors: ALTER TABLE ... SET TBLPROPERTIES "
            "('delta.enableDeletionVectors' = false), then REORG TABLE ... APPLY (PURGE))"
        )
