"""Delivery's figures per workspace, from the batch reports the driver collects.

Every batch the Flink job finishes comes back to the driver once (it commits them to
message_sends), so counting there gives exact totals, across every run of a
`deliver --follow` process, whatever the job's parallelism or where its workers run.
Flink's own job metrics (records, back pressure, busy time) come from its Prometheus
reporter (`flink.prometheus_port` in the profile; docs/operations.md#metrics).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from jobs.config.models import Channel
from jobs.delivery.records import BatchReport

WORKSPACE = ["retailer_id"]
BATCH_SIZES = (1, 5, 10, 20, 30, 40, 50)
SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class DeliveryMetrics:
    """The `campaigns_delivery_*` series of one process (docs/operations.md#metrics)."""

    def __init__(self, retailer_ids: Iterable[str] = (), registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "campaigns_delivery_messages",
            "Messages by the status a run left them in (sent, failed, deferred, ...)",
            ["retailer_id", "channel", "status"],
            registry=r,
        )
        self.requests = Counter(
            "campaigns_delivery_requests",
            "Provider requests, retries included",
            WORKSPACE,
            registry=r,
        )
        self.throttled = Counter(
            "campaigns_delivery_throttled",
            "Requests the provider answered 429",
            WORKSPACE,
            registry=r,
        )
        self.retried = Counter(
            "campaigns_delivery_retried", "Requests beyond a batch's first", WORKSPACE, registry=r
        )
        self.batch_size = Histogram(
            "campaigns_delivery_batch_size",
            "Messages per batch",
            WORKSPACE,
            buckets=BATCH_SIZES,
            registry=r,
        )
        self.send_seconds = Histogram(
            "campaigns_delivery_send_seconds",
            "From a batch's first request to its answer, retries included",
            WORKSPACE,
            buckets=SECONDS,
            registry=r,
        )
        self.bucket_wait_seconds = Histogram(
            "campaigns_delivery_bucket_wait_seconds",
            "Time a batch's requests waited for the workspace's rate limit",
            WORKSPACE,
            buckets=SECONDS,
            registry=r,
        )
        self.runs = Counter("campaigns_delivery_runs", "Delivery runs that ended", registry=r)
        self.last_run = Gauge(
            "campaigns_delivery_last_run_timestamp_seconds", "When the last run ended", registry=r
        )
        for retailer_id in retailer_ids:
            self._start_at_zero(retailer_id)

    def _start_at_zero(self, retailer_id: str) -> None:
        """A workspace's series exist from the start, at 0: a counter first seen at 17
        shows no increase, and its first batches would never count in a rate()."""
        for counter in (self.requests, self.throttled, self.retried):
            counter.labels(retailer_id)
        for channel in get_args(Channel):
            for status in ("sent", "failed"):
                self.messages.labels(retailer_id, channel, status)

    def observe(self, report: BatchReport) -> None:
        rid = report.retailer_id
        for outcome in report.outcomes:
            self.messages.labels(rid, outcome.channel, outcome.status).inc()
        self.requests.labels(rid).inc(report.requests)
        self.throttled.labels(rid).inc(report.throttled)
        self.retried.labels(rid).inc(max(0, report.requests - 1))
        self.batch_size.labels(rid).observe(report.batch_size)
        if report.requests:
            latency = (
                max((o.send_latency_ms or 0) for o in report.outcomes) if report.outcomes else 0
            )
            self.send_seconds.labels(rid).observe(latency / 1000)
            self.bucket_wait_seconds.labels(rid).observe(report.bucket_wait_s)

    def run_ended(self) -> None:
        self.runs.inc()
        self.last_run.set(time.time())
