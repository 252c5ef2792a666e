"""`campaigns sql`, the analysts' way in without Python.

    campaigns sql                      an interactive Spark SQL shell
    campaigns sql -e "select ..."      one query
    campaigns sql -f sql/rpt_x.sql     a file's statements, each one's result printed
    campaigns sql --jdbc [--port N]    a JDBC endpoint (Spark Thrift server) for BI
                                       tools and beeline, until Ctrl-C

Every warehouse table is registered at its current snapshot, with the
configuration's dimensions and every view and report of sql/ (reporting/catalog.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.commands.common import LOOPBACK, add_common_arguments, emit, spark_job
from jobs.errors import OperatorError
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.reporting.sql_shell import run_statements, serve_jdbc, shell


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("-e", "--execute", metavar="QUERY", help="run one query and print it")
    what.add_argument("-f", "--file", type=Path, help="run a file's statements")
    what.add_argument("--jdbc", action="store_true", help="serve JDBC (Thrift) until Ctrl-C")
    parser.add_argument("--port", type=int, default=10000, help="JDBC port (default 10000)")
    parser.add_argument("--sql-dir", type=Path, default=None, help="views (default ./sql)")
    parser.add_argument("--limit", type=int, default=200, help="rows printed per result")


def run(args: argparse.Namespace) -> int:
    if args.file and not args.file.is_file():
        raise OperatorError(
            f"no SQL file at {args.file}: give the path of a .sql file (the reports are in sql/)"
        )
    settings = {"spark.sql.hive.thriftServer.singleSession": "true"} if args.jdbc else {}
    with spark_job(args, app_name="campaigns-sql", extra_conf=settings) as job:
        catalog = register_catalog(
            job.spark, job.warehouse, job.conf, args.sql_dir or default_sql_dir(job.conf)
        )
        if args.jdbc:
            serve_jdbc(job.spark, host=LOOPBACK, port=args.port, write=emit)
        elif args.execute:
            run_statements(job.spark, args.execute, where="-e", limit=args.limit, write=emit)
        elif args.file:
            text = args.file.read_text(encoding="utf-8")
            run_statements(job.spark, text, where=str(args.file), limit=args.limit, write=emit)
        else:
            emit(f"tables: {', '.join(catalog.tables)}")
            emit(f"dimensions: {', '.join(catalog.dimensions)}")
            emit(f"views: {', '.join(catalog.views)}")
            shell(job.spark, limit=args.limit, write=emit)
    return 0
