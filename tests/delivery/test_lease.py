"""One delivery at a time: the lease on a real Delta table, with an injected clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.cli import main
from jobs.delivery.lease import DeliveryBusyError, DeliveryLease, LeaseLostError, current_state
from jobs.delivery.plan import DeliveryPlan
from jobs.delivery.results import ResultCommitter
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    return DeltaStore(str(tmp_path / "warehouse"))


def lease(store: DeltaStore, holder: str, clock: Clock) -> DeliveryLease:
    return DeliveryLease(store, holder=holder, ttl_s=30, clock=clock)


def test_a_second_delivery_is_refused_naming_the_holder(store: DeltaStore) -> None:
    clock = Clock()
    assert lease(store, "first", clock).acquire() == 1

    with pytest.raises(DeliveryBusyError, match=r"first \(token 1") as refused:
        lease(store, "second", clock).acquire()

    assert refused.value.exit_code == 3
    assert "--wait" in str(refused.value)


def test_a_holder_that_died_loses_the_lease_when_it_expires(store: DeltaStore) -> None:
    clock = Clock()
    dead = lease(store, "dead", clock)
    dead.acquire()
    clock.advance(29)
    with pytest.raises(DeliveryBusyError):
        lease(store, "next", clock).acquire()

    clock.advance(2)
    assert lease(store, "next", clock).acquire() == 2  # a larger token: the fence


def test_a_stale_holders_commit_is_rejected(store: DeltaStore) -> None:
    clock = Clock()
    stale = lease(store, "stale", clock)
    stale.acquire()
    clock.advance(31)  # stalled past its expiry
    lease(store, "next", clock).acquire()
    plan = DeliveryPlan("dr-stale", None, 1, None, ())
    committer = ResultCommitter(store, plan, lease=stale)

    with pytest.raises(LeaseLostError, match="passed to next"):
        committer.flush()
    with pytest.raises(LeaseLostError):
        stale.renew()
    assert store.find("message_sends") is None  # nothing was committed


def test_a_commit_needs_the_lease_for_a_few_more_seconds(store: DeltaStore) -> None:
    clock = Clock()
    holder = lease(store, "holder", clock)
    holder.acquire()
    clock.advance(27)  # 3 s left: a commit might outlive it

    with pytest.raises(LeaseLostError, match="expired"):
        holder.check(margin_s=5)


def test_renewing_keeps_it_and_releasing_frees_it_at_once(store: DeltaStore) -> None:
    clock = Clock()
    holder = lease(store, "holder", clock)
    holder.acquire()
    clock.advance(25)
    holder.renew()
    clock.advance(25)
    with pytest.raises(DeliveryBusyError):
        lease(store, "other", clock).acquire()

    holder.release()

    assert lease(store, "other", clock).acquire() == 2
    state = current_state(store)
    assert state is not None and (state.holder, state.token) == ("other", 2)


def race(store: DeltaStore, clock: Clock, names: list[str]) -> dict[str, int | None]:
    """Every name tries to take the lease at the same moment: name -> token, or None."""
    start, results = threading.Barrier(len(names)), {}

    def take(name: str) -> None:
        start.wait()
        try:
            results[name] = lease(store, name, clock).acquire()
        except DeliveryBusyError:
            results[name] = None

    threads = [threading.Thread(target=take, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_of_deliveries_starting_at_once_exactly_one_gets_the_lease(store: DeltaStore) -> None:
    clock = Clock()
    for round_ in range(3):
        results = race(store, clock, [f"d{round_}-{n}" for n in range(4)])

        assert len(results) == 4
        assert [token for token in results.values() if token is not None] == [round_ + 1]
        clock.advance(31)


def test_deliver_exits_3_while_another_delivery_holds_the_warehouse(
    tmp_path: Path,
    store: DeltaStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", store.root_uri)
    store.ensure("campaign_events")  # launched into (without it, deliver exits 2 at once)
    DeliveryLease(store, holder="airflow@worker-1:4242").acquire()

    assert main(["deliver", "--conf", str(REPO_ROOT / "conf")]) == 3

    err = capsys.readouterr().err
    assert "another delivery holds this warehouse's lease: airflow@worker-1:4242" in err
