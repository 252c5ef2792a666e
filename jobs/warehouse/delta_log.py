"""Opening and creating Delta tables through delta-rs, and reaching their storage.

Every table is created here, with the registry's schema and partitioning and a
protocol both engines write (delta-spark appends to it, delta-rs commits to it),
whichever engine writes it first.
"""

from __future__ import annotations

import logging
import os
from typing import Literal

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import CommitFailedError
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFound
from deltalake.schema import Field

from jobs.warehouse.errors import SchemaMismatchError

WriteMode = Literal["append", "overwrite", "overwrite_partitions"]
log = logging.getLogger(__name__)


def storage_options_from_env(option_env: dict[str, str]) -> dict[str, str]:
    """Resolve delta-rs storage options from the environment variables that hold them.

    Configuration names variables, never secrets; an unset variable is left out
    so delta-rs falls back to its own credential chain. An `http://` endpoint (a store
    on the same host, a test server) is one the operator chose: delta-rs is allowed
    to use it.
    """
    options = {option: os.environ[env] for option, env in option_env.items() if env in os.environ}
    if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        options.setdefault("AWS_ALLOW_HTTP", "true")
    return options


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
    """Create the table on first use; add the columns a newer release declares (nullable:
    Delta's additive schema evolution, nothing rewritten); refuse any other drift."""
    table = open_table(uri, storage_options)
    if table is None:
        try:
            return DeltaTable.create(
                uri,
                schema=schema,
                partition_by=list(partition_by) or None,
                mode="ignore",
                storage_options=storage_options or None,
                # No retry: a create that lost the race would be committed again on top of
                # the winner's, a second CREATE TABLE at version 1 or 2 that hides every
                # commit before it (seen with two deliveries taking the lease at once).
                commit_properties=CommitProperties(max_commit_retries=0),
            )
        except CommitFailedError:  # another writer created it at the same moment
            table = open_table(uri, storage_options)
            if table is None:
                raise
    added = add_new_columns(table, schema)
    if added:
        log.info("added the columns %s to the Delta table at %s", added, uri)
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
    if not differences:
        return
    if len(differences) == len(new_columns(table, declared)):
        remedy = (
            "These are columns a newer release declares (nullable: older rows read as "
            "null); `campaigns maintain` adds them, in one commit per table, as does the "
            f"next write to the table; run it before {doing} it."
        )
    else:
        remedy = (
            "Fix the producer that wrote it and rewrite the table with the declared schema "
            f"before {doing} it."
        )
    raise SchemaMismatchError(
        f"the Delta table at {table.table_uri} differs from its schema in "
        f"jobs/warehouse/registry.py: {'; '.join(differences)}. {remedy}"
    )


def new_columns(table: DeltaTable, declared: pa.Schema) -> list[pa.Field]:
    """Declared nullable columns the table lacks: what a release added to its schema."""
    have = set(pa.schema(table.schema().to_arrow()).names)
    return [column for column in declared if column.name not in have and column.nullable]


def add_new_columns(table: DeltaTable, declared: pa.Schema) -> list[str]:
    """Add the columns a newer release declares (nullable, so every existing row reads
    as null: nothing is rewritten); their names, or none."""
    columns = new_columns(table, declared)
    if columns:
        table.alter.add_columns([Field.from_arrow(column) for column in columns])
    return [column.name for column in columns]


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


def on_object_store(uri: str) -> bool:
    """An `s3://` URI: S3 or a store speaking its API (MinIO, R2, a test server)."""
    return uri.startswith("s3://")


def open_filesystem(table_uri: str, storage_options: dict[str, str]) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and root path for a table URI (local path or object store)."""
    if on_object_store(table_uri):
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
