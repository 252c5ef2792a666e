"""What an operator looks at first: per retailer, what is waiting to be sent and why, and
the state of the shared machinery (the stream's offset, the lease, the last commits).

Read from the Delta logs and a few columns with delta-rs (no Spark, no JVM), so
`campaigns status` answers in seconds on a loaded machine. Counts and ages only: no
customer, address or message ids, which keeps its output fit for a ticket or a chat.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jobs.config import Conf
from jobs.delivery.controls import paused_campaigns
from jobs.delivery.lease import current_state
from jobs.delivery.plan import SOURCE_APP_ID
from jobs.warehouse.registry import (
    ATTRIBUTED_ORDERS,
    CAMPAIGN_CONTROLS,
    CAMPAIGN_EVENTS,
    DELIVERY_EVENTS,
    DELIVERY_LEASE,
    MESSAGE_SENDS,
)
from jobs.warehouse.statuses import FINAL_STATUSES, IN_DOUBT
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import warming_caps

# The tables whose newest commit says when each job last ran, and which job wrote it.
JOB_TABLES = {
    CAMPAIGN_EVENTS.name: "launch",
    MESSAGE_SENDS.name: "delivery",
    DELIVERY_EVENTS.name: "ingestion",
    ATTRIBUTED_ORDERS.name: "attribution",
}


@dataclass(frozen=True)
class RetailerStatus:
    retailer_id: str
    backlog: int  # messages not yet final: never tried, deferred, paused or in doubt
    not_yet_tried: int
    oldest_waiting_minutes: int | None
    # the oldest never tried: a stalled delivery, where waiting for a cap or a pause is not
    oldest_untried_minutes: int | None
    deferred_by_reason: dict[str, int]
    paused: int
    in_doubt: int
    paused_campaigns: list[str]
    email_sent_today: int
    email_cap_today: int | None  # None: the retailer's pool is warm, no cap


@dataclass(frozen=True)
class LastCommit:
    job: str
    table: str
    version: int
    at: str | None
    by: str | None


@dataclass(frozen=True)
class Status:
    at: str
    events_version: int | None
    delivered_through: int | None
    lease: dict[str, Any]
    last_commits: list[LastCommit]
    retailers: list[RetailerStatus] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        return [*_header(self), "", *_table(self.retailers)]


def warehouse_status(store: DeltaStore, conf: Conf, now: datetime | None = None) -> Status:
    now = now or datetime.now(UTC)
    events = store.read_arrow(
        CAMPAIGN_EVENTS.name, columns=["retailer_id", "message_id", "channel", "created_at"]
    )
    sends = store.read_arrow(
        MESSAGE_SENDS.name,
        columns=["retailer_id", "message_id", "channel", "status", "reason", "completed_at"],
    )
    paused = paused_campaigns(store.read_arrow(CAMPAIGN_CONTROLS.name))
    caps = warming_caps(store, conf, now.date())
    retailers = sorted(set(conf.retailers) | set(events.column("retailer_id").to_pylist()))
    return Status(
        at=now.isoformat(timespec="seconds"),
        events_version=_version(store, CAMPAIGN_EVENTS.name),
        delivered_through=store.last_run_version(MESSAGE_SENDS.name, SOURCE_APP_ID),
        lease=_lease(store, now),
        last_commits=[_last_commit(store, table, job) for table, job in JOB_TABLES.items()],
        retailers=[
            _retailer_status(
                rid,
                _of(events, rid),
                _of(sends, rid),
                sorted(c for r, c in paused if r == rid),
                caps.get(rid),
                now,
            )
            for rid in retailers
        ],
    )


def _retailer_status(
    retailer_id: str,
    events: pa.Table,
    sends: pa.Table,
    paused: list[str],
    cap: int | None,
    now: datetime,
) -> RetailerStatus:
    status_of = dict(
        zip(sends.column("message_id").to_pylist(), sends.column("status").to_pylist(), strict=True)
    )
    created_at = dict(
        zip(
            events.column("message_id").to_pylist(),
            events.column("created_at").to_pylist(),
            strict=True,
        )
    )
    waiting = [c for m, c in created_at.items() if status_of.get(m) not in FINAL_STATUSES]
    untried = [c for m, c in created_at.items() if m not in status_of]
    counts = Counter(status_of.values())
    deferred = sends.filter(pc.equal(sends["status"], "deferred"))
    sent_today = sends.filter(
        pc.and_(
            pc.and_(pc.equal(sends["status"], "sent"), pc.equal(sends["channel"], "email")),
            pc.equal(pc.cast(sends["completed_at"], pa.date32()), pa.scalar(now.date())),
        )
    )
    return RetailerStatus(
        retailer_id=retailer_id,
        backlog=len(waiting),
        not_yet_tried=len(untried),
        oldest_waiting_minutes=_minutes_since(min(waiting, default=None), now),
        oldest_untried_minutes=_minutes_since(min(untried, default=None), now),
        deferred_by_reason=dict(
            sorted(Counter(r or "unknown" for r in deferred.column("reason").to_pylist()).items())
        ),
        paused=counts["paused"],
        in_doubt=counts[IN_DOUBT],
        paused_campaigns=paused,
        email_sent_today=sent_today.num_rows,
        email_cap_today=cap,
    )


def _minutes_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else int((now - moment).total_seconds() // 60)


def _of(table: pa.Table, retailer_id: str) -> pa.Table:
    return table.filter(pc.equal(table["retailer_id"], retailer_id))


def _version(store: DeltaStore, name: str) -> int | None:
    table = store.find(name)
    return None if table is None else table.version()


def _lease(store: DeltaStore, now: datetime) -> dict[str, Any]:
    """The lease as its newest commit states it (read only: a status creates no table)."""
    if store.find(DELIVERY_LEASE.name) is None:
        return {
            "held": False,
            "holder": "nobody",
            "token": 0,
            "expires_at": None,
            "abandoned": False,
        }
    state = current_state(store)
    held = not state.is_free(now)
    return {
        "held": held,
        "holder": state.holder,
        "token": state.token,
        "expires_at": state.expires_at.isoformat(timespec="seconds") if held else None,
        # its holder stopped renewing without releasing it: killed, or hung
        "abandoned": state.action != "release" and not held,
    }


def _last_commit(store: DeltaStore, name: str, job: str) -> LastCommit:
    table = store.find(name)
    if table is None:
        return LastCommit(job, name, -1, None, None)
    newest = max(table.history(1), key=lambda commit: int(commit.get("version", 0)))
    at = datetime.fromtimestamp(int(newest["timestamp"]) / 1000, UTC)
    metadata = store.commit_metadata(name, look_back=1)
    by = metadata[0].get("job") if metadata else None
    return LastCommit(job, name, table.version(), at.isoformat(timespec="seconds"), by)


def _header(status: Status) -> list[str]:
    waiting = (
        "not delivered yet"
        if status.delivered_through is None
        else f"delivered through version {status.delivered_through}"
    )
    lease = status.lease
    holder = (
        f"held by {lease['holder']} until {lease['expires_at']} (token {lease['token']})"
        if lease["held"]
        else f"free (last holder {lease['holder']}, token {lease['token']}"
        + (", which stopped without releasing it)" if lease.get("abandoned") else ")")
    )
    lines = [
        f"status at {status.at}",
        f"campaign_events: version {status.events_version}, {waiting}",
        f"delivery lease: {holder}",
        "last commits:",
    ]
    lines += [
        f"  {c.job:<12} {c.table:<18} "
        + (f"version {c.version} at {c.at}" if c.at else "no table yet")
        + (f" ({c.by})" if c.by else "")
        for c in status.last_commits
    ]
    return lines


def _table(retailers: list[RetailerStatus]) -> list[str]:
    header = (
        f"{'retailer':<18}{'backlog':>9}{'untried':>9}{'oldest':>9}{'paused':>8}"
        f"{'in_doubt':>10}  {'email today / cap':<20}deferred by reason; paused campaigns"
    )
    rows = [header]
    for r in retailers:
        oldest = "-" if r.oldest_waiting_minutes is None else _age(r.oldest_waiting_minutes)
        cap = "no cap" if r.email_cap_today is None else f"{r.email_cap_today:,}"
        deferred = ", ".join(f"{k} {v:,}" for k, v in r.deferred_by_reason.items()) or "-"
        rows.append(
            f"{r.retailer_id:<18}{r.backlog:>9,}{r.not_yet_tried:>9,}{oldest:>9}{r.paused:>8,}"
            f"{r.in_doubt:>10,}  {f'{r.email_sent_today:,} / {cap}':<20}"
            f"{deferred}; {', '.join(r.paused_campaigns) or '-'}"
        )
    return rows


def _age(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"
