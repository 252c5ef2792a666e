"""Executor-side Parquet writing for Delta tables.

Each Spark task writes its rows as Parquet files under the table location,
one file per partition it saw, laid out Hive-style (`retailer_id=x/part-...`)
exactly as delta-spark and delta-rs lay them out. The files are invisible to
readers until the driver commits them to the Delta log, which is what makes a
failed job leave no partial data behind.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from jobs.warehouse.errors import PartitionViolationError, SchemaMismatchError

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
# Characters Hive and Spark percent-escape in partition directory names.
_ESCAPED = set("\"#%'*/:=?\\\x7f{[]^") | {chr(code) for code in range(0x20)}
_STATS_TYPES = (pa.types.is_integer, pa.types.is_string, pa.types.is_date)
# Rows buffered per partition before they are written as one Parquet chunk.
FLUSH_ROWS = 131_072


@dataclass(frozen=True)
class WrittenFile:
    """What the driver needs to commit one Parquet file as a Delta `add` action."""

    path: str
    size: int
    partition_values: dict[str, str | None]
    modification_time: int
    stats: str


def open_filesystem(table_uri: str, storage_options: dict[str, str]) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and root path for a table URI (local path or object store)."""
    if table_uri.startswith("s3://"):
        filesystem = pafs.S3FileSystem(
            access_key=storage_options.get("AWS_ACCESS_KEY_ID"),
            secret_key=storage_options.get("AWS_SECRET_ACCESS_KEY"),
            session_token=storage_options.get("AWS_SESSION_TOKEN"),
            region=storage_options.get("AWS_REGION"),
            endpoint_override=storage_options.get("AWS_ENDPOINT_URL"),
        )
        return filesystem, table_uri.removeprefix("s3://")
    filesystem, root = pafs.FileSystem.from_uri(
        table_uri if "://" in table_uri else f"file://{table_uri}"
    )
    return filesystem, root


