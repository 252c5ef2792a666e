"""Shared fixtures: one Spark session for the whole run, a fresh warehouse per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession

from jobs.config.models import Profile, SparkSettings
from jobs.warehouse import Warehouse, build_spark

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_CONF = REPO_ROOT / "conf"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    profile = Profile(
        name="test",
        warehouse_uri=str(tmp_path_factory.mktemp("unused-warehouse")),
        spark=SparkSettings(master="local[2]", shuffle_partitions=2, driver_memory="2g"),
    )
    session = build_spark(profile, app_name="campaigns-tests")
    yield session
    session.stop()


@pytest.fixture
def warehouse(spark: SparkSession, tmp_path: Path) -> Warehouse:
    return Warehouse(spark, str(tmp_path / "warehouse"))


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    """A writable copy of the repository's conf/ that a test may break."""
    target = tmp_path / "conf"
    shutil.copytree(REPO_CONF, target)
    return target


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `slow` run first. `make test` hands whole files to two workers in
    collection order, so a long file handed out last keeps one worker busy while the
    other has nothing left (five minutes of a full run, measured)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


SMS_ACCOUNT = {
    "provider": "twilio",
    "account_sid": "AC-freshmart",
    "base_url": "http://sms-simulator.invalid/sms",  # tests point it at their own simulator
    "auth_token_env": "CAMPAIGNS_FRESHMART_SMS_TOKEN",
    "sender": {"number": "+13125550100", "kind": "toll_free"},
}


def add_sms(conf_root: Path, *, sender: dict[str, object] | None = None) -> Path:
    """fresh-mart texts too (its winback campaign on email, push and sms) through its own
    SMS account; `conf_root` is a writable copy of conf/."""
    retailer_file = conf_root / "retailers" / "fresh-mart.yaml"
    retailer = yaml.safe_load(retailer_file.read_text())
    retailer["channels"] = ["email", "push", "sms"]
    retailer["sms"] = {**SMS_ACCOUNT, "sender": sender or SMS_ACCOUNT["sender"]}
    retailer_file.write_text(yaml.safe_dump(retailer, sort_keys=False))
    campaign_file = conf_root / "campaigns" / "fresh-mart-winback.yaml"
    campaign = yaml.safe_load(campaign_file.read_text())
    campaign["channels"] = ["email", "push", "sms"]
    campaign["templates"]["sms"] = "winback-sms"
    campaign_file.write_text(yaml.safe_dump(campaign, sort_keys=False))
    return conf_root
