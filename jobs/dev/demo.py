"""The demo's delivery step: a simulator on loopback stands in for the provider."""

from __future__ import annotations

from collections import Counter

from jobs.config import Conf
from jobs.delivery.run import deliver_once
from jobs.dev.simulator.server import point_conf_at, running_simulator, simulator_from_conf
from jobs.providers.routing import ProviderRouter
from jobs.reporting.ingest import ingest_events
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.statuses import STATUSES
from jobs.warehouse.store import DeltaStore


def demo_delivery(conf: Conf) -> str:
    """Deploy templates, deliver everything, ingest the provider's events, and report
    message_sends per campaign and status.

    The simulator lives only as long as the demo, so its record of accepted
    messages starts empty; messages sent by an earlier demo are skipped by the
    ledger and never reach it again.
    """
    library = load_library(conf)
    store = DeltaStore.from_profile(conf.profile)
    with running_simulator(simulator_from_conf(conf, render_mode="full")) as server:
        pointed = point_conf_at(conf, server.url)
        router = ProviderRouter(pointed)
        try:
            deployed = deploy_library(pointed, library, router, store=store)
        finally:
            router.close()
        summary = deliver_once(pointed, store, library)
        accepted = sum(ws.counters["accepted"] for ws in server.simulator.workspaces.values())
        router = ProviderRouter(pointed)
        try:
            ingested = ingest_events(pointed, store, router)
        finally:
            router.close()
    lines = deployed.lines()
    lines.append(summary.line() if summary else "delivery: nothing new to deliver")
    lines.append(f"simulator accepted {accepted:,} messages in this demo")
    lines.append(ingested.line())
    return "\n".join([*lines, "", status_table(store)])


def status_table(store: DeltaStore) -> str:
    """message_sends per campaign and status: what an operator checks after a run."""
    rows = store.read_arrow("message_sends", columns=["campaign_id", "status"]).to_pylist()
    counts = Counter((row["campaign_id"], row["status"]) for row in rows)
    campaigns = sorted({campaign for campaign, _ in counts})
    header = f"{'campaign':<28}" + "".join(f"{status:>12}" for status in STATUSES)
    body = [
        f"{campaign:<28}" + "".join(f"{counts[(campaign, s)]:>12,}" for s in STATUSES)
        for campaign in campaigns
    ]
    return "\n".join(["message_sends by campaign and status", header, *body])
