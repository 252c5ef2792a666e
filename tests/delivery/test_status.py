"""`campaigns status` on a warehouse with a known backlog: what waits, why, and since when."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.cli import main
from jobs.config import Conf
from jobs.delivery.controls import request_control
from jobs.delivery.status import warehouse_status
from jobs.metrics.publish import TEXTFILE_DIR_ENV
from jobs.warehouse.store import DeltaStore
from tests.delivery.conftest import CREATED_AT, append_events, event_rows

NOW = CREATED_AT + timedelta(hours=3, minutes=5)


def send_rows(events: list[dict[str, Any]], status: str, reason: str | None = None) -> pa.Table:
    """message_sends rows for `events`, as delivery records them."""
    return pa.Table.from_pylist(
        [
            {
                **{k: e[k] for k in ("retailer_id", "message_id", "run_id", "campaign_id")},
                **{k: e[k] for k in ("customer_id", "channel", "variant_id", "is_holdout")},
                "template_id": e["template_id"],
                "status": status,
                "reason": reason,
                "attempts": 1,
                "dispatch_id": None,
                "segments": None,
                "batch_size": 50,
                "queued_at": NOW,
                "first_attempt_at": NOW,
                "completed_at": NOW,
                "send_latency_ms": 20,
                "eligible_at": None,
                "delivery_run_id": "dr-1",
                "source_version": 0,
            }
            for e in events
        ]
    )


@pytest.fixture
def backlog(tmp_path: Path, base_conf: Conf) -> DeltaStore:
    """fresh-mart: 100 events; 60 sent, 20 deferred by its cap, 5 in doubt, 15 never
    tried. maple-market: 40 events, all sent, one campaign paused. green-grocer: none."""
    store = DeltaStore(str(tmp_path / "warehouse"))
    fresh = event_rows("fresh-mart", "fresh-mart-winback", "run-fm-1", 100)
    maple = event_rows("maple-market", "maple-market-weekly-deals", "run-mm-1", 40)
    append_events(store, fresh + maple)
    store.append("message_sends", send_rows(fresh[:60] + maple, "sent"))
    store.append("message_sends", send_rows(fresh[60:80], "deferred", "daily_cap"))
    store.append("message_sends", send_rows(fresh[80:85], "in_doubt"))
    request_control(store, base_conf, "maple-market-weekly-deals", "pause")
    return store


def test_status_counts_each_retailers_backlog_by_cause(
    backlog: DeltaStore, base_conf: Conf
) -> None:
    status = warehouse_status(backlog, base_conf, now=NOW)
    by_retailer = {r.retailer_id: r for r in status.retailers}

    fresh = by_retailer["fresh-mart"]
    assert (fresh.backlog, fresh.not_yet_tried, fresh.in_doubt) == (40, 15, 5)
    assert fresh.deferred_by_reason == {"daily_cap": 20}
    assert fresh.oldest_waiting_minutes == fresh.oldest_untried_minutes == 185
    assert fresh.email_sent_today == 60
    maple = by_retailer["maple-market"]
    assert (maple.backlog, maple.oldest_waiting_minutes) == (0, None)
    assert maple.paused_campaigns == ["maple-market-weekly-deals"]
    assert maple.email_sent_today == 40 and maple.email_cap_today == 1000
    assert by_retailer["green-grocer"].backlog == 0  # configured, nothing launched
    # the stream: one version written, none delivered through a committed offset
    assert (status.events_version, status.delivered_through) == (1, None)
    assert status.lease["held"] is False
    # a status reads; it creates no table (the lease's)
    assert backlog.find("delivery_lease") is None


def test_status_command_prints_text_and_json_without_personal_data(
    backlog: DeltaStore, base_conf: Conf, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", backlog.root_uri)
    conf_dir = str(base_conf.root)
    assert main(["status", "--conf", conf_dir]) == 0
    text = capsys.readouterr().out
    assert "campaign_events: version 1, not delivered yet" in text
    fresh_line = next(line for line in text.splitlines() if line.startswith("fresh-mart"))
    assert fresh_line.split()[:3] == ["fresh-mart", "40", "15"]
    assert "daily_cap 20" in fresh_line

    assert main(["status", "--conf", conf_dir, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {r["retailer_id"]: r["backlog"] for r in document["retailers"]} == {
        "fresh-mart": 40, "green-grocer": 0, "maple-market": 0,
    }  # fmt: skip
    for output in (text, json.dumps(document)):
        assert "@example.com" not in output and "c00001" not in output


def test_a_drained_workspace_and_the_backlog_published_as_gauges(
    backlog: DeltaStore, base_conf: Conf, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", backlog.root_uri)
    monkeypatch.setenv(TEXTFILE_DIR_ENV, str(tmp_path / "textfiles"))
    conf_dir = str(base_conf.root)

    assert main(["pause", "--retailer", "fresh-mart", "--conf", conf_dir, "--note", "drain"]) == 0
    assert main(["status", "--push", "--conf", conf_dir]) == 0

    assert "campaign fresh-mart-winback: pause recorded" in capsys.readouterr().out
    gauges = {
        (s.name, s.labels.get("retailer_id")): s.value
        for family in text_string_to_metric_families(
            (tmp_path / "textfiles" / "campaigns_status.prom").read_text()
        )
        for s in family.samples
    }
    assert gauges[("campaigns_paused_campaigns", "fresh-mart")] == 1
    assert gauges[("campaigns_backlog_messages", "fresh-mart")] == 40
    assert gauges[("campaigns_in_doubt_messages", "fresh-mart")] == 5
    assert gauges[("campaigns_backlog_untried_messages", "fresh-mart")] == 15
    assert gauges[("campaigns_backlog_oldest_untried_age_seconds", "fresh-mart")] > 0
