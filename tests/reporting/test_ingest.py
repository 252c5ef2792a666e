"""Event ingestion: at-least-once export in, each event once out, cursors that move only
with the data, whatever fails and wherever it fails."""

from __future__ import annotations

from collections import Counter
from typing import Any

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


# --- malformed export pages and events -------------------------------------------


def ingest_pages_of_40(world: World) -> IngestReport:
    router = ProviderRouter(world.conf)
    try:
        return ingest_events(world.conf, world.store, router, page_size=40)
    finally:
        router.close()


def stored(world: World) -> dict[str, set[str]]:
    rows = world.store.read_arrow("delivery_events", columns=["retailer_id", "event_id"])
    found: dict[str, set[str]] = {}
    for row in rows.to_pylist():
        found.setdefault(row["retailer_id"], set()).add(row["event_id"])
    return found


@pytest.mark.parametrize("fault", ["export_html_page", "export_without_cursor"])
def test_a_malformed_export_page_fails_its_workspace_only_and_keeps_its_cursor(
    world: World, fault: str
) -> None:
    for retailer_id in ("fresh-mart", "green-grocer", "maple-market"):
        world.send(retailer_id, 60)
    world.server.simulator.workspaces["ws-greengrocer"].faults.update({fault: True})

    report = ingest_pages_of_40(world)

    [failed] = report.failed
    assert failed.retailer_id == "green-grocer"
    assert "ws-greengrocer event export" in (failed.error or "")
    assert (
        "'next_cursor'" in (failed.error or "")
        or "HTML" in (failed.error or "")
        or ("not an export page" in (failed.error or ""))
    )
    exported = world.exported_ids()
    assert stored(world) == {r: exported[r] for r in ("fresh-mart", "maple-market")}
    assert "ws-greengrocer" not in saved_cursors(world.store)
    lines = report.problem_lines()
    assert any("green-grocer (ws-greengrocer): failed, its cursor kept" in line for line in lines)

    world.server.simulator.workspaces["ws-greengrocer"].faults.update({fault: False})
    again = ingest_pages_of_40(world)
    assert again.failed == [] and stored(world) == exported


BAD_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"event_type": None}, "event_type is not one of"),
    ({"event_type": "teleported"}, "event_type is not one of"),
    ({"occurred_at": "yesterday"}, "occurred_at is not an ISO 8601 time"),
    ({"occurred_at": "2026-11-02T09:00:00"}, "with a time zone"),
    ({"customer_id": "  "}, "customer_id missing or blank"),
    ({"message_id": None}, "message_id missing or blank"),
    ({"channel": "fax"}, "channel is not one of"),
    ({"dispatch_id": 7}, "dispatch_id not a string"),
]


def test_malformed_events_are_refused_and_counted_the_rest_stored(world: World) -> None:
    world.send("fresh-mart", 30)
    export = world.server.simulator.workspaces["ws-freshmart"]
    ingest_pages_of_40(world)  # expands the simulator's export of those sends
    good = dict(export.events[0])
    for index, (change, _) in enumerate(BAD_EVENTS):
        export.events.append({**good, "event_id": f"bad-{index}", **change})
    export.events.append("not an event")

    report = ingest_pages_of_40(world)

    [progress] = [w for w in report.workspaces if w.retailer_id == "fresh-mart"]
    assert progress.error is None and progress.refused == len(BAD_EVENTS) + 1
    assert not {e for e in stored(world)["fresh-mart"] if e.startswith("bad-")}
    assert progress.refused_examples[0].startswith("bad-0: event_type is not one of")
    assert "refused 9 malformed event(s)" in "\n".join(report.problem_lines())
    assert f"refused {len(BAD_EVENTS) + 1}" in report.line()
