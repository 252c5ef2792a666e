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

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
from pyspark.sql import SparkSession

from jobs.config import Conf, ConfigError, ConfigProblem
from jobs.reporting.catalog import register_catalog
from jobs.warehouse import Warehouse, build_spark
from jobs.warehouse.registry import MESSAGE_SENDS
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import pool_members, warming_caps, warming_pools
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
        self.store.append(MESSAGE_SENDS.name, _sends(retailer_id, run_id, ids, at))
        events = [(i, "bounced_hard") for i in ids[:bounced]]
        events += [(i, "delivered") for i in ids[bounced:]]
        events += [(i, "complained") for i in ids[bounced : bounced + complained]]
        retailer = self.conf.retailer(retailer_id)
        self.store.append("delivery_events", _events(retailer_id, retailer.ip_pool, events, at))


def _id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _sends(retailer_id: str, run_id: str, ids: list[str], at: datetime) -> pa.Table:
    """Sent email in message_sends' registry shape: one value per column, the ids per row."""
    same = {
        "retailer_id": retailer_id,
        "run_id": run_id,
        "campaign_id": "warming-simulation",
        "channel": "email",
        "variant_id": "control",
        "is_holdout": False,
        "template_id": "simulated-email",
        "status": "sent",
        "reason": None,
        "attempts": 1,
        "dispatch_id": None,
        "segments": None,
        "batch_size": 50,
        "queued_at": at,
        "first_attempt_at": at,
        "completed_at": at,
        "send_latency_ms": 0,
        "eligible_at": None,
        "delivery_run_id": run_id,
        "source_version": 0,
    }
    per_row = {"message_id": ids, "customer_id": ids}
    return pa.table(
        {
            name: per_row[name] if name in per_row else [same[name]] * len(ids)
            for name in MESSAGE_SENDS.column_names
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
            "dispatch_id": [None] * n,
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


def warming_pool(conf: Conf, pool: str | None) -> str:
    """The pool to simulate: the one asked for, or the first warming pool; it must warm."""
    pools = warming_pools(conf)
    chosen = pool or next(iter(sorted(pools)), None)
    if chosen not in pools:
        raise ConfigError(
            [
                ConfigProblem(
                    str(conf.root / "platform.yaml"),
                    "ip_pools",
                    f"'{chosen}' is not a warming pool (warming pools: {sorted(pools)}); "
                    "give --pool one whose entry has `warming:`",
                )
            ]
        )
    return chosen


def simulate(
    conf: Conf, pool: str, scenario: Scenario, *, sql_dir: Path, keep: Path | None = None
) -> list[SimulatedDay]:
    """The scenario in a throwaway warehouse (or one kept at `keep`), never the real one."""
    with tempfile.TemporaryDirectory(prefix="warming-sim-") as scratch:
        root = str((keep or Path(scratch)).resolve())
        sim_conf = dataclasses.replace(
            conf, profile=conf.profile.model_copy(update={"warehouse_uri": root})
        )
        spark = build_spark(sim_conf.profile, app_name="campaigns-warming-simulation")
        try:
            warehouse = Warehouse.from_profile(spark, sim_conf.profile)
            return WarmingSimulation(spark, warehouse, sim_conf, sql_dir, pool, scenario).run()
        finally:
            spark.stop()
