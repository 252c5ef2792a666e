"""A real Prometheus (Debian's) scrapes a delivery run against the simulator: the
delivery's live endpoint, Flink's reporter and a Pushgateway the commands push to.

The provider grants fresh-mart's workspace one request a second while its configuration
asks for twenty, so that workspace is throttled; the others are not. The alert rules are
the repository's, with their `for:` durations cut to nothing so they fire within the
test."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests

from jobs.dev.clusters import foreground
from jobs.dev.monitoring import Prometheus, Target, prometheus, pushgateway
from jobs.metrics.publish import PUSHGATEWAY_ENV
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT
from tests.delivery.conftest import append_events, standard_events
from tests.delivery.processes import (
    CAMPAIGNS,
    conf_on_port,
    free_port,
    job_env,
    simulator_process,
    wait_for,
)

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)

LABELS_ALLOWED = {"__name__", "retailer_id", "channel", "status", "reason", "job", "table", "stage"}
LABELS_ALLOWED |= {"instance", "pipeline", "le"}  # the scrape's and the Pushgateway's


def rules_firing_at_once(tmp_path: Path) -> Path:
    rules = (REPO_ROOT / "conf" / "prometheus" / "alerts.yml").read_text()
    path = tmp_path / "alerts.yml"
    path.write_text(re.sub(r"for: \d+[smh]", "for: 0s", rules))
    return path


def with_flink_reporter(conf_dir: Path, port: int) -> None:
    profile = conf_dir / "profiles" / "local.yaml"
    text = profile.read_text().replace("flink:\n", f"flink:\n  prometheus_port: {port}\n", 1)
    profile.write_text(text)


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [CAMPAIGNS, *args], env=env, capture_output=True, text=True, timeout=400, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_prometheus_counts_what_was_sent_and_alerts_on_the_throttled_workspace(
    tmp_path: Path,
) -> None:
    sim_port, metrics_port, flink_port = free_port(), free_port(), free_port()
    conf_dir = conf_on_port(tmp_path, sim_port, rates={"fresh-mart": (20, 20)})
    with_flink_reporter(conf_dir, flink_port)
    warehouse = tmp_path / "warehouse"
    store = DeltaStore(str(warehouse))
    append_events(store, standard_events())

    with pushgateway(tmp_path) as (gateway_url, gateway_port):
        env = {**job_env(warehouse), PUSHGATEWAY_ENV: gateway_url}
        targets = [
            Target("campaigns-delivery", metrics_port),
            Target("flink", flink_port),
            Target("pushgateway", gateway_port, honor_labels=True),
        ]
        with (
            simulator_process(conf_dir, sim_port, env) as sim,
            prometheus(tmp_path / "prometheus", targets, [rules_firing_at_once(tmp_path)]) as prom,
        ):
            requests.post(
                f"{sim}/_admin/rate_limits",
                json={"workspace_id": "ws-freshmart", "requests_per_second": 1, "burst": 1},
                timeout=10,
            ).raise_for_status()
            deployed = run(["deploy-templates", "--conf", str(conf_dir)], env)
            follower = [
                CAMPAIGNS, "deliver", "--follow", "--poll-seconds", "2", "--conf", str(conf_dir),
                "--metrics-port", str(metrics_port),
            ]  # fmt: skip
            with foreground(follower, env, tmp_path / "deliver.log"):
                wait_for(
                    lambda: 0 < sent_in(store) == live_sent(prom) == pushed_sent(prom),
                    timeout=240,
                    what="the warehouse's sent messages counted live and pushed",
                )
                wait_for(
                    lambda: bool(prom.firing("CampaignsWorkspaceThrottled")),
                    timeout=60,
                    what="the throttling alert firing",
                )
            firing = prom.firing("CampaignsWorkspaceThrottled")
            live = prom.value(
                'max_over_time(campaigns_delivery_throttled_total{job="campaigns-delivery",'
                'retailer_id="fresh-mart"}[10m])'
            )
            flink_up = prom.value('max_over_time(up{job="flink"}[10m])')
            flink_records = prom.value(
                "count(max_over_time(flink_taskmanager_job_task_numRecordsIn[10m]))"
            )
            deploy_ok = prom.value('campaigns_job_succeeded{job="deploy_templates"}')
            labels = label_names(prom)

    assert f"metrics: pushed to {gateway_url}" in deployed
    assert f"metrics: pushed to {gateway_url}" in (tmp_path / "deliver.log").read_text()
    assert {alert["retailer_id"] for alert in firing} == {"fresh-mart"}
    assert live is not None and live > 0  # the live endpoint saw the 429s as they came
    assert flink_up == 1 and flink_records is not None and flink_records > 0
    assert deploy_ok == 1
    assert labels <= LABELS_ALLOWED, labels - LABELS_ALLOWED


def sent_in(store: DeltaStore) -> int:
    if store.find("message_sends") is None:
        return 0
    statuses = store.read_arrow("message_sends", columns=["status"]).column("status")
    return statuses.to_pylist().count("sent")


def live_sent(prom: Prometheus) -> int | None:
    return sent_series(prom, "campaigns-delivery")


def pushed_sent(prom: Prometheus) -> int | None:
    return sent_series(prom, "deliver")


def sent_series(prom: Prometheus, job: str) -> int | None:
    value = prom.value(f'sum(campaigns_delivery_messages_total{{job="{job}",status="sent"}})')
    return None if value is None else int(value)


def label_names(prom: Prometheus) -> set[str]:
    """Every label name on our series (none may name a customer, address or message)."""
    answer = requests.get(
        f"{prom.url}/api/v1/labels", params={"match[]": '{__name__=~"campaigns_.*"}'}, timeout=10
    )
    answer.raise_for_status()
    return set(answer.json()["data"])
