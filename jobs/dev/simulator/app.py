"""The provider simulator's HTTP surface (aiohttp), Braze-style, one path per workspace.

/ws/{workspace_id}/messages/send            /ws/{workspace_id}/campaigns/trigger/send
/ws/{workspace_id}/templates/{channel}/create|update|list
/ws/{workspace_id}/events/export?cursor=&limit=
/_admin/state  /_admin/faults  /_admin/pools  /_admin/rate_limits  /_admin/messages
/_admin/requests  /_admin/message_requests  /_admin/engagement
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler
from liquid.exceptions import LiquidError

from jobs.dev.simulator.state import (
    EngagementRates,
    Faults,
    PoolCap,
    RenderMode,
    SmsAccountState,
    StoredTemplate,
    TokenBucket,
    WorkspaceState,
    engagement_events,
    utc_now,
)
from jobs.providers.base import MAX_RECIPIENTS_PER_BATCH


class HasCounters(Protocol):
    """A workspace or an SMS account: what fault injection counts on and limits by."""

    counters: Counter[str]
    limiter: TokenBucket


@dataclass
class Simulator:
    workspaces: dict[str, WorkspaceState]
    # Each retailer's account at the Twilio-style SMS provider (`sms.py`), by account SID.
    sms_accounts: dict[str, SmsAccountState] = field(default_factory=dict)
    render_mode: RenderMode = "sample"
    engagement: EngagementRates = field(default_factory=EngagementRates)
    variant_engagement: dict[str, dict[str, float]] = field(default_factory=dict)
    # How engaged the audience is now, against the rates above (a time-of-day effect):
    # the opens and clicks of a message accepted now are scaled by it.
    engagement_scale: float = 1.0
    faults: Faults = field(default_factory=Faults)
    pools: dict[str, PoolCap] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)
    random: random.Random = field(default_factory=lambda: random.Random(7))
    # The account-level key that may create workspaces (none: the platform API refuses).
    platform_key: str | None = None
    # The provider's clock (UTC): daily caps restart at its midnight. Tests inject one.
    clock: Callable[[], datetime] = field(default_factory=lambda: utc_now)


SIMULATOR = web.AppKey("simulator", Simulator)


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"message": message}, status=status, headers=headers)


class _RejectedError(Exception):
    """Raised anywhere in a handler to answer with an error; see `_rejections`."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text)
        self.response = response


def reject(status: int, message: str, headers: dict[str, str] | None = None) -> NoReturn:
    answer_with(error_response(status, message, headers))


def answer_with(response: web.Response) -> NoReturn:
    """Stop the handler here and answer with `response` (a refusal)."""
    raise _RejectedError(response)


@web.middleware
async def _rejections(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _RejectedError as rejected:
        return rejected.response


def _rate_headers(ws: HasCounters, wait: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(ws.limiter.burst),
        "X-RateLimit-Remaining": str(int(ws.limiter.tokens)),
        "X-RateLimit-Reset": str(math.ceil(time.time() + max(wait, 1.0 / ws.limiter.rate))),
    }


def _workspace(sim: Simulator, workspace_id: object) -> WorkspaceState:
    ws = sim.workspaces.get(str(workspace_id))
    if ws is None:
        reject(404, f"unknown workspace '{workspace_id}' (known: {sorted(sim.workspaces)})")
    return ws


async def _gate(request: web.Request) -> WorkspaceState:
    """Workspace, authentication, injected faults and the rate limit, in that order."""
    sim = request.app[SIMULATOR]
    ws = _workspace(sim, request.match_info["workspace_id"])
    if request.headers.get("Authorization") != f"Bearer {ws.api_key}":
        ws.counters["401"] += 1
        reject(401, f"invalid API key for workspace '{ws.workspace_id}'")
    ws.request_times.append(time.monotonic())
    for faults in (sim.faults, ws.faults):
        await inject_faults(faults, ws, sim)
    wait = ws.limiter.take()
    if wait > 0:
        ws.counters["429"] += 1
        reject(
            429,
            "rate limit exceeded",
            {"Retry-After": str(math.ceil(wait)), **_rate_headers(ws, wait)},
        )
    return ws


async def inject_faults(faults: Faults, ws: HasCounters, sim: Simulator) -> None:
    if faults.latency_ms or faults.latency_jitter_ms:
        jitter = (
            sim.random.expovariate(1 / faults.latency_jitter_ms)
            if faults.latency_jitter_ms
            else 0.0
        )
        await asyncio.sleep((faults.latency_ms + jitter) / 1000)
    if faults.outage:
        ws.counters["503"] += 1
        reject(503, "service unavailable (injected outage)")
    if faults.throttle_burst > 0:
        faults.throttle_burst -= 1
        ws.counters["429"] += 1
        reject(
            429,
            "rate limit exceeded (injected burst)",
            {"Retry-After": "1", **_rate_headers(ws, 1.0)},
        )
    if sim.random.random() < faults.error_rate:
        ws.counters["500"] += 1
        reject(500, "internal error (injected)")
    if sim.random.random() < faults.timeout_rate:
        ws.counters["timeout"] += 1
        await asyncio.sleep(faults.timeout_hold_s)
        reject(504, "gateway timeout (injected)")


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=json.loads)
    except ValueError as error:
        reject(400, f"malformed JSON body: {error}")
    if not isinstance(body, dict):
        reject(400, "body must be a JSON object")
    return body


