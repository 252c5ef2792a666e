"""Dashboards in a real headless Chromium: each retailer's page loads, its charts draw,
its numbers are the SQL reports' numbers, and nothing of another retailer is on it."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from jobs.config import load_conf
from jobs.dev.loopback import AppThread
from jobs.reporting.dashboard_server import dashboard_app
from jobs.reporting.dashboards import write_dashboards
from tests.browser import headless_chromium, loopback_only
from tests.conftest import REPO_CONF

METRICS = ("sends", "delivered", "opens", "clicks", "conversions", "attributed_revenue_cents")


def test_each_retailers_dashboard_shows_only_its_own_report_numbers(
    catalog: SparkSession, tmp_path: Path
) -> None:
    conf = load_conf(REPO_CONF)
    written = {d.retailer_id: d.path for d in write_dashboards(catalog, conf, tmp_path)}
    assert set(written) == set(conf.retailers)
    server = AppThread(dashboard_app(tmp_path)).start()
    try:
        with headless_chromium() as browser:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            loopback_only(page, server.url)
            for retailer in conf.retailers.values():
                page.goto(f"{server.url}/{retailer.retailer_id}/")
                adaptive = catalog.sql(
                    "select * from rpt_adaptive_readout where retailer_id = :r",
                    args={"r": retailer.retailer_id},
                ).collect()
                # five charts, and the adaptive runs' chart where the retailer has one
                assert page.locator("section.chart svg").count() == 5 + bool(adaptive)
                shown_rates = page.locator(
                    "section.table", has_text="Adaptive runs: estimates"
                ).locator('td[data-metric="rate"]')
                assert sorted(
                    shown_rates.nth(i).get_attribute("data-value") or ""
                    for i in range(shown_rates.count())
                ) == sorted(str(row["rate"]) for row in adaptive)
                expected = catalog.sql(
                    "select * from rpt_campaign_performance where retailer_id = :r",
                    args={"r": retailer.retailer_id},
                ).collect()
                if expected:
                    assert page.locator("section.chart svg rect.bar").count() > 0
                for row in expected:
                    for metric in METRICS:
                        cell = page.locator(
                            f'td[data-metric="{metric}"][data-key="{row["campaign_id"]}"]'
                        )
                        assert cell.get_attribute("data-value") == str(row[metric])
                text = page.content()
                assert retailer.brand.name in text
                for other in conf.retailers.values():
                    if other.retailer_id != retailer.retailer_id:
                        assert other.brand.name not in text and other.retailer_id not in text
            missing = page.goto(f"{server.url}/nobody/")
            assert missing is not None and missing.status == 404
            assert errors == []
    finally:
        server.stop()


def test_the_sending_limits_table_shows_a_warming_retailers_cap_and_says_when_there_is_none(
    catalog: SparkSession, tmp_path: Path
) -> None:
    conf = load_conf(REPO_CONF)
    written = {d.retailer_id: d.path for d in write_dashboards(catalog, conf, tmp_path)}
    fresh = written["fresh-mart"].read_text()
    assert 'data-metric="daily_cap" data-key="2026-11-02" data-value="10"' in fresh
    assert 'data-metric="email_sent" data-key="2026-11-02" data-value="8"' in fresh
    green = written["green-grocer"].read_text()
    assert "IP pool shared-a is not warming: email is not capped by a plan." in green
