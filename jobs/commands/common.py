"""What every command module shares: common flags, config, the Spark session, output.

The command layer is the only place that parses arguments or writes to standard
output; library code returns values and raises typed errors."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import Conf, load_conf
from jobs.warehouse import Warehouse, build_spark

# The exit code of a run that found nothing to do (a scheduler skips the task).
NOTHING_TO_DO = 99
# Every server the product starts (preview page, dashboards, JDBC) binds here only.
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class JobContext:
    conf: Conf
    spark: SparkSession
    warehouse: Warehouse


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conf",
        type=Path,
        default=None,
        help="configuration folder (default: $CAMPAIGNS_CONF or ./conf)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        help="environment profile in conf/profiles (default: $CAMPAIGNS_PROFILE or local)",
    )


def day_argument(text: str) -> date:
    """`--as-of 2026-11-01`: a calendar day, or argparse's exit 2 saying the format."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a day; write it as YYYY-MM-DD, e.g. 2026-11-01"
        ) from None


def moment_argument(text: str) -> datetime:
    """`--as-of 2026-11-01` or `2026-11-01T09:00`: a day or a time, UTC unless it says."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date or time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM[+HH:MM], "
            "e.g. 2026-11-01 or 2026-11-01T09:00:00+00:00"
        ) from None
    return parsed.replace(tzinfo=parsed.tzinfo or UTC)


# Run ids go into tables, file names and Delta commit metadata: the same spelling rule as
# campaign ids, so none can carry quotes, slashes or spaces.
RUN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def run_id_argument(text: str) -> str:
    if not RUN_ID.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a run id: lower-case letters, digits, '-' and '_', starting with "
            "a letter or digit, at most 100 characters (e.g. fresh-mart-winback-20261101)"
        )
    return text


def add_retailer_option(parser: argparse.ArgumentParser, what: str) -> None:
    """`--retailer R` (repeatable): limit a job to some tenants; `what` says to what end."""
    parser.add_argument(
        "--retailer",
        action="append",
        default=None,
        help=f"{what} (repeatable; default: every configured retailer)",
    )


def selected_retailers(conf: Conf, retailer_ids: list[str] | None) -> list[str]:
    """The `--retailer` ids, each known (an unknown one fails before any work), or all."""
    for retailer_id in retailer_ids or []:
        conf.retailer(retailer_id)
    return list(retailer_ids) if retailer_ids else sorted(conf.retailers)


# SQLQueryContextLogger: PySpark logs every failed query with its JVM stack trace as JSON;
# the error raised already says what is wrong, once.
QUIET_LOGGERS = ("great_expectations", "py4j", "aiohttp.access")


def configure_logging() -> None:
    """Our jobs log at INFO; libraries (Beam, py4j, GE) only when something is wrong."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    logging.getLogger("jobs").setLevel(logging.INFO)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@contextmanager
def spark_job(
    args: argparse.Namespace,
    *,
    app_name: str,
    extra_conf: dict[str, str] | None = None,
    conf: Conf | None = None,
) -> Iterator[JobContext]:
    """Validate configuration first (nothing starts on a bad conf/), then start Spark.
    A command that checked its request against `conf` already passes it in."""
    conf = conf or load_conf(args.conf, profile=args.profile)
    spark = build_spark(conf.profile, app_name=app_name, extra_conf=extra_conf)
    try:
        yield JobContext(conf, spark, Warehouse.from_profile(spark, conf.profile))
    finally:
        spark.stop()


def emit(text: str) -> None:
    """Job output for the operator (reports, summaries) goes to standard output."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
