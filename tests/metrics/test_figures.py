"""What the commands publish: series with the right values and labels, in a textfile a
node_exporter reads; the status as gauges; delivery's counters per workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from jobs.audience.events import RunStats
from jobs.audience.launch import LaunchReport
from jobs.audience.launches import plan_launches
from jobs.config import load_conf
from jobs.delivery.metrics import DeliveryMetrics
from jobs.delivery.records import BatchReport, Outcome
from jobs.delivery.status import RetailerStatus, Status
from jobs.errors import OperatorError
from jobs.metrics.publish import PUSHGATEWAY_ENV, TEXTFILE_DIR_ENV, combined, publish
from jobs.metrics.runs import launch_figures
from jobs.metrics.status import reason_category, status_metrics
from jobs.warehouse.statuses import Status as MessageStatus
from tests.conftest import REPO_CONF

# Labels a series may carry: never a customer, an address or a message id.
ALLOWED_LABELS = {"retailer_id", "channel", "status", "reason", "job", "table", "stage", "le"}


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_launch_publishes_its_figures_per_retailer_to_a_textfile(tmp_path: Path) -> None:
    planned = plan_launches(
        load_conf(REPO_CONF),
        ["fresh-mart-winback", "green-grocer-welcome"],
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    report = LaunchReport(
        launched=[
            RunStats(
                "fresh-mart",
                "fresh-mart-winback",
                "fresh-mart-winback-20261101",
                100,
                180,
                {"no_consent": 12, "frequency_cap": 3},
                10,
                155,
            ),
        ],
        already_launched=[],
        refused={"green-grocer-welcome-20261101": ["retailer green-grocer: 3 rows lack email"]},
    )

    lines = publish(
        "launch",
        launch_figures(report, planned, seconds=12.5).registry(),
        environ={TEXTFILE_DIR_ENV: str(tmp_path / "textfiles")},
    )

    path = tmp_path / "textfiles" / "campaigns_launch.prom"
    assert lines == [f"metrics: written to {path}"]
    families = {f.name: f for f in text_string_to_metric_families(path.read_text())}
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert values[("campaigns_launch_events", (("retailer_id", "fresh-mart"),))] == 155
    assert values[("campaigns_launch_suppressed", (("retailer_id", "fresh-mart"),))] == 15
    assert values[("campaigns_launch_refused_runs", (("retailer_id", "green-grocer"),))] == 1
    assert values[("campaigns_job_succeeded", (("job", "launch"),))] == 0  # one run refused
    assert values[("campaigns_job_duration_seconds", (("job", "launch"),))] == 12.5
    # a refused run has no success to report: the staleness alert keeps the last one
    assert "campaigns_job_last_success_timestamp_seconds" not in families
    assert {label for s in values for label, _ in s[1]} <= ALLOWED_LABELS


def test_nothing_is_published_unless_asked_and_a_bad_gateway_address_is_refused() -> None:
    registry = CollectorRegistry()

    assert publish("launch", registry, environ={}) == []
    with pytest.raises(OperatorError, match=f"\\${PUSHGATEWAY_ENV} is 'pushgateway:9091'"):
        publish("launch", registry, environ={PUSHGATEWAY_ENV: "pushgateway:9091"})


def outcome(retailer_id: str, status: MessageStatus, latency_ms: int | None = 120) -> Outcome:
    return Outcome(
        retailer_id, "m1", "run-1", "c1", "cust-1", "email", "control", False, "t1",
        status, None, 1, None, 2, 0, 1_000 if latency_ms else None,
        1_000 + (latency_ms or 0), False,
    )  # fmt: skip


def test_delivery_counts_each_batch_per_workspace_and_status() -> None:
    metrics = DeliveryMetrics()
    metrics.observe(BatchReport("fresh-mart", 2, 3, 2, (outcome("fresh-mart", "sent"),) * 2, 1.5))
    metrics.observe(BatchReport("green-grocer", 1, 1, 0, (outcome("green-grocer", "failed"),)))
    metrics.observe(
        BatchReport("green-grocer", 1, 0, 0, (outcome("green-grocer", "paused", None),))
    )

    values = samples(combined(metrics.registry))
    fm, gg = (("retailer_id", "fresh-mart"),), (("retailer_id", "green-grocer"),)
    sent = (("channel", "email"), ("retailer_id", "fresh-mart"), ("status", "sent"))
    assert values[("campaigns_delivery_messages_total", sent)] == 2
    assert values[("campaigns_delivery_requests_total", fm)] == 3
    assert values[("campaigns_delivery_throttled_total", fm)] == 2
    assert values[("campaigns_delivery_retried_total", fm)] == 2
    assert values[("campaigns_delivery_bucket_wait_seconds_sum", fm)] == 1.5
    assert values[("campaigns_delivery_send_seconds_sum", fm)] == pytest.approx(0.12)
    # a batch that made no request (paused) has no latency to report
    assert values[("campaigns_delivery_send_seconds_count", gg)] == 1
    assert values[("campaigns_delivery_batch_size_count", gg)] == 2


def retailer(retailer_id: str, **changes: object) -> RetailerStatus:
    fields: dict[str, object] = {
        "retailer_id": retailer_id, "backlog": 0, "not_yet_tried": 0,
        "oldest_waiting_minutes": None, "oldest_untried_minutes": None,
        "deferred_by_reason": {}, "paused": 0, "in_doubt": 0, "paused_campaigns": [],
        "email_sent_today": 0, "email_cap_today": None,
    }  # fmt: skip
    return RetailerStatus(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_status_becomes_gauges_with_reasons_reduced_to_categories() -> None:
    status = Status(
        at="2026-11-02T10:00:00+00:00",
        events_version=7,
        delivered_through=5,
        lease={"held": False, "holder": "h:1", "token": 3, "expires_at": None, "abandoned": True},
        last_commits=[],
        retailers=[
            retailer(
                "fresh-mart", backlog=40, not_yet_tried=10, oldest_waiting_minutes=300,
                oldest_untried_minutes=45, in_doubt=2, email_cap_today=500,
                deferred_by_reason={
                    "retries exhausted after 6: HTTP 503 from ws-freshmart": 20,
                    "retries exhausted after 3: HTTP 500": 5,
                    "daily cap reached": 5,
                },
            ),
            retailer("green-grocer"),
        ],
    )  # fmt: skip

    values = samples(combined(status_metrics(status)))

    fm = (("retailer_id", "fresh-mart"),)
    assert values[("campaigns_backlog_messages", fm)] == 40
    assert values[("campaigns_backlog_oldest_untried_age_seconds", fm)] == 45 * 60
    assert values[("campaigns_in_doubt_messages", fm)] == 2
    assert values[("campaigns_email_cap_today", fm)] == 500
    deferred = {k[1]: v for k, v in values.items() if k[0] == "campaigns_deferred_messages"}
    assert deferred == {
        (("reason", "retries exhausted"), ("retailer_id", "fresh-mart")): 25,
        (("reason", "daily cap reached"), ("retailer_id", "fresh-mart")): 5,
    }
    # nothing waits at green-grocer: no age to report, rather than an age of zero
    assert (
        "campaigns_backlog_oldest_untried_age_seconds",
        (("retailer_id", "green-grocer"),),
    ) not in values
    assert values[("campaigns_events_versions_undelivered", ())] == 2
    assert values[("campaigns_delivery_lease_abandoned", ())] == 1


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("retries exhausted after 6: HTTP 503", "retries exhausted"),
        ("workspace unavailable (circuit open)", "workspace unavailable"),
        ("provider asks to wait: 429 Retry-After 7200", "provider asks to wait"),
        ("warming cap reached for 2026-11-02", "warming cap reached"),
        ("", "unknown"),
    ],
)
def test_a_reason_label_keeps_its_kind_and_drops_its_particulars(
    reason: str, category: str
) -> None:
    assert reason_category(reason) == category
