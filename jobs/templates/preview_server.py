"""The preview page: any retailer's email and push templates, re-rendered as variables change.

A small aiohttp application on loopback. The page asks for the catalog
(retailers, the templates each receives, their campaigns) and posts each edit
to /api/preview, which renders through `build_preview`: the page shows what the
delivery job would send, never a second rendering of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from jobs.config import Conf
from jobs.templates.library import TemplateLibrary
from jobs.templates.preview import PreviewError, PreviewRequest, build_preview
from jobs.warehouse.store import DeltaStore


@dataclass(frozen=True)
class PreviewContext:
    conf: Conf
    library: TemplateLibrary
    store: DeltaStore | None = None


CONTEXT = web.AppKey("preview", PreviewContext)


def preview_app(context: PreviewContext) -> web.Application:
    app = web.Application()
    app[CONTEXT] = context
    app.router.add_get("/", _page)
    app.router.add_get("/api/catalog", _catalog)
    app.router.add_post("/api/preview", _preview)
    return app


def serve_preview(context: PreviewContext, *, host: str, port: int) -> None:
    web.run_app(preview_app(context), host=host, port=port, print=None, access_log=None)


async def _page(request: web.Request) -> web.Response:
    page = resources.files("jobs.templates").joinpath("static/preview.html").read_text("utf-8")
    return web.Response(text=page, content_type="text/html")


async def _catalog(request: web.Request) -> web.Response:
    return web.json_response(catalog(request.app[CONTEXT]))


def catalog(context: PreviewContext) -> dict[str, Any]:
    """Per retailer: its templates and its campaigns, nothing of any other retailer."""
    conf, library = context.conf, context.library
    retailers = []
    for retailer in sorted(conf.retailers.values(), key=lambda r: r.retailer_id):
        campaigns = [c for c in conf.campaigns.values() if c.retailer_id == retailer.retailer_id]
        retailers.append(
            {
                "retailer_id": retailer.retailer_id,
                "brand_name": retailer.brand.name,
                "templates": [
                    {
                        "template_id": spec.deployed_id,
                        "channel": spec.channel,
                        "stage": spec.stage,
                        "description": spec.description,
                    }
                    for spec in library.for_retailer(retailer)
                ],
                "campaigns": [
                    {
                        "campaign_id": c.campaign_id,
                        "variants": [v.variant_id for v in c.variants],
                        "templates": sorted(
                            {*c.templates.values()}
                            | {t for v in c.variants for t in v.templates.values()}
                        ),
                    }
                    for c in sorted(campaigns, key=lambda c: c.campaign_id)
                ],
            }
        )
    return {"retailers": retailers}


async def _preview(request: web.Request) -> web.Response:
    context = request.app[CONTEXT]
    try:
        body = await request.json()
        edits = body.get("edits") or {}
        preview = build_preview(
            context.conf,
            context.library,
            PreviewRequest(
                retailer_id=str(body["retailer_id"]),
                template_id=str(body["template_id"]),
                campaign_id=body.get("campaign_id") or None,
                variant_id=body.get("variant_id") or None,
                customer_id=body.get("customer_id") or None,
                edits={str(k): str(v) for k, v in edits.items()},
            ),
            store=context.store,
        )
    except (PreviewError, KeyError, ValueError, AttributeError) as error:
        return web.json_response({"error": f"bad preview request: {error}"}, status=400)
    return web.json_response(preview.as_json())