async def send(request: web.Request) -> web.Response:
    ws, sim = await _gate(request), request.app[SIMULATOR]
    body = await json_body(request)
    problem = _validate_send(ws, body)
    if problem:
        ws.counters["400"] += 1
        return error_response(400, problem)
    template = ws.templates[(body["channel"], body.get("template_id") or body["campaign_id"])]
    new = [r for r in body["recipients"] if not ws.deduplicates or r["send_id"] not in ws.sent_ids]
    pool = sim.pools.setdefault(ws.ip_pool, PoolCap())
    now = sim.clock()
    remaining = pool.remaining(now.date())
    if remaining is not None and len(new) > remaining:
        ws.counters["429_daily_cap"] += 1
        return error_response(
            429,
            f"daily volume cap of IP pool '{ws.ip_pool}' reached "
            f"({pool.daily_cap}/day, {remaining} left)",
            {"Retry-After": str(_seconds_to_midnight(now))},
        )
    dispatch_id = uuid.uuid4().hex
    results = [
        _deliver(sim, ws, body, template, r, index, dispatch_id)
        for index, r in enumerate(body["recipients"])
    ]
    pool.sent += sum(r["status"] == "accepted" for r in results)
    ws.counters["requests_ok"] += 1
    if _faulted(sim, ws, "send_without_results"):
        return web.json_response({"message": "success"}, status=200)
    return web.json_response(
        {"message": "success", "dispatch_id": dispatch_id, "results": results},
        status=201,
        headers=_rate_headers(ws, 0.0),
    )


def _validate_send(ws: WorkspaceState, body: dict[str, Any]) -> str | None:
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        return "'recipients' must be a non-empty list"
    if len(recipients) > MAX_RECIPIENTS_PER_BATCH:
        return (
            f"too many recipients: {len(recipients)} (at most "
            f"{MAX_RECIPIENTS_PER_BATCH} per request)"
        )
    template_id = str(body.get("template_id") or body.get("campaign_id"))
    if (str(body.get("channel")), template_id) not in ws.templates:
        return f"unknown template '{template_id}' for channel '{body.get('channel')}'"
    required = ws.templates[(body["channel"], template_id)].required_properties
    for r in recipients:
        if not isinstance(r, dict) or not r.get("send_id") or not r.get("external_user_id"):
            return "every recipient needs 'send_id' and 'external_user_id'"
        missing = [p for p in required if p not in r.get("trigger_properties", {})]
        if missing:
            return f"recipient '{r['send_id']}' lacks required properties {missing}"
    return None


def _deliver(
    sim: Simulator,
    ws: WorkspaceState,
    body: dict[str, Any],
    template: StoredTemplate,
    recipient: dict[str, Any],
    index: int,
    dispatch_id: str,
) -> dict[str, Any]:
    send_id = recipient["send_id"]
    ws.requests_per_message[send_id] += 1
    if send_id in ws.sent_ids and ws.deduplicates:
        ws.counters["duplicates"] += 1
        return {"send_id": send_id, "status": "duplicate"}
    properties = recipient.get("trigger_properties", {})
    if sim.render_mode == "full" or (sim.render_mode == "sample" and index == 0):
        try:
            template.render(properties)
        except LiquidError as error:
            ws.counters["template_errors"] += 1
            return {
                "send_id": send_id,
                "status": "rejected",
                "reason": f"template_error: {str(error).splitlines()[0]}",
            }
    if send_id in ws.sent_ids:
        ws.counters["delivered_twice"] += 1  # what a provider without a key does: email again
    ws.sent_ids.add(send_id)
    message = {
        "dispatch_id": dispatch_id,
        "workspace_id": ws.workspace_id,
        "message_id": send_id,
        "customer_id": recipient["external_user_id"],
        "address": recipient.get("address"),
        "channel": body["channel"],
        "from": ws.sending_identity if body["channel"] == "email" else None,
        "template_id": template.template_id,
        "variant_id": body.get("variant_id"),
        "campaign_run_id": body.get("campaign_run_id"),
        "properties": properties,
        "accepted_at": sim.clock().isoformat(),
        "engagement_scale": sim.engagement_scale,
    }
    ws.messages.append(message)
    ws.counters["accepted"] += 1
    return {"send_id": send_id, "status": "accepted"}


