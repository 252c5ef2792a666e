"""Pause and resume mid-run, and a delivery process killed mid-run and started again."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from jobs.config import Conf, load_conf
from jobs.delivery.controls import request_control
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT
from tests.delivery.conftest import append_events, event_rows, make_world, standard_events

CAMPAIGNS = str(REPO_ROOT / ".venv" / "bin" / "campaigns")


def test_pause_takes_effect_within_seconds_and_resume_completes(
    tmp_path: Path, base_conf: Conf
) -> None:
    flink = base_conf.profile.flink.model_copy(update={"max_in_flight_per_workspace": 1})
    profile = base_conf.profile.model_copy(update={"flink": flink})
    conf = dataclasses.replace(base_conf, profile=profile)
    for world in make_world(tmp_path, conf):
        events = event_rows(
            "fresh-mart", "fresh-mart-winback", "run-fm-1", 300, channels=("email", "push")
        )
        append_events(world.store, events)
        fresh = world.sim.workspaces["ws-freshmart"]
        fresh.faults.update({"latency_ms": 800})
        run = threading.Thread(target=world.deliver)
        run.start()
        _wait_for(lambda: len(world.sim.workspaces["ws-freshmart"].messages) > 0, timeout=120)  # noqa: B023
        request_control(world.store, world.conf, "fresh-mart-winback", "pause")
        paused_at = datetime.now(UTC)
        run.join(timeout=300)

        statuses = Counter(s["status"] for s in world.sends())
        assert statuses["paused"] > 0 and statuses["sent"] > 0
        assert sum(statuses.values()) == len(events)
        late = [
            m
            for m in fresh.messages
            if datetime.fromisoformat(m["accepted_at"]) > paused_at + timedelta(seconds=10)
        ]
        assert late == []

        fresh.faults.update({"latency_ms": 0})
        request_control(world.store, world.conf, "fresh-mart-winback", "resume")
        world.deliver()

        sends = world.sends()
        assert len(sends) == len(events)
        assert Counter(s["status"] for s in sends) == {"sent": len(events)}
        assert len({m["message_id"] for m in fresh.messages}) == len(events) == len(fresh.messages)


def test_killed_delivery_rerun_sends_each_message_once(tmp_path: Path) -> None:
    port = _free_port()
    conf_dir = _conf_on_port(tmp_path, port, slow_retailer="fresh-mart")
    env = {
        **{k: v for k, v in os.environ.items() if "PYFLINK" not in k},  # not a Flink worker
        "CAMPAIGNS_WAREHOUSE_URI": str(tmp_path / "warehouse"),
    }
    store = DeltaStore(str(tmp_path / "warehouse"))
    events = standard_events()
    append_events(store, events)
    sendable = {e["message_id"] for e in events if not e["is_holdout"]}
    sim = subprocess.Popen(
        [
            CAMPAIGNS,
            "provider-sim",
            "--port",
            str(port),
            "--conf",
            str(conf_dir),
            "--render",
            "off",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _state(base) is not None, timeout=60)
        conf = load_conf(conf_dir)
        router = ProviderRouter(conf)
        deploy_library(conf, load_library(conf), router)
        router.close()
        deliver = [CAMPAIGNS, "deliver", "--conf", str(conf_dir), "--commit-seconds", "0.5"]
        first = subprocess.Popen(
            deliver, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        _wait_for(lambda: _ledger_rows(store) > 0 or first.poll() is not None, timeout=180)
        assert first.poll() is None, "the first run ended before it could be killed"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        committed_sent = _ledger_rows(store, status="sent")
        accepted_before = _total(base, "accepted")
        assert 0 < accepted_before < len(sendable)

        follow = subprocess.Popen(
            [*deliver, "--follow", "--poll-seconds", "1"],
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        _wait_for(lambda: _total(base, "accepted") == len(sendable), timeout=240)
        more = event_rows(
            "maple-market", "maple-market-weekly-deals", "run-mm-2", 20, template="weekly-deals"
        )
        new_version = append_events(store, more)
        # the follower picks the new version up by itself (it polls every second)
        _wait_for(lambda: _total(base, "accepted") == len(sendable) + 20, timeout=60)
        follow.send_signal(signal.SIGTERM)  # as a supervisor stops it: finish the run, then exit
        output, _ = follow.communicate(timeout=120)

        assert follow.returncode == 0, output
        runs = re.findall(r"campaign_events versions \((\w+), (\d+)\]", output)
        # one run for the backlog, then one for exactly the version appended while it waited
        assert runs[-1] == (str(new_version - 1), str(new_version)), output
        assert re.search(r"versions \(\d+, \d+\]: 1 new files.*sent 20\b", output), output
        sends = store.read_arrow("message_sends").to_pylist()
        assert len(sends) == len({s["message_id"] for s in sends}) == len(events) + 20
        accepted_ids = _accepted_ids(base)
        assert len(accepted_ids) == len(set(accepted_ids)) == len(sendable) + 20
        assert set(accepted_ids) >= sendable
        # Re-sent after the kill: only what had been sent but not yet committed.
        replays = _total(base, "duplicates")
        assert committed_sent > 0
        assert replays <= accepted_before - committed_sent
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def _conf_on_port(tmp_path: Path, port: int, *, slow_retailer: str) -> Path:
    conf_dir = tmp_path / "conf"
    shutil.copytree(REPO_ROOT / "conf", conf_dir)
    for path in (conf_dir / "retailers").glob("*.yaml"):
        text = re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", path.read_text())
        if path.stem == slow_retailer:
            text = re.sub(r"requests_per_second: .*", "requests_per_second: 1", text)
            text = re.sub(r"burst: .*", "burst: 1", text)
        path.write_text(text)
    return conf_dir


def _ledger_rows(store: DeltaStore, *, status: str | None = None) -> int:
    if store.find("message_sends") is None:
        return 0
    statuses = store.read_arrow("message_sends", columns=["status"])["status"].to_pylist()
    return sum(status in (None, s) for s in statuses)


def _state(base: str) -> dict[str, Any] | None:
    try:
        return requests.get(f"{base}/_admin/state", timeout=5).json()  # type: ignore[no-any-return]
    except requests.ConnectionError:
        return None


def _total(base: str, counter: str) -> int:
    state = _state(base) or {"workspaces": {}}
    return sum(ws["counters"].get(counter, 0) for ws in state["workspaces"].values())


def _accepted_ids(base: str) -> list[str]:
    ids: list[str] = []
    for workspace_id in ("ws-freshmart", "ws-greengrocer", "ws-maplemarket"):
        found = requests.get(
            f"{base}/_admin/messages",
            params={"workspace_id": workspace_id, "limit": 100000},
            timeout=10,
        ).json()
        ids += [m["message_id"] for m in found["messages"]]
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(condition: Any, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout} s")
