"""Delivery fixtures: a real warehouse (Delta), a real simulator on loopback, real Flink runs.

Events are written straight to campaign_events with the registry's schema, so
each test controls exactly what the job must deliver. Retailers share
customer ids and email addresses on purpose: isolation must not rely on them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from jobs.config import Conf, load_conf
from jobs.config.models import RateLimit
from jobs.delivery.flink import DeliveryOptions
from jobs.delivery.run import RunSummary, deliver_once
from jobs.dev.simulator.app import Simulator
from jobs.dev.simulator.server import SimulatorThread, point_conf_at, simulator_from_conf
from jobs.providers.routing import ProviderRouter
from jobs.templates import TemplateLibrary, load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_CONF

CREATED_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def message_id(*keys: str) -> str:
    """As the engine computes it (jobs.audience.events.message_id_column)."""
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:32]


def event_rows(
    retailer_id: str,
    campaign_id: str,
    run_id: str,
    customers: int,
    *,
    channels: tuple[str, ...] = ("email",),
    variants: tuple[str, ...] = ("control",),
    template: str = "winback",
    holdout_every: int = 0,
) -> list[dict[str, Any]]:
    """campaign_events rows as the engine writes them (message ids deterministic)."""
    rows = []
    for n in range(customers):
        customer_id = f"c{n:05d}"
        is_holdout = bool(holdout_every) and n % holdout_every == 0
        variant = variants[n % len(variants)]
        for channel in channels:
            has_offer = variant != "control" and not is_holdout
            rows.append(
                {
                    "retailer_id": retailer_id,
                    "run_id": run_id,
                    "campaign_id": campaign_id,
                    "message_id": message_id(run_id, retailer_id, customer_id, channel),
                    "customer_id": customer_id,
                    "channel": channel,
                    "address": f"{customer_id}@example.com" if channel == "email" else f"tok-{n}",
                    "variant_id": variant,
                    "is_holdout": is_holdout,
                    "template_id": None if is_holdout else f"{template}-{channel}",
                    "offer_kind": "percent_off" if has_offer else None,
                    "offer_percent": 10.0 if has_offer else None,
                    "offer_amount_cents": None,
                    "offer_min_basket_cents": 3000 if has_offer else None,
                    "offer_expires_at": CREATED_AT + timedelta(days=14) if has_offer else None,
                    "promo_code": f"P{n:05d}" if has_offer else None,
                    "variables": [("first_name", f"Ann{n}"), ("locale", "en-US")],
                    "created_at": CREATED_AT,
                }
            )
    return rows


def append_events(store: DeltaStore, rows: list[dict[str, Any]]) -> int:
    schema = store.arrow_schema("campaign_events")
    return store.append("campaign_events", pa.Table.from_pylist(rows, schema=schema))


def standard_events() -> list[dict[str, Any]]:
    """Three retailers, two channels, variants with and without offers, holdouts: 725 events."""
    return [
        *event_rows(
            "fresh-mart",
            "fresh-mart-winback",
            "run-fm-1",
            260,
            channels=("email", "push"),
            variants=("control", "ten-percent"),
            holdout_every=10,
        ),
        *event_rows("green-grocer", "green-grocer-welcome", "run-gg-1", 130, template="welcome"),
        *event_rows(
            "maple-market",
            "maple-market-weekly-deals",
            "run-mm-1",
            75,
            variants=("amount-off", "no-offer"),
            template="weekly-deals",
        ),
    ]


def with_rate_limit(conf: Conf, retailer_id: str, rps: float, burst: int) -> Conf:
    retailer = conf.retailers[retailer_id]
    changed = retailer.model_copy(
        update={"rate_limit": RateLimit(requests_per_second=rps, burst=burst)}
    )
    return dataclasses.replace(conf, retailers={**conf.retailers, retailer_id: changed})


@dataclasses.dataclass
class DeliveryWorld:
    """A warehouse, a simulator serving every workspace, and a conf pointed at both."""

    conf: Conf
    store: DeltaStore
    library: TemplateLibrary
    server: SimulatorThread

    @property
    def sim(self) -> Simulator:
        return self.server.simulator

    def deliver(self, **options: Any) -> RunSummary | None:
        commit_seconds = options.pop("commit_seconds", 5.0)
        today = options.pop("today", None)
        return deliver_once(
            self.conf,
            self.store,
            self.library,
            options=DeliveryOptions(**options),
            commit_seconds=commit_seconds,
            today=today,
        )

    def sends(self) -> list[dict[str, Any]]:
        return self.store.read_arrow("message_sends").to_pylist()

    def accepted(self, workspace_id: str) -> list[dict[str, Any]]:
        return self.sim.workspaces[workspace_id].messages


def make_world(tmp_path: Path, conf: Conf) -> Iterator[DeliveryWorld]:
    server = SimulatorThread(simulator_from_conf(conf, render_mode="full")).start()
    try:
        pointed = point_conf_at(conf, server.url)
        library = load_library(pointed)
        router = ProviderRouter(pointed)
        report = deploy_library(pointed, library, router)
        router.close()
        assert report.ok, report.lines()
        yield DeliveryWorld(pointed, DeltaStore(str(tmp_path / "warehouse")), library, server)
    finally:
        server.stop()


@pytest.fixture
def base_conf(tmp_path: Path) -> Conf:
    conf = load_conf(REPO_CONF)
    profile = conf.profile.model_copy(update={"warehouse_uri": str(tmp_path / "warehouse")})
    return dataclasses.replace(conf, profile=profile)


@pytest.fixture
def world(tmp_path: Path, base_conf: Conf) -> Iterator[DeliveryWorld]:
    yield from make_world(tmp_path, base_conf)
