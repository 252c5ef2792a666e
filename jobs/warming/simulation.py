"""Weeks of warming in minutes: the real daily update over simulated days of sending.

Each simulated day runs what production runs each morning and day: the warming
update (reading rpt_deliverability over the tables) decides the day's caps;
the pool's retailers then send what they want up to the cap delivery would
enforce (`warming_caps`, the delivery plan's own reader), and the provider's
outcome lands in message_sends and delivery_events with the scenario's bounce
and complaint rates. Only the send itself is simulated: it writes the rows the
delivery job and the ingestion would write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
from pyspark.sql import SparkSession

from jobs.config import Conf
from jobs.reporting.catalog import register_catalog
from jobs.warehouse import Warehouse
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import pool_members, warming_caps
from jobs.warming.update import DELIVERABILITY_VIEWS, update_warming


@dataclass(frozen=True)
class Scenario:
    """What the pool's retailers want to send and how the mailbox providers answer."""

    days: int = 42
    start: date = date(2026, 1, 5)
    daily_demand: int = 5_000  # email wanted a day by the whole pool
    bounce_rate: float = 0.01
    complaint_rate: float = 0.0002
    spike_days: tuple[int, ...] = (15, 16)  # 1-based days with a bounce spike
    spike_bounce_rate: float = 0.12

    def bounces_on(self, day_number: int) -> float:
        return self.spike_bounce_rate if day_number in self.spike_days else self.bounce_rate


@dataclass(frozen=True)
class SimulatedDay:
    number: int
    on: date
    state: str
    step: int
    pool_cap: int
    sent: int
    bounce_rate: float
    reason: str
    capacity_alert: bool = False  # the morning's update raised one for the day before


@dataclass
class WarmingSimulation:
    spark: SparkSession
    warehouse: Warehouse
    conf: Conf
    sql_dir: Path
    ip_pool: str
    scenario: Scenario = field(default_factory=Scenario)

    @property
    def store(self) -> DeltaStore:
        return self.warehouse.store

    def run(self) -> list[SimulatedDay]:
        return [self.day(number) for number in range(1, self.scenario.days + 1)]

    def day(self, number: int) -> SimulatedDay:
        on = self.scenario.start + timedelta(days=number - 1)
        register_catalog(
            self.spark, self.warehouse, self.conf, self.sql_dir, views=DELIVERABILITY_VIEWS
        )
        morning = update_warming(self.spark, self.store, self.conf, on)
        [decision] = [d for d in morning.decisions if d.ip_pool == self.ip_pool]
        caps = warming_caps(self.store, self.conf, on)
        members = pool_members(self.conf, self.ip_pool)
        wanted = self.scenario.daily_demand // max(1, len(members))
        bounce_rate = self.scenario.bounces_on(number)
        sent = 0
        for retailer_id in members:
            cap = caps[retailer_id]
            count = wanted if cap is None else min(wanted, cap)
            self._send(retailer_id, on, count, bounce_rate)
            sent += count
        state = decision.state
        return SimulatedDay(
            number,
            on,
            state.state,
            state.step,
            state.daily_cap,
            sent,
            bounce_rate,
            state.reason,
            capacity_alert=bool(morning.alert_messages),
        )

    def _send(self, retailer_id: str, on: date, count: int, bounce_rate: float) -> None:
        """A day's email of one retailer: sent, then delivered or bounced, some complained."""
        if not count:
            return
        at = datetime.combine(on, time(12), tzinfo=UTC)
        run_id = f"warming-sim-{on.isoformat()}"
        ids = [_id(run_id, retailer_id, str(n)) for n in range(count)]
        bounced = round(count * bounce_rate)
        complained = round((count - bounced) * self.scenario.complaint_rate)
        self.store.append("message_sends", _sends(retailer_id, run_id, ids, at))
        events = [(i, "bounced_hard") for i in ids[:bounced]]
        events += [(i, "delivered") for i in ids[bounced:]]
        events += [(i, "complained") for i in ids[bounced : bounced + complained]]
        retailer = self.conf.retailer(retailer_id)
        self.store.append("delivery_events", _events(retailer_id, retailer.ip_pool, events, at))


def _id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _sends(retailer_id: str, run_id: str, ids: list[str], at: datetime) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "retailer_id": [retailer_id] * n,
            "message_id": ids,
            "run_id": [run_id] * n,
            "campaign_id": ["warming-simulation"] * n,
            "customer_id": ids,
            "channel": ["email"] * n,
            "variant_id": ["control"] * n,
            "template_id": ["simulated-email"] * n,
            "status": ["sent"] * n,
            "reason": [None] * n,
            "attempts": [1] * n,
            "dispatch_id": [None] * n,
            "batch_size": [50] * n,
            "queued_at": [at] * n,
            "first_attempt_at": [at] * n,
            "completed_at": [at] * n,
            "send_latency_ms": [0] * n,
            "delivery_run_id": [run_id] * n,
            "source_version": [0] * n,
        }
    )


def _events(
    retailer_id: str, ip_pool: str, events: list[tuple[str, str]], at: datetime
) -> pa.Table:
    n = len(events)
    return pa.table(
        {
            "retailer_id": [retailer_id] * n,
            "event_id": [_id(message, kind) for message, kind in events],
            "message_id": [message for message, _ in events],
            "customer_id": [message for message, _ in events],
            "channel": ["email"] * n,
            "event_type": [kind for _, kind in events],
            "occurred_at": [at + timedelta(minutes=5)] * n,
            "workspace_id": [f"ws-{retailer_id}"] * n,
            "ip_pool": [ip_pool] * n,
            "ingested_at": [at + timedelta(hours=1)] * n,
        }
    )


def table(days: list[SimulatedDay]) -> list[str]:
    """The run as a table an operator can read: day, state, cap, sent, bounces, why."""
    lines = [
        f"{'day':>3}  {'date':10}  {'state':11}  {'step':>4}  {'cap':>7}  {'sent':>7}  "
        f"{'bounces':>7}  reason"
    ]
    lines += [
        f"{d.number:>3}  {d.on.isoformat()}  {d.state:11}  {d.step:>4}  {d.pool_cap:>7,}  "
        f"{d.sent:>7,}  {d.bounce_rate:>7.1%}  {d.reason}"
        + ("  [capacity alert raised for yesterday]" if d.capacity_alert else "")
        for d in days
    ]
    return lines
