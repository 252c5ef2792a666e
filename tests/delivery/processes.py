"""Delivery as an operator runs it: `campaigns` processes against a provider simulator
process on a free loopback port, each started in its own process group and stopped by
its id (kill -9 included)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from jobs.dev.clusters import free_port, wait_for
from tests.conftest import REPO_ROOT

__all__ = ["free_port", "wait_for"]

CAMPAIGNS = str(REPO_ROOT / ".venv" / "bin" / "campaigns")


def conf_on_port(
    tmp_path: Path, port: int, *, rates: dict[str, tuple[float, int]] | None = None
) -> Path:
    """conf/ with every workspace on the simulator's port, a short lease and grace (a
    killed delivery's lease frees in seconds), and the given `rates` (rps, burst)."""
    conf_dir = tmp_path / "conf"
    shutil.copytree(REPO_ROOT / "conf", conf_dir)
    profile = conf_dir / "profiles" / "local.yaml"
    profile.write_text(
        profile.read_text().replace(
            "lease_ttl_seconds: 30", "lease_ttl_seconds: 10\n  in_doubt_grace_seconds: 2"
        )
    )
    for path in (conf_dir / "retailers").glob("*.yaml"):
        text = re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", path.read_text())
        rps, burst = (rates or {}).get(path.stem, (None, None))
        if rps is not None:
            text = re.sub(r"requests_per_second: .*", f"requests_per_second: {rps}", text)
            text = re.sub(r"burst: .*", f"burst: {burst}", text)
        path.write_text(text)
    return conf_dir


def job_env(warehouse: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if "PYFLINK" not in k},  # not a Flink worker
        "CAMPAIGNS_WAREHOUSE_URI": str(warehouse),
    }


@contextmanager
def simulator_process(conf_dir: Path, port: int, env: dict[str, str]) -> Iterator[str]:
    """`campaigns provider-sim` (as Braze: repeated message ids are sent again); its URL."""
    sim = subprocess.Popen(
        [CAMPAIGNS, "provider-sim", "--port", str(port), "--conf", str(conf_dir), "--render=off"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: state(base) is not None, timeout=60)
        yield base
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def state(base: str) -> dict[str, Any] | None:
    try:
        return requests.get(f"{base}/_admin/state", timeout=5).json()  # type: ignore[no-any-return]
    except requests.ConnectionError:
        return None


def total(base: str, counter: str) -> int:
    found = state(base) or {"workspaces": {}}
    return sum(ws["counters"].get(counter, 0) for ws in found["workspaces"].values())


def accepted_ids(base: str) -> list[str]:
    ids: list[str] = []
    for workspace_id in ("ws-freshmart", "ws-greengrocer", "ws-maplemarket"):
        found = requests.get(
            f"{base}/_admin/messages",
            params={"workspace_id": workspace_id, "limit": 100000},
            timeout=10,
        ).json()
        ids += [m["message_id"] for m in found["messages"]]
    return ids


def requested_ids(base: str) -> set[str]:
    """Every message id any request named, accepted or not."""
    found = requests.get(f"{base}/_admin/message_requests", timeout=10).json()
    return {message for counts in found.values() for message in counts}
