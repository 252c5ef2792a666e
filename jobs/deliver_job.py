"""Entry module of the delivery job: `campaigns deliver`, or `flink run -py jobs/deliver_job.py`.

Parses arguments, loads typed configuration and the template library, and
runs delivery once, or with `--follow` keeps picking up new versions of
campaign_events (and work that a resume or a new day releases).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

from jobs.config import load_conf
from jobs.delivery.controls import Action, request_control
from jobs.delivery.run import deliver_once
from jobs.runtime import add_common_arguments, emit, entry_main
from jobs.templates import load_library
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


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("campaign_id", help="a campaign of conf/campaigns")
    parser.add_argument("--note", default=None, help="why (kept with the control record)")


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    store = DeltaStore.from_profile(conf.profile)
    stopping = _stop_on_signals()
    runs = 0
    while True:
        summary = deliver_once(conf, store, library, commit_seconds=args.commit_seconds)
        if summary is not None:
            runs += 1
            emit(summary.line())
        elif not args.follow:
            emit("delivery: nothing to deliver (campaign_events has no new version)")
        if not args.follow or stopping() or (args.max_runs and runs >= args.max_runs):
            return 0
        deadline = time.monotonic() + args.poll_seconds
        while time.monotonic() < deadline and not stopping():
            time.sleep(0.2)
        if stopping():
            return 0


def pause(args: argparse.Namespace) -> int:
    return _control(args, "pause")


def resume(args: argparse.Namespace) -> int:
    return _control(args, "resume")


def _control(args: argparse.Namespace, action: Action) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    store = DeltaStore.from_profile(conf.profile)
    version = request_control(store, conf, args.campaign_id, action, note=args.note)
    emit(
        f"campaign {args.campaign_id}: {action} recorded (campaign_controls version {version}); "
        "running deliveries apply it within seconds"
    )
    return 0


def _stop_on_signals() -> Callable[[], bool]:
    requested = {"stop": False}

    def handle(signum: int, frame: FrameType | None) -> None:
        requested["stop"] = True

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return lambda: requested["stop"]


def main(argv: list[str] | None = None) -> int:
    """`flink run -py jobs/deliver_job.py [--conf ...]` starts here."""
    return entry_main(
        argv, prog="deliver_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    sys.exit(main())
