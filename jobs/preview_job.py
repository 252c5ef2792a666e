"""Entry module: `campaigns preview`, one template rendered as a customer will see it,
or (`--serve`) the preview page for every retailer and template on loopback."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from jobs.config import load_conf
from jobs.loopback import LOOPBACK
from jobs.runtime import add_common_arguments, emit
from jobs.templates import load_library
from jobs.templates.preview import Preview, PreviewError, PreviewRequest, build_preview
from jobs.templates.preview_server import PreviewContext, serve_preview
from jobs.warehouse.store import DeltaStore

DEFAULT_OUT = Path("var/previews")


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
        serve_preview(PreviewContext(conf, library, store), port=args.port)
        return 0
    if not args.retailer or not args.template:
        raise PreviewError("give --retailer and --template (or --serve for the page)")
    request = PreviewRequest(
        retailer_id=args.retailer,
        template_id=args.template,
        campaign_id=args.campaign,
        variant_id=args.variant,
        customer_id=args.customer,
        edits=dict(_assignment(item) for item in args.set),
    )
    preview = build_preview(conf, library, request, store=store)
    for line in describe(preview, args.out):
        emit(line)
    return 1 if preview.error else 0


def _assignment(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise PreviewError(f"--set '{item}' is not NAME=VALUE")
    return name, value


def describe(preview: Preview, out: Path) -> list[str]:
    """The lines the command prints; email HTML is written to a file under `out`."""
    head = f"{preview.template_id} for {preview.retailer_id}, {preview.customer}"
    if preview.error:
        return [head, f"does not render: {preview.error}"]
    rendered = preview.rendered
    if preview.channel == "push":
        lines = [
            head,
            f"title:     {rendered['title']}",
            f"body:      {rendered['body']}",
            f"deep link: {rendered['deep_link']}",
        ]
    else:
        path = out / f"{_slug(preview.retailer_id)}-{_slug(preview.template_id)}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered["html"], encoding="utf-8")
        lines = [
            head,
            f"from:      {preview.variables.get('sender', '')}",
            f"subject:   {rendered['subject']}",
            f"preheader: {rendered['preheader']}",
            f"html:      {path} ({len(rendered['html'].encode()):,} bytes)",
            "text:",
            *(f"  {line}" if line else "" for line in rendered["text"].splitlines()),
        ]
    return lines + [f"warning: {problem}" for problem in preview.problems]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower())
