"""`campaigns bench chaos`: deliveries killed with -9 against a provider that sends a
repeated message id again (as Braze does), and what the intent log makes of it.

Figures, per kill: the messages left in doubt (claimed, no answer recorded), and how the
next run's reconciliation settled them (sent per the provider's export, or sent again);
the lag from a provider's answer to its outcome being durable in the intent log (p50,
p99, from the files the killed runs left); and the simulator's count of messages it
delivered twice (must be 0). Bounded: a few thousand messages, all on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import requests

from jobs.commands.common import LOOPBACK, add_common_arguments, emit
from jobs.config import load_conf
from jobs.config.loader import default_conf_dir
from jobs.delivery.intents import intents_root, read_intents
from jobs.dev.bench.delivery import _events
from jobs.dev.bench.provider import _free_port, _wait_until_up
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore

CLI = (sys.executable, "-m", "jobs.cli")
RECONCILED = re.compile(
    r"reconciled: ([\d,]+) outcomes recorded .*?; ([\d,]+) in doubt: ([\d,]+) sent per the "
    r"provider's export, ([\d,]+) to send again, ([\d,]+) still in doubt"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--kills", type=int, default=5, help="kill -9s (default 5)")
    parser.add_argument("--customers", type=int, default=600, help="per retailer (default 600)")
    parser.add_argument("--rate", type=float, default=2.0, help="requests/s per workspace")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=300.0,
        help="the provider's answer time: how long a request is open for a kill to hit",
    )
    parser.add_argument("--seed", type=int, default=None, help="random kill points' seed")


def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else time.time_ns() % 10_000
    rng = random.Random(seed)
    with chaos_platform(args) as (conf_dir, store, base, env):
        deliver = [*CLI, "deliver", "--conf", str(conf_dir)]
        deliver += ["--commit-seconds", "1", "--wait", "60"]
        lags: list[float] = []
        emit(f"bench chaos: {args.kills} kills (seed {seed}), provider without deduplication")
        for kill in range(1, args.kills + 1):
            before = _requests(base)
            log = Path(conf_dir.parent / f"run-{kill}.log")
            process = _start(deliver, env, log)
            _wait(lambda: _requests(base) > before or process.poll() is not None, 120)  # noqa: B023
            time.sleep(rng.uniform(0, 5))
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            in_doubt, run_lags = _left_behind(store)
            lags += run_lags
            emit(f"  run {kill}: {_reconciled(log)}; killed: {in_doubt:,} messages left in doubt")
        log = Path(conf_dir.parent / "final.log")
        final = _start(deliver, env, log)
        final.wait(timeout=600)
        emit(f"  run to the end (exit {final.returncode}): {_reconciled(log)}")
        state = requests.get(f"{base}/_admin/state", timeout=10).json()
        emit(
            f"  provider: delivered twice {state['delivered_twice']:,}, messages requested "
            f"again {state['messages_requested_again']:,} (refused or unanswered before)"
        )
        if lags:
            p50, p99 = statistics.median(lags), statistics.quantiles(lags, n=100)[98]
            emit(f"  answer -> durable outcome: p50 {p50:.0f} ms, p99 {p99:.0f} ms ({len(lags):,})")
    return 0


@contextmanager
def chaos_platform(
    args: argparse.Namespace,
) -> Iterator[tuple[Path, DeltaStore, str, dict[str, str]]]:
    """conf/ copied with every workspace on a simulator process, slow rate limits, a short
    lease and grace; a fresh warehouse holding the events; templates deployed."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    port = _free_port()
    base = f"http://{LOOPBACK}:{port}"
    conf_dir = _conf_copy(args.conf or default_conf_dir(), scratch / "conf", base, args.rate)
    env = {**os.environ, "CAMPAIGNS_WAREHOUSE_URI": str(scratch / "warehouse")}
    store = DeltaStore(str(scratch / "warehouse"))
    faults = json.dumps({"latency_ms": args.latency_ms})
    simulator = subprocess.Popen(
        [
            *CLI,
            "provider-sim",
            f"--port={port}",
            f"--conf={conf_dir}",
            f"--faults={faults}",
            "--render=off",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(base, seconds=60)
        conf = load_conf(conf_dir)
        router = ProviderRouter(conf)
        deploy_library(conf, load_library(conf), router)
        router.close()
        for retailer_id in sorted(conf.retailers):
            campaign = next(c for c in conf.campaigns.values() if c.retailer_id == retailer_id)
            templates = {str(ch): t for ch, t in campaign.templates.items()}
            store.append(
                "campaign_events",
                _events(retailer_id, campaign.campaign_id, "chaos", args.customers, templates),
            )
        yield conf_dir, store, base, env
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


def _conf_copy(source: Path, target: Path, base: str, rate: float) -> Path:
    shutil.copytree(source, target)
    profile = target / "profiles" / "local.yaml"
    profile.write_text(
        profile.read_text().replace(
            "lease_ttl_seconds: 30", "lease_ttl_seconds: 10\n  in_doubt_grace_seconds: 2"
        )
    )
    for path in (target / "retailers").glob("*.yaml"):
        text = re.sub(r"http://127\.0\.0\.1:\d+", base, path.read_text())
        text = re.sub(r"requests_per_second: .*", f"requests_per_second: {rate}", text)
        path.write_text(re.sub(r"burst: .*", "burst: 1", text))
    return target


def _left_behind(store: DeltaStore) -> tuple[int, list[float]]:
    """Messages claimed without an answer, and answer-to-durable lags (ms), in the log."""
    intents, _ = read_intents(store)
    outcomes = intents.filter(pc.equal(intents["kind"], "outcome"))
    answered = set(outcomes["message_id"].to_pylist())
    claims = intents.filter(pc.equal(intents["kind"], "claim"))
    in_doubt = len(set(claims["message_id"].to_pylist()) - answered)
    return in_doubt, _lags(store)


def _lags(store: DeltaStore) -> list[float]:
    """Per outcome file: its write time less each answer's time in it."""
    filesystem, root = intents_root(store)
    infos = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    lags = []
    for info in infos:
        if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
            continue
        table = pq.read_table(info.path, filesystem=filesystem, columns=["kind", "completed_at"])
        written = info.mtime.replace(tzinfo=UTC) if info.mtime.tzinfo is None else info.mtime
        for kind, at in zip(
            table["kind"].to_pylist(), table["completed_at"].to_pylist(), strict=True
        ):
            if kind == "outcome":
                lags.append((written - at).total_seconds() * 1000)
    return lags


def _reconciled(log: Path) -> str:
    found = RECONCILED.search(log.read_text(errors="replace")) if log.exists() else None
    if not found:
        return "its start reconciled nothing"
    recorded, doubt, sent, again, still = (int(g.replace(",", "")) for g in found.groups())
    return (
        f"its start reconciled {doubt:,} in doubt ({sent:,} sent per the export, "
        f"{again:,} sent again, {still:,} still in doubt) and {recorded:,} recorded outcomes"
    )


def _requests(base: str) -> int:
    state = requests.get(f"{base}/_admin/state", timeout=10).json()
    return sum(
        ws["counters"].get("requests_ok", 0) + ws["counters"].get("503", 0)
        for ws in state["workspaces"].values()
    )


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, start_new_session=True, stdout=out, stderr=out)


def _wait(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)
