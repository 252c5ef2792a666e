"""warming_schedule and capacity_alerts: what the daily warming update writes and delivery reads.

The pool is the unit of reputation, so the state machine runs per pool; the
rows are per retailer (its share of the pool's cap), because the delivery job
enforces caps per retailer and every key includes the retailer. A day's rows
are upserted on (retailer_id, ip_pool, schedule_date): rerunning a day's update
rewrites that day from the days before it, never stacking a second step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jobs.config import Conf
from jobs.config.models import IpPool
from jobs.warehouse.registry import CAPACITY_ALERTS, WARMING_SCHEDULE
from jobs.warehouse.store import DeltaStore
from jobs.warming.plan import (
    NO_EMAIL,
    PoolDay,
    PoolState,
    figures,
    first_day,
    next_day,
    shares,
)

SCHEDULE_KEYS = ("retailer_id", "ip_pool", "schedule_date")


@dataclass(frozen=True)
class PoolDecision:
    """One pool's day: its new state, what it was judged on, and each member's cap.

    The pool is judged as a whole, but a member's row shows only its own email of the
    day judged: another retailer's volume and complaint rate are not its to see."""

    ip_pool: str
    schedule_date: date
    state: PoolState
    judged: PoolDay | None
    caps: dict[str, int]
    member_days: dict[str, PoolDay] = field(default_factory=dict)

    def member_view(self, retailer_id: str) -> tuple[str, PoolDay | None]:
        """(reason, judged day) as the retailer's own row shows them."""
        if self.judged is None or len(self.caps) <= 1:
            return self.state.reason, self.judged  # alone in the pool: its figures are its own
        own = self.member_days.get(retailer_id, NO_EMAIL)
        return (
            f"{_verdict(self.state)}, judged on the email of the whole shared pool "
            f"{self.ip_pool} (other retailers' figures are not shown); yours: {figures(own)}",
            own,
        )


def _verdict(state: PoolState) -> str:
    return {
        "ramping": f"ramp advanced to step {state.step}",
        "holding": f"cap held at step {state.step}",
        "backing_off": f"backed off to step {state.step}",
        "warmed": "warmed",
    }[state.state]


def warming_pools(conf: Conf) -> dict[str, IpPool]:
    return {name: pool for name, pool in conf.platform.ip_pools.items() if pool.warming}


def pool_members(conf: Conf, ip_pool: str) -> list[str]:
    """The retailers sending email from the pool (push does not use sending IPs)."""
    return sorted(
        r.retailer_id
        for r in conf.retailers.values()
        if r.ip_pool == ip_pool and "email" in r.channels
    )


def latest_states(store: DeltaStore, before: date) -> dict[str, PoolState]:
    """Each pool's newest state from a day before `before`."""
    return _newest_states(_rows_before(store, before))


def _newest_states(rows: pa.Table) -> dict[str, PoolState]:
    return {pool: _state(row) for pool, row in _newest(rows.to_pylist(), "ip_pool").items()}


