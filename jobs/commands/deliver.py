"""`campaigns deliver` (or `flink run -py jobs/cli.py deliver`): campaign_events through
each retailer's workspace, once, or with `--follow` picking up every new version.

One delivery at a time per warehouse: a second one exits 3 naming the holder of the
lease (or waits for it with --wait)."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from types import FrameType

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.delivery.run import deliver_once, follow
from jobs.templates import load_library
from jobs.warehouse.errors import TableNotFoundError
from jobs.warehouse.registry import CAMPAIGN_EVENTS
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--follow",
        action="store_true",
        help="keep running: look for new campaign_events versions every --poll-seconds",
    )
    parser.add_argument("--poll-seconds", type=float, default=10.0, help="follow: poll interval")
    parser.add_argument(
        "--commit-seconds",
        type=float,
        default=5.0,
        help="commit message_sends at least this often during a run (default 5)",
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="follow: stop after this many delivery runs"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another delivery holds the warehouse, wait this long for it "
        "(default: refuse at once, exit 3)",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    store = DeltaStore.from_profile(conf.profile)
    if not args.follow:
        _require_launched(store)
        summary = deliver_once(
            conf, store, library, commit_seconds=args.commit_seconds, wait_s=args.wait
        )
        emit(
            summary.line()
            if summary
            else "delivery: nothing to deliver (campaign_events has no new version)"
        )
        return 0
    follow(
        conf,
        store,
        library,
        poll_seconds=args.poll_seconds,
        stopping=_stop_on_signals(),
        on_run=lambda summary: emit(summary.line()),
        max_runs=args.max_runs,
        commit_seconds=args.commit_seconds,
        wait_s=args.wait,
    )
    return 0


def _require_launched(store: DeltaStore) -> None:
    """A one-off delivery with no campaign_events is a wrong warehouse path, not an empty
    day: exit 0 there would read as success in Airflow. (`--follow` waits for the first
    launch instead.)"""
    if store.find(CAMPAIGN_EVENTS.name) is None:
        raise TableNotFoundError(
            f"no campaign_events table at {store.uri(CAMPAIGN_EVENTS.name)}: nothing was ever "
            "launched into this warehouse. Check warehouse_uri in the profile (or "
            "$CAMPAIGNS_WAREHOUSE_URI), or run `campaigns launch` first"
        )


def _stop_on_signals() -> Callable[[], bool]:
    """SIGTERM or Ctrl-C ends `--follow` after the run in progress, never inside one."""
    requested = {"stop": False}

    def handle(signum: int, frame: FrameType | None) -> None:
        requested["stop"] = True

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return lambda: requested["stop"]
