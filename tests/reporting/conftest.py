"""Reporting fixtures: a simulator that has accepted real sends (its event export has
something to say), and a small hand-computed warehouse registered as the SQL catalog."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from jobs.config import Conf, load_conf
from jobs.config.models import HOLDOUT_VARIANT
from jobs.dev.simulator.server import SimulatorThread, point_conf_at, simulator_from_conf
from jobs.providers import Recipient, SendBatch
from jobs.providers.routing import ProviderRouter
from jobs.reporting.attribution import attribute_orders, message_touches, offer_codes
from jobs.reporting.catalog import register_catalog
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse import Warehouse
from jobs.warehouse.statuses import Status
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_CONF, REPO_ROOT


@dataclass
class World:
    conf: Conf
    store: DeltaStore
    server: SimulatorThread

    def send(self, retailer_id: str, count: int, *, start: int = 0) -> None:
        """`count` winback-email sends (weekly deals at maple-market), 50 per request."""
        template = "weekly-deals-email" if retailer_id == "maple-market" else "winback-email"
        router = ProviderRouter(self.conf)
        try:
            client = router.for_retailer(retailer_id)
            for first in range(start, start + count, 50):
                recipients = tuple(
                    Recipient(f"{retailer_id}-m{n}", retailer_id, f"c{n}", f"c{n}@example.com")
                    for n in range(first, min(first + 50, start + count))
                )
                client.send_batch(SendBatch(retailer_id, "email", template, recipients, "run-1"))
        finally:
            router.close()

    def exported_ids(self) -> dict[str, set[str]]:
        """Retailer -> the distinct event ids its workspace's export holds."""
        return {
            ws.retailer_id: {event["event_id"] for event in ws.events}
            for ws in self.server.simulator.workspaces.values()
        }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    conf = load_conf(REPO_CONF)
    simulator = simulator_from_conf(conf, render_mode="off")
    simulator.engagement.duplicate_rate = 0.2  # at-least-once, often
    server = SimulatorThread(simulator).start()
    try:
        pointed = point_conf_at(conf, server.url)
        router = ProviderRouter(pointed)
        assert deploy_library(pointed, load_library(pointed), router).ok
        router.close()
        yield World(pointed, DeltaStore(str(tmp_path / "warehouse")), server)
    finally:
        server.stop()


T = datetime(2026, 11, 2, 9, tzinfo=UTC)
CAMPAIGN, RUN = "fresh-mart-winback", "run-1"


def write(store: DeltaStore, table: str, rows: list[dict[str, Any]]) -> None:
    schema = store.arrow_schema(table)
    store.append(table, pa.Table.from_pylist(rows, schema=schema))


def recipient(n: int, variant: str) -> str:
    return f"{variant}-{n}"


def sends(variant: str, status: Status = "sent") -> list[dict[str, Any]]:
    """Four recipients of one arm; the holdout's are recorded suppressed, never sent."""
    return [
        {
            "retailer_id": "fresh-mart",
            "message_id": f"m-{recipient(n, variant)}",
            "run_id": RUN,
            "campaign_id": CAMPAIGN,
            "customer_id": recipient(n, variant),
            "channel": "email",
            "variant_id": variant,
            "is_holdout": variant == HOLDOUT_VARIANT,
            "status": status,
            "attempts": 1,
            "batch_size": 4,
            "queued_at": T,
            "completed_at": T,
            "delivery_run_id": "dr-1",
            "source_version": 1,
        }
        for n in range(4)
    ]


def other_tenant_sends() -> list[dict[str, Any]]:
    """green-grocer: one sent welcome email, whose customer buys two days later."""
    return [
        {**row, "retailer_id": "green-grocer", "campaign_id": "green-grocer-welcome",
         "variant_id": "welcome", "customer_id": "c-green", "message_id": "m-green"}
        for row in sends("welcome")[:1]
    ]  # fmt: skip


def order(customer: str, cents: int, *, days: float = 1, **extra: Any) -> dict[str, Any]:
    return {
        "retailer_id": "fresh-mart",
        "order_id": f"o-{customer}-{cents}",
        "customer_id": customer,
        "ordered_at": T + timedelta(days=days),
        "total_cents": cents,
        "discount_cents": 0,
        "category": "produce",
        "item_count": 2,
        **extra,
    }