def _expand_events(sim: Simulator, ws: WorkspaceState) -> None:
    """Append the engagement events of messages accepted since the last export.

    Events are derived lazily, in acceptance order, so the send path stays
    cheap; the stream is append-only, which is what makes cursors stable.
    """
    for message in ws.messages[ws.expanded_messages :]:
        rates = sim.engagement.for_variant(
            sim.variant_engagement, message.get("variant_id")
        ).scaled(message.get("engagement_scale", 1.0))
        for event in engagement_events(message, rates):
            ws.events.append(event)
            if sim.random.random() < rates.duplicate_rate:
                ws.events.append(dict(event))  # exported again: at-least-once
    ws.expanded_messages = len(ws.messages)


def _seconds_to_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((midnight - now).total_seconds())


async def template_write(request: web.Request) -> web.Response:
    ws = await _gate(request)
    body = await json_body(request)
    channel, action = request.match_info["channel"], request.match_info["action"]
    if not isinstance(body.get("fields"), dict) or not body.get("template_id"):
        return error_response(400, "a template needs 'template_id' and a 'fields' object")
    key = (channel, str(body["template_id"]))
    if action == "create" and key in ws.templates:
        return error_response(409, f"template '{key[1]}' already exists; use update")
    if action == "update" and key not in ws.templates:
        return error_response(404, f"template '{key[1]}' does not exist; use create")
    try:
        ws.templates[key] = StoredTemplate.compile(channel, body)
    except LiquidError as error:
        return error_response(400, f"Liquid syntax error in template '{key[1]}': {error}")
    return web.json_response({"message": "success"}, status=201 if action == "create" else 200)


async def template_list(request: web.Request) -> web.Response:
    ws = await _gate(request)
    channel = request.match_info["channel"]
    return web.json_response(
        {"templates": [t.public() for (c, _), t in sorted(ws.templates.items()) if c == channel]}
    )


async def export_events(request: web.Request) -> web.Response:
    ws = await _gate(request)
    try:
        cursor = request.query.get("cursor")
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        limit = min(10_000, max(1, int(request.query.get("limit", "1000"))))
    except ValueError:
        return error_response(400, "invalid 'cursor' or 'limit'")
    sim = request.app[SIMULATOR]
    exported_through = sim.clock().isoformat()  # events are derived at export: none lag
    _expand_events(sim, ws)
    page = ws.events[start : start + limit]
    next_cursor = base64.urlsafe_b64encode(str(start + len(page)).encode()).decode()
    if _faulted(sim, ws, "export_html_page"):
        return web.Response(text="<html><body>Bad gateway</body></html>", content_type="text/html")
    answer = {"events": page, "next_cursor": next_cursor, "exported_through": exported_through}
    if _faulted(sim, ws, "export_without_cursor"):
        del answer["next_cursor"]
    return web.json_response(answer)


def _faulted(sim: Simulator, ws: WorkspaceState, answer_fault: str) -> bool:
    return any(getattr(faults, answer_fault) for faults in (sim.faults, ws.faults))


WORKSPACE_SPEC_FIELDS = (
    "workspace_id",
    "retailer_id",
    "name",
    "sending_identity",
    "ip_pool",
    "api_key",
    "requests_per_second",
    "burst",
)


