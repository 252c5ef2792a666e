"""Entry module: `campaigns sql`, the analysts' way in without Python.

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
import sys
import time
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from jobs.loopback import LOOPBACK
from jobs.reporting.catalog import default_sql_dir, register_catalog, statement_text
from jobs.runtime import add_common_arguments, emit, entry_main, spark_job


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
    settings = {"spark.sql.hive.thriftServer.singleSession": "true"} if args.jdbc else {}
    with spark_job(args, app_name="campaigns-sql", extra_conf=settings) as job:
        catalog = register_catalog(
            job.spark, job.warehouse, job.conf, args.sql_dir or default_sql_dir(job.conf)
        )
        if args.jdbc:
            serve_jdbc(job.spark, port=args.port)
        elif args.execute:
            show(job.spark.sql(args.execute), limit=args.limit)
        elif args.file:
            for statement in statements(args.file.read_text(encoding="utf-8")):
                show(job.spark.sql(statement), limit=args.limit)
        else:
            emit(f"tables: {', '.join(catalog.tables)}")
            emit(f"dimensions: {', '.join(catalog.dimensions)}")
            emit(f"views: {', '.join(catalog.views)}")
            shell(job.spark, limit=args.limit)
    return 0


def statements(text: str) -> list[str]:
    """`;`-separated statements (a `;` ends a statement at the end of a line)."""
    parts, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current))
            current = []
    parts.append("\n".join(current))
    return [statement for part in parts if (statement := statement_text(part))]


def show(df: DataFrame, *, limit: int) -> None:
    """A result as an aligned text table (at most `limit` rows, and says so)."""
    rows = df.limit(limit + 1).collect()
    header = df.columns
    cells = [[_cell(value) for value in row] for row in rows[:limit]]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    emit("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in cells:
        emit("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    more = " (more not shown; --limit)" if len(rows) > limit else ""
    emit(f"({min(len(rows), limit)} rows{more})")


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def shell(spark: SparkSession, *, limit: int) -> None:
    """Statements from standard input, each ended by `;`, until end of input."""
    buffer: list[str] = []
    prompt = "campaigns-sql> "
    while True:
        if sys.stdin.isatty():
            sys.stdout.write(prompt if not buffer else "            -> ")
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return
        buffer.append(line)
        if line.rstrip().endswith(";"):
            query = statement_text("".join(buffer))
            buffer = []
            if query:
                try:
                    show(spark.sql(query), limit=limit)
                except Exception as error:  # the shell reports and carries on, like spark-sql
                    emit(f"error: {str(error).splitlines()[0]}")


def serve_jdbc(spark: SparkSession, *, port: int) -> None:
    """The Spark Thrift server on this session (single-session mode: it sees the catalog)."""
    spark.conf.set("hive.server2.thrift.port", str(port))
    spark.conf.set("hive.server2.thrift.bind.host", LOOPBACK)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(
        spark._jsparkSession.sqlContext()
    )
    emit(f"JDBC: jdbc:hive2://{LOOPBACK}:{port}/ (beeline -u ...; Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="sql_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    raise SystemExit(main())
