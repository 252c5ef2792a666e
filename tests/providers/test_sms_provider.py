"""The Twilio-style SMS client against the simulator's SMS provider on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from jobs.config import Conf, load_conf
from jobs.dev.simulator.server import SimulatorThread, point_conf_at, simulator_from_conf
from jobs.dev.simulator.state import SmsAccountState
from jobs.providers import ProviderRouter, Recipient, RecipientResult, SendBatch
from jobs.providers.pacing import RetryPolicy
from jobs.templates import load_library
from jobs.templates.compose import channel_templates
from tests.conftest import add_sms
from tests.providers.conftest import admin

ACCOUNT = "AC-freshmart"
BRAND = {
    "brand_name": "FreshMart",
    "first_name": "Ava",
    "promo_code": "",
    "sms_body": "fresh picks this week.",
}


@dataclasses.dataclass
class SmsWorld:
    conf: Conf
    server: SimulatorThread

    @property
    def account(self) -> SmsAccountState:
        return self.server.simulator.sms_accounts[ACCOUNT]

    def send(self, batch: SendBatch, *, timeout: float = 5.0) -> list[RecipientResult]:
        async def go() -> list[RecipientResult]:
            router = ProviderRouter(
                self.conf,
                timeout=timeout,
                sms_templates=partial(channel_templates, self.conf, load_library(self.conf), "sms"),
                policy=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05),
            )
            try:
                return await router.async_sms_for_retailer("fresh-mart").send_batch(batch)
            finally:
                await router.aclose()

        return asyncio.run(go())


def sms_world(conf_dir: Path, sender: dict[str, object]) -> Iterator[SmsWorld]:
    conf = load_conf(add_sms(conf_dir, sender=sender))
    server = SimulatorThread(simulator_from_conf(conf)).start()
    try:
        yield SmsWorld(point_conf_at(conf, server.url), server)
    finally:
        server.stop()


@pytest.fixture
def world(conf_dir: Path) -> Iterator[SmsWorld]:
    yield from sms_world(conf_dir, {"number": "12345", "kind": "short_code"})


@pytest.fixture
def long_code(conf_dir: Path) -> Iterator[SmsWorld]:
    yield from sms_world(conf_dir, {"number": "+13125550100", "kind": "long_code"})


def texts(ids: range, *, phones: dict[int, str] | None = None, **props: str) -> SendBatch:
    phones = phones or {}
    return SendBatch(
        retailer_id="fresh-mart",
        channel="sms",
        template_id="winback-sms",
        recipients=tuple(
            Recipient(
                f"m{i}", "fresh-mart", f"c{i}", phones.get(i, f"+1312555{i:04d}"), BRAND | props
            )
            for i in ids
        ),
    )


def test_a_long_code_sends_one_text_a_second_and_never_faster(long_code: SmsWorld) -> None:
    results = long_code.send(texts(range(6)))

    assert [r.status for r in results] == ["accepted"] * 6
    times = long_code.account.request_times
    assert long_code.account.counters["429"] == 0
    # a sender's rate, measured as the provider does (one early arrival allowed)
    assert all(j - i <= (times[j] - times[i]) * 1.0 + 1 for i in range(6) for j in range(i + 1, 6))
    assert times[-1] - times[0] >= 4.5  # six texts at 1/s take five seconds at least


def test_each_text_is_rendered_from_the_branded_template_and_billed_per_segment(
    world: SmsWorld,
) -> None:
    long_text = "a whole week of fresh picks, " * 8  # 232 characters of GSM-7
    results = world.send(texts(range(1)))
    results += world.send(texts(range(1, 2), sms_body=long_text))
    emoji = world.send(texts(range(2, 3), sms_body="fresh picks 🍓"))

    assert [r.status for r in results + emoji] == ["accepted"] * 3
    bodies = [m["body"] for m in world.account.messages]
    assert bodies[0] == "FreshMart: Ava, fresh picks this week. Reply STOP to opt out."
    assert [r.segments for r in results + emoji] == [1, 2, 1]
    assert all(r.dispatch_id and r.dispatch_id.startswith("SM") for r in results)
    assert [m["from"] for m in world.account.messages] == ["12345"] * 3


def test_a_text_over_the_segment_limit_is_refused_before_it_is_billed(world: SmsWorld) -> None:
    results = world.send(texts(range(2), sms_body="🍓" * 120))  # UCS-2: 5 segments, limit 3

    assert {r.status for r in results} == {"rejected"}
    assert "5 segment(s)" in (results[0].reason or "") and "limit 3" in (results[0].reason or "")
    assert world.account.messages == []


def test_a_number_that_replied_stop_is_refused_and_the_rest_of_the_batch_goes(
    world: SmsWorld,
) -> None:
    admin(
        world.server,
        "sms/inbound",
        {"account_sid": ACCOUNT, "from": "+13125550001", "body": " stop "},
    )

    results = world.send(texts(range(3)))

    assert [r.status for r in results] == ["accepted", "rejected", "accepted"]
    assert (results[1].reason or "").startswith("21610")


def test_no_answer_leaves_that_text_in_doubt_and_the_rest_unsent(world: SmsWorld) -> None:
    world.send(texts(range(1)))  # one answered text first
    admin(
        world.server, "faults", {"account_sid": ACCOUNT, "timeout_rate": 1.0, "timeout_hold_s": 3}
    )

    results = world.send(texts(range(1, 4)), timeout=1.0)

    assert [r.status for r in results] == ["unknown", "not_sent", "not_sent"]
    assert world.account.counters["timeout"] == 1  # nothing after the unanswered request


def test_a_wrong_token_sends_nothing(world: SmsWorld) -> None:
    world.account.auth_token = "not-the-token"

    results = world.send(texts(range(3)))

    assert {r.status for r in results} == {"rejected"}
    assert "HTTP 401" in (results[0].reason or "")
    assert world.account.counters["401"] == 1 and world.account.messages == []


def test_status_callbacks_and_stop_replies_come_back_as_events(world: SmsWorld) -> None:
    world.send(texts(range(20)))
    admin(
        world.server,
        "sms/inbound",
        {"account_sid": ACCOUNT, "from": "+13125550007", "body": "STOP"},
    )
    admin(
        world.server,
        "sms/inbound",
        {"account_sid": ACCOUNT, "from": "+13125550008", "body": "thanks!"},
    )
    client = ProviderRouter(world.conf).sms_for_retailer("fresh-mart")

    first = client.export_events(None, limit=25)
    rest = client.export_events(first.next_cursor, limit=1000)

    events = [*first.events, *rest.events]
    sent = {e.message_id: e.dispatch_id for e in events if e.event_type == "sent"}
    accepted = {m["message_id"]: m["sid"] for m in world.account.messages}
    assert sent == accepted  # each sent event names our message id and the provider's SID
    assert {e.channel for e in events} == {"sms"}
    assert {e.customer_id for e in events} == {f"c{i}" for i in range(20)}
    assert [o.phone for o in [*first.opt_outs, *rest.opt_outs]] == ["+13125550007"]
    assert first.skipped + rest.skipped >= 21  # queued callbacks, the reply that is no opt-out
    assert first.size == 25


def test_a_throttled_text_is_tried_again_and_its_requests_are_counted(world: SmsWorld) -> None:
    admin(world.server, "faults", {"account_sid": ACCOUNT, "throttle_burst": 2})

    results = world.send(texts(range(3)))

    assert [r.status for r in results] == ["accepted"] * 3
    assert [r.requests for r in results] == [3, 1, 1]
    assert world.account.counters["429"] == 2 and len(world.account.messages) == 3
