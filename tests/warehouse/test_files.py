"""Executor-side file writing: partition splitting, buffering, statistics."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from jobs.warehouse import files
from jobs.warehouse.files import PartitionedParquetWriter, _split_by_partition


def test_split_handles_single_rows_nulls_and_several_columns() -> None:
    def keys(table: pa.Table, by: tuple[str, ...]) -> list[tuple[object, int]]:
        return [(key, piece.num_rows) for key, piece in _split_by_partition(table, by)]

    assert keys(pa.table({"r": ["a"], "v": [1]}), ("r",)) == [(("a",), 1)]
    assert keys(pa.table({"r": ["b", None, "a", "b"], "v": [1, 2, 3, 4]}), ("r",)) == [
        (("a",), 1),
        (("b",), 2),
        ((None,), 1),
    ]
    assert keys(pa.table({"r": ["x", "x", "y"], "d": [1, 2, 2], "v": [0, 0, 0]}), ("r", "d")) == [
        (("x", "1"), 1),
        (("x", "2"), 1),
        (("y", "2"), 1),
    ]
    assert keys(pa.table({"r": pa.array([], pa.string())}), ("r",)) == []


def test_buffered_chunks_make_one_file_per_partition_with_exact_stats(
    tmp_path: object,
    monkeypatch: object,
) -> None:
    monkeypatch.setattr(files, "FLUSH_ROWS", 1_000)  # type: ignore[attr-defined]
    schema = pa.schema([("r", pa.string()), ("n", pa.int64())])
    writer = PartitionedParquetWriter(pafs.LocalFileSystem(), str(tmp_path), schema, ("r",))
    for start in range(0, 10_000, 700):
        ids = list(range(start, min(start + 700, 10_000)))
        writer.add(
            pa.record_batch(
                [pa.array(["a" if i % 3 else "b" for i in ids]), pa.array(ids, pa.int64())],
                schema=schema,
            )
        )

    written = {f.partition_values["r"]: f for f in writer.close()}

    assert set(written) == {"a", "b"}
    for f in written.values():
        stats = json.loads(f.stats)
        data = pq.read_table(f"{tmp_path}/{f.path}")
        assert stats["numRecords"] == data.num_rows
        assert stats["minValues"]["n"] == min(data.column("n").to_pylist())
        assert stats["maxValues"]["n"] == max(data.column("n").to_pylist())
    assert sum(json.loads(f.stats)["numRecords"] for f in written.values()) == 10_000