async def platform_workspace(request: web.Request) -> web.Response:
    """PUT /platform/workspaces/{id}: create the workspace, or make it match the spec."""
    sim = request.app[SIMULATOR]
    if sim.platform_key is None or request.headers.get("Authorization") != (
        f"Bearer {sim.platform_key}"
    ):
        reject(401, "invalid platform API key")
    body = await json_body(request)
    missing = [name for name in WORKSPACE_SPEC_FIELDS if name not in body]
    if missing or body["workspace_id"] != request.match_info["workspace_id"]:
        reject(400, f"workspace spec lacks {missing} or names another workspace")
    ws = sim.workspaces.get(body["workspace_id"])
    if ws is not None and ws.retailer_id != body["retailer_id"]:
        reject(409, f"workspace '{ws.workspace_id}' belongs to retailer '{ws.retailer_id}'")
    limiter = TokenBucket(float(body["requests_per_second"]), int(body["burst"]))
    wanted = (
        body["api_key"],
        body["ip_pool"],
        body["sending_identity"],
        limiter.rate,
        limiter.burst,
    )
    if ws is None:
        sim.workspaces[body["workspace_id"]] = WorkspaceState(
            workspace_id=body["workspace_id"],
            retailer_id=body["retailer_id"],
            api_key=body["api_key"],
            ip_pool=body["ip_pool"],
            limiter=limiter,
            sending_identity=body["sending_identity"],
        )
        return web.json_response({"status": "created"}, status=201)
    if (ws.api_key, ws.ip_pool, ws.sending_identity, ws.limiter.rate, ws.limiter.burst) == wanted:
        return web.json_response({"status": "unchanged"})
    ws.api_key, ws.ip_pool, ws.sending_identity = wanted[:3]
    ws.limiter = limiter
    return web.json_response({"status": "updated"})


