"""One real DAG run: `airflow dags test` launches and delivers a campaign on the local
embedded default (Spark, the Flink mini cluster, Delta in a temporary warehouse, the
provider simulator on loopback), then the same logical date is shown to be idempotent.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import PROJECT

DAG_ID = "campaign_launch__maple_market_weekly_deals"
CAMPAIGN = "maple-market-weekly-deals"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
CAMPAIGNS = str(PROJECT / ".venv" / "bin" / "campaigns")


@pytest.fixture(scope="module")
def port() -> int:
    """A free loopback port for the simulator (never one a second checkout may hold)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, port: int) -> dict[str, str]:
    """The jobs write to a temporary warehouse and read a copy of the checkout's conf/
    whose workspaces are served on `port`."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    conf = tmp_path_factory.mktemp("project") / "conf"
    shutil.copytree(PROJECT / "conf", conf)
    for path in [conf / "platform.yaml", *(conf / "retailers").glob("*.yaml")]:
        path.write_text(re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", path.read_text()))
    clean = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**clean, "CAMPAIGNS_WAREHOUSE_URI": str(warehouse), "CAMPAIGNS_CONF": str(conf)}


def run(argv: list[str], env: dict[str, str], timeout: float = 600) -> str:
    finished = subprocess.run(
        argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, f"{argv} exited {finished.returncode}:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def provider(env: dict[str, str], port: int) -> Iterator[None]:
    """The warehouse seeded, the simulator serving every workspace, templates deployed."""
    run([CAMPAIGNS, "seed", "--customers", "4000", "--orders", "40000"], env)
    server = subprocess.Popen(
        [CAMPAIGNS, "provider-sim", "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, server)
        run([CAMPAIGNS, "deploy-templates"], env)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the provider simulator exited at start"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@pytest.fixture(scope="module")
def airflow_db(env: dict[str, str]) -> None:
    run([AIRFLOW, "db", "migrate"], env)
    run([AIRFLOW, "pools", "set", "campaigns_delivery", "1", "one delivery at a time"], env)
    run([AIRFLOW, "dags", "reserialize"], env)


def test_a_campaign_launch_dag_runs_end_to_end_and_reruns_idempotently(
    env: dict[str, str], provider: None, airflow_db: None
) -> None:
    today = datetime.now(UTC).date().isoformat()
    output = run([AIRFLOW, "dags", "test", DAG_ID, today], env, timeout=1200)
    assert f"DagRun Finished: dag_id={DAG_ID}" in output
    assert "state=success" in output
    for task_id in ("validate_config", "check_inputs", "launch", "deliver", "check_run"):
        assert f"[DAG TEST] end task task_id={task_id}" in output
    assert f"launched {CAMPAIGN}-{today.replace('-', '')}" in output

    checked = run([CAMPAIGNS, "check-run", CAMPAIGN, "--as-of", today, "--allow-pending"], env)
    sent = int(checked.split("sent ")[1].split(",")[0].split()[0].replace(",", ""))
    assert sent > 100

    # The same logical date again: the launch writes nothing, delivery sends nothing more.
    again = run([AIRFLOW, "tasks", "test", DAG_ID, "launch", today], env)
    assert f"already launched (nothing written): {CAMPAIGN}-{today.replace('-', '')}" in again
    rerun = run([CAMPAIGNS, "check-run", CAMPAIGN, "--as-of", today, "--allow-pending"], env)
    assert rerun.splitlines()[-1] == checked.splitlines()[-1]