def _newest(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """The row with the latest schedule_date for each value of `key`."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen = newest.get(row[key])
        if seen is None or row["schedule_date"] > seen["schedule_date"]:
            newest[row[key]] = row
    return newest


def decide(
    conf: Conf,
    previous: dict[str, PoolState],
    yesterday: dict[str, PoolDay],
    today: date,
    members_yesterday: dict[str, PoolDay] | None = None,
) -> list[PoolDecision]:
    """Today's state of every warming pool: a pool without history starts its plan.
    `members_yesterday` (retailer -> its own day) is what each member's row shows."""
    decisions = []
    for name, pool in sorted(warming_pools(conf).items()):
        judged: PoolDay | None = None
        if name in previous:
            judged = yesterday.get(name, NO_EMAIL)
            state = next_day(previous[name], judged, pool, conf.platform.warming)
        else:
            state = first_day(pool)
        caps = shares(state.daily_cap, pool_members(conf, name))
        own = {rid: day for rid, day in (members_yesterday or {}).items() if rid in caps}
        decisions.append(PoolDecision(name, today, state, judged, caps, own))
    return decisions


def write_decisions(store: DeltaStore, decisions: list[PoolDecision]) -> int:
    """Upsert each member's row of each decision; returns the rows written."""
    now = datetime.now(UTC)
    rows = [
        _member_row(d, retailer_id, cap, now)
        for d in decisions
        for retailer_id, cap in d.caps.items()
    ]
    if rows:
        table = pa.Table.from_pylist(rows, schema=store.arrow_schema(WARMING_SCHEDULE.name))
        store.upsert(WARMING_SCHEDULE.name, table, keys=SCHEDULE_KEYS)
    return len(rows)


def _member_row(d: PoolDecision, retailer_id: str, cap: int, now: datetime) -> dict[str, object]:
    reason, judged = d.member_view(retailer_id)
    return {
        "retailer_id": retailer_id,
        "ip_pool": d.ip_pool,
        "schedule_date": d.schedule_date,
        "state": d.state.state,
        "step": d.state.step,
        "bad_days": d.state.bad_days,
        "pool_daily_cap": d.state.daily_cap,
        "daily_cap": cap,
        "reason": reason,
        "judged_sent": judged.sent if judged else None,
        "judged_delivery_rate": judged.delivery_rate if judged else None,
        "judged_bounce_rate": judged.bounce_rate if judged else None,
        "judged_complaint_rate": judged.complaint_rate if judged else None,
        "updated_at": now,
    }


def capacity_alerts(conf: Conf, yesterday: dict[str, PoolDay], on: date) -> list[dict[str, object]]:
    """An alert row per retailer of each pool whose email reached the alert share of capacity."""
    share = conf.platform.warming.capacity_alert_share
    now = datetime.now(UTC)
    alerts = []
    for name, pool in sorted(conf.platform.ip_pools.items()):
        sent = yesterday.get(name, NO_EMAIL).sent
        utilization = sent / pool.daily_capacity
        if utilization < share:
            continue
        message = (
            f"IP pool '{name}' sent {sent:,} email on {on.isoformat()}, {utilization:.0%} of "
            f"its capacity of {pool.daily_capacity:,}: add IPs (and warm them) before caps bind"
        )
        alerts += [
            {
                "retailer_id": retailer_id,
                "ip_pool": name,
                "alert_date": on,
                "pool_sent": sent,
                "daily_capacity": pool.daily_capacity,
                "utilization": utilization,
                "message": message,
                "raised_at": now,
            }
            for retailer_id in pool_members(conf, name)
        ]
    return alerts


def write_alerts(store: DeltaStore, alerts: list[dict[str, object]]) -> int:
    """Record alerts once per (retailer, pool, day); returns how many were new."""
    if not alerts:
        return 0
    table = pa.Table.from_pylist(alerts, schema=store.arrow_schema(CAPACITY_ALERTS.name))
    return store.insert_new(
        CAPACITY_ALERTS.name, table, keys=("retailer_id", "ip_pool", "alert_date")
    )


def start_plan(store: DeltaStore, conf: Conf, retailer_id: str, today: date) -> PoolDecision | None:
    """Put a retailer on its pool's warming plan from today; nothing when already on it.

    A pool already warming keeps its state and is re-split to include the
    retailer; a pool without history starts at the plan's first step.
    """
    retailer = conf.retailer(retailer_id)
    if retailer.ip_pool not in warming_pools(conf) or "email" not in retailer.channels:
        return None
    rows = _rows_before(store, date.max)
    mine = pc.and_(
        pc.equal(rows["retailer_id"], retailer_id), pc.equal(rows["ip_pool"], retailer.ip_pool)
    )
    if rows.filter(mine).num_rows:
        return None
    previous = _newest_states(rows).get(retailer.ip_pool)
    pool = warming_pools(conf)[retailer.ip_pool]
    state = previous if previous is not None else first_day(pool)
    decision = PoolDecision(
        retailer.ip_pool,
        today,
        state,
        None,
        shares(state.daily_cap, pool_members(conf, retailer.ip_pool)),
    )
    write_decisions(store, [decision])
    return decision


def warming_caps(store: DeltaStore, conf: Conf, today: date) -> dict[str, int | None]:
    """Each retailer's email cap for today from its pool's plan; None when its pool is warm.

    The newest row on or before today counts (a day whose update has not run yet
    keeps yesterday's cap). A retailer of a warming pool with no row yet gets
    its share of the plan's first day: nothing is sent uncapped by accident.
    """
    current = [
        row
        for row in _rows_before(store, today + timedelta(days=1)).to_pylist()
        # a retailer that moved pools leaves its old plan behind
        if row["retailer_id"] in conf.retailers
        and conf.retailers[row["retailer_id"]].ip_pool == row["ip_pool"]
    ]
    newest = _newest(current, "retailer_id")
    pools = warming_pools(conf)
    caps: dict[str, int | None] = {}
    for rid, retailer in conf.retailers.items():
        if retailer.ip_pool not in pools:
            caps[rid] = None
        elif rid in newest:
            caps[rid] = int(newest[rid]["daily_cap"])
        else:
            start = first_day(pools[retailer.ip_pool]).daily_cap
            caps[rid] = shares(start, pool_members(conf, retailer.ip_pool)).get(rid, 0)
    return caps


def pool_days(rows: Iterable[dict[str, Any]], *, by: str = "ip_pool") -> dict[str, PoolDay]:
    """Per-retailer deliverability rows (rpt_deliverability) summed per pool (or per
    retailer, `by="retailer_id"`)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        total = totals[str(row[by])]
        for index, column in enumerate(("sent", "delivered", "bounced", "complaints")):
            total[index] += int(row[column] or 0)
    return {pool: PoolDay(*values) for pool, values in totals.items()}


def _rows_before(store: DeltaStore, before: date) -> pa.Table:
    rows = store.read_arrow(WARMING_SCHEDULE.name)
    if not rows.num_rows:
        return rows
    return rows.filter(pc.less(rows["schedule_date"], pa.scalar(before, pa.date32())))


def _state(row: dict[str, Any]) -> PoolState:
    return PoolState(
        step=int(row["step"]),
        state=row["state"],
        bad_days=int(row["bad_days"]),
        daily_cap=int(row["pool_daily_cap"]),
        reason=str(row["reason"]),
    )


def plan_status(conf: Conf, retailer_id: str, *, started: bool) -> str:
    """Where a retailer stands with IP warming after `start_plan`, for the operator."""
    retailer = conf.retailer(retailer_id)
    pool = conf.platform.ip_pools[retailer.ip_pool]
    if pool.warming is None:
        return f"IP pool {retailer.ip_pool} is warm: no warming plan needed"
    if "email" not in retailer.channels:
        return "no email channel: nothing to warm"
    if started:
        return f"warming plan started in IP pool {retailer.ip_pool} (warming_schedule)"
    return f"already on the warming plan of IP pool {retailer.ip_pool}"
