"""The warehouse on S3-compatible object storage (moto's server on loopback): the
delivery and concurrent writers commit through delta-rs, each commit a conditional put.
Spark's executors and driver writing through S3A: test_spark_standalone.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable

from jobs.config import load_conf
from jobs.dev.clusters import ObjectStore, object_store
from jobs.providers.routing import ProviderRouter
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT
from tests.delivery.conftest import append_events, standard_events
from tests.delivery.processes import conf_on_port, free_port, simulator_process, state

pytestmark = pytest.mark.slow

VENV_BIN = REPO_ROOT / ".venv" / "bin"

APPEND_CONTROLS = """
import sys, time
from datetime import UTC, datetime
import pyarrow as pa
from pathlib import Path
from jobs.config import load_conf
from jobs.warehouse.store import DeltaStore
store = DeltaStore.from_profile(load_conf(Path(sys.argv[1])).profile)
writer = sys.argv[2]
ready = Path(sys.argv[4])
(ready / writer).touch()
while len(list(ready.iterdir())) < 2:  # both start at once, whatever their start-up took
    time.sleep(0.01)
for n in range(int(sys.argv[3])):
    store.append("campaign_controls", pa.table({
        "retailer_id": ["maple"], "campaign_id": [f"{writer}-{n}"], "action": ["pause"],
        "requested_at": [datetime.now(UTC)], "requested_by": [writer], "note": [None],
    }), metadata={"writer": writer})
"""


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ObjectStore]:
    """The store, with this process's environment pointing the profile at it."""
    with object_store(tmp_path) as store:
        for name, value in store.env().items():
            monkeypatch.setenv(name, value)
        yield store


def cli(*args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "campaigns"), *args],
        env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_delivery_reads_and_commits_in_a_bucket_once_per_message(
    tmp_path: Path, s3: ObjectStore
) -> None:
    """Spark writing into a bucket is tested on the standalone cluster
    (test_spark_standalone.py); here the delivery, delta-rs end to end."""
    port = free_port()
    conf_dir = conf_on_port(tmp_path, port)
    conf = load_conf(conf_dir)
    assert conf.profile.warehouse_uri == "s3://campaigns/warehouse"
    store = DeltaStore.from_profile(conf.profile)
    events = standard_events()
    append_events(store, events)
    sendable = {e["message_id"] for e in events if not e["is_holdout"]}

    with simulator_process(conf_dir, port, dict(os.environ)) as base:
        router = ProviderRouter(conf)
        assert deploy_library(conf, load_library(conf), router).ok
        router.close()
        delivered = cli("deliver", "--conf", str(conf_dir))
        delivered_twice = (state(base) or {})["delivered_twice"]

    assert f"sent {len(sendable)}," in delivered
    sends = store.read_arrow("message_sends", columns=["message_id", "status"]).to_pylist()
    assert set(Counter(s["message_id"] for s in sends).values()) == {1}
    assert {s["message_id"] for s in sends if s["status"] == "sent"} == sendable
    assert delivered_twice == 0
    assert any(key.endswith(".parquet") for key in s3.keys("warehouse/message_sends"))


def test_two_writers_racing_on_one_table_lose_no_commit(tmp_path: Path, s3: ObjectStore) -> None:
    conf_dir = REPO_ROOT / "conf"
    store = DeltaStore.from_profile(load_conf(conf_dir).profile)
    store.ensure("campaign_controls")
    ready = tmp_path / "ready"
    ready.mkdir()
    append = [sys.executable, "-c", APPEND_CONTROLS, str(conf_dir)]
    writers = [
        subprocess.Popen(
            [*append, writer, "8", str(ready)], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True
        )
        for writer in ("first", "second")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err[-2000:]

    table = DeltaTable(store.uri("campaign_controls"), storage_options=store.storage_options)
    assert table.version() == 16  # created at 0, then one commit per append
    rows = store.read_arrow("campaign_controls", columns=["campaign_id"]).to_pylist()
    assert sorted(r["campaign_id"] for r in rows) == sorted(
        f"{writer}-{n}" for writer in ("first", "second") for n in range(8)
    )
    # they raced: their commits interleave in the log
    by_version = [c["writer"] for c in sorted(table.history(), key=lambda c: c["version"])[1:]]
    assert by_version != sorted(by_version)
