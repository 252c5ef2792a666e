"""`campaigns bench delivery`: one million events across 350 retailers, against the simulator.

Three measurements in one run, the simulator in its own process on one core:

1. raw capacity: a minimal asynchronous client sending batches of 50 with many
   requests in flight, rate limits lifted (the ceiling of any client, the anchor);
2. delivery, limits not binding, at a quarter, half and all of `--events`: the
   Flink job end to end (plan, mini cluster start, read, rebatch, send, commit),
   as messages per second and as a share of the raw capacity; goal at least 50%;
3. delivery, limits binding: 20 retailers at 4 requests per second (burst 4);
   the requests each workspace made over what its limit allowed in the same
   window; goal at least 97%, with zero 429s.

Peak memory of the driver, the Flink JVM, its Python workers and the simulator
is printed at the end.

Everything goes to 127.0.0.1 and every phase is bounded in messages.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import statistics
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import requests

from jobs.commands.common import add_common_arguments, emit
from jobs.config import Conf
from jobs.config.models import RateLimit
from jobs.delivery.run import RunSummary, deliver_once
from jobs.dev.bench.memory import peak_memory
from jobs.dev.bench.platform import simulated_platform
from jobs.dev.bench.provider import _body, _drive
from jobs.dev.simulator.server import point_conf_at
from jobs.dev.synthetic.generator import retailer_sizes
from jobs.providers.routing import ProviderRouter, workspace_for
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore

BENCH_WAREHOUSE = Path("var/bench-delivery")
CREATED_AT = datetime(2026, 11, 1, tzinfo=UTC)
BINDING_RETAILERS, BINDING_RATE, BINDING_EVENTS = 20, 4.0, 2_000
SCALES = (0.25, 0.5, 1.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--events", type=int, default=1_000_000, help="events (default 1M)")
    parser.add_argument("--retailers", type=int, default=350, help="retailers (default 350)")


def run(args: argparse.Namespace) -> int:
    with peak_memory() as memory:
        _run(args)
    emit(f"bench delivery: {memory.line()}")
    return 0


def _run(args: argparse.Namespace) -> None:
    with simulated_platform(args, BENCH_WAREHOUSE) as platform:
        conf, store, base = platform.conf, platform.store, platform.simulator_url
        requests.post(f"{base}/_admin/rate_limits", json=_unlimited(), timeout=5)
        pointed = point_conf_at(_unlimited_conf(conf), base)
        raw = _raw_capacity(pointed)
        library = load_library(pointed)
        router = ProviderRouter(pointed)
        deploy_library(pointed, library, router)
        router.close()
        for share in SCALES:
            events = _append_events(store, pointed, int(args.events * share), f"bench-{share}")
            summary = deliver_once(pointed, store, library)
            assert summary is not None
            _report_unbound(summary, events, raw)
        binding = _binding_conf(pointed)
        ids = _binding_ids(binding)
        for retailer_id in ids:
            requests.post(
                f"{base}/_admin/rate_limits",
                json={
                    "workspace_id": binding.retailer(retailer_id).workspace.workspace_id,
                    "requests_per_second": BINDING_RATE,
                    "burst": int(BINDING_RATE),
                },
                timeout=5,
            )
        before = {rid: len(_request_times(base, binding, rid)) for rid in ids}
        _append_binding_events(store, ids)
        bound = deliver_once(binding, store, library)
        assert bound is not None
        emit(bound.line())
        _report_bound(base, binding, before)


def _unlimited() -> dict[str, float]:
    return {"requests_per_second": 1e9, "burst": 10**9}


def _unlimited_conf(conf: Conf) -> Conf:
    """No rate limit and every IP pool warm: the benchmark measures delivery, not warming."""
    warm = {
        name: p.model_copy(update={"warming": None}) for name, p in conf.platform.ip_pools.items()
    }
    conf = dataclasses.replace(conf, platform=conf.platform.model_copy(update={"ip_pools": warm}))
    return _with_rate(conf, list(conf.retailers), RateLimit(requests_per_second=1e9, burst=10**9))


def _binding_ids(conf: Conf) -> list[str]:
    """Synthetic retailers: each has the benchmark winback and its templates."""
    return [rid for rid in sorted(conf.retailers) if rid.startswith("retailer-")][
        :BINDING_RETAILERS
    ]


def _binding_conf(conf: Conf) -> Conf:
    ids = _binding_ids(conf)
    limit = RateLimit(requests_per_second=BINDING_RATE, burst=int(BINDING_RATE))
    return _with_rate(conf, ids, limit)


def _with_rate(conf: Conf, ids: list[str], limit: RateLimit) -> Conf:
    changed = {rid: conf.retailers[rid].model_copy(update={"rate_limit": limit}) for rid in ids}
    return dataclasses.replace(conf, retailers={**conf.retailers, **changed})


def _raw_capacity(conf: Conf, requests_count: int = 2_000) -> float:
    """Recipients per second a minimal client achieves against the simulator process."""
    from jobs.dev.bench.provider import TEMPLATE
    from jobs.providers.braze import BrazeClient

    retailer = conf.retailers[sorted(conf.retailers)[0]]
    workspace = workspace_for(conf, retailer)
    BrazeClient(workspace).upsert_template(TEMPLATE)
    bodies = [_body(10**7 + i) for i in range(requests_count)]
    seconds, accepted, _ = asyncio.run(
        _drive(workspace.url("messages/send"), workspace.headers(), bodies, 64)
    )
    emit(
        f"raw capacity: {accepted:,} recipients in {seconds:.1f} s = "
        f"{accepted / seconds:,.0f} recipients/s (minimal client, 64 in flight)"
    )
    return accepted / seconds


def _append_events(store: DeltaStore, conf: Conf, total: int, run_id: str) -> int:
    """`total` events over every retailer (long tail), both channels where enabled."""
    ids = sorted(conf.retailers)
    sizes = retailer_sizes(len(ids), total // 2)
    tables = []
    for retailer_id, customers in zip(ids, sizes, strict=True):
        campaign = next(c for c in conf.campaigns.values() if c.retailer_id == retailer_id)
        tables.append(
            _events(
                retailer_id,
                campaign.campaign_id,
                run_id,
                customers,
                {str(ch): t for ch, t in campaign.templates.items()},
            )
        )
    events = pa.concat_tables(tables)
    store.append("campaign_events", events)
    emit(f"bench delivery: {events.num_rows:,} events for {len(ids)} retailers written")
    return events.num_rows


def _append_binding_events(store: DeltaStore, ids: list[str]) -> None:
    store.append(
        "campaign_events",
        pa.concat_tables(
            _events(
                rid, f"{rid}-bench-winback", "bench-2", BINDING_EVENTS, {"email": "winback-email"}
            )
            for rid in ids
        ),
    )


def _events(
    retailer_id: str,
    campaign_id: str,
    run_id: str,
    customers: int,
    templates: Mapping[str, str],
) -> pa.Table:
    schema = DeltaStore("").arrow_schema("campaign_events")
    rows: dict[str, list[object]] = {name: [] for name in schema.names}
    for n in range(customers):
        customer_id = f"c{n:07d}"
        holdout = n % 10 == 0
        variant = "offer" if n % 2 else "control"
        for channel, template in templates.items():
            key = f"{run_id}|{retailer_id}|{customer_id}|{channel}"
            values = {
                "retailer_id": retailer_id,
                "run_id": run_id,
                "campaign_id": campaign_id,
                "message_id": hashlib.sha256(key.encode()).hexdigest()[:32],
                "customer_id": customer_id,
                "channel": channel,
                "address": f"{customer_id}@example.com" if channel == "email" else f"t{n}",
                "variant_id": variant,
                "is_holdout": holdout,
                "template_id": None if holdout else template,
                "offer_kind": "percent_off" if variant == "offer" else None,
                "offer_percent": 10.0 if variant == "offer" else None,
                "offer_amount_cents": None,
                "offer_min_basket_cents": 3000 if variant == "offer" else None,
                "offer_expires_at": None,
                "promo_code": f"P{n}" if variant == "offer" else None,
                "variables": [("first_name", "Ann"), ("locale", "en-US")],
                "created_at": CREATED_AT,
                "time_zone": None,  # the retailer's
                "send_after": None,
            }
            for name, value in values.items():
                rows[name].append(value)
    return pa.table(rows, schema=schema)


def _report_unbound(summary: RunSummary, events: int, raw: float) -> None:
    seconds, first_report_s = summary.seconds, summary.tally.first_report_s
    end_to_end = events / seconds
    steady = events / (seconds - first_report_s) if first_report_s else end_to_end
    emit(summary.line())
    emit(
        f"delivery, limits not binding: {events:,} events in {seconds:.1f} s end to end = "
        f"{end_to_end:,.0f} messages/s ({end_to_end / raw:.0%} of raw capacity); "
        f"after the first batch came back: {steady:,.0f} messages/s ({steady / raw:.0%}); "
        "goal: at least 50% of raw capacity"
    )


def _request_times(base: str, conf: Conf, retailer_id: str) -> list[float]:
    workspace_id = conf.retailer(retailer_id).workspace.workspace_id
    response = requests.get(
        f"{base}/_admin/requests", params={"workspace_id": workspace_id}, timeout=10
    )
    times: list[float] = response.json()["times"]
    return times


def _report_bound(base: str, conf: Conf, before: dict[str, int]) -> None:
    """Per workspace: requests made over what the limit allowed in the same window."""
    ratios, throttled = [], 0
    state = requests.get(f"{base}/_admin/state", timeout=10).json()["workspaces"]
    for retailer_id, skip in before.items():
        sends = _request_times(base, conf, retailer_id)[skip:]
        allowed = int(BINDING_RATE) + BINDING_RATE * (sends[-1] - sends[0])
        ratios.append(len(sends) / allowed)
        workspace_id = conf.retailer(retailer_id).workspace.workspace_id
        throttled += state[workspace_id]["counters"].get("429", 0)
    emit(
        f"delivery, limits binding ({len(before)} workspaces at {BINDING_RATE:g} requests/s, "
        f"burst {int(BINDING_RATE)}): achieved / allowed requests min {min(ratios):.1%}, "
        f"median {statistics.median(ratios):.1%}; {throttled} throttled (429); "
        "goal: at least 97% with zero 429s"
    )
