"""The Twilio-style SMS dialect: one message a request, form-encoded, no idempotency key.

Pure functions shared by the clients (`twilio.py`) and the simulator's tests:

    POST {base}/2010-04-01/Accounts/{sid}/Messages.json   To, From, Body, StatusCallback
         201 {"sid": "SM...", "status": "queued", "num_segments": "2"}
         400 {"code": 21610, "message": "..."}   the number replied STOP (per recipient)
         429 {"code": 20429, "message": "..."}   over the sender's messages per second
    GET  {base}/2010-04-01/Accounts/{sid}/Events.json?PageToken=&PageSize=
         the status callbacks the account posted (queued, sent, delivered,
         undelivered, failed; clicked where links are shortened) and inbound replies

The provider knows nothing of our ids, so each message's `StatusCallback` URL carries
the message and customer ids as its query: every callback names the message it is about.
Basic authentication with the account SID and its auth token.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from jobs.providers.base import (
    EventPage,
    MalformedAnswerError,
    OptOut,
    ProviderError,
    ProviderEvent,
    RecipientResult,
)
from jobs.providers.wire import classify, is_instant, is_text

API_VERSION = "2010-04-01"
# Replies a carrier treats as an opt-out (CTIA); matched whole, any case, trimmed.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
# Per-recipient refusals: the number, not the request, is the problem.
RECIPIENT_ERRORS = {
    21211: "invalid 'To' number",
    21408: "no permission to send to the number's region",
    21610: "the number replied STOP (unsubscribed recipient)",
    21612: "the number cannot receive from this sender",
    21614: "not a mobile number",
}
# Delivery receipts: which failures end a number (hard) and which may pass (soft).
HARD_FAILURES = frozenset({30003, 30005, 30006})  # unreachable, unknown, landline
STATUS_EVENTS = {"sent": "sent", "delivered": "delivered", "clicked": "clicked"}


@dataclass(frozen=True)
class SmsAccountRef:
    """A retailer's SMS account, with its token already read from the environment."""

    retailer_id: str
    account_sid: str
    base_url: str
    auth_token: str
    sender: str
    messages_per_second: float
    # Where the provider posts status callbacks; our ids ride in its query.
    callback_base: str = "https://callbacks.campaigns.invalid/sms/status"

    def url(self, resource: str) -> str:
        return f"{self.base_url.rstrip('/')}/{API_VERSION}/Accounts/{self.account_sid}/{resource}"

    def headers(self) -> dict[str, str]:
        pair = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}


def message_form(
    account: SmsAccountRef, *, to: str, body: str, message_id: str, customer_id: str
) -> dict[str, str]:
    callback = f"{account.callback_base}?{urlencode({'m': message_id, 'c': customer_id})}"
    return {"To": to, "From": account.sender, "Body": body, "StatusCallback": callback}


def callback_ids(url: Any) -> tuple[str, str] | None:
    """(message id, customer id) from a StatusCallback URL we wrote, else None."""
    if not isinstance(url, str):
        return None
    query = parse_qs(urlsplit(url).query)
    message, customer = query.get("m", [""])[0], query.get("c", [""])[0]
    return (message, customer) if message.strip() and customer.strip() else None


def error_code(payload: Any) -> int | None:
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def message_result(
    message_id: str, status: int, headers: Mapping[str, str], payload: Any, *, where: str
) -> RecipientResult | ProviderError:
    """One message's answer: accepted (with its SID and segments), rejected for the
    number, or the request's error (retryable or permanent) for the caller to judge."""
    code = error_code(payload)
    if status == 400 and code in RECIPIENT_ERRORS:
        return RecipientResult(message_id, "rejected", f"{code}: {RECIPIENT_ERRORS[code]}")
    failure = classify(status, headers, payload, where=where)
    if failure is not None:
        return failure
    sid = payload.get("sid") if isinstance(payload, dict) else None
    if not isinstance(sid, str) or not sid:
        return MalformedAnswerError(f"{where}: accepted without a message SID", status=status)
    segments = payload.get("num_segments")
    return RecipientResult(
        message_id,
        "accepted",
        dispatch_id=sid,
        segments=int(segments) if str(segments).isdigit() else None,
    )


def parse_sms_events(payload: Any, *, where: str) -> EventPage:
    """A page of callbacks and replies: events, opt-outs, and what was refused and why."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise MalformedAnswerError(f"{where}: not an events page (no 'events' list)", status=200)
    cursor = payload.get("next_page_token")
    if not isinstance(cursor, str) or not cursor:
        raise MalformedAnswerError(f"{where}: events page without 'next_page_token'", status=200)
    events: list[ProviderEvent] = []
    opt_outs: list[OptOut] = []
    refused: list[str] = []
    ignored = 0
    for index, raw in enumerate(payload["events"]):
        parsed, problem = _sms_event(raw)
        if isinstance(parsed, ProviderEvent):
            events.append(parsed)
        elif isinstance(parsed, OptOut):
            opt_outs.append(parsed)
        elif problem:
            sid = raw.get("EventSid") if isinstance(raw, dict) else None
            refused.append(f"{sid if isinstance(sid, str) else f'#{index}'}: {problem}")
        else:
            ignored += 1  # queued callbacks, replies that are not opt-outs
    through = payload.get("complete_through")
    return EventPage(
        tuple(events),
        cursor,
        through if isinstance(through, str) and is_instant(through) else None,
        refused=tuple(refused),
        opt_outs=tuple(opt_outs),
        skipped=ignored,
    )


def _sms_event(raw: Any) -> tuple[ProviderEvent | OptOut | None, str]:
    """The event, an opt-out, or (None, why) when malformed; (None, "") when irrelevant."""
    if not isinstance(raw, dict) or not is_text(raw.get("EventSid")):
        return None, "not an object with an EventSid"
    occurred_at = raw.get("Timestamp")
    if not isinstance(occurred_at, str) or not is_instant(occurred_at):
        return None, "Timestamp is not an ISO 8601 time with a time zone"
    if raw.get("type") == "inbound":
        if not is_text(raw.get("From")):
            return None, "an inbound reply without From"
        body = str(raw.get("Body") or "").strip().upper()
        if body not in OPT_OUT_KEYWORDS:
            return None, ""
        return OptOut(raw["EventSid"], raw["From"], occurred_at), ""
    ids = callback_ids(raw.get("StatusCallback"))
    if ids is None:
        return None, "a status callback whose URL names no message"
    event_type = _event_type(raw.get("MessageStatus"), raw.get("ErrorCode"))
    if event_type is None:
        return None, ""
    message_id, customer_id = ids
    return (
        ProviderEvent(
            event_id=raw["EventSid"],
            message_id=message_id,
            customer_id=customer_id,
            channel="sms",
            event_type=event_type,
            occurred_at=occurred_at,
            dispatch_id=raw.get("MessageSid") if event_type == "sent" else None,
        ),
        "",
    )


def _event_type(status: Any, code: Any) -> str | None:
    if status in ("undelivered", "failed"):
        return "bounced_hard" if code in HARD_FAILURES else "bounced_soft"
    return STATUS_EVENTS.get(status) if isinstance(status, str) else None
