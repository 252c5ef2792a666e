"""Serving the written dashboards: /<retailer>/ is that retailer's page, and nothing
outside the dashboards folder is ever served."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from jobs.config.models import IDENTIFIER_PATTERN


def dashboard_app(out_dir: Path) -> web.Application:
    """The written pages as static files: /<retailer>/ is that retailer's dashboard."""
    app = web.Application()

    async def page(request: web.Request) -> web.FileResponse:
        retailer = request.match_info["retailer"]
        if not re.match(IDENTIFIER_PATTERN, retailer):  # %00, dots, slashes: never a path
            raise web.HTTPNotFound(text=f"no dashboard for {retailer!r}")
        path = (out_dir / retailer / "index.html").resolve()
        if out_dir.resolve() not in path.parents or not path.is_file():
            raise web.HTTPNotFound(text=f"no dashboard for '{retailer}'")
        return web.FileResponse(path)

    app.router.add_get("/{retailer}/", page)
    return app


def serve_dashboards(out_dir: Path, *, host: str, port: int) -> None:
    """In the foreground until interrupted (`campaigns dashboard --serve`)."""
    web.run_app(dashboard_app(out_dir), host=host, port=port, print=None)
