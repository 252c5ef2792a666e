"""Entry module: `campaigns dashboard`, one HTML dashboard per retailer from the SQL
reports, written under --out and (with --serve) served on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web

from jobs.loopback import LOOPBACK
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.reporting.dashboards import REPORTS, write_dashboards
from jobs.runtime import add_common_arguments, emit, spark_job

DEFAULT_OUT = Path("var/dashboards")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where pages go")
    parser.add_argument("--serve", action="store_true", help="then serve them on loopback")
    parser.add_argument("--port", type=int, default=8701, help="port for --serve")


def run(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-dashboards") as job:
        # only the reports the pages show, and what they read
        register_catalog(
            job.spark, job.warehouse, job.conf, default_sql_dir(job.conf), views=REPORTS
        )
        for dashboard in write_dashboards(job.spark, job.conf, args.out):
            emit(f"dashboard of {dashboard.retailer_id}: {dashboard.path}")
    if args.serve:
        emit(f"serving {args.out} on http://{LOOPBACK}:{args.port}/<retailer>/ (Ctrl-C stops)")
        web.run_app(dashboard_app(args.out), host=LOOPBACK, port=args.port, print=None)
    return 0


def dashboard_app(out_dir: Path) -> web.Application:
    """The written pages as static files: /<retailer>/ is that retailer's dashboard."""
    app = web.Application()

    async def page(request: web.Request) -> web.FileResponse:
        retailer = request.match_info["retailer"]
        path = (out_dir / retailer / "index.html").resolve()
        if out_dir.resolve() not in path.parents or not path.is_file():
            raise web.HTTPNotFound(text=f"no dashboard for '{retailer}'")
        return web.FileResponse(path)

    app.router.add_get("/{retailer}/", page)
    return app
