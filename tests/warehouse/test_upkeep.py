"""`campaigns maintain` on real Delta tables: small files compacted, removed files vacuumed,
and the version the delivery committed through still readable however old."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from jobs.cli import main
from jobs.warehouse.errors import SchemaMismatchError
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


def test_columns_a_release_adds_are_added_by_maintain_and_old_rows_read_as_null(
    tmp_path: Path,
) -> None:
    """A warehouse written before customers had phones and time zones, and message_sends
    segments: reads are refused with the remedy, `maintain` adds the columns, rows stay."""
    store = DeltaStore(str(tmp_path / "warehouse"))
    declared = store.arrow_schema("customers")
    before = pa.schema([f for f in declared if f.name not in ("phone", "time_zone")])
    old_rows = pa.Table.from_pylist(
        [{"retailer_id": "fresh-mart", "customer_id": "c1", "signup_at": NOW, "updated_at": NOW}],
        schema=before,
    )
    write_deltalake(store.uri("customers"), old_rows, partition_by=["retailer_id"])

    with pytest.raises(SchemaMismatchError, match=r"column 'phone' is missing.*campaigns maintain"):
        store.read_arrow("customers")
    [upkeep] = maintain_warehouse(store, retention_hours=0)

    assert upkeep.added_columns == ["phone", "time_zone"] and upkeep.problem is None
    assert "added columns phone, time_zone" in upkeep.line()
    rows = store.read_arrow("customers").to_pylist()
    assert [(r["customer_id"], r["phone"], r["time_zone"]) for r in rows] == [("c1", None, None)]
    assert maintain_warehouse(store, retention_hours=0)[0].added_columns == []


def test_the_next_write_adds_a_releases_new_columns_too(tmp_path: Path) -> None:
    store = DeltaStore(str(tmp_path / "warehouse"))
    declared = store.arrow_schema("customers")
    before = pa.schema([f for f in declared if f.name != "phone"])
    row = {"retailer_id": "fresh-mart", "customer_id": "c1", "signup_at": NOW, "updated_at": NOW}
    write_deltalake(
        store.uri("customers"),
        pa.Table.from_pylist([row], schema=before),
        partition_by=["retailer_id"],
    )

    store.append(
        "customers",
        pa.Table.from_pylist(
            [{**row, "customer_id": "c2", "phone": "+13125550142"}], schema=declared
        ),
    )

    rows = sorted((r["customer_id"], r["phone"]) for r in store.read_arrow("customers").to_pylist())
    assert rows == [("c1", None), ("c2", "+13125550142")]
