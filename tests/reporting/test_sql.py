"""The sql/ reports on a small hand-computed warehouse: every file runs, and the
incrementality, ROI and experiment numbers are the ones worked out by hand here."""

from __future__ import annotations

import math
import re
from statistics import NormalDist
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from jobs.warehouse.statuses import STATUSES
from tests.conftest import REPO_ROOT


def one(spark: SparkSession, query: str) -> dict[str, Any]:
    [row] = spark.sql(query).collect()
    return row.asDict()


def test_every_status_the_sql_names_is_a_declared_status() -> None:
    """A renamed status fails here, not as a silently empty report."""
    named = {
        (path.name, status)
        for path in sorted((REPO_ROOT / "sql").glob("*.sql"))
        for clause in re.findall(
            r"status\s*(?:=|<>|!=|in)\s*(\([^)]*\)|'[^']*')", path.read_text(encoding="utf-8")
        )
        for status in re.findall(r"'([^']*)'", clause)
    }
    assert named, "no status found in sql/: the pattern no longer matches the files"
    assert {(name, status) for name, status in named if status not in STATUSES} == set()


def test_every_sql_file_runs_against_the_fixture_tables(catalog: SparkSession) -> None:
    for path in sorted((REPO_ROOT / "sql").glob("*.sql")):
        rows = catalog.sql(f"select * from {path.stem}").collect()
        assert rows, f"{path.name} returned nothing on the fixture"


def test_adaptive_readout_of_a_single_wave_with_its_smoothed_interval(
    catalog: SparkSession,
) -> None:
    row = one(catalog, "select * from rpt_adaptive_readout where variant_id = 'control'")
    z = one(catalog, "select z_critical from dim_reporting_settings")["z_critical"]
    # 4 sent, 1 opened; the variance uses (1 + 1) / (4 + 2) = 1/3: se = sqrt(2/9 / 4)
    se = (1 / 3 * 2 / 3 / 4) ** 0.5
    assert (row["estimator"], row["sent"], row["successes"]) == ("single wave", 4, 1)
    assert row["rate"] == row["pooled_rate"] == 0.25 and row["share_covered"] == 1
    assert row["rate_ci_low"] == pytest.approx(0.25 - z * se)
    assert row["rate_ci_high"] == pytest.approx(0.25 + z * se)
    assert row["is_winner"] is False
    wave = one(catalog, "select * from rpt_allocation_waves where variant_id = 'ten-percent'")
    assert (wave["wave"], wave["weight"], wave["sent"], wave["opened"], wave["rate"]) == (
        1,
        0.5,
        4,
        1,
        0.25,
    )


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
    row = one(catalog, "select * from rpt_deliverability where retailer_id = 'fresh-mart'")
    assert (row["retailer_id"], row["ip_pool"], str(row["sent_on"])) == (
        "fresh-mart",
        "shared-a",
        "2026-11-02",
    )
    assert (row["sent"], row["delivered"], row["bounced"]) == (8, 8, 1)
    assert row["bounce_rate"] == 1 / 8 and row["meets_delivery_bar"]


def test_campaign_performance_adds_up_sends_attribution_and_roi(catalog: SparkSession) -> None:
    row = one(catalog, "select * from rpt_campaign_performance where retailer_id = 'fresh-mart'")
    assert (row["sends"], row["delivered"], row["opens"]) == (8, 8, 2)
    # control-0 and ten-percent-0 opened (3-day window), ten-percent-1 bought 24 h after
    # its send (the send window's last moment); the holdout's order has no touch
    assert (row["conversions"], row["attributed_revenue_cents"]) == (3, 1500 + 1000 + 3000)
    assert row["roi_basis"] == "incremental"
    roi = one(catalog, "select sum(incremental_revenue_cents) inc, sum(total_cost_cents) cost "
                       "from rpt_campaign_roi where retailer_id = 'fresh-mart'")  # fmt: skip
    assert row["roi"] == pytest.approx((roi["inc"] - float(roi["cost"])) / float(roi["cost"]))


def test_the_other_tenant_is_measured_apart(catalog: SparkSession) -> None:
    green = one(
        catalog, "select * from rpt_campaign_performance where retailer_id = 'green-grocer'"
    )
    # one send; its customer bought 777 two days later: outside the 1-day send window
    assert (green["sends"], green["conversions"], green["roi_basis"]) == (1, 0, "attributed")
    assert (
        one(catalog, "select count(*) n from attributed_orders where customer_id = 'c-green'")["n"]
        == 0
    )


def test_every_arm_of_the_roi_report_as_worked_out_by_hand(catalog: SparkSession) -> None:
    actual_df = catalog.sql(
        "select variant_id, recipients, sends, converters, revenue_cents, "
        "incremental_revenue_cents from rpt_campaign_roi where retailer_id = 'fresh-mart'"
    )
    # control: one 1500 order -> 375 a recipient, (375 - 500) x 4 = -500 against the holdout
    expected_df = catalog.createDataFrame(
        [("control", 4, 4, 1, 1500, -500.0), ("ten-percent", 4, 4, 2, 4000, 2000.0)],
        actual_df.schema,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_warming_shows_each_days_cap_the_email_sent_against_it_and_alerts(
    catalog: SparkSession,
) -> None:
    row = one(catalog, "select * from rpt_warming where retailer_id = 'fresh-mart'")
    # 8 email sent on the day (4 control, 4 ten-percent; the holdout was never sent)
    assert (row["state"], row["daily_cap"], row["email_sent"]) == ("ramping", 10, 8)
    assert row["cap_used"] == pytest.approx(0.8)
    assert row["has_capacity_alert"] is True and row["pool_utilization"] == pytest.approx(0.9)
    assert catalog.sql("select * from rpt_warming where retailer_id = 'green-grocer'").count() == 0
