"""Event ingestion: at-least-once export in, each event once out, cursors that move only
with the data, whatever fails and wherever it fails."""

from __future__ import annotations

from collections import Counter

import pytest

from jobs.providers.routing import ProviderRouter
from jobs.reporting.ingest import IngestReport, ingest_events, saved_cursors
from jobs.warehouse.store import DeltaStore
from tests.reporting.conftest import World


def ingest(world: World, **options: int) -> IngestReport:
    router = ProviderRouter(world.conf)
    try:
        return ingest_events(world.conf, world.store, router, **options)
    finally:
        router.close()


def ingested(store: DeltaStore) -> Counter[tuple[str, str]]:
    rows = store.read_arrow("delivery_events", columns=["retailer_id", "event_id"]).to_pylist()
    return Counter((r["retailer_id"], r["event_id"]) for r in rows)


def assert_exactly_once(world: World) -> None:
    counts = ingested(world.store)
    assert max(counts.values()) == 1
    assert {
        rid: {e for (r, e) in counts if r == rid} for rid in world.exported_ids()
    } == world.exported_ids()


def test_duplicates_across_pages_are_ingested_once_and_a_rerun_adds_nothing(
    world: World,
) -> None:
    for retailer_id in ("fresh-mart", "green-grocer", "maple-market"):
        world.send(retailer_id, 120)
    report = ingest(world, page_size=37)
    assert report.fetched > report.inserted > 0  # the export repeated some events
    assert_exactly_once(world)
    rows = world.store.read_arrow("delivery_events").to_pylist()
    assert {(r["retailer_id"], r["workspace_id"]) for r in rows} == {
        ("fresh-mart", "ws-freshmart"),
        ("green-grocer", "ws-greengrocer"),
        ("maple-market", "ws-maplemarket"),
    }
    assert all(r["message_id"].startswith(r["retailer_id"]) for r in rows)
    again = ingest(world, page_size=37)
    assert (again.fetched, again.inserted, again.commits) == (0, 0, 0)


def test_events_that_arrive_later_are_picked_up_from_the_saved_cursor(world: World) -> None:
    world.send("fresh-mart", 100)
    first = ingest(world)
    exported = world.server.simulator.workspaces["ws-freshmart"].events
    already = len(exported)
    world.send("fresh-mart", 60, start=100)
    second = ingest(world)
    assert first.fetched == already
    assert second.fetched == len(exported) - already > 0  # only what came after the cursor
    assert_exactly_once(world)


def test_a_crash_before_the_commit_loses_nothing_and_duplicates_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.send("fresh-mart", 150)
    world.send("green-grocer", 150)
    calls = {"n": 0}
    real = DeltaStore.insert_new

    def crash_on_second_commit(self: DeltaStore, *args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed between commits")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeltaStore, "insert_new", crash_on_second_commit)
    with pytest.raises(RuntimeError, match="killed"):
        ingest(world, page_size=50, commit_rows=100)
    partial = sum(ingested(world.store).values())
    cursors = saved_cursors(world.store)
    assert partial > 0 and cursors  # the first commit holds its events and their cursor
    monkeypatch.setattr(DeltaStore, "insert_new", real)
    ingest(world, page_size=50, commit_rows=100)
    assert_exactly_once(world)


def test_a_failing_workspace_keeps_its_cursor_and_the_others_are_ingested(world: World) -> None:
    world.send("fresh-mart", 80)
    world.send("maple-market", 80)
    world.server.simulator.workspaces["ws-maplemarket"].faults.outage = True
    report = ingest(world)
    assert [w.retailer_id for w in report.failed] == ["maple-market"]
    assert {r for r, _ in ingested(world.store)} == {"fresh-mart"}
    assert "ws-maplemarket" not in saved_cursors(world.store)
    world.server.simulator.workspaces["ws-maplemarket"].faults.outage = False
    ingest(world)
    assert_exactly_once(world)
