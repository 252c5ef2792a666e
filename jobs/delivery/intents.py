"""The send intent log: a batch's claim is durable before its request leaves, and its
outcome one write after the answer.

Why: a provider that takes no idempotency key (Braze) sends a repeated message again.
After a crash, delivery must know which requests may have left. Every send subtask
writes Parquet files of claims (message_sends rows with status
`in_doubt` and the attempt) and outcomes (the rows as the answer decided them) under
the warehouse's own root (`_delivery_intents/<delivery run>/`), so it works wherever
the warehouse is, local disk or object storage. Writes are group commits: an idle log
writes at once; while a file is being written, what arrives waits for the next one,
so a busy subtask writes few, larger files. A request waits for its claim's file; an
outcome is durable one write after its answer (tens of milliseconds), well within
the 2 s promised, while results reach message_sends only at the end of a Flink
bundle. A file is written whole and then renamed into place: a reader never sees half
of one.

A run that commits its final results deletes its folder. Whatever is left belongs to
a run that died: `reconcile.py` reads it before the next run plans.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from jobs.delivery.records import Outcome
from jobs.delivery.results import message_sends_rows
from jobs.warehouse.delta_log import open_filesystem
from jobs.warehouse.registry import MESSAGE_SENDS
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
FOLDER = "_delivery_intents"
Kind = Literal["claim", "outcome"]
EXTRA_FIELDS = [pa.field("kind", pa.string(), False), pa.field("attempt", pa.int32(), False)]


def intent_schema(store: DeltaStore) -> pa.Schema:
    """message_sends' row, and what the log adds: claim or outcome, and which attempt."""
    return pa.schema([*store.arrow_schema(MESSAGE_SENDS.name), *EXTRA_FIELDS])


def intents_root(store: DeltaStore) -> tuple[pafs.FileSystem, str]:
    return open_filesystem(f"{store.root_uri}/{FOLDER}", store.storage_options)


@dataclass
class IntentLog:
    """One send subtask's log for one delivery run."""

    store: DeltaStore
    delivery_run_id: str
    source_version: int
    # Raises when this delivery no longer holds the lease: no claim is written then.
    check_lease: Callable[[], None]
    _rows: list[tuple[Outcome, Kind, int]] = field(default_factory=list)
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)
    _flusher: asyncio.Task[None] | None = None
    _writer: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _files: int = 0
    _folder: tuple[pafs.FileSystem, str, pa.Schema] | None = None

    async def claim(self, claims: list[Outcome], attempt: int) -> None:
        """Return once the claims are durable (raises `LeaseLostError`: send nothing)."""
        waiter = asyncio.get_running_loop().create_future()
        self._rows += [(claim, "claim", attempt) for claim in claims]
        self._waiters.append(waiter)
        self._start()
        await waiter

    def record(self, outcomes: list[Outcome], attempt: int) -> None:
        """Outcomes of an attempt: durable with the next file written."""
        self._rows += [(outcome, "outcome", attempt) for outcome in outcomes]
        self._start()

    async def close(self) -> None:
        """Write what is left (the end of the subtask's input)."""
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._rows:
            await self._flush()

    def _start(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        """One write after another while anything waits (a group commit)."""
        while self._rows:
            await self._flush()

    async def _flush(self) -> None:
        rows, self._rows = self._rows, []
        waiters, self._waiters = self._waiters, []
        try:
            if any(kind == "claim" for _, kind, _ in rows):
                self.check_lease()
            await asyncio.to_thread(self._write, rows)
        except Exception as error:
            for waiter in waiters:
                waiter.set_exception(error)
            if not waiters:
                log.exception("writing send outcomes to the intent log failed")
            return
        for waiter in waiters:
            waiter.set_result(None)

    def _write(self, rows: list[tuple[Outcome, Kind, int]]) -> None:
        filesystem, folder, schema = self._target()
        table = message_sends_rows(
            [outcome for outcome, _, _ in rows],
            delivery_run_id=self.delivery_run_id,
            source_version=self.source_version,
            schema=schema,
        )
        table = table.append_column(EXTRA_FIELDS[0], pa.array([k for _, k, _ in rows]))
        table = table.append_column(EXTRA_FIELDS[1], pa.array([a for _, _, a in rows], pa.int32()))
        self._files += 1
        path = f"{folder}/{self._writer}-{self._files:08d}.parquet"
        pq.write_table(table, f"{path}.tmp", filesystem=filesystem)
        filesystem.move(f"{path}.tmp", path)

    def _target(self) -> tuple[pafs.FileSystem, str, pa.Schema]:
        """Where this run's files go, made once per subtask (not on every write)."""
        if self._folder is None:
            filesystem, root = intents_root(self.store)
            folder = f"{root}/{self.delivery_run_id}"
            filesystem.create_dir(folder, recursive=True)
            self._folder = filesystem, folder, self.store.arrow_schema(MESSAGE_SENDS.name)
        return self._folder


def read_intents(store: DeltaStore) -> tuple[pa.Table, list[str]]:
    """Every claim and outcome left by runs that did not finish, and those runs' ids."""
    filesystem, root = intents_root(store)
    found = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    paths = sorted(
        f.path for f in found if f.type == pafs.FileType.File and f.path.endswith(".parquet")
    )
    runs = sorted({f.base_name for f in found if f.type == pafs.FileType.Directory})
    schema = intent_schema(store)
    pieces = [pq.read_table(path, filesystem=filesystem, schema=schema) for path in paths]
    return (pa.concat_tables(pieces) if pieces else schema.empty_table()), runs


def remove_intents(store: DeltaStore, delivery_run_ids: list[str]) -> None:
    """Forget runs whose every claim is now settled in message_sends."""
    filesystem, root = intents_root(store)
    for run_id in delivery_run_ids:
        filesystem.delete_dir_contents(f"{root}/{run_id}", missing_dir_ok=True)
        try:
            filesystem.delete_dir(f"{root}/{run_id}")
        except FileNotFoundError:
            continue


def latest_per_message(intents: pa.Table) -> pa.Table:
    """Each message's last word: `sent` over anything (a message the provider took stays
    taken), then the latest row, an outcome over a claim made at the same moment."""
    if not intents.num_rows:
        return intents
    ranked = intents.append_column("is_sent", pc.equal(intents["status"], "sent")).append_column(
        "is_outcome", pc.equal(intents["kind"], "outcome")
    )
    ranked = ranked.sort_by(
        [
            ("retailer_id", "ascending"),
            ("message_id", "ascending"),
            ("is_sent", "descending"),
            ("completed_at", "descending"),
            ("is_outcome", "descending"),
        ]
    )
    keys = ranked.select(["retailer_id", "message_id"]).to_pylist()
    first = [i for i, key in enumerate(keys) if i == 0 or keys[i - 1] != key]
    return ranked.take(pa.array(first)).drop_columns(["is_sent", "is_outcome"])
