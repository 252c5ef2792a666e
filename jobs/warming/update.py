"""The daily warming update: yesterday's deliverability in, today's caps and alerts out.

Deliverability is read from `rpt_deliverability`, the same view analysts and
dashboards use, so the numbers that move a ramp are the numbers people see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import SparkSession

from jobs.config import Conf
from jobs.warehouse.store import DeltaStore
from jobs.warming.plan import PoolDay
from jobs.warming.schedule import (
    PoolDecision,
    capacity_alerts,
    decide,
    latest_states,
    pool_days,
    write_alerts,
    write_decisions,
)

# What the update reads; registering only these keeps a simulated day short.
DELIVERABILITY_VIEWS = ("rpt_deliverability",)


@dataclass(frozen=True)
class WarmingRun:
    today: date
    decisions: list[PoolDecision]
    new_alerts: int
    alert_messages: list[str]

    def lines(self) -> list[str]:
        lines = [f"warming for {self.today.isoformat()}:"]
        for d in self.decisions:
            caps = ", ".join(f"{rid} {cap:,}" for rid, cap in d.caps.items()) or "no members"
            lines.append(
                f"  {d.ip_pool}: {d.state.state} at step {d.state.step}, "
                f"cap {d.state.daily_cap:,} ({caps}) - {d.state.reason}"
            )
        if not self.decisions:
            lines.append("  no IP pool is warming")
        lines += [f"  capacity alert: {message}" for message in self.alert_messages]
        return lines


def deliverability(spark: SparkSession, day: date) -> tuple[dict[str, PoolDay], dict[str, PoolDay]]:
    """Email sent on `day` per IP pool and per retailer, from rpt_deliverability (registered
    in the catalog): the pool is judged, each retailer is shown its own."""
    rows = [
        row.asDict()
        for row in spark.sql(
            "select retailer_id, ip_pool, sent, delivered, bounced, complaints "
            "from rpt_deliverability where sent_on = :day",
            args={"day": day},
        ).collect()
    ]
    return pool_days(rows), pool_days(rows, by="retailer_id")


def update_warming(spark: SparkSession, store: DeltaStore, conf: Conf, today: date) -> WarmingRun:
    """Decide and write today's warming_schedule rows, and any capacity alerts from yesterday.

    Rerunning a day rewrites that day's rows from the same inputs (an upsert on the
    day's keys), so a retried Airflow task cannot advance a ramp twice.
    """
    yesterday = today - timedelta(days=1)
    judged, own = deliverability(spark, yesterday)
    decisions = decide(conf, latest_states(store, today), judged, today, own)
    write_decisions(store, decisions)
    alerts = capacity_alerts(conf, judged, yesterday)
    new_alerts = write_alerts(store, alerts)
    messages = sorted({str(alert["message"]) for alert in alerts})
    return WarmingRun(today, decisions, new_alerts, messages)
