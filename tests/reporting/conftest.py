"""A simulator that has accepted real sends, so its event export has something to say."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.config import Conf, load_conf
from jobs.providers import Recipient, SendBatch
from jobs.providers.routing import ProviderRouter
from jobs.providers.simulator.server import SimulatorThread, point_conf_at, simulator_from_conf
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_CONF


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
