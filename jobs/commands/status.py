"""`campaigns status [--json]`: the command an operator runs first. Per retailer, the
messages not yet final (never tried, deferred by reason, paused, in doubt) and the
oldest one's age, paused campaigns and today's email against the warming cap; then the
stream's offset, the delivery lease and each job's last commit (Delta logs only).
`--push` also publishes it as gauges (docs/operations.md#metrics), for a scheduler to run
every few minutes where no `deliver --follow` serves them."""

from __future__ import annotations

import argparse
import json

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.delivery.status import warehouse_status
from jobs.errors import OperatorError
from jobs.metrics.publish import PUSHGATEWAY_ENV, TEXTFILE_DIR_ENV, combined, publish
from jobs.metrics.status import status_metrics
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    parser.add_argument(
        "--push",
        action="store_true",
        help=f"also publish it as gauges (${PUSHGATEWAY_ENV} and/or ${TEXTFILE_DIR_ENV})",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    status = warehouse_status(DeltaStore.from_profile(conf.profile), conf)
    emit(json.dumps(status.to_json(), indent=2) if args.json else "\n".join(status.lines()))
    if args.push:
        published = publish("status", combined(status_metrics(status)))
        if not published:
            raise OperatorError(
                f"--push: neither ${PUSHGATEWAY_ENV} nor ${TEXTFILE_DIR_ENV} is set, so there "
                "is nowhere to publish; set one (docs/operations.md#metrics)"
            )
        for line in published:
            emit(line)
    return 0
