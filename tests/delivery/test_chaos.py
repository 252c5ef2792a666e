"""Exactly once against a provider that sends a repeated message id again (as Braze does):
deliveries killed with -9 at random points, a Python worker killed under a running one,
a second delivery started beside one, deferrals left by a dead run, then a run to the
end. Every request the simulator saw is counted; nothing may have gone out twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from jobs.config import load_conf
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.delivery.conftest import append_events, event_rows, standard_events
from tests.delivery.processes import (
    CAMPAIGNS,
    accepted_ids,
    conf_on_port,
    free_port,
    job_env,
    requested_ids,
    simulator_process,
    state,
    total,
    wait_for,
)

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)

KILLS = 3
# Slow enough that runs are still sending when they are killed: about 30 s of requests.
RATES = {"fresh-mart": (0.5, 1), "green-grocer": (0.5, 1), "maple-market": (1, 1)}


def test_kills_a_lost_worker_a_second_delivery_and_deferrals_send_each_message_once(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("CHAOS_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    port = free_port()
    conf_dir = conf_on_port(tmp_path, port, rates=RATES)
    env = job_env(tmp_path / "warehouse")
    store = DeltaStore(str(tmp_path / "warehouse"))
    events = standard_events() + event_rows(
        "green-grocer", "green-grocer-welcome", "run-gg-2", 300, template="welcome"
    )
    append_events(store, events)
    sendable = {e["message_id"] for e in events if not e["is_holdout"]}
    holdouts = {e["message_id"] for e in events if e["is_holdout"]}
    deliver = [CAMPAIGNS, "deliver", "--conf", str(conf_dir), "--commit-seconds", "1"]
    deliver += ["--wait", "30"]  # a killed holder's lease frees 10 s after its last renewal

    with simulator_process(conf_dir, port, env) as base:
        conf = load_conf(conf_dir)
        router = ProviderRouter(conf)
        assert deploy_library(conf, load_library(conf), router).ok
        router.close()
        # maple-market's workspace is down: its messages are deferred, run after run
        outage(base, "ws-maplemarket", on=True)

        for kill in range(KILLS):
            requests_before = total(base, "requests_ok") + total(base, "503")
            # the run beside which a second is started follows: it holds the lease until
            # killed, however fast it sends on this machine (a run that had finished
            # released it, and the second ran instead of being refused)
            run = start([*deliver, "--follow"] if kill == 1 else deliver, env)
            # past its start (JVM, lease, reconciliation): somewhere while it sends
            wait_for(
                lambda: total(base, "requests_ok") + total(base, "503") > requests_before,  # noqa: B023
                timeout=90,
            )
            time.sleep(rng.uniform(0, 5))
            if kill == 1:  # a second delivery beside the running one is refused at once
                second = subprocess.run(
                    deliver[:-2], env=env, capture_output=True, text=True, timeout=120
                )
                assert second.returncode == 3, second.stderr[-2000:]
                assert "another delivery holds this warehouse's lease" in second.stderr
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
        sent_before = total(base, "accepted")
        assert 0 < sent_before < len(sendable), f"seed {seed}: nothing left for the rest"

        outage(base, "ws-maplemarket", on=False)  # its deferrals may go now
        run = start(deliver, env)
        wait_for(lambda: total(base, "accepted") > sent_before + 20, timeout=120)
        worker = python_worker_of(run.pid)
        os.kill(worker, signal.SIGKILL)  # the job fails; the driver runs again
        assert run.wait(timeout=240) == 0, f"seed {seed}: the run did not recover"

        final = subprocess.run(deliver, env=env, capture_output=True, text=True, timeout=240)
        assert final.returncode == 0, final.stderr[-3000:]

        sends = store.read_arrow("message_sends").to_pylist()
        by_message = Counter(s["message_id"] for s in sends)
        assert set(by_message) == sendable | holdouts and set(by_message.values()) == {1}
        statuses = {s["message_id"]: s["status"] for s in sends}
        assert {m for m in sendable if statuses[m] != "sent"} == set(), f"seed {seed}"
        assert {statuses[m] for m in holdouts} == {"suppressed"}
        assert (state(base) or {})["delivered_twice"] == 0, f"seed {seed}: sent twice"
        accepted = accepted_ids(base)
        assert len(accepted) == len(set(accepted)) and set(accepted) == sendable
        assert requested_ids(base) & holdouts == set()


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def outage(base: str, workspace_id: str, *, on: bool) -> None:
    response = requests.post(
        f"{base}/_admin/faults",
        json={"workspace_id": workspace_id, "outage": on},
        timeout=5,
    )
    response.raise_for_status()


def python_worker_of(driver_pid: int) -> int:
    """A Flink Python worker in the delivery's process group (not the driver itself)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == driver_pid:
            continue
        try:
            if os.getpgid(int(entry.name)) != driver_pid:
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        if Path(command.split()[0]).name.startswith("python") and "pyflink" in command:
            return int(entry.name)
    raise AssertionError(f"no Python worker under delivery {driver_pid}")
