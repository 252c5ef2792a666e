"""`campaigns bench provider`: the simulator's raw capacity, the delivery job's ceiling.

The simulator runs in its own process pinned to one core, with rate limits
lifted and rendering off; a minimal asynchronous client on the other core
sends batches of 50 unique recipients with many requests in flight. The run
is bounded in requests and goes to 127.0.0.1 only. Goal: 50,000 recipients/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import requests

from jobs.commands.common import LOOPBACK, add_common_arguments, emit
from jobs.config import load_conf
from jobs.dev.simulator.server import point_conf_at
from jobs.providers import MAX_RECIPIENTS_PER_BATCH, Template
from jobs.providers.braze import BrazeClient
from jobs.providers.routing import workspace_for

TEMPLATE = Template("bench-email", "email", {"subject": "Hi {{ first_name }}"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--requests",
        type=int,
        default=4_000,
        help="batches of 50 to send (bounded run; default 4000)",
    )
    parser.add_argument("--in-flight", type=int, default=64, help="concurrent requests")


def run(args: argparse.Namespace) -> int:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "provider-sim",
            "--port",
            str(port),
            "--render",
            "off",
            *(["--conf", str(args.conf)] if args.conf else []),
        ],
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}),
    )
    try:
        base = f"http://{LOOPBACK}:{port}"
        _wait_until_up(base)
        requests.post(
            f"{base}/_admin/rate_limits",
            json={"requests_per_second": 1e9, "burst": 10**9},
            timeout=5,
        )
        conf = point_conf_at(load_conf(args.conf, profile=args.profile), base)
        retailer = sorted(conf.retailers.values(), key=lambda r: r.retailer_id)[0]
        workspace = workspace_for(conf, retailer)
        BrazeClient(workspace).upsert_template(TEMPLATE)
        os.sched_setaffinity(0, {1})
        bodies = [_body(i) for i in range(args.requests)]
        url, headers = workspace.url("messages/send"), workspace.headers()
        seconds, accepted, failed = asyncio.run(_drive(url, headers, bodies, args.in_flight))
    finally:
        server.terminate()
        server.wait(timeout=10)
    emit(
        f"bench provider: {args.requests:,} requests of {MAX_RECIPIENTS_PER_BATCH} recipients, "
        f"{args.in_flight} in flight, server on one core: {accepted:,} accepted, {failed} failed "
        f"requests in {seconds:.1f} s = {accepted / seconds:,.0f} recipients/s "
        f"({args.requests / seconds:,.0f} requests/s); goal: 50,000 recipients/s"
    )
    return 0


def _body(index: int) -> bytes:
    return json.dumps(
        {
            "template_id": TEMPLATE.template_id,
            "channel": "email",
            "recipients": [
                {
                    "send_id": f"bench-{index}-{n}",
                    "external_user_id": f"c{index}-{n}",
                    "address": f"c{index}-{n}@example.com",
                    "trigger_properties": {"first_name": "Ava"},
                }
                for n in range(MAX_RECIPIENTS_PER_BATCH)
            ],
        }
    ).encode()


async def _drive(
    url: str, headers: dict[str, str], bodies: list[bytes], in_flight: int
) -> tuple[float, int, int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    totals = {"accepted": 0, "failed": 0}

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            async with session.post(url, data=body, headers=headers) as response:
                payload: Any = await response.json()
            if response.status == 201:
                totals["accepted"] += sum(r["status"] == "accepted" for r in payload["results"])
            else:
                totals["failed"] += 1

    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        started = time.perf_counter()
        await asyncio.gather(*[worker(session) for _ in range(in_flight)])
        seconds = time.perf_counter() - started
    return seconds, totals["accepted"], totals["failed"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base: str, *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/_admin/state", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"the simulator at {base} did not start within {seconds} s")
