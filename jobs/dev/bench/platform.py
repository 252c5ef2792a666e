"""The set-up the platform-scale benchmarks share: 350 retailers' configuration, a
fresh benchmark warehouse, and the provider simulator in its own process on one core."""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jobs.commands.common import LOOPBACK
from jobs.config import Conf, load_conf
from jobs.dev.bench.provider import _free_port, _wait_until_up
from jobs.dev.synthetic.campaigns import platform_conf
from jobs.warehouse.store import DeltaStore


@dataclass(frozen=True)
class BenchPlatform:
    conf: Conf
    store: DeltaStore
    simulator_url: str


@contextmanager
def simulated_platform(args: argparse.Namespace, warehouse: Path) -> Iterator[BenchPlatform]:
    """`args.retailers` retailers, an empty warehouse at `warehouse`, a simulator serving
    every workspace at its configured rate limit (stopped on exit)."""
    conf = platform_conf(load_conf(args.conf, profile=args.profile), args.retailers)
    export_workspace_keys(conf)
    shutil.rmtree(warehouse, ignore_errors=True)
    store = DeltaStore(str(warehouse.resolve()))
    port = _free_port()
    base = f"http://{LOOPBACK}:{port}"
    server = _start_simulator(args, port)
    try:
        _wait_until_up(base, seconds=60)
        yield BenchPlatform(conf, store, base)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _start_simulator(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "jobs.cli", "provider-sim", "--port", str(port)]
    command += ["--render", "off", "--retailers", str(args.retailers)]
    command += ["--conf", str(args.conf)] if args.conf else []
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, {0})
    )


def export_workspace_keys(conf: Conf) -> None:
    """Synthetic workspaces get keys in the environment, shared with the simulator process."""
    for retailer in conf.retailers.values():
        os.environ.setdefault(retailer.workspace.api_key_env, secrets.token_hex(16))
