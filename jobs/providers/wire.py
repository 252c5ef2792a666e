"""The Braze-style REST dialect: request bodies, response parsing, error classification.

Pure functions shared by the synchronous and asynchronous clients (and the
simulator's tests), so both paths speak exactly the same protocol:

    POST {base}/messages/send                 <= 50 recipients, trigger properties
    POST {base}/campaigns/trigger/send        same body, `campaign_id` names the template
    POST {base}/templates/{channel}/create    POST {base}/templates/{channel}/update
    GET  {base}/templates/{channel}/list
    GET  {base}/events/export?cursor=&limit=  at-least-once, cursor-paginated
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from jobs.providers.base import (
    CHANNELS,
    EVENT_TYPES,
    MAX_RECIPIENTS_PER_BATCH,
    Channel,
    EventPage,
    MalformedAnswerError,
    PermanentError,
    ProviderError,
    ProviderEvent,
    RecipientResult,
    RetryableError,
    SendBatch,
    Template,
    UnclearAnswerError,
    WorkspaceMismatchError,
)

DEFAULT_TIMEOUT_SECONDS = 10.0


def json_payload(text: str) -> Any:
    """An answer's JSON; a body that is not JSON becomes its first 200 characters as the
    `message`, so the error it carries can still be classified and reported."""
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {"message": text[:200]}


# What a Braze-style answer may say of a recipient: the request was answered whole.
ANSWERED_STATUSES = ("accepted", "duplicate", "rejected")


@dataclass(frozen=True)
class Workspace:
    """A retailer's own provider workspace, with the key already read from the environment."""

    retailer_id: str
    workspace_id: str
    base_url: str
    api_key: str
    deduplicates: bool = False  # the provider drops a repeated message id

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}


