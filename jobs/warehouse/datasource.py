"""A Spark 4 Python data source that writes Delta tables through delta-rs.

Spark executors receive Arrow batches and write Parquet files; the driver
collects the file descriptions and commits them in one Delta transaction. The
Maven-only delta-spark connector is not needed, and the result is an ordinary
Delta table that delta-spark, Databricks and delta-rs all read.

Use it through `Warehouse.write`, which validates the schema first; the raw
form is `df.write.format("delta_rs").option("write_request", request.to_json())`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from jobs.warehouse.delta_log import WriteRequest, commit_files, discard_write, open_table
from jobs.warehouse.errors import WarehouseError
from jobs.warehouse.files import PartitionedParquetWriter, WrittenFile, open_filesystem

FORMAT_NAME = "delta_rs"


@dataclass
class FilesWritten(WriterCommitMessage):
    files: list[WrittenFile]


class DeltaRsDataSource(DataSource):
    """Registered as `delta_rs`; write-only (reads go through `Warehouse.read`)."""

    @classmethod
    def name(cls) -> str:
        return FORMAT_NAME

    def writer(self, schema: StructType, overwrite: bool) -> DeltaRsWriter:
        if "write_request" not in self.options:
            raise WarehouseError("the delta_rs data source needs the option 'write_request'")
        request = WriteRequest.from_json(self.options["write_request"])
        if overwrite and request.mode == "append":
            request = replace(request, mode="overwrite")
        return DeltaRsWriter(request)


class DeltaRsWriter(DataSourceArrowWriter):
    """Created once on the driver and shipped to every task."""

    def __init__(self, request: WriteRequest) -> None:
        self.request = request
        table = open_table(request.table_uri, request.storage_options)
        if table is None:
            raise WarehouseError(f"no Delta table at {request.table_uri}; create it before writing")
        self.table_schema = pa.schema(table.schema().to_arrow())

    def write(self, iterator: Iterator[pa.RecordBatch]) -> FilesWritten:
        filesystem, root = open_filesystem(self.request.table_uri, self.request.storage_options)
        parquet = PartitionedParquetWriter(
            filesystem=filesystem,
            root=root,
            schema=self.table_schema,
            partition_by=self.request.partition_by,
            allowed_partitions=(
                self.request.partitions if self.request.mode == "overwrite_partitions" else None
            ),
            file_prefix=f"part-{self.request.write_id}-",
        )
        try:
            for batch in iterator:
                parquet.add(batch)
            return FilesWritten(parquet.close())
        except BaseException:
            parquet.discard()
            raise

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        commit_files(self.request, _files(messages))

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        discard_write(self.request)


def _files(messages: list[WriterCommitMessage | None]) -> list[WrittenFile]:
    return [f for message in messages if isinstance(message, FilesWritten) for f in message.files]
