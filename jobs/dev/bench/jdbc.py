"""`campaigns bench jdbc`: how long until an analyst's BI tool can query.

`campaigns sql --jdbc` is started in its own process on a free loopback port,
against the demo-sized warehouse (`campaigns seed` at its defaults, seeded once
into var/bench-jdbc); the benchmark times it to the line announcing the
endpoint, then to beeline's first answer from a report view. The anchor,
measured in the same run, is the floor any Spark-backed endpoint pays: a bare
Python process starting a local Spark session with the same jars and nothing
else. Goal: ready in under 30 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.commands.common import add_common_arguments, emit, spark_job
from jobs.config.loader import WAREHOUSE_URI_ENV
from jobs.dev.bench.memory import peak_memory
from jobs.dev.clusters import free_port
from jobs.dev.synthetic.generator import SeedSpec
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse

BENCH_WAREHOUSE = Path("var/bench-jdbc")
GOAL_SECONDS = 30.0
STARTUP_TIMEOUT_S = 300
QUERY = "select count(*) as n from rpt_campaign_roi"
BARE_SESSION = (
    "from jobs.config import load_conf; from jobs.warehouse.session import build_spark; "
    "spark = build_spark(load_conf(None).profile, app_name='bare'); "
    "spark.range(1).count(); print('ready', flush=True); spark.stop()"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    os.environ[WAREHOUSE_URI_ENV] = str(BENCH_WAREHOUSE.resolve())
    with spark_job(args, app_name="campaigns-bench-jdbc-seed") as job:
        seeded = seed_warehouse(job.warehouse, seed_retailers(job.conf, 3), SeedSpec())
        emit(
            f"bench jdbc: warehouse {BENCH_WAREHOUSE} ({'reused' if seeded.skipped else 'seeded'})"
        )
    with peak_memory() as memory:
        bare_s = _until_line([sys.executable, "-c", BARE_SESSION], "ready", hold=False)[0]
        port = free_port()
        command = [sys.executable, "-m", "jobs.cli", "sql", "--jdbc", "--port", str(port)]
        command += ["--conf", str(args.conf)] if args.conf else []
        ready_s, server = _until_line(command, "JDBC:", hold=True)
        try:
            answered_s = ready_s + _first_answer(port)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    emit(
        f"bench jdbc: endpoint ready in {ready_s:.1f} s, first report answered at "
        f"{answered_s:.1f} s; a bare Spark session (the anchor) {bare_s:.1f} s = "
        f"{ready_s / bare_s:.2f}x the anchor (goal: ready under {GOAL_SECONDS:g} s)"
    )
    emit(f"bench jdbc: {memory.line()}")
    return 0


def _until_line(
    command: list[str], marker: str, *, hold: bool
) -> tuple[float, subprocess.Popen[str]]:
    """Seconds from starting `command` to a stdout line containing `marker`; the process
    is left running when `hold`, else waited for."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    deadline = started + STARTUP_TIMEOUT_S
    while marker not in (line := process.stdout.readline()):
        if not line or time.perf_counter() > deadline:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            raise RuntimeError(f"{' '.join(command[:4])} did not print {marker!r}")
    seconds = time.perf_counter() - started
    if not hold:
        process.wait(timeout=60)
    return seconds, process


def _first_answer(port: int) -> float:
    """Seconds beeline takes to connect and answer one report query."""
    beeline = str(Path(sys.executable).parent / "beeline")
    started = time.perf_counter()
    done = subprocess.run(
        [beeline, "-u", f"jdbc:hive2://127.0.0.1:{port}/", "--silent=true", "-e", QUERY],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"beeline failed: {done.stderr[-500:]}")
    return time.perf_counter() - started
