"""`campaigns status` as gauges: what is waiting per retailer, and the shared machinery.

Served by `deliver --follow --metrics-port` (read at most every `max_age_s`, so a busy
Prometheus does not read the warehouse on every scrape) and pushed by
`campaigns status --push`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobs.delivery.status import Status

RETAILER = ["retailer_id"]


def status_metrics(status: Status) -> list[Metric]:
    """The gauges of one status; counts and ages only."""
    at = datetime.fromisoformat(status.at)
    per_retailer = {
        "campaigns_backlog_messages": ("Messages not yet final", lambda r: r.backlog),
        "campaigns_backlog_untried_messages": ("Messages never tried", lambda r: r.not_yet_tried),
        "campaigns_paused_messages": ("Messages held by a pause", lambda r: r.paused),
        "campaigns_in_doubt_messages": ("Sends whose outcome is unknown", lambda r: r.in_doubt),
        "campaigns_paused_campaigns": ("Campaigns paused", lambda r: len(r.paused_campaigns)),
        "campaigns_email_sent_today": ("Email sent today (UTC)", lambda r: r.email_sent_today),
    }
    metrics: list[Metric] = []
    for name, (help_text, value) in per_retailer.items():
        family = GaugeMetricFamily(name, help_text, labels=RETAILER)
        for retailer in status.retailers:
            family.add_metric([retailer.retailer_id], value(retailer))
        metrics.append(family)
    oldest = GaugeMetricFamily(
        "campaigns_backlog_oldest_age_seconds",
        "Age of the oldest message not yet final",
        labels=RETAILER,
    )
    cap = GaugeMetricFamily(
        "campaigns_email_cap_today", "Today's email cap while the pool warms", labels=RETAILER
    )
    deferred = GaugeMetricFamily(
        "campaigns_deferred_messages",
        "Deferred messages by reason",
        labels=["retailer_id", "reason"],
    )
    oldest_untried = GaugeMetricFamily(
        "campaigns_backlog_oldest_untried_age_seconds",
        "Age of the oldest message never tried (a stall; caps and pauses wait on purpose)",
        labels=RETAILER,
    )
    for r in status.retailers:
        if r.oldest_waiting_minutes is not None:
            oldest.add_metric([r.retailer_id], r.oldest_waiting_minutes * 60)
        if r.oldest_untried_minutes is not None:
            oldest_untried.add_metric([r.retailer_id], r.oldest_untried_minutes * 60)
        if r.email_cap_today is not None:
            cap.add_metric([r.retailer_id], r.email_cap_today)
        for reason, count in _by_category(r.deferred_by_reason).items():
            deferred.add_metric([r.retailer_id, reason], count)
    metrics += [oldest, oldest_untried, cap, deferred, *_shared(status, at)]
    return metrics


def reason_category(reason: str) -> str:
    """A reason without its particulars ("retries exhausted after 3: HTTP 503 ..." ->
    "retries exhausted"): a label must have few values, and no error text."""
    head = re.split(r"[:(]", reason, maxsplit=1)[0]
    return re.sub(r"(\s+(after|for|at|on|until))?\s+\d.*$", "", head).strip().lower() or "unknown"


def _by_category(reasons: dict[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason, count in reasons.items():
        category = reason_category(reason)
        counts[category] = counts.get(category, 0) + count
    return counts


def _shared(status: Status, at: datetime) -> list[Metric]:
    delivered = -1 if status.delivered_through is None else status.delivered_through
    behind = GaugeMetricFamily(
        "campaigns_events_versions_undelivered",
        "campaign_events versions written since the last delivered one",
        value=0 if status.events_version is None else status.events_version - delivered,
    )
    lease = status.lease
    abandoned = GaugeMetricFamily(
        "campaigns_delivery_lease_abandoned",
        "1: the lease's holder stopped renewing it without releasing it",
        value=1 if lease.get("abandoned") else 0,
    )
    held = GaugeMetricFamily(
        "campaigns_delivery_lease_held", "1: a delivery holds the lease", value=int(lease["held"])
    )
    commits = GaugeMetricFamily(
        "campaigns_table_last_commit_timestamp_seconds",
        "When each stage's table was last written",
        labels=["table", "stage"],  # not `job`: Prometheus's own label for the scrape
    )
    for commit in status.last_commits:
        if commit.at:
            commits.add_metric(
                [commit.table, commit.job], datetime.fromisoformat(commit.at).timestamp()
            )
    read_at = GaugeMetricFamily(
        "campaigns_status_timestamp_seconds", "When the status was read", value=at.timestamp()
    )
    return [behind, abandoned, held, commits, read_at]


class StatusCollector(Collector):
    """Reads the status when scraped, at most every `max_age_s` seconds."""

    def __init__(self, read: Callable[[], Status], *, max_age_s: float = 15.0) -> None:
        self.read, self.max_age_s = read, max_age_s
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.max_age_s:
            self._cached = (now, status_metrics(self.read()))
        yield from self._cached[1]
