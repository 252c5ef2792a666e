"""Table upkeep: small files compacted, a checkpoint written, files no reader needs removed.

Delivery commits message_sends every few seconds, ingestion a page at a time and the
lease on every renewal, so files and log entries pile up and every read lists them all.
Upkeep never breaks what the pipeline reads back:

- vacuum keeps, beyond the retention window, the files of every version a job is pinned
  to (the campaign_events version the delivery committed through);
- no log file is ever expired: the positions the jobs keep in commit metadata (the
  delivery's source version, ingestion's export cursors, the lease) stay readable;
- campaign_events is not compacted: the delivery reads new files by path, and would
  take every compacted file for a new one (reading it again, sending nothing twice).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pyarrow.fs as pafs
from deltalake.exceptions import CommitFailedError, DeltaError

from jobs.warehouse.delta_log import add_new_columns
from jobs.warehouse.registry import (
    CAMPAIGN_EVENTS,
    DELIVERY_SOURCE_APP_ID,
    INPUT_TABLES,
    MESSAGE_SENDS,
    TABLES,
)
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)

# Delta's own default for `delta.deletedFileRetentionDuration`: a week of time travel.
DEFAULT_RETENTION_HOURS = 168
NOT_COMPACTED = {CAMPAIGN_EVENTS.name, *INPUT_TABLES}


@dataclass(frozen=True)
class TableShape:
    version: int
    files: int
    log_files: int
    log_bytes: int


@dataclass
class TableUpkeep:
    table: str
    before: TableShape
    after: TableShape | None = None
    compacted_away: int = 0  # small files rewritten into fewer
    vacuumed: int = 0  # files deleted from storage
    kept_versions: list[int] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)  # declared by a newer release
    seconds: float = 0.0
    problem: str | None = None

    def line(self) -> str:
        after = self.after or self.before
        kept = f", kept v{','.join(map(str, self.kept_versions))}" if self.kept_versions else ""
        kept += f", added columns {', '.join(self.added_columns)}" if self.added_columns else ""
        text = (
            f"{self.table:<20} files {self.before.files:>6,} -> {after.files:>6,}  "
            f"compacted {self.compacted_away:>5,}  vacuumed {self.vacuumed:>5,}  "
            f"log {self.before.log_files:>5,} files {self.before.log_bytes / 1e6:6.1f} MB"
            f"{kept}  {self.seconds:.1f} s"
        )
        return f"{text}  PROBLEM: {self.problem}" if self.problem else text


def pinned_versions(store: DeltaStore) -> dict[str, list[int]]:
    """Versions a job reads back later, whose files must outlive the retention window."""
    delivered = store.last_run_version(MESSAGE_SENDS.name, DELIVERY_SOURCE_APP_ID)
    return {CAMPAIGN_EVENTS.name: [delivered]} if delivered is not None else {}


def maintain_warehouse(
    store: DeltaStore, *, retention_hours: int = DEFAULT_RETENTION_HOURS, dry_run: bool = False
) -> list[TableUpkeep]:
    """Every table that exists, one at a time; a table that fails is reported, not fatal."""
    pinned = pinned_versions(store)
    return [
        maintain_table(
            store,
            name,
            retention_hours=retention_hours,
            keep_versions=pinned.get(name, []),
            dry_run=dry_run,
        )
        for name in TABLES
        if store.find(name) is not None
    ]


def maintain_table(
    store: DeltaStore,
    name: str,
    *,
    retention_hours: int,
    keep_versions: list[int],
    dry_run: bool = False,
) -> TableUpkeep:
    started = time.monotonic()
    upkeep = TableUpkeep(name, table_shape(store, name), kept_versions=keep_versions)
    try:
        if not dry_run:
            declared = store.arrow_schema(name)
            upkeep.added_columns = add_new_columns(store.delta_table(name), declared)
        if name not in NOT_COMPACTED and not dry_run:
            metrics = store.delta_table(name).optimize.compact()
            upkeep.compacted_away = int(metrics.get("numFilesRemoved", 0))
        removed = store.delta_table(name).vacuum(
            retention_hours=retention_hours,
            dry_run=dry_run,
            enforce_retention_duration=False,
            keep_versions=keep_versions or None,
        )
        upkeep.vacuumed = len(removed)
        if not dry_run:
            store.delta_table(name).create_checkpoint()
    except (CommitFailedError, DeltaError, OSError) as error:
        # e.g. a delivery's MERGE rewrote a file being compacted: the next run compacts it
        upkeep.problem = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        log.warning("upkeep of %s stopped: %s", name, upkeep.problem)
    upkeep.after = table_shape(store, name)
    upkeep.seconds = time.monotonic() - started
    return upkeep


def table_shape(store: DeltaStore, name: str) -> TableShape:
    table = store.delta_table(name)
    filesystem = store.table_filesystem(name)
    log_entries = filesystem.get_file_info(pafs.FileSelector("_delta_log", recursive=True))
    log_files = [entry for entry in log_entries if entry.type == pafs.FileType.File]
    return TableShape(
        version=table.version(),
        files=len(table.file_uris()),
        log_files=len(log_files),
        log_bytes=sum(entry.size or 0 for entry in log_files),
    )