def partition_value_string(value: Any) -> str | None:
    """Delta stores partition values as strings; dates and times in ISO form."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hive_directory(partition_values: dict[str, str | None]) -> str:
    """`col=value/...` with the same escaping Spark uses, so any reader finds the values."""
    parts = []
    for column, value in partition_values.items():
        text = (
            HIVE_NULL
            if value is None
            else "".join(f"%{ord(char):02X}" if char in _ESCAPED else char for char in value)
        )
        parts.append(f"{column}={text}")
    return "/".join(parts)


@dataclass
class FileStats:
    """Delta file statistics, accumulated batch by batch as a file is written.

    Row count and null counts for every column; min and max only for integer,
    string and date columns, where they are exact (timestamps would need
    rounding that could make readers skip rows wrongly).
    """

    num_records: int = 0
    null_count: dict[str, int] = field(default_factory=dict)
    min_values: dict[str, Any] = field(default_factory=dict)
    max_values: dict[str, Any] = field(default_factory=dict)

    def update(self, table: pa.Table) -> None:
        self.num_records += table.num_rows
        for name, column in zip(table.column_names, table.columns, strict=True):
            self.null_count[name] = self.null_count.get(name, 0) + column.null_count
            if column.null_count == len(column) or not any(
                check(column.type) for check in _STATS_TYPES
            ):
                continue
            bounds = pc.min_max(column).as_py()
            low, high = bounds["min"], bounds["max"]
            if name not in self.min_values or low < self.min_values[name]:
                self.min_values[name] = low
            if name not in self.max_values or high > self.max_values[name]:
                self.max_values[name] = high

    def to_json(self) -> str:
        def plain(values: dict[str, Any]) -> dict[str, Any]:
            return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}

        return json.dumps(
            {
                "numRecords": self.num_records,
                "minValues": plain(self.min_values),
                "maxValues": plain(self.max_values),
                "nullCount": self.null_count,
            }
        )


@dataclass
class _OpenFile:
    relative_path: str
    stream: Any
    writer: pq.ParquetWriter
    stats: FileStats = field(default_factory=FileStats)


@dataclass
class PartitionedParquetWriter:
    """Streams Arrow batches into one Parquet file per partition value.

    `allowed_partitions` (column -> allowed string values) guards a partition
    overwrite: a row outside the partitions being replaced fails the task.
    """

    filesystem: pafs.FileSystem
    root: str
    schema: pa.Schema
    partition_by: tuple[str, ...]
    allowed_partitions: dict[str, list[str | None]] | None = None
    file_prefix: str = "part-"
    _open: dict[tuple[str | None, ...], _OpenFile] = field(default_factory=dict)
    _pending: dict[tuple[str | None, ...], list[pa.Table]] = field(default_factory=dict)
    _pending_rows: dict[tuple[str | None, ...], int] = field(default_factory=dict)

    @property
    def data_schema(self) -> pa.Schema:
        return pa.schema([f for f in self.schema if f.name not in self.partition_by])

    def add(self, batch: pa.RecordBatch) -> None:
        """Split a batch by partition and buffer the pieces; large buffers are flushed.

        Writing (and computing statistics) per buffered chunk rather than per
        batch slice keeps a 350-partition write from making hundreds of
        thousands of tiny Parquet writes.
        """
        table = _conform(pa.Table.from_batches([batch]), self.schema)
        for key, piece in _split_by_partition(table, self.partition_by):
            self._check_allowed(key)
            self._pending.setdefault(key, []).append(piece)
            self._pending_rows[key] = self._pending_rows.get(key, 0) + piece.num_rows
            if self._pending_rows[key] >= FLUSH_ROWS:
                self._flush(key)

    def _flush(self, key: tuple[str | None, ...]) -> None:
        pieces = self._pending.pop(key, [])
        self._pending_rows.pop(key, None)
        if pieces:
            self._write(key, pa.concat_tables(pieces))

    def _write(self, key: tuple[str | None, ...], table: pa.Table) -> None:
        if key not in self._open:
            directory = hive_directory(dict(zip(self.partition_by, key, strict=True)))
            relative = f"{directory}/" if directory else ""
            relative += f"{self.file_prefix}{uuid.uuid4()}.c000.snappy.parquet"
            self.filesystem.create_dir(f"{self.root}/{directory}".rstrip("/"), recursive=True)
            stream = self.filesystem.open_output_stream(f"{self.root}/{relative}")
            self._open[key] = _OpenFile(
                relative, stream, pq.ParquetWriter(stream, self.data_schema)
            )
        data = table.select(self.data_schema.names)
        self._open[key].writer.write_table(data)
        self._open[key].stats.update(data)

    def _check_allowed(self, key: tuple[str | None, ...]) -> None:
        if self.allowed_partitions is None:
            return
        for column, value in zip(self.partition_by, key, strict=True):
            allowed = self.allowed_partitions.get(column)
            if allowed is not None and value not in allowed:
                raise PartitionViolationError(
                    f"row with {column}={value!r} is outside the partitions being overwritten "
                    f"({column} in {allowed}); filter the DataFrame or widen `partitions=`"
                )

    def close(self) -> list[WrittenFile]:
        """Finish every file and describe it for the commit."""
        for key in list(self._pending):
            self._flush(key)
        written = []
        for key, open_file in self._open.items():
            open_file.writer.close()
            open_file.stream.close()
            written.append(
                WrittenFile(
                    path=open_file.relative_path,
                    size=self.filesystem.get_file_info(
                        f"{self.root}/{open_file.relative_path}"
                    ).size,
                    partition_values=dict(zip(self.partition_by, key, strict=True)),
                    modification_time=int(time.time() * 1000),
                    stats=open_file.stats.to_json(),
                )
            )
        self._open.clear()
        return written

    def discard(self) -> None:
        """Remove every file this writer started; used when its task fails."""
        for open_file in self._open.values():
            for closeable in (open_file.writer, open_file.stream):
                with contextlib.suppress(Exception):
                    closeable.close()
        delete_files(self.filesystem, self.root, [f.relative_path for f in self._open.values()])
        self._open.clear()


def _split_by_partition(
    table: pa.Table, partition_by: tuple[str, ...]
) -> list[tuple[tuple[str | None, ...], pa.Table]]:
    """(partition key, rows) pieces of a table, found with vectorized compute."""
    if not partition_by or table.num_rows == 0:
        return [((), table)] if table.num_rows else []
    table = table.sort_by([(column, "ascending") for column in partition_by])
    text_keys = [
        pc.fill_null(pc.cast(table.column(c), pa.string()), HIVE_NULL) for c in partition_by
    ]
    combined = (
        text_keys[0] if len(text_keys) == 1 else pc.binary_join_element_wise(*text_keys, "\x1f")
    )
    boundaries: list[int] = []
    if table.num_rows > 1:  # pyarrow 16 crashes on indices_nonzero of an empty input
        changes = pc.not_equal(combined.slice(1), combined.slice(0, len(combined) - 1))
        boundaries = (pc.indices_nonzero(changes.combine_chunks()).to_numpy() + 1).tolist()
    pieces = []
    for start, end in itertools.pairwise([0, *boundaries, table.num_rows]):
        first = table.slice(start, 1).select(list(partition_by)).to_pylist()[0]
        key = tuple(partition_value_string(first[c]) for c in partition_by)
        pieces.append((key, table.slice(start, end - start)))
    return pieces


def delete_files(filesystem: pafs.FileSystem, root: str, relative_paths: list[str]) -> None:
    """Delete uncommitted files; missing ones are fine (nothing visible depends on them)."""
    for relative in relative_paths:
        with contextlib.suppress(FileNotFoundError):
            filesystem.delete_file(f"{root}/{relative}")


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast Spark's Arrow batch to the table schema (UTC timestamps, exact types)."""
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise SchemaMismatchError(f"batch is missing columns {missing}")
    table = table.select(schema.names)
    for field_ in schema:
        if not field_.nullable and table.column(field_.name).null_count:
            raise SchemaMismatchError(
                f"column '{field_.name}' is declared NOT NULL but the data has "
                f"{table.column(field_.name).null_count} null value(s); fill or filter them"
            )
    return table.cast(schema)
