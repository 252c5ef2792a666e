"""`campaigns sql` without Python on the analyst's side: a file of SQL from the command
line, and the JDBC endpoint queried with beeline (both in their own processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.dev.clusters import free_port
from tests.conftest import REPO_ROOT

VENV_BIN = Path(sys.executable).parent


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "PYFLINK" not in k}
    env["CAMPAIGNS_WAREHOUSE_URI"] = str(tmp_path / "warehouse")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"  # beeline finds pyspark
    return env


def sql_file(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`campaigns sql -f` in its own process, on an empty warehouse under `tmp_path`."""
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", "sql", "-f", str(path)],
        cwd=REPO_ROOT, env=environment(tmp_path), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_a_report_file_runs_until_a_syntax_error_which_it_names_and_exits_2(
    tmp_path: Path,
) -> None:
    """One process (a Spark session each is the cost): the statements before the bad
    one print their results, the bad one is named by file and position."""
    script = tmp_path / "retailers.sql"
    script.write_text(
        "-- every configured retailer and its pool\n"
        "select retailer_id, ip_pool from dim_retailers order by retailer_id;\n"
        "select count(*) as campaigns from rpt_campaign_performance;\n"
        "selec 2;\n"
    )
    done = sql_file(script, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert [line.rstrip() for line in done.stdout.splitlines()[:5]] == [
        "retailer_id   ip_pool",
        "fresh-mart    shared-a",
        "green-grocer  shared-a",
        "maple-market  maple-dedicated",
        "(3 rows)",
    ]
    assert "campaigns" in done.stdout and "(1 rows)" in done.stdout  # the second ran too
    assert f"error: {script}, statement 3 of 3: [PARSE_SYNTAX_ERROR]" in done.stderr
    assert "selec 2" in done.stderr and "Traceback" not in done.stderr


def test_beeline_queries_the_reports_over_jdbc(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "sql", "--jdbc", "--port", str(port)],
        cwd=REPO_ROOT, env=environment(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        assert server.stdout is not None
        while "JDBC:" not in (line := server.stdout.readline()):
            assert line and time.monotonic() < deadline, "the JDBC endpoint did not start"
        done = subprocess.run(
            [str(VENV_BIN / "beeline"), "-u", f"jdbc:hive2://127.0.0.1:{port}/",
             "--silent=true", "--outputformat=csv2",
             "-e", "select retailer_id from dim_retailers order by retailer_id; "
                   "select count(*) as n from rpt_experiment_readout;"],
            env=environment(tmp_path), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line and "jdbc:hive2" not in line]
    assert rows[:4] == ["retailer_id", "fresh-mart", "green-grocer", "maple-market"]
    assert rows[4:6] == ["n", "0"]