def send_request(workspace: Workspace, batch: SendBatch) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body of a send; refuses what must never leave this process."""
    owners = {r.retailer_id for r in batch.recipients} | {batch.retailer_id}
    foreign = sorted(owners - {workspace.retailer_id})
    if foreign:
        raise WorkspaceMismatchError(
            f"workspace '{workspace.workspace_id}' belongs to retailer '{workspace.retailer_id}' "
            f"but the batch holds recipients of {foreign}; nothing was sent. Route each "
            "retailer's messages through its own workspace (ProviderRouter.for_retailer)."
        )
    if not 0 < len(batch.recipients) <= MAX_RECIPIENTS_PER_BATCH:
        raise PermanentError(
            f"a batch holds 1 to {MAX_RECIPIENTS_PER_BATCH} recipients, got "
            f"{len(batch.recipients)}; split it before sending"
        )
    body = {
        "template_id": batch.template_id,
        "channel": batch.channel,
        "campaign_run_id": batch.campaign_run_id,
        "variant_id": batch.variant_id,
        "recipients": [
            {
                "send_id": r.message_id,
                "external_user_id": r.customer_id,
                "address": r.address,
                "trigger_properties": dict(r.properties),
            }
            for r in batch.recipients
        ],
    }
    ids = ",".join(r.message_id for r in batch.recipients)
    headers = {**workspace.headers(), "Idempotency-Key": hashlib.sha256(ids.encode()).hexdigest()}
    return workspace.url("messages/send"), headers, json.dumps(body).encode()


def classify(
    status: int, headers: Mapping[str, str], payload: Any, *, where: str
) -> ProviderError | None:
    """None for success; otherwise the error, retryable or permanent, with its reason."""
    if 200 <= status < 300:
        return None
    reason = payload.get("message") if isinstance(payload, dict) else None
    text = f"{where}: HTTP {status}: {reason or 'no reason given'}"
    if status == 429:
        return RetryableError(text, status=status, retry_after=retry_after_seconds(headers))
    if status >= 500 or status == 408:
        return RetryableError(text, status=status, retry_after=retry_after_seconds(headers))
    return PermanentError(text, status=status)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Retry-After (seconds or an HTTP date), else X-RateLimit-Reset (epoch seconds)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    now = time.time() if now is None else now
    if value := lowered.get("retry-after"):
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    if value := lowered.get("x-ratelimit-reset"):
        return max(0.0, float(value) - now)
    return None


def parse_send_results(batch: SendBatch, payload: Any) -> list[RecipientResult]:
    """Per-recipient outcome of an accepted request. An answer that does not give one for
    every recipient (no `results`, an HTML page, a malformed item) is unclear, never a
    plain retry: some of the batch may have gone out."""
    items = payload.get("results") if isinstance(payload, dict) else None
    results: dict[str, RecipientResult] = {}
    for item in items if isinstance(items, list) else []:
        result = _recipient_result(item, payload.get("dispatch_id"))
        if result is not None:
            results[result.message_id] = result
    missing = [r.message_id for r in batch.recipients if r.message_id not in results]
    if missing:
        raise UnclearAnswerError(
            f"the provider accepted a batch of {len(batch.recipients)} but gave no valid "
            f"result for {len(missing)} of them (e.g. {missing[0]})",
            status=200,
        )
    return [results[r.message_id] for r in batch.recipients]


def _recipient_result(item: Any, dispatch_id: Any) -> RecipientResult | None:
    if not isinstance(item, dict):
        return None
    send_id, status = item.get("send_id"), item.get("status")
    if not isinstance(send_id, str) or status not in ANSWERED_STATUSES:
        return None
    reason = item.get("reason")
    return RecipientResult(
        send_id,
        status,
        reason if isinstance(reason, str) else None,
        dispatch_id if isinstance(dispatch_id, str) else None,
    )


def template_body(template: Template) -> bytes:
    return json.dumps(
        {
            "template_id": template.template_id,
            "fields": dict(template.fields),
            "required_properties": list(template.required_properties),
        }
    ).encode()


def parse_templates(channel: Channel, payload: Any) -> list[Template]:
    return [
        Template(
            t["template_id"],
            channel,
            t["fields"],
            tuple(t.get("required_properties", ())),
        )
        for t in payload.get("templates", [])
    ]


def parse_event_page(payload: Any, *, where: str = "event export") -> EventPage:
    """A page of the export: its events that are well formed, and why the others are not.

    A page without a cursor (an HTML error page served with 200, say) is the workspace's
    failure: nothing of it is used and its cursor stays where it was."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise MalformedAnswerError(
            f"{where}: not an export page (no 'events' list): {_beginning(payload)}", status=200
        )
    cursor = payload.get("next_cursor")
    if not isinstance(cursor, str | int) or isinstance(cursor, bool) or cursor == "":
        raise MalformedAnswerError(f"{where}: export page without 'next_cursor'", status=200)
    events, refused = [], []
    for index, raw in enumerate(payload["events"]):
        event, problem = _event(raw)
        if event is not None:
            events.append(event)
        else:
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            refused.append(f"{event_id if isinstance(event_id, str) else f'#{index}'}: {problem}")
    through = payload.get("exported_through")
    return EventPage(
        tuple(events),
        str(cursor),
        through if isinstance(through, str) and is_instant(through) else None,
        tuple(refused),
    )


_EVENT_IDS = ("event_id", "message_id", "customer_id")
_OPTIONAL = ("variant_id", "campaign_run_id", "dispatch_id")


def _event(raw: Any) -> tuple[ProviderEvent | None, str]:
    """The event, or None and what is wrong with it (never a value: no personal data)."""
    if not isinstance(raw, dict):
        return None, "not an object"
    blank = [name for name in _EVENT_IDS if not is_text(raw.get(name))]
    if blank:
        return None, f"{', '.join(blank)} missing or blank"
    if raw.get("event_type") not in EVENT_TYPES:
        return None, f"event_type is not one of {list(EVENT_TYPES)}"
    if raw.get("channel") not in CHANNELS:
        return None, f"channel is not one of {list(CHANNELS)}"
    occurred_at = raw.get("occurred_at")
    if not isinstance(occurred_at, str) or not is_instant(occurred_at):
        return None, "occurred_at is not an ISO 8601 time with a time zone"
    wrong = [name for name in _OPTIONAL if raw.get(name) is not None and not is_text(raw[name])]
    if wrong:
        return None, f"{', '.join(wrong)} not a string"
    event = ProviderEvent(
        event_id=raw["event_id"],
        message_id=raw["message_id"],
        customer_id=raw["customer_id"],
        channel=raw["channel"],
        event_type=raw["event_type"],
        occurred_at=occurred_at,
        variant_id=raw.get("variant_id"),
        campaign_run_id=raw.get("campaign_run_id"),
        dispatch_id=raw.get("dispatch_id"),
    )
    return event, ""


def is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_instant(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _beginning(payload: Any) -> str:
    text = payload.get("message") if isinstance(payload, dict) else payload
    return repr(str(text)[:80])
