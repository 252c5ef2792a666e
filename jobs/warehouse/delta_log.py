"""Driver-side access to the Delta transaction log through delta-rs.

Everything that touches `_delta_log` is here: creating a table, reading its
snapshot metadata, and committing files written by Spark tasks as one atomic
transaction, optionally tagged with an application transaction (`txn`) so that
a repeated job run commits nothing.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Literal

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.exceptions import CommitFailedError
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFound
from deltalake.transaction import AddAction, RemoveAction

from jobs.warehouse.errors import SchemaMismatchError, WarehouseError
from jobs.warehouse.files import WrittenFile, delete_files, open_filesystem

WriteMode = Literal["append", "overwrite", "overwrite_partitions"]


def storage_options_from_env(option_env: dict[str, str]) -> dict[str, str]:
    """Resolve delta-rs storage options from the environment variables that hold them.

    Configuration names variables, never secrets; an unset variable is left out
    so delta-rs falls back to its own credential chain.
    """
    return {option: os.environ[env] for option, env in option_env.items() if env in os.environ}


@dataclass(frozen=True)
class WriteRequest:
    """Everything a write needs, passed to the Spark data source as one JSON option."""

    table_uri: str
    mode: WriteMode
    partition_by: tuple[str, ...] = ()
    partitions: dict[str, list[str | None]] | None = None
    # (app_id, run version) pairs recorded as Delta txn actions in the same commit
    transactions: list[tuple[str, int]] = field(default_factory=list)
    storage_options_env: dict[str, str] = field(default_factory=dict)
    commit_metadata: dict[str, str] = field(default_factory=dict)
    # every file of this write is named part-<write_id>-..., so an abort can find them all
    write_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WriteRequest:
        data = json.loads(text)
        data["partition_by"] = tuple(data["partition_by"])
        data["transactions"] = [tuple(pair) for pair in data["transactions"]]
        return cls(**data)

    @property
    def storage_options(self) -> dict[str, str]:
        return storage_options_from_env(self.storage_options_env)


def open_table(
    uri: str, storage_options: dict[str, str], version: int | None = None
) -> DeltaTable | None:
    """The table at `uri` (optionally at a version), or None when no table exists there."""
    try:
        return DeltaTable(uri, version=version, storage_options=storage_options or None)
    except DeltaTableNotFound:
        return None


def ensure_table(
    uri: str, schema: pa.Schema, partition_by: tuple[str, ...], storage_options: dict[str, str]
) -> DeltaTable:
    """Create the table on first use; refuse an existing table whose shape has drifted."""
    table = open_table(uri, storage_options)
    if table is None:
        try:
            return DeltaTable.create(
                uri,
                schema=schema,
                partition_by=list(partition_by) or None,
                mode="ignore",
                storage_options=storage_options or None,
            )
        except CommitFailedError:  # another writer created it at the same moment
            table = open_table(uri, storage_options)
            if table is None:
                raise
    require_declared_schema(table, schema, doing="writing")
    if tuple(table.metadata().partition_columns) != partition_by:
        raise SchemaMismatchError(
            f"the Delta table at {uri} is partitioned by {table.metadata().partition_columns} "
            f"but the registry declares {list(partition_by)}"
        )
    return table


def require_declared_schema(table: DeltaTable, declared: pa.Schema, *, doing: str) -> None:
    """Refuse a table whose schema drifted from the registry, naming every difference."""
    differences = schema_differences(pa.schema(table.schema().to_arrow()), declared)
    if differences:
        raise SchemaMismatchError(
            f"the Delta table at {table.table_uri} differs from its schema in "
            f"jobs/warehouse/registry.py: {'; '.join(differences)}. Fix the producer that "
            f"wrote it and rewrite the table with the declared schema before {doing} it."
        )


def schema_differences(existing: pa.Schema, declared: pa.Schema) -> list[str]:
    """Every column missing, unexpected, of another type or nullability than declared."""
    have = {f.name: f for f in existing}
    want = {f.name: f for f in declared}
    differences = [f"column '{name}' is missing" for name in want if name not in have]
    differences += [f"column '{name}' is not declared" for name in have if name not in want]
    for name, column in want.items():
        found = have.get(name)
        if found is None:
            continue
        if found.type != column.type:
            differences.append(f"'{name}' is {found.type} but is declared {column.type}")
        elif found.nullable and not column.nullable:
            differences.append(f"'{name}' may be null but is declared required (a key)")
        elif found.nullable != column.nullable:
            differences.append(f"'{name}' is required but is declared nullable")
    return differences


def already_committed(table: DeltaTable, app_id: str, app_version: int) -> bool:
    """True when this application already committed this run version (or a later one)."""
    committed = table.transaction_version(app_id)
    return committed is not None and committed >= app_version


def committed_transactions(table: DeltaTable, transactions: list[tuple[str, int]]) -> int:
    """How many of the (app_id, version) pairs the table has already committed."""
    return sum(already_committed(table, app_id, version) for app_id, version in transactions)


def commit_files(request: WriteRequest, files: list[WrittenFile]) -> None:
    """Commit Spark-written files as one Delta transaction, or drop them if this run committed.

    The idempotency check runs here, at commit time, as well as before the job
    starts: if another attempt of the same run committed meanwhile, this
    attempt's files are deleted and the table is left as it was.
    """
    storage_options = request.storage_options
    table = open_table(request.table_uri, storage_options)
    if table is None:
        raise WarehouseError(f"no Delta table at {request.table_uri}; it must exist before a write")
    done = committed_transactions(table, request.transactions)
    if request.transactions and done == len(request.transactions):
        discard_files(request, files)
        return
    if done:
        discard_files(request, files)
        raise WarehouseError(
            f"{done} of the {len(request.transactions)} runs in this write were committed to "
            f"{request.table_uri} by another writer meanwhile; nothing was written. Rerun: "
            "the committed runs will be skipped."
        )
    actions: list[AddAction | RemoveAction] = [
        AddAction(f.path, f.size, f.partition_values, f.modification_time, True, f.stats)
        for f in files
    ]
    transactions = [Transaction(app_id, version) for app_id, version in request.transactions]
    properties = CommitProperties(
        custom_metadata=dict(request.commit_metadata) or None, app_transactions=transactions or None
    )
    table.create_write_transaction(
        actions,
        mode="append" if request.mode == "append" else "overwrite",
        schema=table.schema(),
        partition_by=list(request.partition_by) or None,
        partition_filters=_partition_filters(request),
        commit_properties=properties,
    )


def discard_files(request: WriteRequest, files: list[WrittenFile]) -> None:
    """Delete files that will never be committed (duplicate run)."""
    filesystem, root = open_filesystem(request.table_uri, request.storage_options)
    delete_files(filesystem, root, [f.path for f in files])


def discard_write(request: WriteRequest) -> int:
    """Delete every file this write produced, including those of tasks killed mid-way.

    Killed tasks never report their files, so the table folder is searched for
    this write's id; aborts are rare, so the listing cost is acceptable.
    """
    filesystem, root = open_filesystem(request.table_uri, request.storage_options)
    marker = f"part-{request.write_id}-"
    found = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    ours = [info.path for info in found if info.is_file and info.base_name.startswith(marker)]
    delete_files(filesystem, root, [path.removeprefix(root + "/") for path in ours])
    return len(ours)


def sweep_failed_write(
    request: WriteRequest, *, settle_seconds: float = 0.5, max_seconds: float = 10.0
) -> None:
    """After a failed job, delete its files until a pass finds none left.

    Spark's abort runs as soon as the job fails, but a task it is killing may
    still finish a file afterwards; sweeping until the folder settles leaves no
    orphans behind (bounded, in case something keeps writing).
    """
    deadline = time.monotonic() + max_seconds
    discard_write(request)
    while True:
        time.sleep(settle_seconds)
        if not discard_write(request) or time.monotonic() > deadline:
            return


def _partition_filters(request: WriteRequest) -> list[tuple[str, str, list[str | None]]] | None:
    if request.mode != "overwrite_partitions":
        return None
    if not request.partitions:
        raise WarehouseError("mode 'overwrite_partitions' needs partitions={column: [values]}")
    return [(column, "in", values) for column, values in request.partitions.items()]
