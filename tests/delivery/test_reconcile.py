"""What a dead run left, settled before the next one plans: against the simulator's real
export, with the simulator's and the reconciler's clocks injected (one clock)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from jobs.delivery.intents import IntentLog, read_intents
from jobs.delivery.lease import DeliveryLease
from jobs.delivery.reconcile import RESENT, RESENT_DEDUPLICATED, reconcile
from jobs.delivery.records import Outcome
from jobs.providers import Recipient, SendBatch
from jobs.providers.routing import ProviderRouter
from jobs.warehouse.statuses import IN_DOUBT, Status
from tests.delivery.conftest import DeliveryWorld

GRACE_S = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def outcome(message_id: str, status: Status, at: datetime, *, retailer: str) -> Outcome:
    ms = int(at.timestamp() * 1000)
    return Outcome(
        retailer, message_id, "run-1", "fresh-mart-winback", f"c-{message_id}", "email",
        "control", False, "winback-email", status, None, 1, None, 1, ms, ms, ms, False,
    )  # fmt: skip


def dead_run(world: DeliveryWorld, rows: list[tuple[Outcome, str]]) -> None:
    """The intent log of a run killed after writing `rows` (claim or outcome)."""
    log = IntentLog(world.store, "dr-dead", 1, check_lease=lambda: None)

    async def write() -> None:
        for row, kind in rows:
            if kind == "claim":
                await log.claim([row], 1)
            else:
                log.record([row], 1)
        await log.close()

    asyncio.run(write())


def send_for_real(world: DeliveryWorld, retailer: str, message_id: str) -> None:
    router = ProviderRouter(world.conf)
    try:
        world.sim.render_mode = "off"  # the body does not matter here, the send does
        recipient = Recipient(message_id, retailer, f"c-{message_id}", "a@example.com")
        batch = SendBatch(retailer, "email", "winback-email", (recipient,), "run-1")
        [result] = router.for_retailer(retailer).send_batch(batch)
        assert result.status == "accepted", result
    finally:
        router.close()


def test_claims_without_an_answer_are_settled_by_the_providers_export(
    world: DeliveryWorld,
) -> None:
    clock = Clock()
    world.sim.clock = clock
    claimed_at = clock.now
    send_for_real(world, "fresh-mart", "m-took")  # the request left; the run died
    dead_run(
        world,
        [
            (outcome("m-took", IN_DOUBT, claimed_at, retailer="fresh-mart"), "claim"),
            (outcome("m-never", IN_DOUBT, claimed_at, retailer="fresh-mart"), "claim"),
            (outcome("m-done", IN_DOUBT, claimed_at, retailer="fresh-mart"), "claim"),
            (outcome("m-done", "failed", claimed_at, retailer="fresh-mart"), "outcome"),
        ],
    )
    clock.now += timedelta(seconds=5)  # the next run starts 5 s later: within the grace
    lease = DeliveryLease(world.store)
    lease.acquire()

    report = reconcile(
        world.store, world.conf, lease, grace_s=GRACE_S, clock=clock, sleep=clock.sleep
    )

    assert report is not None
    assert clock.slept == [GRACE_S - 5]  # waited for the export to pass the grace, once
    sends = {s["message_id"]: s for s in world.sends()}
    took = world.sim.workspaces["ws-freshmart"].messages[0]
    assert sends["m-took"]["status"] == "sent"
    assert sends["m-took"]["dispatch_id"] == took["dispatch_id"]
    assert (sends["m-never"]["status"], sends["m-never"]["reason"]) == ("deferred", RESENT)
    assert sends["m-done"]["status"] == "failed"  # the log's outcome, recorded
    assert (report.recorded, report.in_doubt, report.sent_per_export, report.resent) == (1, 2, 1, 1)
    assert read_intents(world.store)[1] == []  # the dead run's log is settled and gone


def test_an_export_that_does_not_reach_the_claim_yet_leaves_it_in_doubt(
    world: DeliveryWorld,
) -> None:
    clock = Clock()
    world.sim.clock = lambda: clock.now - timedelta(hours=1)  # an export an hour behind
    dead_run(world, [(outcome("m-late", IN_DOUBT, clock.now, retailer="fresh-mart"), "claim")])
    lease = DeliveryLease(world.store)
    lease.acquire()

    report = reconcile(
        world.store, world.conf, lease, grace_s=GRACE_S, clock=clock, sleep=clock.sleep
    )
    again = reconcile(
        world.store, world.conf, lease, grace_s=GRACE_S, clock=clock, sleep=clock.sleep
    )

    assert report is not None and report.still_in_doubt == 1
    [row] = world.sends()
    assert row["status"] == IN_DOUBT  # never sent by a run until the export tells
    assert again is not None and again.still_in_doubt == 1  # from message_sends, next time


def test_where_the_provider_drops_repeats_a_claim_is_simply_sent_again(
    world: DeliveryWorld,
) -> None:
    retailer = world.conf.retailers["green-grocer"]
    workspace = retailer.workspace.model_copy(update={"deduplicates": True})
    retailers = {
        **world.conf.retailers,
        "green-grocer": retailer.model_copy(update={"workspace": workspace}),
    }
    conf = type(world.conf)(**{**world.conf.__dict__, "retailers": retailers})
    clock = Clock()
    dead_run(world, [(outcome("m-gg", IN_DOUBT, clock.now, retailer="green-grocer"), "claim")])
    lease = DeliveryLease(world.store)
    lease.acquire()

    report = reconcile(world.store, conf, lease, grace_s=GRACE_S, clock=clock, sleep=clock.sleep)

    assert report is not None and clock.slept == []  # no export asked, no wait
    [row] = world.sends()
    assert (row["status"], row["reason"]) == ("deferred", RESENT_DEDUPLICATED)