@pytest.fixture(scope="module")
def catalog(spark: SparkSession, sql_store: DeltaStore) -> SparkSession:
    """The hand-computed warehouse registered as the SQL catalog."""
    register_catalog(
        spark, Warehouse(spark, sql_store.root_uri), load_conf(REPO_CONF), REPO_ROOT / "sql"
    )
    return spark


@pytest.fixture(scope="session")
def sql_store(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> DeltaStore:
    """Four recipients in each of control, ten-percent and the holdout, attributed."""
    store = DeltaStore(str(tmp_path_factory.mktemp("sql") / "warehouse"))
    write(
        store,
        "message_sends",
        sends("control") + sends("ten-percent") + sends(HOLDOUT_VARIANT, "suppressed"),
    )
    write(
        store,
        "delivery_events",
        [
            {"retailer_id": "fresh-mart", "event_id": f"e-{m}-{kind}", "message_id": f"m-{m}",
             "customer_id": m, "channel": "email", "event_type": kind,
             "occurred_at": T + timedelta(minutes=5), "workspace_id": "ws-freshmart",
             "ip_pool": "shared-a", "ingested_at": T}
            for m in [recipient(n, v) for v in ("control", "ten-percent") for n in range(4)]
            for kind in (["delivered", "opened"] if m.endswith("-0") else ["delivered"])
        ]
        + [{"retailer_id": "fresh-mart", "event_id": "e-bounce", "message_id": "m-control-3",
            "customer_id": "control-3", "channel": "email", "event_type": "bounced_hard",
            "occurred_at": T, "workspace_id": "ws-freshmart", "ip_pool": "shared-a",
            "ingested_at": T}],
    )  # fmt: skip
    day = T.date()
    write(
        store,
        "warming_schedule",
        [{"retailer_id": "fresh-mart", "ip_pool": "shared-a", "schedule_date": day,
          "state": "ramping", "step": 3, "bad_days": 0, "pool_daily_cap": 20, "daily_cap": 10,
          "reason": "good day", "updated_at": T}],
    )  # fmt: skip
    write(
        store,
        "capacity_alerts",
        [{"retailer_id": "fresh-mart", "ip_pool": "shared-a", "alert_date": day,
          "pool_sent": 18, "daily_capacity": 20, "utilization": 0.9, "message": "near",
          "raised_at": T}],
    )  # fmt: skip
    write(
        store,
        "campaign_events",
        [
            {"retailer_id": "fresh-mart", "run_id": RUN, "campaign_id": CAMPAIGN,
             "message_id": f"m-ten-percent-{n}", "customer_id": f"ten-percent-{n}",
             "channel": "email", "variant_id": "ten-percent", "is_holdout": False,
             "promo_code": f"P{n}", "created_at": T}
            for n in range(4)
        ],
    )  # fmt: skip
    write(store, "message_sends", other_tenant_sends())
    # run-1 read as the first wave of an adaptive run on opens (one opener an arm)
    write(
        store,
        "variant_allocations",
        [
            {"retailer_id": "fresh-mart", "campaign_id": CAMPAIGN, "run_id": "run-0",
             "wave": 1, "wave_run_id": RUN, "variant_id": variant, "weight": 0.5,
             "metric": "open", "trials": 0, "successes": 0, "alpha": 1.0, "beta": 1.0,
             "prob_best": 0.5, "value_remaining": None, "is_stopped": False,
             "winner_variant_id": None, "decided_at": T}
            for variant in ("control", "ten-percent")
        ],
    )  # fmt: skip
    write(
        store,
        "orders",
        [
            order("c-green", 777, days=2, retailer_id="green-grocer"),
            order("control-0", 1500),
            order("ten-percent-0", 1000, promo_code="P0", discount_cents=300),
            order("ten-percent-1", 3000),
            order("holdout-0", 2000),
            order("holdout-1", 9999, days=8),  # after the 7-day window: not counted
            order("ten-percent-2", 5000, days=-1),  # before the send: not counted
        ],
    )
    conf = load_conf(REPO_ROOT / "conf")
    warehouse = Warehouse(spark, store.root_uri)
    attributed_df = attribute_orders(
        warehouse.read("orders"),
        message_touches(warehouse.read("message_sends"), warehouse.read("delivery_events")),
        offer_codes(warehouse.read("campaign_events")),
        windows=conf.platform.reporting.attribution,
        attributed_at=T + timedelta(days=10),
    )
    warehouse.write(attributed_df, "attributed_orders")
    return store
