"""The provider client against the simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import requests

from jobs.dev.simulator.app import Simulator
from jobs.dev.simulator.server import SimulatorThread
from jobs.providers import (
    PermanentError,
    ProviderRouter,
    Recipient,
    RetryableError,
    SendBatch,
    Template,
    UnclearAnswerError,
    WorkspaceMismatchError,
)
from jobs.providers.braze import BrazeClient
from jobs.providers.wire import Workspace, parse_send_results
from tests.providers.conftest import TEMPLATE, admin, batch

Server = tuple[SimulatorThread, Simulator]


def raw_send(
    router: ProviderRouter, body: object, *, workspace: Workspace | None = None
) -> requests.Response:
    ws = workspace or router.workspace("fresh-mart")
    return requests.post(
        ws.url("messages/send"), data=json.dumps(body), headers=ws.headers(), timeout=5
    )


def test_accepted_messages_are_recorded_with_their_properties(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    results = router.for_retailer("fresh-mart").send_batch(batch(range(50)))

    assert [r.status for r in results] == ["accepted"] * 50
    record = admin(simulator[0], "messages?workspace_id=ws-freshmart&message_id=m7")
    assert record["count"] == 1
    assert record["messages"][0]["properties"] == {"first_name": "Ava", "offer_text": "10%"}
    assert record["messages"][0]["customer_id"] == "c7"


def test_batch_limit_is_enforced_by_client_and_simulator(router: ProviderRouter) -> None:
    with pytest.raises(PermanentError, match="1 to 50 recipients, got 51"):
        router.for_retailer("fresh-mart").send_batch(batch(range(51)))

    recipients = [
        {"send_id": f"x{i}", "external_user_id": f"c{i}", "trigger_properties": {"first_name": "A"}}
        for i in range(51)
    ]
    response = raw_send(
        router, {"template_id": TEMPLATE.template_id, "channel": "email", "recipients": recipients}
    )
    assert response.status_code == 400
    assert "too many recipients: 51" in response.json()["message"]


def test_validation_errors_are_permanent_with_a_reason(router: ProviderRouter) -> None:
    client = router.for_retailer("fresh-mart")

    with pytest.raises(PermanentError, match="unknown template 'nope'"):
        client.send_batch(SendBatch("fresh-mart", "email", "nope", batch(range(1)).recipients))
    with pytest.raises(PermanentError, match=r"lacks required properties \['first_name'\]"):
        client.send_batch(batch(range(2), properties={"offer_text": "x"}))
    malformed = raw_send(router, "not json at all")
    assert malformed.status_code == 400
    broken = requests.post(
        router.workspace("fresh-mart").url("messages/send"),
        data=b"{oops",
        headers=router.workspace("fresh-mart").headers(),
        timeout=5,
    )
    assert broken.status_code == 400 and "malformed JSON" in broken.json()["message"]


def test_template_errors_are_reported_per_recipient_or_at_upload(router: ProviderRouter) -> None:
    client = router.for_retailer("fresh-mart")

    results = client.send_batch(batch(range(2), properties={"first_name": "Ava"}))
    assert {r.status for r in results} == {"rejected"}
    assert all("template_error: 'offer_text' is undefined" in str(r.reason) for r in results)
    with pytest.raises(PermanentError, match="Liquid syntax error"):
        client.upsert_template(Template("broken", "email", {"subject": "{% if %}"}))
    assert client.upsert_template(TEMPLATE) == "updated"
    assert [t.template_id for t in client.list_templates("email")] == ["winback-email"]


def test_like_braze_a_repeated_message_id_is_sent_again_and_counted(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    client = router.for_retailer("fresh-mart")
    assert client.deduplicates is False
    client.send_batch(batch(range(10)))

    again = client.send_batch(batch(range(5, 15)))

    assert [r.status for r in again] == ["accepted"] * 10  # the provider cannot tell
    assert admin(simulator[0], "messages?workspace_id=ws-freshmart")["count"] == 20
    state = admin(simulator[0], "state")
    assert state["delivered_twice"] == state["workspaces"]["ws-freshmart"]["delivered_twice"] == 5
    assert (state["messages_requested_again"], state["max_requests_per_message"]) == (5, 2)
    page = client.export_events(None, limit=1000)
    sent = [e for e in page.events if e.event_type == "sent"]
    assert len(sent) == 20 and len({e.dispatch_id for e in sent}) == 2
    assert {e.message_id for e in sent} == {f"m{i}" for i in range(15)}
    assert page.exported_through is not None


def test_with_idempotency_on_a_repeated_message_id_is_acknowledged_not_delivered_again(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    simulator[1].workspaces["ws-freshmart"].deduplicates = True
    client = router.for_retailer("fresh-mart")
    client.send_batch(batch(range(10)))

    again = client.send_batch(batch(range(5, 15)))

    assert [r.status for r in again] == ["duplicate"] * 5 + ["accepted"] * 5
    assert admin(simulator[0], "messages?workspace_id=ws-freshmart")["count"] == 15
    assert admin(simulator[0], "state")["delivered_twice"] == 0


def test_keys_and_recipients_stay_in_their_own_workspace(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    fresh, green = router.workspace("fresh-mart"), router.workspace("green-grocer")
    stolen_key = Workspace("green-grocer", green.workspace_id, green.base_url, fresh.api_key)

    with pytest.raises(PermanentError) as error:
        BrazeClient(stolen_key).list_templates("email")
    assert error.value.status == 401

    with pytest.raises(WorkspaceMismatchError, match="belongs to retailer 'fresh-mart'"):
        router.for_retailer("fresh-mart").send_batch(batch(range(3), retailer="green-grocer"))
    mixed = SendBatch(
        "fresh-mart",
        "email",
        TEMPLATE.template_id,
        (
            *batch(range(2)).recipients,
            Recipient("g1", "green-grocer", "c1", "same@example.com", {}),
        ),
    )
    with pytest.raises(WorkspaceMismatchError):
        router.for_retailer("fresh-mart").send_batch(mixed)
    assert admin(simulator[0], "messages")["count"] == 0


def test_rate_limit_answers_429_with_headers_and_is_retryable(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    admin(
        simulator[0],
        "rate_limits",
        {"workspace_id": "ws-freshmart", "requests_per_second": 0.1, "burst": 2},
    )
    client = router.for_retailer("fresh-mart")
    client.send_batch(batch(range(1), prefix="a"))
    client.send_batch(batch(range(1), prefix="b"))

    raw = raw_send(
        router,
        {
            "template_id": TEMPLATE.template_id,
            "channel": "email",
            "recipients": [{"send_id": "c", "external_user_id": "c"}],
        },
    )
    assert raw.status_code == 429
    for header in (
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ):
        assert header in raw.headers
    assert raw.headers["X-RateLimit-Limit"] == "2" and raw.headers["X-RateLimit-Remaining"] == "0"
    with pytest.raises(RetryableError) as error:
        client.send_batch(batch(range(1), prefix="d"))
    assert error.value.status == 429 and error.value.retry_after is not None
    assert 0 < error.value.retry_after <= 10


def test_daily_cap_of_an_ip_pool(router: ProviderRouter, simulator: Server) -> None:
    admin(simulator[0], "pools", {"shared-a": 60})
    client = router.for_retailer("fresh-mart")
    client.send_batch(batch(range(50)))

    with pytest.raises(RetryableError, match="daily volume cap of IP pool 'shared-a'") as error:
        client.send_batch(batch(range(50, 100)))
    assert error.value.retry_after is not None and error.value.retry_after > 0
    assert [r.status for r in client.send_batch(batch(range(50, 60)))] == ["accepted"] * 10


@pytest.mark.parametrize(
    ("faults", "status"),
    [({"outage": True}, 503), ({"error_rate": 1.0}, 500), ({"throttle_burst": 1}, 429)],
)
def test_fault_modes_are_retryable(
    router: ProviderRouter, simulator: Server, faults: dict[str, object], status: int
) -> None:
    admin(simulator[0], "faults", {"workspace_id": "ws-freshmart", **faults})

    with pytest.raises(RetryableError) as error:
        router.for_retailer("fresh-mart").send_batch(batch(range(3)))

    assert error.value.status == status
    # another retailer's workspace is untouched by the fault
    green = router.for_retailer("green-grocer")
    green.upsert_template(TEMPLATE)
    assert green.send_batch(batch(range(3), retailer="green-grocer"))[0].status == "accepted"


def test_injected_latency_slows_but_does_not_fail(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    admin(simulator[0], "faults", {"workspace_id": "ws-freshmart", "latency_ms": 300})
    started = time.perf_counter()

    results = router.for_retailer("fresh-mart").send_batch(batch(range(5)))

    assert time.perf_counter() - started >= 0.3
    assert {r.status for r in results} == {"accepted"}
    state = admin(simulator[0], "state")["workspaces"]["ws-freshmart"]
    assert state["faults"]["latency_ms"] == 300 and state["counters"]["accepted"] == 5


def test_timeouts_and_refused_connections_are_retryable(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    admin(
        simulator[0],
        "faults",
        {"workspace_id": "ws-freshmart", "timeout_rate": 1.0, "timeout_hold_s": 3.0},
    )
    slow = BrazeClient(router.workspace("fresh-mart"), timeout=0.5)
    with pytest.raises(RetryableError, match="timed out"):
        slow.send_batch(batch(range(1)))

    ws = router.workspace("fresh-mart")
    closed = Workspace(ws.retailer_id, ws.workspace_id, "http://127.0.0.1:9/ws/x", ws.api_key)
    with pytest.raises(RetryableError, match="connection failed"):
        BrazeClient(closed, timeout=2).send_batch(batch(range(1)))


def test_event_export_pages_from_a_cursor_at_least_once(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    client = router.for_retailer("fresh-mart")
    for start in range(0, 400, 50):
        client.send_batch(batch(range(start, start + 50)))
    events, cursor, pages = [], None, 0
    while True:
        page = client.export_events(cursor, limit=97)
        if not page.events:
            break
        events.extend(page.events)
        cursor, pages = page.next_cursor, pages + 1

    assert pages > 4
    assert len({e.event_id for e in events}) < len(events)  # some events came twice
    outcomes = {}
    for event in events:
        if event.event_type in ("delivered", "bounced_hard", "bounced_soft"):
            outcomes.setdefault(event.message_id, set()).add(event.event_type)
    assert len(outcomes) == 400 and all(len(kinds) == 1 for kinds in outcomes.values())
    assert client.export_events(cursor).events == ()  # the cursor resumes after the last page


def test_engagement_depends_on_the_variant(router: ProviderRouter, simulator: Server) -> None:
    simulator[1].variant_engagement = {"hot": {"clicked": 0.6}, "cold": {"clicked": 0.0}}
    client = router.for_retailer("fresh-mart")
    for start in range(0, 200, 50):
        client.send_batch(batch(range(start, start + 50), prefix="h", variant="hot"))
        client.send_batch(batch(range(start, start + 50), prefix="k", variant="cold"))
    events = client.export_events(None, limit=10_000).events
    clicks = {
        v: len({e.message_id for e in events if e.event_type == "clicked" and e.variant_id == v})
        for v in ("hot", "cold")
    }

    assert clicks["cold"] == 0 and clicks["hot"] > 80


def test_async_client_sends_concurrently_and_classifies(
    router: ProviderRouter,
    simulator: Server,
) -> None:
    async def send_all() -> list[str]:
        client = router.async_for_retailer("fresh-mart")
        results = await asyncio.gather(
            *[client.send_batch(batch(range(i * 50, i * 50 + 50), prefix="z")) for i in range(6)]
        )
        admin(simulator[0], "faults", {"workspace_id": "ws-freshmart", "outage": True})
        with pytest.raises(RetryableError):
            await client.send_batch(batch(range(1), prefix="y"))
        await router.aclose()
        return [r.status for batch_results in results for r in batch_results]

    statuses = asyncio.run(send_all())

    assert statuses == ["accepted"] * 300


@pytest.mark.parametrize(
    "answer",
    [
        {"message": "success"},
        {"message": "<html>oops</html>"},
        {"results": "all good"},
        {"results": [{"send_id": "m0", "status": "accepted"}, {"send_id": "m1"}]},
        {"results": [{"send_id": "m0", "status": "accepted"}, ["m1", "accepted"]]},
        ["m0", "m1"],
    ],
)
def test_an_accepted_batch_without_a_result_for_every_recipient_is_unclear(answer: Any) -> None:
    recipients = tuple(Recipient(f"m{n}", "fresh-mart", f"c{n}", "a@example.com") for n in (0, 1))
    request = SendBatch("fresh-mart", "email", "winback-email", recipients, "run-1")

    with pytest.raises(UnclearAnswerError, match=r"gave no valid result for (1|2)"):
        parse_send_results(request, answer)


def test_the_simulator_engagement_controls_set_variant_truth_and_time_of_day(
    simulator: Server,
) -> None:
    server, sim = simulator
    admin(server, "engagement", {"variants": {"hot": {"clicked": 0.5}}, "scale": 0.5})
    refused = requests.post(f"{server.url}/_admin/engagement", json={"scale": "evening"}, timeout=5)

    assert refused.status_code == 400 and "scale is a number" in refused.json()["message"]
    assert sim.variant_engagement["hot"] == {"clicked": 0.5} and sim.engagement_scale == 0.5
    scaled = sim.engagement.for_variant(sim.variant_engagement, "hot").scaled(0.5)
    assert scaled.clicked == 0.25 and scaled.opened == sim.engagement.opened * 0.5
