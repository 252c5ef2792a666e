"""`campaigns maintain` on real Delta tables: small files compacted, removed files vacuumed,
and the version the delivery committed through still readable however old."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from jobs.cli import main
from jobs.warehouse.registry import DELIVERY_SOURCE_APP_ID
from jobs.warehouse.store import DeltaStore, RunTag
from jobs.warehouse.upkeep import maintain_warehouse
from tests.delivery.conftest import append_events, event_rows

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def controls(retailer_id: str, campaign_id: str) -> pa.Table:
    return pa.table(
        {
            "retailer_id": [retailer_id],
            "campaign_id": [campaign_id],
            "action": ["pause"],
            "requested_at": [NOW],
            "requested_by": [None],
            "note": [None],
        }
    )


def deliver_through(store: DeltaStore, version: int) -> None:
    """The delivery's source position, as its final commit records it (a `txn`)."""
    empty = pa.Table.from_pylist([], schema=store.arrow_schema("message_sends"))
    store.append("message_sends", empty, run=RunTag(DELIVERY_SOURCE_APP_ID, version))


def test_small_files_are_compacted_and_the_files_they_replace_vacuumed(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    for n in range(12):
        store.append("campaign_controls", controls("maple", f"c{n}"))
    before = sorted(store.read_arrow("campaign_controls").column("campaign_id").to_pylist())

    upkeep = {t.table: t for t in maintain_warehouse(store, retention_hours=0)}

    table = upkeep["campaign_controls"]
    assert table.problem is None
    assert (table.before.files, table.after and table.after.files) == (12, 1)
    assert table.compacted_away == 12 and table.vacuumed == 12
    assert sorted(store.read_arrow("campaign_controls").column("campaign_id").to_pylist()) == before
    with pytest.raises(OSError):  # an unpinned old version's files are gone
        store.read_arrow("campaign_controls", version=5)


def test_vacuum_keeps_the_version_the_delivery_committed_through(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    append_events(store, event_rows("fresh-mart", "fm-winback", "run-1", 20))  # v1
    append_events(store, event_rows("green-grocer", "gg-welcome", "run-2", 10))  # v2
    deliver_through(store, 2)
    append_events(store, event_rows("fresh-mart", "fm-winback", "run-3", 5))  # v3
    store.delta_table("campaign_events").delete("retailer_id = 'fresh-mart'")  # v4
    pinned_rows = store.read_arrow("campaign_events", version=2).num_rows

    upkeep = {t.table: t for t in maintain_warehouse(store, retention_hours=0)}

    events = upkeep["campaign_events"]
    assert events.kept_versions == [2]
    assert events.compacted_away == 0  # never compacted: the delivery reads files by path
    assert events.vacuumed == 1  # run-3's file: no pinned version needs it
    assert store.read_arrow("campaign_events", version=2).num_rows == pinned_rows == 30
    with pytest.raises(OSError):
        store.read_arrow("campaign_events", version=3)
    assert store.read_arrow("campaign_events").num_rows == 10  # the newest, as it was


def test_the_command_reports_each_table_and_a_dry_run_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    for n in range(3):
        store.append("campaign_controls", controls("maple", f"c{n}"))
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", str(tmp_path / "warehouse"))

    assert main(["maintain", "--dry-run", "--retention-hours", "0"]) == 0
    assert len(store.delta_table("campaign_controls").file_uris()) == 3  # a dry run
    assert main(["maintain", "--retention-hours", "0"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("campaign_controls    files      3 ->      1")
