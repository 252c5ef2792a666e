"""`campaigns provider-sim`: the provider simulator on loopback, serving every workspace
of conf/ in the foreground until Ctrl-C.

    campaigns provider-sim --port 8610 [--render full|sample|off] [--faults '{"error_rate": 0.01}']
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from jobs.commands.common import LOOPBACK, add_common_arguments, emit
from jobs.config import load_conf
from jobs.dev.simulator.server import serve_forever, simulator_from_conf
from jobs.dev.simulator.state import Faults
from jobs.dev.synthetic.campaigns import platform_conf

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--port", type=int, default=8610, help="loopback port (default 8610)")
    parser.add_argument(
        "--render",
        choices=["full", "sample", "off"],
        default="sample",
        help="render every recipient, the first of each batch, or none",
    )
    parser.add_argument(
        "--retailers",
        type=int,
        default=None,
        help="serve conf/ grown to this many retailers (synthetic ones, for benchmarks)",
    )
    parser.add_argument(
        "--idempotency",
        choices=["on", "off"],
        default=None,
        help="on: drop repeated message ids (a provider that takes an idempotency key); "
        "off: send them again, as Braze does (default: as each workspace's conf declares)",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        default={},
        help='initial faults as JSON, e.g. {"error_rate": 0.01, "latency_ms": 20}',
    )


def _faults(text: str) -> dict[str, Any]:
    """The initial faults, checked before anything starts (argparse exits 2 with why)."""
    try:
        faults = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): {text}") from None
    if not isinstance(faults, dict):
        raise argparse.ArgumentTypeError(f'a JSON object, e.g. {{"error_rate": 0.01}}; got {text}')
    try:
        Faults().update(faults)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return faults


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    if args.retailers:
        conf = platform_conf(conf, args.retailers)
    deduplicates = None if args.idempotency is None else args.idempotency == "on"
    simulator = simulator_from_conf(
        conf, render_mode=args.render, faults=args.faults, deduplicates=deduplicates
    )
    for ws in list(simulator.workspaces.values())[:10]:
        emit(
            f"workspace {ws.workspace_id} (retailer {ws.retailer_id}): "
            f"http://{LOOPBACK}:{args.port}/ws/{ws.workspace_id}"
        )
    emit(f"admin: http://{LOOPBACK}:{args.port}/_admin/state; Ctrl-C stops")
    serve_forever(simulator, port=args.port)
    return 0
