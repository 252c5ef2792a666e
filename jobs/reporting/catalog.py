"""What an analyst's SQL sees: every warehouse table, the configuration's dimensions,
and every view and report of sql/, registered in one Spark session.

    tables       each warehouse table at its current snapshot (empty, with its
                 schema, before it first exists), under its own name
    dimensions   dim_retailers, dim_campaigns, dim_variants, dim_channel_costs,
                 dim_reporting_settings: from conf/, so SQL needs no Python
    sql/*.sql    one query a file, registered as a view named after the file
                 (fct_* before rpt_*; a view may use any other)

`campaigns sql`, the JDBC endpoint and the dashboards all query this catalog,
so a dashboard's numbers are the SQL reports' numbers.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from jobs.config import Conf
from jobs.errors import OperatorError
from jobs.warehouse import TABLES, Warehouse

CONTROL_VARIANT = "control"


class SqlError(OperatorError):
    """A file of sql/ that does not run, with the reason Spark gave."""


@dataclass(frozen=True)
class Catalog:
    tables: list[str]
    dimensions: list[str]
    views: list[str]


def default_sql_dir(conf: Conf) -> Path:
    """sql/ beside conf/ (the repository layout), else ./sql."""
    beside = conf.root.parent / "sql"
    return beside if beside.is_dir() else Path("sql")


def register_catalog(
    spark: SparkSession,
    warehouse: Warehouse,
    conf: Conf,
    sql_dir: Path,
    *,
    views: Collection[str] | None = None,
) -> Catalog:
    """Register tables, dimensions and the sql/ views (`views` and what they read, or all).

    Registering again (a new snapshot of the tables) replaces every name.
    """
    for name in TABLES:
        warehouse.read_or_empty(name).createOrReplaceTempView(name)
    dimensions = dimension_frames(spark, conf)
    for name, frame in dimensions.items():
        frame.createOrReplaceTempView(name)
    return Catalog(sorted(TABLES), sorted(dimensions), register_views(spark, sql_dir, views))


def register_views(
    spark: SparkSession, sql_dir: Path, wanted: Collection[str] | None = None
) -> list[str]:
    """Each sql/*.sql (or those `wanted` need) as a view, every file after the views it reads."""
    queries = {
        path.stem: statement_text(path.read_text(encoding="utf-8"))
        for path in sorted(sql_dir.glob("*.sql"))
    }
    ordered = dependency_order(queries)
    if wanted is not None:
        needed = _with_dependencies(queries, wanted, sql_dir)
        ordered = [name for name in ordered if name in needed]
    for name in ordered:
        try:
            # Each view is computed once, on first use, and kept (a local checkpoint):
            # reports read the same fact views several times in one plan, and Spark 4.1
            # inlines CTEs of views used twice into an invalid plan (InlineCTE).
            spark.sql(queries[name]).localCheckpoint(eager=False).createOrReplaceTempView(name)
        except AnalysisException as error:
            reason = str(error).splitlines()[0]
            raise SqlError(f"{sql_dir / name}.sql does not run: {reason}") from error
    return ordered


def _with_dependencies(queries: dict[str, str], wanted: Collection[str], sql_dir: Path) -> set[str]:
    unknown = sorted(set(wanted) - set(queries))
    if unknown:
        raise SqlError(f"no such view in {sql_dir}: {unknown} (views: {sorted(queries)})")
    mentions = _mentions(queries)
    needed: set[str] = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += mentions[name]
    return needed


def dependency_order(queries: dict[str, str]) -> list[str]:
    """Names ordered so that each comes after the other views its query mentions."""
    mentions = _mentions(queries)
    ordered: list[str] = []
    while len(ordered) < len(queries):
        ready = sorted(n for n in queries if n not in ordered and mentions[n] <= set(ordered))
        if not ready:
            cycle = sorted(set(queries) - set(ordered))
            raise SqlError(f"sql/ views that read each other in a cycle: {cycle}")
        ordered += ready
    return ordered


def _mentions(queries: dict[str, str]) -> dict[str, set[str]]:
    """The other views each query reads."""
    return {
        name: {other for other in queries if other != name and re.search(rf"\b{other}\b", q)}
        for name, q in queries.items()
    }


def statement_text(text: str) -> str:
    """One statement as Spark's parser takes it: no whole-line comments, no trailing `;`."""
    lines = [line for line in text.strip().splitlines() if not line.strip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


def dimension_frames(spark: SparkSession, conf: Conf) -> dict[str, DataFrame]:
    """The configuration as small tables: retailers, campaigns, variants, costs, settings."""
    reporting = conf.platform.reporting
    retailers = [
        (r.retailer_id, r.brand.name, r.slug, r.ip_pool, r.timezone, ",".join(r.channels))
        for r in conf.retailers.values()
    ]
    campaigns = [
        (c.retailer_id, c.campaign_id, c.type, ",".join(c.channels), c.holdout_share)
        for c in conf.campaigns.values()
    ]
    variants = []
    for c in conf.campaigns.values():
        ids = [v.variant_id for v in c.variants]
        control = CONTROL_VARIANT if CONTROL_VARIANT in ids else ids[0]
        for position, v in enumerate(c.variants):
            offer = v.offer.kind if v.offer else None
            keys = (c.retailer_id, c.campaign_id, v.variant_id)
            variants.append(
                (*keys, position, v.weight, v.variant_id == control, bool(offer), offer)
            )
    z_critical = NormalDist().inv_cdf(1 - (1 - reporting.confidence) / 2)
    settings = [
        (
            reporting.attribution.click_hours,
            reporting.attribution.open_hours,
            reporting.attribution.send_hours,
            reporting.conversion_window_days,
            reporting.min_recipients_per_arm,
            reporting.min_conversions_per_arm,
            reporting.confidence,
            z_critical,
        )
    ]
    costs = sorted(reporting.cost_per_thousand_cents.items())
    return {
        "dim_retailers": spark.createDataFrame(
            retailers,
            "retailer_id string, brand_name string, slug string, ip_pool string, "
            "timezone string, channels string",
        ),
        "dim_campaigns": spark.createDataFrame(
            campaigns,
            "retailer_id string, campaign_id string, campaign_type string, channels string, "
            "holdout_share double",
        ),
        "dim_variants": spark.createDataFrame(
            variants,
            "retailer_id string, campaign_id string, variant_id string, position int, "
            "weight double, is_control boolean, has_offer boolean, offer_kind string",
        ),
        "dim_channel_costs": spark.createDataFrame(
            costs, "channel string, cost_per_thousand_cents bigint"
        ),
        "dim_reporting_settings": spark.createDataFrame(
            settings,
            "click_hours int, open_hours int, send_hours int, conversion_window_days int, "
            "min_recipients_per_arm int, min_conversions_per_arm int, confidence double, "
            "z_critical double",
        ),
    }
