"""What an analyst's notebook starts with: the catalog `campaigns sql` serves, as pandas.

    from jobs.reporting.notebook import open_catalog
    warehouse = open_catalog()
    warehouse.sql("select * from rpt_campaign_roi where retailer_id = :retailer",
                  retailer="fresh-mart")

The same tables, dimensions and sql/ views as the SQL shell, the JDBC endpoint and
the dashboards, so a notebook's numbers are the reports' numbers. Parameters are
bound, never pasted into the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession

from jobs.config import load_conf
from jobs.reporting.catalog import Catalog, default_sql_dir, register_catalog
from jobs.warehouse import Warehouse, build_spark


@dataclass
class AnalystCatalog:
    spark: SparkSession
    catalog: Catalog

    def sql(self, query: str, **params: Any) -> pd.DataFrame:
        """A query's result as a pandas DataFrame; `:name` placeholders take `params`."""
        return self.spark.sql(query, args=params or None).toPandas()

    def close(self) -> None:
        self.spark.stop()


def open_catalog(conf_dir: Path | None = None, *, profile: str | None = None) -> AnalystCatalog:
    """A Spark session with the whole catalog registered (warehouse from the profile,
    or $CAMPAIGNS_WAREHOUSE_URI)."""
    conf = load_conf(conf_dir, profile=profile)
    spark = build_spark(conf.profile, app_name="campaigns-notebook")
    warehouse = Warehouse.from_profile(spark, conf.profile)
    return AnalystCatalog(spark, register_catalog(spark, warehouse, conf, default_sql_dir(conf)))