async def admin_state(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    workspaces = sim.workspaces.values()
    return web.json_response(
        {
            "render_mode": sim.render_mode,
            # exactly-once as the recipients see it: 0 unless something was sent twice
            "delivered_twice": sum(ws.counters["delivered_twice"] for ws in workspaces),
            "messages_requested_again": sum(
                sum(n > 1 for n in ws.requests_per_message.values()) for ws in workspaces
            ),
            "max_requests_per_message": max(
                (max(ws.requests_per_message.values(), default=0) for ws in workspaces),
                default=0,
            ),
            "faults": asdict(sim.faults),
            "pools": {name: asdict(pool) for name, pool in sim.pools.items()},
            "workspaces": {
                ws_id: {
                    "retailer_id": ws.retailer_id,
                    "sending_identity": ws.sending_identity,
                    "ip_pool": ws.ip_pool,
                    "faults": asdict(ws.faults),
                    "deduplicates": ws.deduplicates,
                    "counters": dict(ws.counters),
                    "delivered_twice": ws.counters["delivered_twice"],
                    "messages_requested_again": sum(
                        n > 1 for n in ws.requests_per_message.values()
                    ),
                    "messages": len(ws.messages),
                    "events": len(ws.events),
                    "templates": len(ws.templates),
                    "rate_limit": {
                        "requests_per_second": ws.limiter.rate,
                        "burst": ws.limiter.burst,
                    },
                }
                for ws_id, ws in sim.workspaces.items()
            },
        }
    )


async def admin_faults(request: web.Request) -> web.Response:
    """{"workspace_id" or "account_sid" (SMS): optional, <fault fields>...}: global when
    neither is named."""
    sim = request.app[SIMULATOR]
    body = await json_body(request)
    ws_id, account_sid = body.pop("workspace_id", None), body.pop("account_sid", None)
    target = sim.faults if ws_id is None else _workspace(sim, ws_id).faults
    if account_sid is not None:
        if str(account_sid) not in sim.sms_accounts:
            reject(404, f"unknown SMS account '{account_sid}' (known: {sorted(sim.sms_accounts)})")
        target = sim.sms_accounts[str(account_sid)].faults
    try:
        target.update(body)
    except ValueError as error:
        return error_response(400, str(error))
    return web.json_response(asdict(target))


async def admin_pools(request: web.Request) -> web.Response:
    """{"pool": daily_cap or null, ...}"""
    sim = request.app[SIMULATOR]
    body = await json_body(request)
    bad = {pool: cap for pool, cap in body.items() if not _is_cap(cap)}
    if bad:
        reject(400, f"a pool's daily cap is a whole number of 0 or more, or null; got {bad}")
    for pool, cap in body.items():
        sim.pools.setdefault(pool, PoolCap()).daily_cap = cap
    return web.json_response({name: asdict(p) for name, p in sim.pools.items()})


def _is_cap(cap: object) -> bool:
    return cap is None or (isinstance(cap, int) and not isinstance(cap, bool) and cap >= 0)


async def admin_rate_limits(request: web.Request) -> web.Response:
    """{"workspace_id": optional, "requests_per_second": x, "burst": n}"""
    sim = request.app[SIMULATOR]
    body = await json_body(request)
    ws_id = body.get("workspace_id")
    if ws_id is not None:
        _workspace(sim, ws_id)
    rate, burst = body.get("requests_per_second"), body.get("burst")
    if not (_is_cap(burst) and burst and isinstance(rate, int | float) and rate > 0):
        reject(
            400,
            "give requests_per_second (a number above 0) and burst (a whole number of 1 or more)",
        )
    for ws in sim.workspaces.values():
        if ws_id in (None, ws.workspace_id):
            ws.limiter = TokenBucket(float(rate), int(burst))
    return web.json_response({"message": "success"})


async def admin_engagement(request: web.Request) -> web.Response:
    """{"variants": {"<variant_id>": {"clicked": 0.1, ...}}, "scale": 0.5,
    "preferred_hour_lift": 1.0}: the engagement rates of variants (the truth an experiment
    should find), how engaged the audience is from now on, and how much sending at each
    customer's hidden reading hour raises opens (all optional)."""
    sim = request.app[SIMULATOR]
    body = await json_body(request)
    variants, scale = body.get("variants", {}), body.get("scale", sim.engagement_scale)
    if not isinstance(scale, int | float) or not 0 <= scale <= 10:
        reject(400, f"scale is a number from 0 to 10, not {scale!r}")
    if not isinstance(variants, dict):
        reject(400, 'variants maps a variant id to its rates, e.g. {"a": {"clicked": 0.1}}')
    for variant_id, rates in variants.items():
        try:
            sim.engagement.for_variant({str(variant_id): rates}, str(variant_id))
        except (TypeError, ValueError) as error:
            reject(400, f"rates of variant {variant_id}: {error}")
        sim.variant_engagement[str(variant_id)] = dict(rates)
    lift = body.get("preferred_hour_lift", sim.engagement.preferred_hour_lift)
    if not isinstance(lift, int | float) or isinstance(lift, bool) or not 0 <= lift <= 4:
        reject(400, f"preferred_hour_lift is a number from 0 to 4, not {lift!r}")
    sim.engagement_scale = float(scale)
    sim.engagement = replace(sim.engagement, preferred_hour_lift=float(lift))
    return web.json_response({"message": "success"})


async def admin_requests(request: web.Request) -> web.Response:
    """Arrival times (monotonic seconds) of a workspace's requests, to audit rate limits."""
    ws = _workspace(request.app[SIMULATOR], request.query.get("workspace_id"))
    return web.json_response({"workspace_id": ws.workspace_id, "times": ws.request_times})


async def admin_message_requests(request: web.Request) -> web.Response:
    """How many requests named each message id, per workspace (a test's exactly-once check)."""
    sim = request.app[SIMULATOR]
    return web.json_response(
        {ws.workspace_id: dict(ws.requests_per_message) for ws in sim.workspaces.values()}
    )


async def admin_messages(request: web.Request) -> web.Response:
    """Accepted messages, filtered by workspace_id and message_id, for verification."""
    sim = request.app[SIMULATOR]
    ws_id, message_id = request.query.get("workspace_id"), request.query.get("message_id")
    found = [
        m
        for ws in sim.workspaces.values()
        if ws_id in (None, ws.workspace_id)
        for m in ws.messages
        if message_id in (None, m["message_id"])
    ]
    return web.json_response({"count": len(found), "messages": found[:1000]})


def new_app(simulator: Simulator) -> web.Application:
    app = web.Application(client_max_size=8 * 2**20, middlewares=[_rejections])
    app[SIMULATOR] = simulator
    return app


def add_braze_routes(app: web.Application) -> None:
    """The Braze-style workspaces, the platform API and the admin surface."""
    prefix = "/ws/{workspace_id}"
    app.router.add_post(f"{prefix}/messages/send", send)
    app.router.add_post(f"{prefix}/campaigns/trigger/send", send)
    app.router.add_post(f"{prefix}/templates/{{channel}}/{{action:create|update}}", template_write)
    app.router.add_get(f"{prefix}/templates/{{channel}}/list", template_list)
    app.router.add_get(f"{prefix}/events/export", export_events)
    app.router.add_put("/platform/workspaces/{workspace_id}", platform_workspace)
    app.router.add_get("/_admin/state", admin_state)
    app.router.add_post("/_admin/faults", admin_faults)
    app.router.add_post("/_admin/pools", admin_pools)
    app.router.add_post("/_admin/rate_limits", admin_rate_limits)
    app.router.add_post("/_admin/engagement", admin_engagement)
    app.router.add_get("/_admin/messages", admin_messages)
    app.router.add_get("/_admin/requests", admin_requests)
    app.router.add_get("/_admin/message_requests", admin_message_requests)
