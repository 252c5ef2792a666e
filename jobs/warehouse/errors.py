"""Typed warehouse errors; each message says what, where and how to fix it."""

from jobs.errors import OperatorError


class WarehouseError(OperatorError):
    """Base class for every failure of the warehouse layer."""


class UnknownTableError(WarehouseError):
    """A job named a table the registry does not declare."""


class TableNotFoundError(WarehouseError):
    """A table was read before anything created it."""


class SchemaMismatchError(WarehouseError):
    """A DataFrame (or an existing table) does not match the declared schema."""


class UnsupportedTableError(WarehouseError):
    """A Delta table uses features the delta-rs read path cannot honour."""


class PartitionViolationError(WarehouseError):
    """A partition overwrite received rows outside the partitions it may replace."""
