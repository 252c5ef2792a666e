"""Who decides how a job runs: the launcher's command line over the profile, loopback
for local sessions, the Delta jars handed to Spark."""

from __future__ import annotations

import pytest

from jobs.config.models import FlinkSettings, Profile, SparkSettings
from jobs.delivery.flink import job_settings
from jobs.warehouse.session import launcher_sets_master, spark_settings


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"PYSPARK_SUBMIT_ARGS": "--driver-memory 2g pyspark-shell"}, False),
        ({"PYSPARK_SUBMIT_ARGS": "--master spark://127.0.0.1:7077 pyspark-shell"}, True),
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


def test_local_sessions_listen_on_loopback_and_get_the_delta_jars() -> None:
    settings = spark_settings(SparkSettings(), None, master="local[2]")
    assert settings["spark.driver.bindAddress"] == "127.0.0.1"
    assert "delta-spark_4.1_2.13-4.4.0.jar" in settings["spark.jars"]
    assert settings["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"

    on_a_cluster = spark_settings(SparkSettings(delta_jars="provided"), None, master=None)
    assert "spark.driver.bindAddress" not in on_a_cluster
    assert "spark.jars" not in on_a_cluster


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
