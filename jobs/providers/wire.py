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
from email.utils import parsedate_to_datetime
from typing import Any

from jobs.providers.base import (
    MAX_RECIPIENTS_PER_BATCH,
    Channel,
    EventPage,
    PermanentError,
    ProviderError,
    ProviderEvent,
    RecipientResult,
    RetryableError,
    SendBatch,
    Template,
    WorkspaceMismatchError,
)


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
    """Per-recipient outcome; a recipient the provider did not mention is an error."""
    dispatch_id = payload.get("dispatch_id")
    results = {
        item["send_id"]: RecipientResult(
            item["send_id"], item["status"], item.get("reason"), dispatch_id
        )
        for item in payload.get("results", [])
    }
    missing = [r.message_id for r in batch.recipients if r.message_id not in results]
    if missing:
        raise RetryableError(f"provider response lacks results for {len(missing)} recipients")
    return [results[r.message_id] for r in batch.recipients]


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


def parse_event_page(payload: Any) -> EventPage:
    return EventPage(
        events=tuple(ProviderEvent(**event) for event in payload.get("events", [])),
        next_cursor=str(payload["next_cursor"]),
        exported_through=payload.get("exported_through"),
    )
