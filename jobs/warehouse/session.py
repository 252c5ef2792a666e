"""Builds the Spark session a job runs with, from its environment profile."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from jobs.config.models import Profile
from jobs.warehouse.datasource import DeltaRsDataSource

_DELTA_SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def build_spark(
    profile: Profile, *, app_name: str, extra_conf: dict[str, str] | None = None
) -> SparkSession:
    """A session with UTC time, the profile's sizing, and the delta_rs data source.

    Executors run the same interpreter as the driver, so the data source and
    the project package import there too (on a cluster, ship the wheel).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if profile.spark.master:
        builder = builder.master(profile.spark.master)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(profile.spark.shuffle_partitions),
        "spark.driver.memory": profile.spark.driver_memory,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.python.worker.reuse": "true",
        **(_DELTA_SPARK_CONF if profile.delta_engine == "delta-spark" else {}),
        **profile.spark.conf,
        **(extra_conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.dataSource.register(DeltaRsDataSource)
    return spark
