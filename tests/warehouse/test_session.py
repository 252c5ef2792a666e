"""Who decides how a job runs: the launcher's command line over the profile, loopback
for local sessions, the Delta jars handed to Spark."""

from __future__ import annotations

import pytest

from jobs.config import load_conf
from jobs.config.models import FlinkSettings, Profile, SparkSettings
from jobs.delivery.flink import job_settings
from jobs.warehouse.session import PROMETHEUS_SETTINGS, launcher_sets_master, spark_settings
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_CONF


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"PYSPARK_SUBMIT_ARGS": "--driver-memory 2g pyspark-shell"}, False),
        ({"PYSPARK_SUBMIT_ARGS": "--master spark://spark-master:7077 pyspark-shell"}, True),
        ({"PYSPARK_SUBMIT_ARGS": "--master=yarn pyspark-shell"}, True),
        ({"PYSPARK_GATEWAY_PORT": "41000"}, True),  # started by spark-submit
    ],
)
def test_a_master_given_to_the_launcher_wins_over_the_profile(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    for name in ("PYSPARK_SUBMIT_ARGS", "PYSPARK_GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert launcher_sets_master() is expected


def test_local_sessions_listen_on_loopback_and_get_the_warehouse_jars() -> None:
    local = Profile(name="local", warehouse_uri="/tmp/w")
    settings = spark_settings(local, None, master="local[2]")
    assert settings["spark.driver.bindAddress"] == "127.0.0.1"
    assert "delta-spark_4.1_2.13-4.4.0.jar" in settings["spark.jars"]
    assert "hadoop-aws" not in settings["spark.jars"]
    assert settings["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert not any(key.startswith("spark.hadoop.fs.s3a") for key in settings)

    provided = local.model_copy(update={"spark": SparkSettings(warehouse_jars="provided")})
    on_a_cluster = spark_settings(provided, None, master=None)
    assert "spark.driver.bindAddress" not in on_a_cluster
    assert "spark.jars" not in on_a_cluster


def test_the_cluster_profile_serves_spark_metrics_for_prometheus_and_local_runs_no_ui() -> None:
    """Spark's own PrometheusServlet and executor endpoint, turned on where a Prometheus
    scrapes the driver; the local default keeps the UI off (a faster start)."""
    cluster = load_conf(REPO_CONF, profile="cluster").profile
    served = spark_settings(cluster, None, master=None)
    assert {key: served[key] for key in PROMETHEUS_SETTINGS} == PROMETHEUS_SETTINGS

    local = spark_settings(load_conf(REPO_CONF).profile, None, master="local[2]")
    assert local["spark.ui.enabled"] == "false"
    assert "spark.ui.prometheus.enabled" not in local


def test_a_warehouse_in_a_bucket_gives_spark_s3a_with_delta_rs_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_S3_KEY", "key-id")
    monkeypatch.setenv("TEST_S3_SECRET", "not-in-the-repository")
    monkeypatch.setenv("TEST_S3_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("TEST_S3_REGION", raising=False)
    profile = Profile(
        name="objects",
        warehouse_uri="s3://bucket/warehouse",
        storage_options_env={
            "AWS_ACCESS_KEY_ID": "TEST_S3_KEY",
            "AWS_SECRET_ACCESS_KEY": "TEST_S3_SECRET",
            "AWS_ENDPOINT_URL": "TEST_S3_ENDPOINT",
            "AWS_REGION": "TEST_S3_REGION",
        },
    )
    settings = spark_settings(profile, None, master="local[2]")
    assert "hadoop-aws-3.4.2.jar" in settings["spark.jars"]
    assert "s3-2.29.52.jar" in settings["spark.driver.extraClassPath"]
    s3a = {k.removeprefix("spark.hadoop.fs.s3a."): v for k, v in settings.items() if "s3a" in k}
    assert s3a == {
        "access.key": "key-id",
        "secret.key": "not-in-the-repository",
        "endpoint": "http://127.0.0.1:9",
        "path.style.access": "true",
        "connection.ssl.enabled": "false",
    }
    # delta-rs is allowed the plain-HTTP endpoint the operator named
    assert DeltaStore.from_profile(profile).storage_options["AWS_ALLOW_HTTP"] == "true"


def test_flink_run_options_win_over_the_profile() -> None:
    profile = Profile(
        name="cluster",
        warehouse_uri="/tmp/w",
        flink=FlinkSettings(conf={"python.executable": "/opt/env/bin/python", "x.y": "1"}),
    )
    assert job_settings(profile, {})["python.executable"] == "/opt/env/bin/python"
    given = job_settings(profile, {"python.executable": "/srv/py", "x.y": "2"})
    assert "python.executable" not in given and "x.y" not in given
    assert given["restart-strategy.type"] == "none"
