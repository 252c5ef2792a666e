"""Braze-style HTTP clients: synchronous on `requests`, asynchronous on `aiohttp`.

Both refuse foreign recipients before anything leaves the process, send each
message id as the recipient's `send_id` (an idempotency key only where the
workspace declares `deduplicates`: Braze itself sends a repeat again), and raise
`RetryableError` (429 with its retry delay, 5xx, timeouts, connection errors) or
`PermanentError` (validation, authentication). Retrying is the caller's policy.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any, Literal

import aiohttp
import requests
from requests.adapters import HTTPAdapter

from jobs.providers.base import (
    Channel,
    EventPage,
    PermanentError,
    ProvisionResult,
    RecipientResult,
    RetryableError,
    SendBatch,
    Template,
    WorkspaceSpec,
)
from jobs.providers.wire import (
    DEFAULT_TIMEOUT_SECONDS,
    Workspace,
    classify,
    json_payload,
    parse_event_page,
    parse_send_results,
    parse_templates,
    send_request,
    template_body,
)


def _checked(response: requests.Response, where: str) -> Any:
    """The response's JSON, or the classified error (retryable or permanent) it carries."""
    payload = json_payload(response.text)
    failure = classify(response.status_code, response.headers, payload, where=where)
    if failure is not None:
        raise failure
    return payload


class BrazeClient:
    """Synchronous client with a pooled session, for template deploy and event export."""

    def __init__(
        self, workspace: Workspace, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, pool_size: int = 8
    ) -> None:
        self.workspace = workspace
        self.deduplicates = workspace.deduplicates
        self.timeout = timeout
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        url = path if path.startswith("http") else self.workspace.url(path)
        where = f"{self.workspace.workspace_id} {method} {url}"
        try:
            response = self._session.request(
                method,
                url,
                data=body,
                params=params,
                timeout=self.timeout,
                headers=headers or self.workspace.headers(),
            )
        except requests.Timeout as error:
            raise RetryableError(f"{where}: timed out after {self.timeout} s") from error
        except requests.ConnectionError as error:
            raise RetryableError(f"{where}: connection failed: {error}") from error
        return response.status_code, _checked(response, where)

    def send_batch(self, batch: SendBatch) -> list[RecipientResult]:
        url, headers, body = send_request(self.workspace, batch)
        _, payload = self._call("POST", url, body=body, headers=headers)
        return parse_send_results(batch, payload)

    def upsert_template(self, template: Template) -> Literal["created", "updated"]:
        body = template_body(template)
        try:
            self._call("POST", f"templates/{template.channel}/create", body=body)
            return "created"
        except PermanentError as error:
            if error.status != 409:
                raise
        self._call("POST", f"templates/{template.channel}/update", body=body)
        return "updated"

    def list_templates(self, channel: Channel) -> list[Template]:
        _, payload = self._call("GET", f"templates/{channel}/list")
        return parse_templates(channel, payload)

    def export_events(self, cursor: str | None, *, limit: int = 1000) -> EventPage:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        _, payload = self._call("GET", "events/export", params=params)
        return parse_event_page(payload, where=f"{self.workspace.workspace_id} event export")

    def close(self) -> None:
        self._session.close()


class BrazePlatformClient:
    """The account-level API (one key for the whole platform): creates and updates workspaces.

    One PUT per workspace makes it match its spec, so onboarding can run again safely.
    """

    def __init__(
        self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.timeout = timeout

    def ensure_workspace(self, spec: WorkspaceSpec) -> ProvisionResult:
        url = f"{self.base_url}/workspaces/{spec.workspace_id}"
        where = f"provider platform PUT {url}"
        try:
            response = requests.put(
                url, json=asdict(spec), headers=self._headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise RetryableError(f"{where}: {error}") from error
        payload = _checked(response, where)
        status = payload.get("status")
        if status not in ("created", "updated", "unchanged"):
            raise PermanentError(
                f"{where}: unexpected answer {payload}", status=response.status_code
            )
        return status


class AsyncBrazeClient:
    """Asynchronous sends with at most `max_in_flight` requests open, for the delivery job."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_in_flight: int = 8,
    ) -> None:
        self.workspace = workspace
        self.deduplicates = workspace.deduplicates
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(max_in_flight)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_in_flight),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        url = path if path.startswith("http") else self.workspace.url(path)
        where = f"{self.workspace.workspace_id} {method} {url}"
        async with self._slots:
            try:
                async with self._client().request(
                    method, url, data=body, headers=headers or self.workspace.headers()
                ) as response:
                    status, text, response_headers = (
                        response.status,
                        await response.text(),
                        response.headers,
                    )
            except TimeoutError as error:
                raise RetryableError(f"{where}: timed out after {self.timeout} s") from error
            except aiohttp.ClientError as error:
                raise RetryableError(f"{where}: connection failed: {error}") from error
        payload = json_payload(text)
        failure = classify(status, response_headers, payload, where=where)
        if failure is not None:
            raise failure
        return status, payload

    async def send_batch(self, batch: SendBatch) -> list[RecipientResult]:
        url, headers, body = send_request(self.workspace, batch)
        _, payload = await self._call("POST", url, body=body, headers=headers)
        return parse_send_results(batch, payload)

    async def list_templates(self, channel: Channel) -> list[Template]:
        _, payload = await self._call("GET", f"templates/{channel}/list")
        return parse_templates(channel, payload)

    async def write_template(
        self, template: Template, *, action: Literal["create", "update"]
    ) -> None:
        """Create or update, as the deploy decided from the workspace's listing."""
        path = f"templates/{template.channel}/{action}"
        await self._call("POST", path, body=template_body(template))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
