"""Twilio-style SMS clients: one request per text, paced per sender, no idempotency key.

The provider takes one message a request, so a batch of 50 is 50 requests, and one
batch can end half sent. The asynchronous client therefore answers for each recipient
and never raises once anything left: a refused number is `rejected`; a request that
was answered "not now" (429, 502, 503, a connection never opened) is retried here, on
the sender's rate, and after the last attempt it and the rest of the batch are
`not_sent`; a request without an answer (a timeout, 500, 504) is `unknown`, in doubt
until the provider's events tell, and the rest of the batch is `not_sent`.

The provider stores no templates: the text is rendered here from the retailer's branded
template (the same composition the email workspace stores), and a text that breaks the
rules validation checks (longer than the segment limit, no opt-out word) is refused
rather than sent: there is no deploy step at which to withhold it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace

import aiohttp
import requests
from liquid.exceptions import LiquidError

from jobs.providers.base import (
    EventPage,
    PermanentError,
    ProviderError,
    Recipient,
    RecipientResult,
    RecipientStatus,
    RetryableError,
    SendBatch,
    Template,
    WorkspaceMismatchError,
)
from jobs.providers.pacing import RetryPolicy, TokenBucket
from jobs.providers.twilio_wire import (
    SmsAccountRef,
    message_form,
    message_result,
    parse_sms_events,
)
from jobs.providers.wire import DEFAULT_TIMEOUT_SECONDS, classify, json_payload
from jobs.text.liquid import render_fields
from jobs.text.sms import text_problem


def is_unanswered(error: RetryableError) -> bool:
    """The request may have created the message: no answer, or a 500/504 after sending."""
    return error.status in (None, 500, 504)


class AsyncTwilioClient:
    """Sends a batch text by text, each after a token of the sender's rate."""

    deduplicates = False

    def __init__(
        self,
        account: SmsAccountRef,
        templates: Mapping[str, Template],
        *,
        max_segments: int,
        bucket: TokenBucket,
        policy: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.account = account
        self.templates = templates
        self.max_segments = max_segments
        self.bucket = bucket
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.requests = 0  # every request sent, for the batch's report
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers=self.account.headers(),
            )
        return self._session

    async def send_batch(self, batch: SendBatch) -> list[RecipientResult]:
        foreign = sorted({r.retailer_id for r in batch.recipients} - {self.account.retailer_id})
        if foreign or batch.retailer_id != self.account.retailer_id:
            raise WorkspaceMismatchError(
                f"SMS account '{self.account.account_sid}' belongs to retailer "
                f"'{self.account.retailer_id}' but the batch holds recipients of "
                f"{foreign or [batch.retailer_id]}; nothing was sent"
            )
        results: list[RecipientResult] = []
        for index, recipient in enumerate(batch.recipients):
            result, ends_batch = await self._send_one(batch, recipient)
            results.append(result)
            if ends_batch:
                # the account is not answering, or refuses our key: the rest waits
                status: RecipientStatus = "rejected" if result.status == "rejected" else "not_sent"
                reason = f"not tried: an earlier text of the batch got {result.reason}"
                rest = batch.recipients[index + 1 :]
                results += [RecipientResult(r.message_id, status, reason) for r in rest]
                break
        return results

    async def _send_one(
        self, batch: SendBatch, recipient: Recipient
    ) -> tuple[RecipientResult, bool]:
        """The text's result, and whether the rest of the batch must not be tried."""
        body = self._body(batch.template_id, recipient)
        if isinstance(body, RecipientResult):
            return body, False
        form = message_form(
            self.account,
            to=recipient.address,
            body=body,
            message_id=recipient.message_id,
            customer_id=recipient.customer_id,
        )
        attempt = 0
        while True:
            attempt += 1
            await self.bucket.acquire()
            answer = await self._post(recipient.message_id, form)
            if isinstance(answer, RecipientResult):
                return replace(answer, requests=attempt), False
            if isinstance(answer, PermanentError):
                refused_key = answer.status in (401, 403)
                rejected = RecipientResult(
                    recipient.message_id, "rejected", str(answer), requests=attempt
                )
                return rejected, refused_key
            assert isinstance(answer, RetryableError)
            if is_unanswered(answer):
                reason = f"no answer ({answer}): the provider's events decide"
                unknown = RecipientResult(recipient.message_id, "unknown", reason, requests=attempt)
                return unknown, True
            if answer.status == 429:
                self.bucket.slow_down()
                self.bucket.hold_off(answer.retry_after or 1.0)
            if attempt >= self.policy.max_attempts or self.policy.is_long_wait(answer.retry_after):
                reason = f"not accepted after {attempt} attempt(s): {answer}"
                not_sent = RecipientResult(
                    recipient.message_id, "not_sent", reason, requests=attempt
                )
                return not_sent, True
            if answer.status != 429:  # a 429's wait is already in the bucket
                await asyncio.sleep(self.policy.delay(attempt, answer.retry_after))

    def _body(self, template_id: str, recipient: Recipient) -> str | RecipientResult:
        """The rendered text, or why this recipient gets none."""
        template = self.templates.get(template_id)
        if template is None:
            reason = f"template '{template_id}' is not an SMS template of this retailer"
            return RecipientResult(recipient.message_id, "rejected", reason)
        try:
            body = render_fields(template.fields, recipient.properties)["body"]
        except LiquidError as error:
            reason = f"render error: {str(error).splitlines()[0]}"
            return RecipientResult(recipient.message_id, "rejected", reason)
        problem = text_problem(body, self.max_segments)
        if problem:
            return RecipientResult(recipient.message_id, "rejected", problem)
        return body

    async def _post(self, message_id: str, form: dict[str, str]) -> RecipientResult | ProviderError:
        url = self.account.url("Messages.json")
        where = f"{self.account.account_sid} POST {url}"
        self.requests += 1
        try:
            async with self._client().post(url, data=form) as response:
                status, text, headers = response.status, await response.text(), response.headers
        except aiohttp.ClientConnectorError as error:  # never connected: nothing was sent
            return RetryableError(f"{where}: connection refused: {error}", status=503)
        except TimeoutError:
            return RetryableError(f"{where}: timed out after {self.timeout} s")
        except aiohttp.ClientError as error:
            return RetryableError(f"{where}: connection lost: {error}")
        return message_result(message_id, status, headers, json_payload(text), where=where)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class TwilioClient:
    """Synchronous: the account's events (status callbacks and replies), for ingestion."""

    deduplicates = False

    def __init__(self, account: SmsAccountRef, *, timeout: float = DEFAULT_TIMEOUT_SECONDS):
        self.account = account
        self.timeout = timeout
        self._session = requests.Session()

    def export_events(self, cursor: str | None, *, limit: int = 1000) -> EventPage:
        url = self.account.url("Events.json")
        where = f"{self.account.account_sid} events"
        params: dict[str, str | int] = {"PageSize": limit}
        if cursor:
            params["PageToken"] = cursor
        try:
            response = self._session.get(
                url, params=params, headers=self.account.headers(), timeout=self.timeout
            )
        except requests.Timeout as error:
            raise RetryableError(f"{where}: timed out after {self.timeout} s") from error
        except requests.ConnectionError as error:
            raise RetryableError(f"{where}: connection failed: {error}") from error
        payload = json_payload(response.text)
        failure = classify(response.status_code, response.headers, payload, where=where)
        if failure is not None:
            raise failure
        return parse_sms_events(payload, where=where)

    def close(self) -> None:
        self._session.close()
