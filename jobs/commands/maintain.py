"""`campaigns maintain`: compact small files, write checkpoints and vacuum every table,
keeping the files of every version a job reads back (jobs/warehouse/upkeep.py).

Daily in the maintenance DAG. Delta-rs only, no Spark. A table whose upkeep fails (a
concurrent writer won a conflict) is reported and the others proceed; exit 1 then."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.metrics.publish import publish
from jobs.metrics.runs import maintain_figures
from jobs.warehouse.store import DeltaStore
from jobs.warehouse.upkeep import DEFAULT_RETENTION_HOURS, maintain_warehouse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--retention-hours",
        type=int,
        default=DEFAULT_RETENTION_HOURS,
        help="how long a removed file stays for time travel "
        f"(default {DEFAULT_RETENTION_HOURS}, Delta's week); pinned versions are kept anyway",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what vacuum would delete; change nothing"
    )


def run(args: argparse.Namespace) -> int:
    if args.retention_hours < 0:
        raise argparse.ArgumentTypeError("--retention-hours is 0 or more")
    conf = load_conf(args.conf, profile=args.profile)
    store = DeltaStore.from_profile(conf.profile)
    upkeep = maintain_warehouse(store, retention_hours=args.retention_hours, dry_run=args.dry_run)
    for table in upkeep:
        emit(table.line())
    if not args.dry_run:
        for line in publish("maintain", maintain_figures(upkeep).registry()):
            emit(line)
    return 1 if any(table.problem for table in upkeep) else 0
