"""`campaigns preview`: one template rendered as a customer will see it, or (`--serve`)
the preview page for every retailer and template on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.commands.common import LOOPBACK, add_common_arguments, emit
from jobs.config import load_conf
from jobs.templates import load_library
from jobs.templates.preview import (
    PreviewError,
    PreviewRequest,
    build_preview,
    describe,
    parse_edits,
)
from jobs.templates.preview_server import PreviewContext, serve_preview
from jobs.warehouse.store import DeltaStore

DEFAULT_OUT = Path("var/previews")  # where email HTML is written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--retailer", help="retailer id (conf/retailers)")
    parser.add_argument("--template", help="template id, as campaigns name it")
    parser.add_argument("--campaign", help="apply this campaign's overrides (and its variant's)")
    parser.add_argument("--variant", help="the campaign's variant (default: its first)")
    parser.add_argument(
        "--customer", help="a real customer id of the retailer (default: the sample customer)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="try a value for one variable (repeatable); wins over every layer",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where email HTML goes")
    parser.add_argument("--serve", action="store_true", help="serve the preview page instead")
    parser.add_argument("--port", type=int, default=8700, help="preview page port (--serve)")


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    store = DeltaStore.from_profile(conf.profile)
    if args.serve:
        emit(f"template preview on http://{LOOPBACK}:{args.port}/ (Ctrl-C stops it)")
        serve_preview(PreviewContext(conf, library, store), host=LOOPBACK, port=args.port)
        return 0
    if not args.retailer or not args.template:
        raise PreviewError("give --retailer and --template (or --serve for the page)")
    request = PreviewRequest(
        retailer_id=args.retailer,
        template_id=args.template,
        campaign_id=args.campaign,
        variant_id=args.variant,
        customer_id=args.customer,
        edits=parse_edits(args.set),
    )
    preview = build_preview(conf, library, request, store=store)
    for line in describe(preview, args.out):
        emit(line)
    return 1 if preview.error else 0
