"""`campaigns dashboard`: one HTML dashboard per retailer from the SQL reports, written
under --out and (with --serve) served on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.commands.common import LOOPBACK, add_common_arguments, emit, spark_job
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.reporting.dashboard_server import serve_dashboards
from jobs.reporting.dashboards import DEFAULT_DASHBOARD_DIR, REPORTS, write_dashboards


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--out", type=Path, default=DEFAULT_DASHBOARD_DIR, help="where pages go")
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
        serve_dashboards(args.out, host=LOOPBACK, port=args.port)
    return 0
