"""What the pipeline needs from a messaging provider, independent of any vendor.

A retailer changes provider by configuration: everything above this module
speaks these types, and each vendor gets one implementation of `Provider`
(synchronous, for jobs such as template deploy and event export) and
`AsyncProvider` (bounded concurrency, for the delivery job).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, get_args

from jobs.config.models import Channel

MAX_RECIPIENTS_PER_BATCH = 50
CHANNELS: tuple[Channel, ...] = get_args(Channel)
# What an export may say happened to a message; anything else is refused at ingestion.
EventType = Literal[
    "sent",
    "delivered",
    "bounced_hard",
    "bounced_soft",
    "opened",
    "clicked",
    "unsubscribed",
    "complained",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
# accepted, duplicate (a repeat the provider dropped), rejected (never retried). A
# provider that takes one message a request answers each on its own, so part of a batch
# may be left: `not_sent` (not accepted, safe to send later) or `unknown` (no answer: in
# doubt until the provider's export tells).
RecipientStatus = Literal["accepted", "duplicate", "rejected", "not_sent", "unknown"]


@dataclass(frozen=True)
class Recipient:
    """One message: `message_id` is its idempotency key, where the provider takes one."""

    message_id: str
    retailer_id: str
    customer_id: str
    address: str
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendBatch:
    """At most 50 recipients of one retailer, one channel and one template."""

    retailer_id: str
    channel: Channel
    template_id: str
    recipients: tuple[Recipient, ...]
    campaign_run_id: str | None = None
    variant_id: str | None = None


@dataclass(frozen=True)
class RecipientResult:
    message_id: str
    status: RecipientStatus
    reason: str | None = None
    dispatch_id: str | None = None
    segments: int | None = None  # what a text was billed as (SMS only)
    # Requests this recipient took, where each one is a request of its own (SMS); None
    # where the batch went as one request.
    requests: int | None = None


@dataclass(frozen=True)
class Template:
    """A channel template: named Liquid fields (subject, html, text, title, body, ...)."""

    template_id: str
    channel: Channel
    fields: Mapping[str, str]
    required_properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderEvent:
    """A delivery or engagement event; `event_id` is unique, delivery is at-least-once."""

    event_id: str
    message_id: str
    customer_id: str
    channel: str
    event_type: str
    occurred_at: str
    variant_id: str | None = None
    campaign_run_id: str | None = None
    dispatch_id: str | None = None  # the request that sent it (`sent` events)


@dataclass(frozen=True)
class OptOut:
    """An inbound reply that ends a number's texts (STOP and its variants). The provider
    knows the number, not the customer: ingestion finds the retailer's customers with it."""

    event_id: str
    phone: str
    occurred_at: str


@dataclass(frozen=True)
class EventPage:
    events: tuple[ProviderEvent, ...]
    next_cursor: str
    # Every message the provider accepted before this time is in the export (ISO UTC).
    exported_through: str | None = None
    # Events of the page that were not stored, each as "<event id>: <why>".
    refused: tuple[str, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()
    # Entries of the page that mean nothing here (a `queued` callback, a reply that is
    # not an opt-out): counted, so that a full page is not mistaken for the last.
    skipped: int = 0

    @property
    def size(self) -> int:
        """Events the provider put on the page, stored or refused (a short page ends it)."""
        return len(self.events) + len(self.refused) + len(self.opt_outs) + self.skipped


class ProviderError(Exception):
    """A request the provider did not accept as a whole."""

    retryable: bool = False

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RetryableError(ProviderError):
    """Try again later: 429 (honour `retry_after`), 5xx, timeouts, connection errors."""

    retryable = True


class UnclearAnswerError(RetryableError):
    """The provider accepted the request (2xx) but did not say what became of each
    recipient: some may have been sent. Retrying is safe only where the provider drops a
    repeated message id; elsewhere the messages are in doubt until its export tells."""


class PermanentError(ProviderError):
    """Retrying cannot help: validation (400) or authentication (401/403)."""


class MalformedAnswerError(PermanentError):
    """A 2xx answer that is not what the API promises (an HTML page, no cursor)."""


class WorkspaceMismatchError(PermanentError):
    """A recipient of one retailer was about to go through another retailer's workspace."""


class Provider(Protocol):
    # Whether a repeated message id is dropped (an idempotency key) or sent again.
    deduplicates: bool

    def send_batch(self, batch: SendBatch) -> list[RecipientResult]: ...
    def upsert_template(self, template: Template) -> Literal["created", "updated"]: ...
    def list_templates(self, channel: Channel) -> list[Template]: ...
    def export_events(self, cursor: str | None, *, limit: int = 1000) -> EventPage: ...


class AsyncProvider(Protocol):
    deduplicates: bool

    async def send_batch(self, batch: SendBatch) -> list[RecipientResult]: ...
    async def close(self) -> None: ...


ProvisionResult = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class WorkspaceSpec:
    """What a retailer's workspace must be: its key, sending identity, pool and limits."""

    workspace_id: str
    retailer_id: str
    name: str
    sending_identity: str
    ip_pool: str
    api_key: str
    requests_per_second: float
    burst: int


class Provisioner(Protocol):
    """The provider's account-level API: make a workspace match its spec (idempotent)."""

    def ensure_workspace(self, spec: WorkspaceSpec) -> ProvisionResult: ...
