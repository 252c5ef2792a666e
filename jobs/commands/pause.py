"""`campaigns pause CAMPAIGN` (or `--retailer R`, every campaign of a retailer: how a
workspace is drained): running deliveries stop sending within seconds; the messages are
recorded paused and go out on the first delivery after `resume`."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.delivery.controls import Action, campaigns_of, request_control
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of both `pause` and `resume`."""
    add_common_arguments(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("campaign_id", nargs="?", help="a campaign of conf/campaigns")
    target.add_argument(
        "--retailer", default=None, help="every campaign of this retailer (drain its workspace)"
    )
    parser.add_argument("--note", default=None, help="why (kept with the control record)")


def run(args: argparse.Namespace) -> int:
    return record_control(args, "pause")


def record_control(args: argparse.Namespace, action: Action) -> int:
    """Append the control record that running and later deliveries obey."""
    conf = load_conf(args.conf, profile=args.profile)
    store = DeltaStore.from_profile(conf.profile)
    campaign_ids = campaigns_of(conf, args.retailer) if args.retailer else [args.campaign_id]
    version = request_control(store, conf, campaign_ids, action, note=args.note)
    emit(
        f"campaign {', '.join(campaign_ids)}: {action} recorded (campaign_controls version "
        f"{version}); running deliveries apply it within seconds"
    )
    return 0
