"""Pause and resume mid-run, and a delivery process killed mid-run and started again."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.config import Conf, load_conf
from jobs.delivery.controls import request_control
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.delivery.conftest import append_events, event_rows, make_world, standard_events
from tests.delivery.processes import (
    CAMPAIGNS,
    accepted_ids,
    conf_on_port,
    free_port,
    job_env,
    simulator_process,
    state,
    total,
    wait_for,
)

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)


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
        wait_for(lambda: len(world.sim.workspaces["ws-freshmart"].messages) > 0, timeout=120)  # noqa: B023
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


def test_killed_delivery_rerun_by_a_follower_sends_each_message_once(tmp_path: Path) -> None:
    """Against a provider that sends a repeated id again, as Braze does."""
    port = free_port()
    conf_dir = conf_on_port(tmp_path, port, rates={"fresh-mart": (1, 1)})
    env = job_env(tmp_path / "warehouse")
    store = DeltaStore(str(tmp_path / "warehouse"))
    events = standard_events()
    append_events(store, events)
    sendable = {e["message_id"] for e in events if not e["is_holdout"]}
    with simulator_process(conf_dir, port, env) as base:
        conf = load_conf(conf_dir)
        router = ProviderRouter(conf)
        deploy_library(conf, load_library(conf), router)
        router.close()
        deliver = [CAMPAIGNS, "deliver", "--conf", str(conf_dir), "--commit-seconds", "0.5"]
        first = subprocess.Popen(
            deliver, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        wait_for(lambda: ledger_rows(store) > 0 or first.poll() is not None, timeout=180)
        assert first.poll() is None, "the first run ended before it could be killed"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        accepted_before = total(base, "accepted")
        assert 0 < accepted_before < len(sendable)

        # the killed run's lease outlives it by its TTL (10 s here): wait for it
        follow = subprocess.Popen(
            [*deliver, "--follow", "--poll-seconds", "1", "--wait", "60"],
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: total(base, "accepted") == len(sendable), timeout=240)
        more = event_rows(
            "maple-market", "maple-market-weekly-deals", "run-mm-2", 20, template="weekly-deals"
        )
        new_version = append_events(store, more)
        # the follower picks the new version up by itself (it polls every second)
        wait_for(lambda: total(base, "accepted") == len(sendable) + 20, timeout=60)
        follow.send_signal(signal.SIGTERM)  # as a supervisor stops it: finish the run, then exit
        output, _ = follow.communicate(timeout=120)

        assert follow.returncode == 0, output
        runs = re.findall(r"campaign_events versions \((\w+), (\d+)\]", output)
        # one run for the backlog, then one for exactly the version appended while it waited
        assert runs[-1] == (str(new_version - 1), str(new_version)), output
        assert re.search(r"versions \(\d+, \d+\]: 1 new files.*sent 20\b", output), output
        sends = store.read_arrow("message_sends").to_pylist()
        assert len(sends) == len({s["message_id"] for s in sends}) == len(events) + 20
        accepted = accepted_ids(base)
        assert len(accepted) == len(set(accepted)) == len(sendable) + 20
        assert set(accepted) >= sendable
        assert (state(base) or {})["delivered_twice"] == 0


def ledger_rows(store: DeltaStore) -> int:
    if store.find("message_sends") is None:
        return 0
    return store.read_arrow("message_sends", columns=["status"]).num_rows
