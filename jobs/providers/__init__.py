"""Messaging providers behind one abstraction, routed per retailer workspace."""

from jobs.providers.base import (
    MAX_RECIPIENTS_PER_BATCH,
    AsyncProvider,
    EventPage,
    PermanentError,
    ProviderError,
    ProviderEvent,
    Recipient,
    RecipientResult,
    RetryableError,
    SendBatch,
    Template,
    UnclearAnswerError,
    WorkspaceMismatchError,
)
from jobs.providers.routing import ProviderRouter, workspace_for
from jobs.providers.wire import Workspace

__all__ = [
    "MAX_RECIPIENTS_PER_BATCH",
    "AsyncProvider",
    "EventPage",
    "PermanentError",
    "ProviderError",
    "ProviderEvent",
    "ProviderRouter",
    "Recipient",
    "RecipientResult",
    "RetryableError",
    "SendBatch",
    "Template",
    "UnclearAnswerError",
    "Workspace",
    "WorkspaceMismatchError",
    "workspace_for",
]
