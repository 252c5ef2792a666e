"""The simulator's Twilio-style SMS provider, beside the Braze-style workspaces.

/sms/2010-04-01/Accounts/{sid}/Messages.json   POST, form-encoded: To, From, Body,
                                               StatusCallback; one text a request
/sms/2010-04-01/Accounts/{sid}/Events.json     GET, PageToken & PageSize: the status
                                               callbacks and inbound replies, in order
/_admin/sms/inbound   {"account_sid", "from", "body"}: a customer replies (STOP ...)
/_admin/sms/messages  ?account_sid=: accepted texts and request arrival times

Like Twilio: HTTP basic auth with the SID and its token, a per-sender messages-per-second
limit (429, code 20429), E.164 numbers only (21211), no text to a number that replied
STOP (21610), no idempotency key (a repeated message is a second text, counted as
`delivered_twice`), and the shared fault controls (`/_admin/faults` with an
`account_sid`).
"""

from __future__ import annotations

import base64
import math
import re
import time
import uuid
from dataclasses import asdict
from typing import Any

from aiohttp import web

from jobs.config.models import E164_PATTERN
from jobs.dev.simulator.app import (
    SIMULATOR,
    Simulator,
    answer_with,
    inject_faults,
    json_body,
    reject,
)
from jobs.dev.simulator.state import SmsAccountState, SmsRates, sms_events
from jobs.providers.twilio_wire import OPT_OUT_KEYWORDS, callback_ids
from jobs.text.sms import sms_size

PREFIX = "/sms/2010-04-01/Accounts/{account_sid}"
MAX_BODY_CHARACTERS = 1600
RATES = SmsRates()


def _twilio_error(status: int, code: int, message: str, **headers: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "status": status}, status=status, headers=headers
    )


def _account(sim: Simulator, account_sid: object) -> SmsAccountState:
    account = sim.sms_accounts.get(str(account_sid))
    if account is None:
        reject(404, f"unknown SMS account '{account_sid}' (known: {sorted(sim.sms_accounts)})")
    return account


async def _gate(request: web.Request) -> tuple[Simulator, SmsAccountState]:
    sim = request.app[SIMULATOR]
    account = _account(sim, request.match_info["account_sid"])
    pair = base64.b64encode(f"{account.account_sid}:{account.auth_token}".encode()).decode()
    if request.headers.get("Authorization") != f"Basic {pair}":
        account.counters["401"] += 1
        answer_with(_twilio_error(401, 20003, "Authenticate"))
    account.request_times.append(time.monotonic())
    for faults in (sim.faults, account.faults):
        await inject_faults(faults, account, sim)
    return sim, account


async def send_message(request: web.Request) -> web.Response:
    sim, account = await _gate(request)
    return _accept(sim, account, dict(await request.post()))


def _accept(sim: Simulator, account: SmsAccountState, form: dict[str, Any]) -> web.Response:
    to, sender, body = str(form.get("To", "")), str(form.get("From", "")), form.get("Body")
    wait = account.limiter.take()  # every request counts against the sender's rate
    if wait > 0:
        account.counters["429"] += 1
        return _twilio_error(
            429, 20429, "Too Many Requests", **{"Retry-After": str(math.ceil(wait))}
        )
    if sender != account.sender:
        account.counters["400"] += 1
        return _twilio_error(400, 21606, f"'From' {sender!r} is not a number of this account")
    if not isinstance(body, str) or not body or len(body) > MAX_BODY_CHARACTERS:
        account.counters["400"] += 1
        return _twilio_error(400, 21617, f"'Body' must have 1 to {MAX_BODY_CHARACTERS} characters")
    if not re.fullmatch(E164_PATTERN, to):
        account.counters["21211"] += 1
        return _twilio_error(400, 21211, "The 'To' number is not a valid phone number")
    if to in account.opted_out:
        account.counters["21610"] += 1
        return _twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
    ids = callback_ids(form.get("StatusCallback"))
    message_id = ids[0] if ids else ""
    account.requests_per_message[message_id] += 1
    if account.requests_per_message[message_id] > 1:
        account.counters["delivered_twice"] += 1  # no idempotency key: a second text
    size = sms_size(body)
    message = {
        "sid": f"SM{uuid.uuid4().hex}",
        "account_sid": account.account_sid,
        "to": to,
        "from": sender,
        "body": body,
        "num_segments": size.segments,
        "message_id": message_id,
        "status_callback": form.get("StatusCallback"),
        "accepted_at": sim.clock().isoformat(),
    }
    account.messages.append(message)
    account.counters["accepted"] += 1
    answer = {k: message[k] for k in ("sid", "account_sid", "to", "from", "body")}
    answer |= {"status": "queued", "num_segments": str(size.segments), "error_code": None}
    return web.json_response(answer, status=201)


async def events(request: web.Request) -> web.Response:
    sim, account = await _gate(request)
    try:
        start = int(request.query.get("PageToken", "0"))
        size = min(1000, max(1, int(request.query.get("PageSize", "50"))))
    except ValueError:
        return _twilio_error(400, 20001, "invalid 'PageToken' or 'PageSize'")
    complete_through = sim.clock().isoformat()  # callbacks are derived at export: none lag
    _expand(sim, account)
    page = account.events[start : start + size]
    return web.json_response(
        {
            "events": page,
            "next_page_token": str(start + len(page)),
            "complete_through": complete_through,
        }
    )


def _expand(sim: Simulator, account: SmsAccountState) -> None:
    """Append the callbacks of texts accepted since the last look; the feed is
    append-only, which keeps page tokens stable."""
    for message in account.messages[account.expanded_messages :]:
        for event in sms_events(message, RATES):
            account.events.append(event)
            if sim.random.random() < RATES.duplicate_rate:
                account.events.append(dict(event))  # a callback retried: at-least-once
    account.expanded_messages = len(account.messages)


async def admin_inbound(request: web.Request) -> web.Response:
    """A customer texts the sender: an opt-out keyword ends texts to that number."""
    sim = request.app[SIMULATOR]
    body = await json_body(request)
    account = _account(sim, body.get("account_sid"))
    phone, text = body.get("from"), body.get("body")
    if not isinstance(phone, str) or not isinstance(text, str):
        reject(400, 'give {"account_sid": ..., "from": "+1...", "body": "STOP"}')
    if text.strip().upper() in OPT_OUT_KEYWORDS:
        account.opted_out.add(phone)
    _expand(sim, account)
    account.events.append(
        {
            "type": "inbound",
            "EventSid": f"EV{uuid.uuid4().hex}",
            "AccountSid": account.account_sid,
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "From": phone,
            "To": account.sender,
            "Body": text,
            "Timestamp": sim.clock().isoformat(),
        }
    )
    return web.json_response({"message": "received"})


async def admin_messages(request: web.Request) -> web.Response:
    sim = request.app[SIMULATOR]
    account = _account(sim, request.query.get("account_sid"))
    return web.json_response(
        {
            "account_sid": account.account_sid,
            "messages": account.messages[:1000],
            "count": len(account.messages),
            "request_times": account.request_times,
            "counters": dict(account.counters),
            "faults": asdict(account.faults),
        }
    )


def add_sms_routes(app: web.Application) -> None:
    app.router.add_post(f"{PREFIX}/Messages.json", send_message)
    app.router.add_get(f"{PREFIX}/Events.json", events)
    app.router.add_post("/_admin/sms/inbound", admin_inbound)
    app.router.add_get("/_admin/sms/messages", admin_messages)
