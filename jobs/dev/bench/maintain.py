"""`campaigns bench maintain`: a warehouse after 50 delivery runs, before and after upkeep.

Each simulated run writes what a delivery run writes: message_sends commits every few
seconds (one small file per retailer in each), the final commit with the source
position, and the lease's acquire, renewals and release. Printed: data files, log files
and size, and the time to read message_sends (whole, and the columns a delivery plan
reads), before and after `maintain_warehouse`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from jobs.commands.common import emit
from jobs.delivery.lease import DeliveryLease
from jobs.delivery.plan import LEDGER_COLUMNS
from jobs.warehouse.registry import DELIVERY_SOURCE_APP_ID, MESSAGE_SENDS
from jobs.warehouse.store import DeltaStore, RunTag
from jobs.warehouse.upkeep import maintain_warehouse, table_shape

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=50, help="delivery runs (default 50)")
    parser.add_argument("--commits", type=int, default=6, help="message_sends commits a run")
    parser.add_argument("--retailers", type=int, default=20, help="retailers in each commit")
    parser.add_argument("--rows", type=int, default=2_000, help="rows a commit")
    parser.add_argument("--renewals", type=int, default=10, help="lease renewals a run")
    parser.add_argument("--dir", type=Path, default=None, help="where (default: a temp dir)")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        store = DeltaStore(str(Path(folder) / "warehouse"))
        started = time.perf_counter()
        for run_number in range(args.runs):
            _delivery_run(store, run_number, args)
        emit(f"wrote {args.runs} delivery runs in {time.perf_counter() - started:.1f} s")
        before = _figures(store)
        upkeep = maintain_warehouse(store, retention_hours=0)
        for table in upkeep:
            emit(table.line())
        after = _figures(store)
        emit(f"{'':<34}{'before':>12}{'after':>12}")
        for name in before:
            emit(f"{name:<34}{before[name]:>12,.2f}{after[name]:>12,.2f}")
    return 0


def _delivery_run(store: DeltaStore, run_number: int, args: argparse.Namespace) -> None:
    now = START + timedelta(hours=run_number)
    lease = DeliveryLease(store, holder=f"bench-{run_number}", clock=lambda: now)
    lease.acquire()
    for commit in range(args.commits):
        rows = _sends(store, run_number, commit, args)
        last = commit == args.commits - 1
        store.append(
            MESSAGE_SENDS.name,
            rows,
            run=RunTag(DELIVERY_SOURCE_APP_ID, run_number) if last else None,
        )
        if commit * args.renewals // args.commits != (commit + 1) * args.renewals // args.commits:
            lease.renew()
    lease.release()


def _sends(store: DeltaStore, run_number: int, commit: int, args: argparse.Namespace) -> pa.Table:
    n = args.rows
    at = START + timedelta(hours=run_number, seconds=5 * commit)
    ids = [f"{run_number}-{commit}-{i}" for i in range(n)]
    columns = {
        "retailer_id": [f"retailer-{i % args.retailers:03d}" for i in range(n)],
        "message_id": ids,
        "run_id": [f"run-{run_number}"] * n,
        "campaign_id": [f"campaign-{i % args.retailers:03d}" for i in range(n)],
        "customer_id": [f"c{i}" for i in range(n)],
        "channel": ["email"] * n,
        "variant_id": ["control"] * n,
        "is_holdout": [False] * n,
        "template_id": ["winback-email"] * n,
        "status": ["sent"] * n,
        "reason": [None] * n,
        "attempts": [1] * n,
        "dispatch_id": [f"d-{run_number}-{commit}"] * n,
        "segments": [None] * n,
        "batch_size": [50] * n,
        "queued_at": [at] * n,
        "first_attempt_at": [at] * n,
        "completed_at": [at] * n,
        "send_latency_ms": [120] * n,
        "eligible_at": [None] * n,
        "delivery_run_id": [f"dr-{run_number}"] * n,
        "source_version": [run_number] * n,
    }
    return pa.Table.from_pydict(columns, schema=store.arrow_schema(MESSAGE_SENDS.name))


def _figures(store: DeltaStore) -> dict[str, float]:
    sends = table_shape(store, MESSAGE_SENDS.name)
    lease = table_shape(store, "delivery_lease")
    return {
        "message_sends data files": sends.files,
        "message_sends log files": sends.log_files,
        "message_sends log MB": sends.log_bytes / 1e6,
        "delivery_lease log files": lease.log_files,
        "read message_sends, whole (s)": _median_read(store, None),
        "read the plan's columns (s)": _median_read(store, LEDGER_COLUMNS),
    }


def _median_read(store: DeltaStore, columns: list[str] | None) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        store.read_arrow(MESSAGE_SENDS.name, columns=columns)
        times.append(time.perf_counter() - started)
    return statistics.median(times)
