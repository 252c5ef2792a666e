"""`campaigns pause CAMPAIGN`: running deliveries stop sending it within seconds; its
messages are recorded paused and go out on the first delivery after `resume`."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.delivery.controls import Action, request_control
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of both `pause` and `resume`."""
    add_common_arguments(parser)
    parser.add_argument("campaign_id", help="a campaign of conf/campaigns")
    parser.add_argument("--note", default=None, help="why (kept with the control record)")


def run(args: argparse.Namespace) -> int:
    return record_control(args, "pause")


def record_control(args: argparse.Namespace, action: Action) -> int:
    """Append the control record that running and later deliveries obey."""
    conf = load_conf(args.conf, profile=args.profile)
    store = DeltaStore.from_profile(conf.profile)
    version = request_control(store, conf, args.campaign_id, action, note=args.note)
    emit(
        f"campaign {args.campaign_id}: {action} recorded (campaign_controls version {version}); "
        "running deliveries apply it within seconds"
    )
    return 0
