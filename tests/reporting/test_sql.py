"""The sql/ reports on a small hand-computed warehouse: every file runs, and the
incrementality, ROI and experiment numbers are the ones worked out by hand here."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from jobs.config import load_conf
from jobs.reporting.attribution import attribute_orders, message_touches, offer_codes
from jobs.reporting.catalog import register_catalog
from jobs.warehouse import Warehouse
from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT

T = datetime(2026, 11, 2, 9, tzinfo=UTC)
CAMPAIGN, RUN = "fresh-mart-winback", "run-1"


def write(store: DeltaStore, table: str, rows: list[dict[str, Any]]) -> None:
    schema = store.arrow_schema(table)
    store.append(table, pa.Table.from_pylist(rows, schema=schema))


def recipient(n: int, variant: str) -> str:
    return f"{variant}-{n}"


def sends(variant: str, status: str = "sent") -> list[dict[str, Any]]:
    return [
        {
            "retailer_id": "fresh-mart",
            "message_id": f"m-{recipient(n, variant)}",
            "run_id": RUN,
            "campaign_id": CAMPAIGN,
            "customer_id": recipient(n, variant),
            "channel": "email",
            "variant_id": variant,
            "status": status,
            "attempts": 1,
            "batch_size": 4,
            "queued_at": T,
            "completed_at": T,
            "delivery_run_id": "dr-1",
            "source_version": 1,
        }
        for n in range(4)
    ]


def order(customer: str, cents: int, *, days: float = 1, **extra: Any) -> dict[str, Any]:
    return {
        "retailer_id": "fresh-mart",
        "order_id": f"o-{customer}-{cents}",
        "customer_id": customer,
        "ordered_at": T + timedelta(days=days),
        "total_cents": cents,
        "discount_cents": 0,
        "category": "produce",
        "item_count": 2,
        **extra,
    }


@pytest.fixture(scope="module")
def catalog(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> SparkSession:
    """Four recipients in each of control, ten-percent and the holdout."""
    store = DeltaStore(str(tmp_path_factory.mktemp("sql") / "warehouse"))
    write(
        store,
        "message_sends",
        sends("control") + sends("ten-percent") + sends("holdout", "suppressed"),
    )
    write(
        store,
        "delivery_events",
        [
            {"retailer_id": "fresh-mart", "event_id": f"e-{m}-{kind}", "message_id": f"m-{m}",
             "customer_id": m, "channel": "email", "event_type": kind,
             "occurred_at": T + timedelta(minutes=5), "workspace_id": "ws-freshmart",
             "ip_pool": "shared-a", "ingested_at": T}
            for m in [recipient(n, v) for v in ("control", "ten-percent") for n in range(4)]
            for kind in (["delivered", "opened"] if m.endswith("-0") else ["delivered"])
        ]
        + [{"retailer_id": "fresh-mart", "event_id": "e-bounce", "message_id": "m-control-3",
            "customer_id": "control-3", "channel": "email", "event_type": "bounced_hard",
            "occurred_at": T, "workspace_id": "ws-freshmart", "ip_pool": "shared-a",
            "ingested_at": T}],
    )  # fmt: skip
    write(
        store,
        "campaign_events",
        [
            {"retailer_id": "fresh-mart", "run_id": RUN, "campaign_id": CAMPAIGN,
             "message_id": f"m-ten-percent-{n}", "customer_id": f"ten-percent-{n}",
             "channel": "email", "variant_id": "ten-percent", "is_holdout": False,
             "promo_code": f"P{n}", "created_at": T}
            for n in range(4)
        ],
    )  # fmt: skip
    write(
        store,
        "orders",
        [
            order("control-0", 1500),
            order("ten-percent-0", 1000, promo_code="P0", discount_cents=300),
            order("ten-percent-1", 3000),
            order("holdout-0", 2000),
            order("holdout-1", 9999, days=8),  # after the 7-day window: not counted
            order("ten-percent-2", 5000, days=-1),  # before the send: not counted
        ],
    )
    conf = load_conf(REPO_ROOT / "conf")
    warehouse = Warehouse(spark, store.root_uri)
    attributed_df = attribute_orders(
        warehouse.read("orders"),
        message_touches(warehouse.read("message_sends"), warehouse.read("delivery_events")),
        offer_codes(warehouse.read("campaign_events")),
        windows=conf.platform.reporting.attribution,
        attributed_at=T + timedelta(days=10),
    )
    warehouse.write(attributed_df, "attributed_orders")
    register_catalog(spark, warehouse, conf, REPO_ROOT / "sql")
    return spark


def one(spark: SparkSession, query: str) -> dict[str, Any]:
    [row] = spark.sql(query).collect()
    return row.asDict()


def test_every_sql_file_runs_against_the_fixture_tables(catalog: SparkSession) -> None:
    for path in sorted((REPO_ROOT / "sql").glob("*.sql")):
        rows = catalog.sql(f"select * from {path.stem}").collect()
        assert rows, f"{path.name} returned nothing on the fixture"


def test_incremental_revenue_and_roi_against_the_holdout(catalog: SparkSession) -> None:
    arm = one(catalog, "select * from rpt_campaign_roi where variant_id = 'ten-percent'")
    # ten-percent: 4 recipients, orders of 1000 and 3000 in the window -> 1000 a recipient;
    # holdout: 4 recipients, one 2000 order in the window -> 500 a recipient
    assert (arm["recipients"], arm["sends"], arm["converters"]) == (4, 4, 2)
    assert arm["revenue_per_recipient_cents"] == 1000
    assert arm["holdout_revenue_per_recipient_cents"] == 500
    assert arm["incremental_revenue_cents"] == 2000  # (1000 - 500) x 4
    # cost: 4 emails at 80 cents a thousand, plus the redeemed offer's 300 discount
    assert float(arm["total_cost_cents"]) == pytest.approx(300.32)
    assert arm["roi"] == pytest.approx((2000 - 300.32) / 300.32)
    assert float(arm["cost_per_send_cents"]) == pytest.approx(300.32 / 4)


def test_experiment_readout_lift_interval_and_p_value(catalog: SparkSession) -> None:
    row = one(catalog, "select * from rpt_experiment_readout where variant_id = 'ten-percent'")
    control = one(catalog, "select * from rpt_experiment_readout where variant_id = 'control'")
    assert (control["is_control"], control["lift"], control["converters"]) == (True, None, 1)
    assert (row["recipients"], row["converters"], row["delivered"]) == (4, 2, 4)
    assert row["conversion_rate"] == 0.5 and row["open_rate"] == 0.25
    assert row["lift"] == pytest.approx(1.0)  # (0.5 - 0.25) / 0.25
    z = 0.25 / math.sqrt(3 / 8 * 5 / 8 * (1 / 4 + 1 / 4))  # pooled two-proportion test
    assert row["p_value"] == pytest.approx(2 * (1 - NormalDist().cdf(z)), abs=1e-6)
    half = NormalDist().inv_cdf(0.975) * math.sqrt(0.5 * 0.5 / 4 + 0.25 * 0.75 / 4)
    assert row["lift_ci_low"] == pytest.approx((0.25 - half) / 0.25)
    assert row["lift_ci_high"] == pytest.approx((0.25 + half) / 0.25)
    assert row["is_sample_too_small"]  # 4 a side is far below 100


def test_deliverability_per_retailer_pool_and_day(catalog: SparkSession) -> None:
    row = one(catalog, "select * from rpt_deliverability")
    assert (row["retailer_id"], row["ip_pool"], str(row["sent_on"])) == (
        "fresh-mart",
        "shared-a",
        "2026-11-02",
    )
    assert (row["sent"], row["delivered"], row["bounced"]) == (8, 8, 1)
    assert row["bounce_rate"] == 1 / 8 and row["meets_delivery_bar"]


def test_campaign_performance_adds_up_sends_attribution_and_roi(catalog: SparkSession) -> None:
    row = one(catalog, "select * from rpt_campaign_performance")
    assert (row["sends"], row["delivered"], row["opens"]) == (8, 8, 2)
    # control-0 and ten-percent-0 opened (3-day window), ten-percent-1 bought 24 h after
    # its send (the send window's last moment); the holdout's order has no touch
    assert (row["conversions"], row["attributed_revenue_cents"]) == (3, 1500 + 1000 + 3000)
    assert row["roi_basis"] == "incremental"
    roi = one(catalog, "select sum(incremental_revenue_cents) inc, sum(total_cost_cents) cost "
                       "from rpt_campaign_roi")  # fmt: skip
    assert row["roi"] == pytest.approx((roi["inc"] - float(roi["cost"])) / float(roi["cost"]))
