"""Bad input on the command line and the HTTP surfaces: one clear line, exit 2 (final:
Airflow does not retry), and nothing written; never a traceback or a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from jobs.cli import main
from jobs.dev.loopback import AppThread
from jobs.dev.simulator.app import Simulator
from jobs.dev.simulator.server import SimulatorThread
from jobs.reporting.dashboard_server import dashboard_app
from tests.conftest import REPO_CONF
from tests.providers.conftest import simulator  # noqa: F401  (a fixture)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main([*argv, "--conf", str(REPO_CONF)])
    except SystemExit as exit_:  # argparse refuses a value with exit 2
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_deliver_on_a_warehouse_nothing_was_launched_into_exits_2_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It exited 0 ("nothing to deliver"), which Airflow reads as success."""
    missing = tmp_path / "no-such-warehouse"
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", str(missing))

    code, err = run_cli(["deliver"], capsys)

    assert code == 2
    assert f"no campaign_events table at {missing}/campaign_events" in err
    assert "CAMPAIGNS_WAREHOUSE_URI" in err
    assert not missing.exists()  # not even a lease table was created


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["launch", "--all", "--as-of", "2026-13-45"], "'2026-13-45' is not a date or time; write"),
        (["check-run", "x", "--as-of", "2026-13-45"], "'2026-13-45' is not a day; write it as"),
        (["update-warming", "--date", "yesterday"], "'yesterday' is not a day"),
        (["launch", "fresh-mart-winback", "--run-id", "x' or 1=1 --"], "is not a run id"),
        (["launch", "fresh-mart-winback", "--run-id", "../../etc"], "is not a run id"),
        (["provider-sim", "--faults", '{"bogus": 1}'], "unknown fault settings ['bogus']"),
        (["provider-sim", "--faults", '{"outage": "false"}'], "outage is true or false"),
        (["provider-sim", "--faults", "error_rate=1"], "not JSON"),
        (["sql", "-f", "/nonexistent/report.sql"], "no SQL file at /nonexistent/report.sql"),
        (["launch"], "name at least one campaign id, or pass --all"),
    ],
)
def test_a_bad_argument_is_one_clear_line_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(argv, capsys)

    assert code == 2 and said in err


def test_the_simulator_admin_api_refuses_what_it_cannot_apply(
    simulator: tuple[SimulatorThread, Simulator],  # noqa: F811
) -> None:
    server, sim = simulator
    faults = f"{server.url}/_admin/faults"

    as_string = requests.post(faults, json={"outage": "false"}, timeout=5)
    half_bad = requests.post(faults, json={"latency_ms": 5, "error_rate": 2}, timeout=5)
    nobody = requests.post(faults, json={"workspace_id": "nobody", "outage": True}, timeout=5)
    times = requests.get(f"{server.url}/_admin/requests?workspace_id=nobody", timeout=5)
    limits = requests.post(f"{server.url}/_admin/rate_limits", json={"burst": 1}, timeout=5)
    pools = requests.post(f"{server.url}/_admin/pools", json={"shared-a": "lots"}, timeout=5)

    assert [r.status_code for r in (as_string, half_bad, nobody, times, limits, pools)] == [
        400,
        400,
        404,
        404,
        400,
        400,
    ]
    assert "true or false" in as_string.json()["message"]
    assert "unknown workspace 'nobody'" in nobody.json()["message"]
    assert not sim.faults.outage and sim.faults.latency_ms == 0  # nothing half-applied
    on = requests.post(faults, json={"outage": True}, timeout=5)
    assert on.status_code == 200 and sim.faults.outage


@pytest.mark.parametrize("path", ["/%00/", "/..%2f..%2fetc/", "/fresh-mart%00/", "/.hidden/"])
def test_the_dashboard_server_answers_a_hostile_path_with_404(tmp_path: Path, path: str) -> None:
    (tmp_path / "fresh-mart").mkdir()
    (tmp_path / "fresh-mart" / "index.html").write_text("<p>ok</p>")
    server = AppThread(dashboard_app(tmp_path)).start()
    try:
        assert requests.get(f"{server.url}{path}", timeout=5).status_code == 404
        assert requests.get(f"{server.url}/fresh-mart/", timeout=5).status_code == 200
    finally:
        server.stop()
