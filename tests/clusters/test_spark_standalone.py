"""The Spark jobs on a real standalone cluster (master and worker on loopback), submitted
as an operator submits them: `spark-submit --master spark://...` with the packaged
project as `--py-files` and executors whose Python does not have the checkout, the
warehouse in an S3-compatible bucket (moto's server on loopback) that the executors
write through S3A."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jobs.config import load_conf
from jobs.dev.clusters import ObjectStore, SparkCluster, object_store, spark_env, spark_standalone
from jobs.dev.package import write_package_zip
from jobs.warehouse.jars import warehouse_jars
from jobs.warehouse.store import DeltaStore
from tests.clusters.executors import interpreter_without_the_project
from tests.conftest import REPO_ROOT

VENV_BIN = REPO_ROOT / ".venv" / "bin"

pytestmark = pytest.mark.slow


JOBS = ["campaigns-check-executors", "campaigns-launch", "campaigns-attribution"]


def submit(
    cluster: SparkCluster, bucket: ObjectStore, shipped: tuple[Path, Path], *args: str
) -> str:
    """`spark-submit jobs/cli.py ARGS` to the cluster, shipping the package zip to
    executors running `python`. The local profile names `local[2]` as its master, so
    the app only reaches the cluster if --master wins."""
    package, python = shipped
    done = subprocess.run(
        [str(VENV_BIN / "spark-submit"), "--master", cluster.master_url,
         "--py-files", str(package), "--conf", f"spark.pyspark.python={python}",
         "--jars", ",".join(str(jar) for jar in warehouse_jars(object_store=True)),
         "--conf", f"spark.pyspark.driver.python={VENV_BIN / 'python'}",
         "--executor-memory", "1g",
         str(REPO_ROOT / "jobs" / "cli.py"), *args],
        env={**spark_env(), **bucket.env()},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def test_launch_and_attribution_run_on_the_cluster_into_a_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = write_package_zip(REPO_ROOT, tmp_path / "dist")
    shipped = (package, interpreter_without_the_project(tmp_path))
    with object_store(tmp_path) as bucket, spark_standalone(tmp_path) as cluster:
        checked = submit(cluster, bucket, shipped, "check-executors")
        # the synthetic warehouse is a development tool, outside the production package
        subprocess.run(
            [str(VENV_BIN / "campaigns"), "seed", "--customers", "600", "--orders", "3000"],
            env={**spark_env(), **bucket.env()}, cwd=REPO_ROOT, capture_output=True,
            timeout=300, check=True,
        )  # fmt: skip
        submit(
            cluster, bucket, shipped, "launch", "--all", "--as-of", "2026-11-01",
            "--skip-quality",
        )  # fmt: skip
        attributed = submit(cluster, bucket, shipped, "attribute")
        apps = cluster.completed_apps()
        for name, value in bucket.env().items():  # this process reads as the jobs did
            monkeypatch.setenv(name, value)
        events = DeltaStore.from_profile(load_conf(REPO_ROOT / "conf").profile).delta_table(
            "campaign_events"
        )
        event_keys = bucket.keys("warehouse/campaign_events")
        attributed_keys = bucket.keys("warehouse/attributed_orders/_delta_log")

    # every job registered on the master and ran on its executors, not in local mode
    assert sorted(app["name"] for app in apps) == sorted(JOBS)
    assert all(app["cores"] > 0 for app in apps)
    executor_logs = list(cluster.work_dir.glob("app-*/*/stderr"))
    assert len(executor_logs) >= len(apps)
    # the executors imported the project from the shipped zip, not from the checkout
    assert f"jobs from ./{package.name}/jobs/__init__.py" in checked
    assert "ok;" in checked
    # what the executors wrote into the bucket is a Delta table both engines read
    assert events.version() == 1
    added = events.get_add_actions(flatten=True)
    assert sum(added.column("num_records").to_pylist()) > 0
    assert {
        f"campaigns/warehouse/campaign_events/{path}" for path in added.column("path").to_pylist()
    } <= set(event_keys)
    # nothing was delivered, so nothing is attributed, but the job read every table
    assert "attribution for 3 retailers: 0 orders attributed" in attributed
    assert any(key.endswith(".json") for key in attributed_keys)
