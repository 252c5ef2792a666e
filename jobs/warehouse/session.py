"""Builds the Spark session a job runs with, from its environment profile."""

from __future__ import annotations

import os
import shlex
import sys

from pyspark.sql import SparkSession

from jobs.config.models import Profile
from jobs.warehouse.delta_log import on_object_store, storage_options_from_env
from jobs.warehouse.errors import WarehouseError
from jobs.warehouse.jars import DELTA_VERSION, warehouse_jars

# A local session listens on loopback only; by default Spark binds the address the
# host name resolves to, which may face the network.
_LOOPBACK = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
# delta-rs storage option -> Hadoop S3A setting (spark.hadoop.fs.s3a.*).
_S3A_KEYS = {
    "AWS_ACCESS_KEY_ID": "access.key",
    "AWS_SECRET_ACCESS_KEY": "secret.key",
    "AWS_SESSION_TOKEN": "session.token",
    "AWS_REGION": "endpoint.region",
    "AWS_ENDPOINT_URL": "endpoint",
}
_DELTA_SPARK_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def build_spark(
    profile: Profile, *, app_name: str, extra_conf: dict[str, str] | None = None
) -> SparkSession:
    """A session with UTC time, the profile's sizing, and Delta Lake (delta-spark).

    The master a launcher was given (`spark-submit --master`, or `--master` in
    PYSPARK_SUBMIT_ARGS) wins; the profile's master only applies when none was.
    Executors run the same interpreter as the driver unless the launcher says
    otherwise (on a cluster, ship the project as a zip: docs/operations.md).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    master = None if launcher_sets_master() else profile.spark.master
    if master:
        builder = builder.master(master)
    for key, value in spark_settings(profile, extra_conf, master=master).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if master is None and profile.spark.warehouse_jars == "fetch":
        _require_jars_on_classpath(spark, object_store=on_object_store(profile.warehouse_uri))
    return spark


def _require_jars_on_classpath(spark: SparkSession, *, object_store: bool) -> None:
    """spark-submit starts the JVM before Python runs, so jars named afterwards never
    reach the driver: say how to pass them instead of failing at the first read."""
    conf = spark.sparkContext.getConf()
    given = conf.get("spark.jars", "") + "," + conf.get("spark.jars.packages", "")
    needed = {"Delta Lake": "delta-spark", **({"S3A": "hadoop-aws"} if object_store else {})}
    missing = [what for what, jar in needed.items() if jar not in given]
    if missing:
        spark.stop()
        flag = " --object-store" if object_store else ""
        raise WarehouseError(
            f"this job was started by spark-submit without the {' and '.join(missing)} "
            f"jars; add `--jars $(python -m jobs.warehouse.jars{flag})` (or `--packages "
            f"io.delta:delta-spark_4.1_2.13:{DELTA_VERSION}`), or set "
            "`spark.warehouse_jars: provided` in the profile where the cluster has them"
        )


# Spark's own Prometheus support: the driver's metrics through the PrometheusServlet sink,
# the executors' through the UI (docs/operations.md#metrics).
PROMETHEUS_SETTINGS = {
    "spark.ui.enabled": "true",
    "spark.ui.prometheus.enabled": "true",
    "spark.metrics.conf.*.sink.prometheusServlet.class": (
        "org.apache.spark.metrics.sink.PrometheusServlet"
    ),
    "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
    "spark.metrics.appStatusSource.enabled": "true",
    # series named after the job (campaigns-launch), not the run's application id
    "spark.metrics.namespace": "${spark.app.name}",
}


def spark_settings(
    profile: Profile, extra_conf: dict[str, str] | None, *, master: str | None
) -> dict[str, str]:
    """Every setting the session gets: ours, then the profile's `conf`, then the job's."""
    spark = profile.spark
    object_store = on_object_store(profile.warehouse_uri)
    storage = storage_options_from_env(profile.storage_options_env) if object_store else {}
    settings = {
        **(_LOOPBACK if master and master.startswith("local") else {}),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(spark.shuffle_partitions),
        # Delta rebuilds a snapshot's state with a Spark job of this many partitions
        # (50 by default): the profile's sizing fits it to the machine.
        "spark.databricks.delta.snapshotPartitions": str(spark.shuffle_partitions),
        "spark.driver.memory": spark.driver_memory,
        **(PROMETHEUS_SETTINGS if spark.prometheus else {"spark.ui.enabled": "false"}),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.python.worker.reuse": "true",
        **_DELTA_SPARK_CONF,
        # Delta's SQL parser drops named parameters (`:retailer`) under Spark 4.1's
        # parameter-aware parsing (delta-io/delta#7640); binding them as constants
        # after parsing, Spark's earlier way, keeps `spark.sql(query, args=...)` working.
        "spark.sql.legacy.parameterSubstitution.constantsOnly": "true",
        **(s3a_settings(storage) if object_store else {}),
        **spark.conf,
        **(extra_conf or {}),
    }
    if spark.warehouse_jars == "fetch":
        jars = [str(path) for path in warehouse_jars(object_store=object_store)]
        # spark.jars ships them to executors; the driver's class path makes them visible
        # to every thread of the driver, the JDBC server's sessions included.
        settings["spark.jars"] = _joined(settings.get("spark.jars"), ",", jars)
        settings["spark.driver.extraClassPath"] = _joined(
            settings.get("spark.driver.extraClassPath"), ":", jars
        )
    return settings


def s3a_settings(options: dict[str, str]) -> dict[str, str]:
    """Hadoop's S3A settings from the delta-rs storage options, so Spark's executors and
    driver reach the same bucket with the same credentials as delta-rs.

    Spark redacts `secret.key` and `access.key` in its UI and logs. An endpoint (MinIO,
    R2, a test server) is addressed by path; an `http://` one without TLS.
    """
    settings = {
        f"spark.hadoop.fs.s3a.{key}": options[option]
        for option, key in _S3A_KEYS.items()
        if options.get(option)
    }
    if "AWS_SESSION_TOKEN" in options:
        settings["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
        )
    endpoint = options.get("AWS_ENDPOINT_URL")
    if endpoint:
        settings["spark.hadoop.fs.s3a.path.style.access"] = "true"
        settings["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
            endpoint.startswith("https://")
        ).lower()
    return settings


def _joined(existing: str | None, separator: str, added: list[str]) -> str:
    return separator.join(filter(None, [existing, *added]))


def launcher_sets_master() -> bool:
    """True when spark-submit (or PYSPARK_SUBMIT_ARGS) already chose the master.

    spark-submit starts the JVM before Python and hands it over through
    PYSPARK_GATEWAY_PORT, with `--master` (or its own default) already applied.
    """
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return True
    submit_args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    return any(arg == "--master" or arg.startswith("--master=") for arg in submit_args)
