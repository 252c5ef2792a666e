"""Delta Lake tables: Spark jobs through delta-spark (`Warehouse`), Python jobs without
Spark through delta-rs (`DeltaStore`), both on the shapes the registry declares once.
"""

from jobs.warehouse.errors import (
    PartitionViolationError,
    SchemaMismatchError,
    TableNotFoundError,
    UnknownTableError,
    UnsupportedTableError,
    WarehouseError,
)
from jobs.warehouse.registry import INPUT_TABLES, TABLES, TableSpec, table_spec
from jobs.warehouse.session import build_spark
from jobs.warehouse.store import DeltaStore
from jobs.warehouse.tables import RunTag, TableSummary, Warehouse, WriteResult

__all__ = [
    "INPUT_TABLES",
    "TABLES",
    "DeltaStore",
    "PartitionViolationError",
    "RunTag",
    "SchemaMismatchError",
    "TableNotFoundError",
    "TableSpec",
    "TableSummary",
    "UnknownTableError",
    "UnsupportedTableError",
    "Warehouse",
    "WarehouseError",
    "WriteResult",
    "build_spark",
    "table_spec",
]
