"""Spark SQL for analysts without Python: statements of a file, a shell, a JDBC endpoint.

Results are printed as aligned text tables through `write` (the command passes
standard output), so the same code serves `-e`, `-f` and the shell.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from jobs.errors import OperatorError
from jobs.reporting.catalog import statement_text

Write = Callable[[str], None]


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


class SqlStatementError(OperatorError):
    """A statement Spark refused (syntax, an unknown table or column): where, and why."""


def run_statements(spark: SparkSession, text: str, *, where: str, limit: int, write: Write) -> None:
    """Each statement of `text` in turn; the first one Spark refuses stops the rest, named
    by its place (`-e`, or the file and statement number) and Spark's first line."""
    found = statements(text)
    for number, statement in enumerate(found, start=1):
        place = f"{where}, statement {number} of {len(found)}" if len(found) > 1 else where
        try:
            show(spark.sql(statement), limit=limit, write=write)
        except (AnalysisException, Py4JJavaError) as error:
            reason = _refusal(error)
            if reason is None:
                raise
            raise SqlStatementError(
                f"{place}: {reason}\n  {statement_text(statement)[:200]}\n"
                "Fix the statement; `campaigns sql` without -e/-f lists the tables and views."
            ) from None


def _refusal(error: Exception) -> str | None:
    """Spark's reason for refusing a statement; None for any other failure. Once PyFlink
    has run in the process, py4j hands the same refusal over as a Py4JJavaError."""
    if isinstance(error, AnalysisException):
        return _first_line(error)
    java = getattr(error, "java_exception", None)
    if java is None or not str(java.getClass().getName()).endswith(
        ("AnalysisException", "ParseException")
    ):
        return None
    return _first_line(Exception(str(java.getMessage())))


def _first_line(error: Exception) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)


def show(df: DataFrame, *, limit: int, write: Write) -> None:
    """A result as an aligned text table (at most `limit` rows, and says so)."""
    rows = df.limit(limit + 1).collect()
    header = df.columns
    cells = [[_cell(value) for value in row] for row in rows[:limit]]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    write("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in cells:
        write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    more = " (more not shown; --limit)" if len(rows) > limit else ""
    write(f"({min(len(rows), limit)} rows{more})")


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def shell(spark: SparkSession, *, limit: int, write: Write) -> None:
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
                    show(spark.sql(query), limit=limit, write=write)
                except Exception as error:  # the shell reports and carries on, like spark-sql
                    write(f"error: {_first_line(error)}")


def serve_jdbc(spark: SparkSession, *, host: str, port: int, write: Write) -> None:
    """The Spark Thrift server on this session (single-session mode: it sees the catalog)."""
    spark.conf.set("hive.server2.thrift.port", str(port))
    spark.conf.set("hive.server2.thrift.bind.host", host)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(
        spark._jsparkSession.sqlContext()
    )
    write(f"JDBC: jdbc:hive2://{host}:{port}/ (beeline -u ...; Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return
