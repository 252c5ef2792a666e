"""The Spark-free store in the processes that use it: a command reads, prints, exits."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from jobs.warehouse.store import DeltaStore

READ_ONE_PARTITION = """
import sys
from jobs.warehouse.store import DeltaStore
rows = DeltaStore(sys.argv[1]).read_arrow(
    "campaign_controls", columns=["campaign_id"], partitions={"retailer_id": ["maple"]}
)
print(sorted(rows.column("campaign_id").to_pylist()))
"""


def _controls(retailer_id: str, campaigns: list[str]) -> pa.Table:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return pa.table(
        {
            "retailer_id": [retailer_id] * len(campaigns),
            "campaign_id": campaigns,
            "action": ["pause"] * len(campaigns),
            "requested_at": [now] * len(campaigns),
            "requested_by": [None] * len(campaigns),
            "note": [None] * len(campaigns),
        }
    )


def test_a_process_that_read_one_partition_exits_cleanly(tmp_path: Path) -> None:
    """Reading through delta-rs's default filesystem aborted about one exit in two
    (`check-run` exited -6 in the DAG test after printing its answer): each of five
    runs must exit 0 with the partition's rows only."""
    store = DeltaStore(str(tmp_path))
    for part in range(3):
        store.append("campaign_controls", _controls("maple", [f"winback-{part}"]))
        store.append("campaign_controls", _controls("birch", [f"onboarding-{part}"]))

    for _ in range(5):
        finished = subprocess.run(
            [sys.executable, "-c", READ_ONE_PARTITION, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert finished.stdout.strip() == "['winback-0', 'winback-1', 'winback-2']"


def test_writers_creating_a_table_at_once_leave_one_create_in_its_log(tmp_path: Path) -> None:
    """delta-rs retried a create that lost the race on top of the winner's commit: a
    second CREATE TABLE at version 1 or 2 hid every commit before it, and two deliveries
    starting at once both took lease token 1."""
    for trial in range(10):
        store = DeltaStore(str(tmp_path / f"warehouse-{trial}"))
        start = threading.Barrier(6)

        def create(store: DeltaStore = store, start: threading.Barrier = start) -> None:
            start.wait()
            store.ensure("delivery_lease")

        threads = [threading.Thread(target=create) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        operations = [c["operation"] for c in store.delta_table("delivery_lease").history()]
        assert operations == ["CREATE TABLE"], f"trial {trial}: {operations}"


def test_a_snapshot_reads_each_partition_as_of_its_version(tmp_path: Path) -> None:
    """The delivery's ledger reads one retailer at a time from one opened version: each
    read sees that partition's rows at that version, none of another partition's and none
    committed later."""
    store = DeltaStore(str(tmp_path / "warehouse"))
    store.append("campaign_controls", _controls("maple", ["m1", "m2"]))
    store.append("campaign_controls", _controls("fresh", ["f1"]))
    version = store.delta_table("campaign_controls").version()
    store.append("campaign_controls", _controls("maple", ["m3"]))
    store.append("campaign_controls", _controls("green", ["g1"]))

    snapshot = store.snapshot("campaign_controls", version=version)

    def campaigns(retailer_id: str) -> list[str]:
        rows = snapshot.read(columns=["campaign_id"], partitions={"retailer_id": [retailer_id]})
        return sorted(rows.column("campaign_id").to_pylist())

    assert campaigns("maple") == ["m1", "m2"]
    assert campaigns("fresh") == ["f1"]
    assert campaigns("green") == []
    both = snapshot.read(partitions={"retailer_id": ["maple", "fresh"]})
    assert sorted(both.column("campaign_id").to_pylist()) == ["f1", "m1", "m2"]
    assert both.schema.names == store.arrow_schema("campaign_controls").names
    latest = store.snapshot("campaign_controls").read(partitions={"retailer_id": ["maple"]})
    assert sorted(latest.column("campaign_id").to_pylist()) == ["m1", "m2", "m3"]
