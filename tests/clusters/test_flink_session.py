"""Delivery on a real Flink session cluster (JobManager and TaskManager on loopback),
submitted as an operator submits it: `flink run -m ... -pyexec ... -py jobs/cli.py`."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from jobs.config import load_conf
from jobs.dev.clusters import FLINK_HOME, flink_session
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT
from tests.delivery.conftest import append_events, standard_events
from tests.delivery.processes import conf_on_port, free_port, simulator_process, state

pytestmark = pytest.mark.slow

VENV_BIN = REPO_ROOT / ".venv" / "bin"
# What a cluster profile names for its TaskManagers; here it exists on no machine, so
# the job only runs if `flink run -pyexec` wins over the profile.
PROFILE_PYTHON = "/opt/elsewhere/bin/python"


def test_delivery_runs_on_the_session_cluster_and_sends_each_message_once(
    tmp_path: Path,
) -> None:
    port = free_port()
    conf_dir = conf_on_port(tmp_path, port)
    profile = conf_dir / "profiles" / "local.yaml"
    profile.write_text(
        re.sub(
            r"(\n  conf:\n)", rf"\1    python.executable: {PROFILE_PYTHON}\n", profile.read_text()
        )
    )
    store = DeltaStore(str(tmp_path / "warehouse"))
    events = standard_events()
    append_events(store, events)
    sendable = {e["message_id"] for e in events if not e["is_holdout"]}

    with flink_session(tmp_path, conf_dir) as session:
        env = {
            **session.env(),
            "CAMPAIGNS_WAREHOUSE_URI": str(tmp_path / "warehouse"),
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        }
        with simulator_process(conf_dir, port, env) as base:
            conf = load_conf(conf_dir)
            router = ProviderRouter(conf)
            assert deploy_library(conf, load_library(conf), router).ok
            router.close()
            done = subprocess.run(
                ["bash", str(FLINK_HOME / "bin" / "flink"), "run", "-m", session.rest_address,
                 "-pyclientexec", str(VENV_BIN / "python"), "-pyexec", str(VENV_BIN / "python"),
                 "-py", str(REPO_ROOT / "jobs" / "cli.py"), "deliver", "--conf", str(conf_dir)],
                env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                check=False,
            )  # fmt: skip
            delivered_twice = (state(base) or {})["delivered_twice"]
        jobs = session.get("/jobs/overview")["jobs"]

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"sent {len(sendable)}," in done.stdout
    # the job ran on the cluster, as one finished job
    assert [job["state"] for job in jobs] == ["FINISHED"]
    sends = store.read_arrow("message_sends", columns=["message_id", "status"]).to_pylist()
    by_message = Counter(s["message_id"] for s in sends)
    assert set(by_message.values()) == {1}
    assert {s["message_id"] for s in sends if s["status"] == "sent"} == sendable
    assert delivered_twice == 0
