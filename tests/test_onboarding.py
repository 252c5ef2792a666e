"""`campaigns onboard-retailer` against the provider simulator on loopback: a new retailer
validated, provisioned, branded, warming, and a second run that changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jobs.cli import main
from jobs.config import load_conf
from jobs.dev.simulator.server import SimulatorThread, simulator_from_conf
from jobs.providers import Recipient, SendBatch
from jobs.providers.routing import ProviderRouter
from jobs.warehouse.store import DeltaStore


@pytest.fixture
def simulator(conf_dir: Path) -> Iterator[SimulatorThread]:
    server = SimulatorThread(simulator_from_conf(load_conf(conf_dir))).start()
    platform = conf_dir / "platform.yaml"
    text = platform.read_text().replace("http://127.0.0.1:8610/platform", f"{server.url}/platform")
    text = text.replace(
        "ip_pools:\n",
        "ip_pools:\n  corner-dedicated:\n    daily_capacity: 20000\n"
        "    warming: {start_daily_volume: 200, ramp_days: 30}\n",
    )
    platform.write_text(text)
    yield server
    server.stop()


def new_retailer(folder: Path, server: SimulatorThread, **changes: object) -> Path:
    spec = {
        "retailer_id": "corner-shop",
        "slug": "cornershop",
        "brand": {
            "name": "Corner Shop",
            "logo_url": "https://assets.campaigns.example/cornershop/logo.png",
            "primary_color": "#AA3300",
            "secondary_color": "#FFFFFF",
        },
        "postal_address": "7 Side Street, Springfield, IL 62701, USA",
        "timezone": "America/Chicago",
        "channels": ["email", "push"],
        "workspace": {
            "workspace_id": "ws-cornershop",
            "base_url": f"{server.url}/ws/ws-cornershop",
            "api_key_env": "CAMPAIGNS_WS_CORNERSHOP_API_KEY",
        },
        "rate_limit": {"requests_per_second": 10, "burst": 20},
        "ip_pool": "corner-dedicated",
        **changes,
    }
    path = folder / "corner-shop.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def onboard(conf_dir: Path, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["onboard-retailer", "--conf", str(conf_dir), str(path)])
    return code, capsys.readouterr().out


def test_onboarding_provisions_brands_and_warms_then_a_rerun_changes_nothing(
    conf_dir: Path, simulator: SimulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = new_retailer(tmp_path, simulator)
    code, out = onboard(conf_dir, path, capsys)
    assert code == 0, out
    assert "workspace ws-cornershop: created (sends as cornershop@mail.campaigns.example" in out
    assert "created 8" in out and "warming plan started in IP pool corner-dedicated" in out
    assert (conf_dir / "retailers" / "corner-shop.yaml").exists()

    ws = simulator.simulator.workspaces["ws-cornershop"]
    assert (ws.retailer_id, ws.ip_pool) == ("corner-shop", "corner-dedicated")
    assert ws.sending_identity == "cornershop@mail.campaigns.example"
    html = ws.templates[("email", "winback-email")].fields["html"]
    assert "Corner Shop" in html and "7 Side Street" in html
    assert not simulator.simulator.workspaces["ws-freshmart"].messages  # nobody else touched

    conf = load_conf(conf_dir)
    schedule = DeltaStore.from_profile(conf.profile).read_arrow("warming_schedule").to_pylist()
    assert [(r["retailer_id"], r["daily_cap"], r["state"]) for r in schedule] == [
        ("corner-shop", 200, "ramping")
    ]

    # The new workspace sends with its own key, as its own identity.
    router = ProviderRouter(conf)
    stored = ws.templates[("email", "winback-email")]
    names = re.findall(r"{{-?\s*(\w+)", " ".join(stored.fields.values()))
    properties = {name: "x" for name in names}
    recipient = Recipient("m-1", "corner-shop", "c-1", "c1@example.com", properties)
    [result] = router.for_retailer("corner-shop").send_batch(
        SendBatch("corner-shop", "email", "winback-email", (recipient,))
    )
    router.close()
    assert result.status == "accepted", result
    assert ws.messages[0]["from"] == "cornershop@mail.campaigns.example"

    again, out = onboard(conf_dir, path, capsys)
    assert again == 0, out
    assert "workspace ws-cornershop: unchanged" in out
    assert "unchanged 8" in out and "created 0" in out
    assert "already on the warming plan of IP pool corner-dedicated" in out
    assert DeltaStore.from_profile(conf.profile).read_arrow("warming_schedule").num_rows == 1


def test_a_changed_rate_limit_updates_the_workspace_on_the_next_run(
    conf_dir: Path, simulator: SimulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = new_retailer(conf_dir / "retailers", simulator)  # already placed in conf/
    assert onboard(conf_dir, path, capsys)[0] == 0
    new_retailer(
        conf_dir / "retailers", simulator, rate_limit={"requests_per_second": 5, "burst": 5}
    )
    code, out = onboard(conf_dir, path, capsys)
    assert code == 0 and "workspace ws-cornershop: updated" in out
    assert simulator.simulator.workspaces["ws-cornershop"].limiter.rate == 5


def test_a_bad_file_is_refused_before_anything_is_provisioned(
    conf_dir: Path, simulator: SimulatorThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = new_retailer(
        tmp_path,
        simulator,
        workspace={
            "workspace_id": "ws-freshmart",
            "base_url": f"{simulator.url}/ws/ws-freshmart",
            "api_key_env": "CAMPAIGNS_WS_CORNERSHOP_API_KEY",
        },
        ip_pool="no-such-pool",
    )
    code = main(["onboard-retailer", "--conf", str(conf_dir), str(taken)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(taken) in err
    assert "workspace 'ws-freshmart' already belongs to retailer 'fresh-mart'" in err
    assert "IP pool 'no-such-pool' is not declared under ip_pools" in err
    assert "ws-cornershop" not in simulator.simulator.workspaces
    assert not (conf_dir / "retailers" / "corner-shop.yaml").exists()
