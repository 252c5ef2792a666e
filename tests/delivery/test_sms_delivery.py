"""Texts end to end: seeded warehouse, Spark launch, Flink delivery through two providers
on loopback, the SMS provider's callbacks and a STOP reply ingested, a second launch."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.audience.launch import CampaignLaunch, default_run_id, launch
from jobs.config import Conf, load_conf
from jobs.dev.synthetic.generator import SeedSpec
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.providers.routing import ProviderRouter
from jobs.quality.checks import QualityGate
from jobs.reporting.ingest import ingest_events
from jobs.warehouse import Warehouse
from tests.conftest import add_sms
from tests.delivery.conftest import make_world
from tests.providers.conftest import admin

pytestmark = pytest.mark.slow
AS_OF = datetime(2026, 11, 1, 9, tzinfo=UTC)
ACCOUNT = "AC-freshmart"
DAYTIME = datetime(2026, 11, 2, 18, tzinfo=UTC)  # 13:00 in New York, 10:00 in Los Angeles
TEXT_ONLY = {
    "campaign_id": "fresh-mart-sms-deals",
    "retailer_id": "fresh-mart",
    "type": "promotional",
    "channels": ["sms"],
    "variants": [{"variant_id": "control"}],
    "templates": {"sms": "winback-sms"},
}


def sms_conf(conf_dir: Path, tmp_path: Path) -> Conf:
    root = add_sms(conf_dir)
    (root / "campaigns" / "fresh-mart-sms-deals.yaml").write_text(yaml.safe_dump(TEXT_ONLY))
    conf = load_conf(root)
    profile = conf.profile.model_copy(update={"warehouse_uri": str(tmp_path / "warehouse")})
    return dataclasses.replace(conf, profile=profile)


def launch_one(warehouse: Warehouse, conf: Conf, campaign_id: str, as_of: datetime) -> str:
    campaign = conf.campaign(campaign_id)
    run_id = default_run_id(campaign_id, as_of)
    launch(
        warehouse,
        [CampaignLaunch(campaign, conf.retailer(campaign.retailer_id), run_id)],
        as_of=as_of,
        promo_secret=b"test-secret",
        gate=QualityGate(),
    )
    return run_id


def test_each_channel_goes_through_its_provider_and_a_stop_reply_ends_texts(
    spark: SparkSession, conf_dir: Path, tmp_path: Path
) -> None:
    conf = sms_conf(conf_dir, tmp_path)
    warehouse = Warehouse(spark, str(tmp_path / "warehouse"))
    seed_warehouse(
        warehouse, seed_retailers(conf, 3), SeedSpec(seed=3, customers=900, orders=6_000)
    )
    winback = launch_one(warehouse, conf, "fresh-mart-winback", AS_OF)
    events = warehouse.read("campaign_events").filter(F.col("run_id") == winback).collect()
    by_channel = Counter(e.channel for e in events if not e.is_holdout)
    assert by_channel["sms"] > 5 and by_channel["email"] > by_channel["sms"]
    assert all(e.address.startswith("+1") for e in events if e.channel == "sms")

    worlds = make_world(tmp_path, conf)  # the simulator runs until the generator closes
    world = next(worlds)
    summary = world.deliver(now=DAYTIME)  # texts keep 21:00-08:00 in every customer's zone

    assert summary is not None
    sends = world.sends()
    assert Counter(s["status"] for s in sends) == Counter(
        "suppressed" if e.is_holdout else "sent" for e in events
    )
    texted = {m["message_id"]: m for m in world.sim.sms_accounts[ACCOUNT].messages}
    emailed = {m["message_id"] for m in world.accepted("ws-freshmart")}
    for event in (e for e in events if not e.is_holdout):
        assert (event.message_id in texted) is (event.channel == "sms")
        assert (event.message_id in emailed) is (event.channel != "sms")
    account = world.sim.sms_accounts[ACCOUNT]
    assert account.counters["429"] == 0 and account.counters["delivered_twice"] == 0
    times = account.request_times
    rate = conf.retailer("fresh-mart").sms.sender.rate  # type: ignore[union-attr]
    assert all(
        j - i <= (times[j] - times[i]) * rate + 1
        for i in range(len(times))
        for j in range(i + 1, len(times))
    )
    segments = {
        s["message_id"]: s["segments"]
        for s in sends
        if s["channel"] == "sms" and s["status"] == "sent"
    }
    assert segments == {m: t["num_segments"] for m, t in texted.items()}
    # each text is a request of its own, counted per message and in the run's figures
    sms_attempts = [s["attempts"] for s in sends if s["channel"] == "sms" and s["status"] == "sent"]
    assert set(sms_attempts) == {1} and len(sms_attempts) == len(times)

    # one texted customer replies STOP; the provider's events come back through ingestion
    stopped = next(e for e in events if e.channel == "sms" and not e.is_holdout)
    admin(
        world.server,
        "sms/inbound",
        {"account_sid": ACCOUNT, "from": stopped.address, "body": "Stop"},
    )
    router = ProviderRouter(world.conf)
    report = ingest_events(world.conf, world.store, router)
    router.close()
    sms_source = next(w for w in report.workspaces if w.workspace_id == ACCOUNT)
    assert sms_source.error is None and sms_source.opt_outs == 1
    assert sms_source.unmatched_opt_outs == 0
    delivery = world.store.read_arrow("delivery_events").to_pylist()
    sent_texts = {
        d["message_id"] for d in delivery if d["channel"] == "sms" and d["event_type"] == "sent"
    }
    assert sent_texts == set(texted)
    assert [
        (d["customer_id"], d["channel"])
        for d in delivery
        if d["event_type"] == "unsubscribed" and d["workspace_id"] == ACCOUNT
    ] == [(stopped.customer_id, "sms")]

    # a week after the reply (the provider's clock: now), a campaign that only texts:
    # everybody opted in but the one who replied
    next_week = datetime.now(UTC) + timedelta(days=8)
    deals = launch_one(warehouse, conf, "fresh-mart-sms-deals", next_week)
    texted_again = {
        r.customer_id
        for r in warehouse.read("campaign_events").filter(F.col("run_id") == deals).collect()
    }
    assert stopped.customer_id not in texted_again
    unreachable = {  # the provider reported their number unreachable: suppressed too
        d["customer_id"]
        for d in delivery
        if d["channel"] == "sms" and d["event_type"] == "bounced_hard"
    }
    earlier = {e.customer_id for e in events if e.channel == "sms"}
    assert earlier - {stopped.customer_id} - unreachable <= texted_again
    assert not unreachable & texted_again
    worlds.close()
