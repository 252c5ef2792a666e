"""A real simulator on an ephemeral loopback port, and clients routed to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from jobs.config import Conf, load_conf
from jobs.dev.simulator.app import Simulator
from jobs.dev.simulator.server import SimulatorThread, point_conf_at, simulator_from_conf
from jobs.providers import ProviderRouter, Recipient, SendBatch, Template
from tests.conftest import REPO_CONF

TEMPLATE = Template(
    "winback-email",
    "email",
    {"subject": "We miss you, {{ first_name }}", "html": "<p>{{ offer_text }}</p>"},
    required_properties=("first_name",),
)


@pytest.fixture
def simulator() -> Iterator[tuple[SimulatorThread, Simulator]]:
    sim = simulator_from_conf(load_conf(REPO_CONF), render_mode="full")
    server = SimulatorThread(sim).start()
    yield server, sim
    server.stop()


@pytest.fixture
def conf(simulator: tuple[SimulatorThread, Simulator]) -> Conf:
    return point_conf_at(load_conf(REPO_CONF), simulator[0].url)


@pytest.fixture
def router(conf: Conf) -> Iterator[ProviderRouter]:
    provider_router = ProviderRouter(conf, timeout=5.0)
    provider_router.for_retailer("fresh-mart").upsert_template(TEMPLATE)
    yield provider_router
    provider_router.close()


def admin(server: SimulatorThread, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{server.url}/_admin/{path}"
    response = (
        requests.post(url, json=body, timeout=5)
        if body is not None
        else requests.get(url, timeout=5)
    )
    response.raise_for_status()
    return response.json()


def batch(
    ids: range | list[int],
    *,
    retailer: str = "fresh-mart",
    prefix: str = "m",
    properties: dict[str, str] | None = None,
    variant: str | None = None,
) -> SendBatch:
    props = properties if properties is not None else {"first_name": "Ava", "offer_text": "10%"}
    return SendBatch(
        retailer_id=retailer,
        channel="email",
        template_id=TEMPLATE.template_id,
        recipients=tuple(
            Recipient(f"{prefix}{i}", retailer, f"c{i}", f"c{i}@example.com", props) for i in ids
        ),
        campaign_run_id="run-1",
        variant_id=variant,
    )
