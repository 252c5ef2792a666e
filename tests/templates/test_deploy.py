"""Template deploy against the provider simulator on loopback: created, updated,
unchanged (by content hash), one workspace failing, invalid templates withheld."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs.cli import main
from jobs.config import Conf, load_conf
from jobs.config.models import RateLimit
from jobs.dev.simulator.server import SimulatorThread, point_conf_at, simulator_from_conf
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import DeployReport, deploy_library
from jobs.templates.preview import PreviewRequest, build_preview
from jobs.text.liquid import render_fields
from jobs.warehouse.store import DeltaStore
from tests.templates.conftest import edit, library_file


@pytest.fixture
def simulator(conf_dir: Path) -> Iterator[SimulatorThread]:
    server = SimulatorThread(simulator_from_conf(load_conf(conf_dir))).start()
    yield server
    server.stop()


def deploy(
    conf: Conf, server: SimulatorThread, store: DeltaStore | None = None, **options: Any
) -> DeployReport:
    pointed = point_conf_at(conf, server.url)
    router = ProviderRouter(pointed)
    try:
        return deploy_library(pointed, load_library(pointed), router, store=store, **options)
    finally:
        router.close()


def held(server: SimulatorThread, workspace_id: str) -> dict[str, dict[str, str]]:
    templates = server.simulator.workspaces[workspace_id].templates
    return {template_id: stored.fields for (_, template_id), stored in templates.items()}


def test_first_deploy_creates_each_retailers_branded_templates_in_its_own_workspace(
    conf_dir: Path, simulator: SimulatorThread, tmp_path: Path
) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    report = deploy(load_conf(conf_dir), simulator, store)
    assert report.ok, report.lines()
    assert report.counts()["created"] == 8 + 8 + 1
    assert set(held(simulator, "ws-maplemarket")) == {"weekly-deals-email"}
    fresh, green = held(simulator, "ws-freshmart"), held(simulator, "ws-greengrocer")
    assert "assets.campaigns.example/freshmart/logo.png" in fresh["winback-email"]["html"]
    assert "freshmart" not in green["winback-email"]["html"].lower()
    assert "Green Grocer" in green["winback-email"]["html"]
    assert "{{ grower_name }}" in green["welcome-email"]["html"]  # its own variant
    assert "{{ grower_name }}" not in fresh["welcome-email"]["html"]
    rows = store.read_arrow("template_deployments").to_pylist()
    assert len(rows) == 17 and {r["action"] for r in rows} == {"created"}
    assert {
        (r["retailer_id"], r["library_template_id"])
        for r in rows
        if r["template_id"] == "welcome-email"
    } == {
        ("fresh-mart", "welcome-email"),
        ("green-grocer", "welcome-email-green-grocer"),
    }


def test_a_redeploy_without_changes_writes_nothing_and_an_edit_updates_only_that_template(
    conf_dir: Path, simulator: SimulatorThread
) -> None:
    deploy(load_conf(conf_dir), simulator)
    requests_before = {ws: len(s.request_times) for ws, s in simulator.simulator.workspaces.items()}
    again = deploy(load_conf(conf_dir), simulator)
    assert again.counts()["unchanged"] == 17 and again.counts()["created"] == 0
    # only the listings: one request per channel a retailer has templates in
    made = {
        ws: len(s.request_times) - requests_before[ws]
        for ws, s in simulator.simulator.workspaces.items()
    }
    assert made == {"ws-freshmart": 2, "ws-greengrocer": 2, "ws-maplemarket": 1}

    edit(
        library_file(conf_dir, "winback", "winback-email"),
        "<p>{{ body_copy }}</p>",
        '<p class="copy">{{ body_copy }}</p>',
    )
    changed = deploy(load_conf(conf_dir), simulator)
    updated = {
        (r.retailer_id, t)
        for r in changed.retailers
        for t, a in r.actions.items()
        if a == "updated"
    }
    assert updated == {("fresh-mart", "winback-email"), ("green-grocer", "winback-email")}
    assert changed.counts()["unchanged"] == 15
    assert '<p class="copy">' in held(simulator, "ws-freshmart")["winback-email"]["html"]


def test_if_changed_contacts_no_workspace_until_the_content_or_a_brand_changes(
    conf_dir: Path, simulator: SimulatorThread, tmp_path: Path
) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    first = deploy(load_conf(conf_dir), simulator, store, if_changed=True)
    assert first.counts()["created"] == 17 and not first.skipped
    before = sum(len(s.request_times) for s in simulator.simulator.workspaces.values())
    skipped = deploy(load_conf(conf_dir), simulator, store, if_changed=True)
    assert skipped.skipped and skipped.lines()[0].startswith("templates unchanged")
    assert sum(len(s.request_times) for s in simulator.simulator.workspaces.values()) == before

    edit(conf_dir / "retailers" / "maple-market.yaml", "#B71C1C", "#A71C1C")  # brand colour
    rebranded = deploy(load_conf(conf_dir), simulator, store, if_changed=True)
    assert not rebranded.skipped
    assert {r.retailer_id for r in rebranded.retailers if "updated" in r.actions.values()} == {
        "maple-market"
    }
    assert deploy(load_conf(conf_dir), simulator, store, if_changed=True).skipped


def test_a_partial_deploy_does_not_count_as_complete(
    conf_dir: Path, simulator: SimulatorThread, tmp_path: Path
) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    only = deploy(load_conf(conf_dir), simulator, store, retailer_ids=["maple-market"])
    assert [r.retailer_id for r in only.retailers] == ["maple-market"]
    assert set(held(simulator, "ws-freshmart")) == set()
    assert not deploy(load_conf(conf_dir), simulator, store, if_changed=True).skipped


def test_one_failing_workspace_is_reported_and_the_others_are_deployed(
    conf_dir: Path, simulator: SimulatorThread
) -> None:
    simulator.simulator.workspaces["ws-greengrocer"].faults.outage = True
    report = deploy(load_conf(conf_dir), simulator)
    assert [r.retailer_id for r in report.failed_retailers] == ["green-grocer"]
    assert (
        "503" in report.failed_retailers[0].errors[0]
        or "unavailable" in report.failed_retailers[0].errors[0]
    )
    assert len(held(simulator, "ws-freshmart")) == 8 and len(held(simulator, "ws-maplemarket")) == 1
    assert held(simulator, "ws-greengrocer") == {}
    assert not report.ok and "failed retailers: 1" in report.lines()[0]


def test_an_invalid_template_is_withheld_and_everything_else_still_deploys(
    conf_dir: Path, simulator: SimulatorThread
) -> None:
    path = library_file(conf_dir, "winback", "winback-push")
    edit(path, 'title: "{{ push_title }}"', 'title: "{{ push_title }"')
    report = deploy(load_conf(conf_dir), simulator)
    assert report.counts()["withheld"] == 2 and report.counts()["created"] == 15
    assert "winback-push" not in held(simulator, "ws-freshmart")
    assert any("winback-push.yaml" in line and "[syntax]" in line for line in report.lines())
    assert not report.ok


def test_deploys_stay_within_each_workspaces_rate_limit(
    conf_dir: Path, simulator: SimulatorThread
) -> None:
    conf = load_conf(conf_dir)
    slow = conf.retailer("fresh-mart").model_copy(
        update={"rate_limit": RateLimit(requests_per_second=5, burst=2)}
    )
    simulator.simulator.workspaces["ws-freshmart"].limiter.rate = 5
    simulator.simulator.workspaces["ws-freshmart"].limiter.burst = 2
    conf = dataclasses.replace(conf, retailers={**conf.retailers, "fresh-mart": slow})
    report = deploy(conf, simulator)
    assert report.ok, report.lines()
    assert simulator.simulator.workspaces["ws-freshmart"].counters["429"] == 0
    assert len(held(simulator, "ws-freshmart")) == 8


def test_what_the_workspace_holds_renders_exactly_as_the_preview_shows(
    conf_dir: Path, simulator: SimulatorThread
) -> None:
    conf = load_conf(conf_dir)
    deploy(conf, simulator)
    request = PreviewRequest(
        "fresh-mart", "winback-email", campaign_id="fresh-mart-winback", variant_id="ten-percent"
    )
    preview = build_preview(conf, load_library(conf), request)
    stored = held(simulator, "ws-freshmart")["winback-email"]
    assert render_fields(stored, preview.variables) == preview.rendered
    assert preview.rendered["subject"] == "We miss you at FreshMart"


def test_the_deploy_command_prints_a_summary_and_fails_when_a_workspace_does(
    conf_dir: Path,
    simulator: SimulatorThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for path in (conf_dir / "retailers").glob("*.yaml"):
        edit(path, "base_url: http://127.0.0.1:8610/", f"base_url: {simulator.url}/")
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", str(tmp_path / "warehouse"))
    assert main(["deploy-templates", "--conf", str(conf_dir)]) == 0
    assert "created 17, updated 0, unchanged 0, withheld 0, failed 0" in capsys.readouterr().out
    simulator.simulator.workspaces["ws-maplemarket"].faults.outage = True
    edit(
        library_file(conf_dir, "promotional", "weekly-deals-email"),
        "<h1 style=",
        '<h1 class="deals" style=',
    )
    assert main(["deploy-templates", "--conf", str(conf_dir)]) == 1
    out = capsys.readouterr().out
    assert "updated 2" in out and "failed retailers: 1" in out and "maple-market:" in out
