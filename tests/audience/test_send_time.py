"""Send-time optimization with a fixed seed: customers whose history shows when they read
are sent at that hour, and open more than the same audience sent at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from jobs.audience.send_time import with_send_after
from jobs.config import load_conf
from jobs.config.models import SendTime
from jobs.dev.bench.send_time import LAUNCH, audience, compare
from jobs.dev.simulator.state import EngagementRates
from jobs.warehouse import table_spec
from tests.conftest import REPO_CONF


def test_optimized_send_times_get_more_opens_than_sending_at_once(spark: SparkSession) -> None:
    campaign = load_conf(REPO_CONF).campaign("fresh-mart-winback")

    result = compare(
        spark,
        campaign,
        customers=1_500,
        past_sends=8,
        rates=EngagementRates(preferred_hour_lift=0.5),
        seed=7,
    )

    low, _ = result.interval()
    assert result.customers == 1_500
    assert low > 0, result.line(7)  # the lift holds at 95%


def test_without_history_everybody_gets_the_populations_hour_within_the_window(
    spark: SparkSession,
) -> None:
    campaign = load_conf(REPO_CONF).campaign("fresh-mart-winback")
    read_at = datetime(2026, 11, 5, 1, 10, tzinfo=UTC)
    tail = ("email", "opened", None, read_at, "ws", "pool", LAUNCH)
    # other customers of the retailer read at 19:00 in Chicago (01:00 UTC)
    opens = [("fresh-mart", f"e{n}", f"m{n}", f"reader{n}", *tail) for n in range(20)]
    history_df = spark.createDataFrame(opens, table_spec("delivery_events").schema)
    events_df = audience(spark, 3, campaign.campaign_id).unionByName(
        audience(spark, 1, "another-campaign")
    )
    zones_df = spark.createDataFrame(
        [("fresh-mart", f"reader{n}", "America/Chicago") for n in range(20)],
        "retailer_id string, customer_id string, time_zone string",
    ).unionByName(events_df.select("retailer_id", "customer_id", "time_zone"))

    def chosen(window_hours: int) -> dict[tuple[str, str], datetime | None]:
        send_time = SendTime(mode="optimized", window_hours=window_hours)
        campaigns = [campaign.model_copy(update={"send_time": send_time})]
        rows = with_send_after(events_df, campaigns, history_df, zones_df, as_of=LAUNCH)
        return {(r["campaign_id"], r["customer_id"]): r["send_after"] for r in rows.collect()}

    # c000001 lives in Chicago and has no history of its own. Within a day: 19:00 there.
    assert chosen(24)[("fresh-mart-winback", "c000001")] == naive(LAUNCH + timedelta(hours=10))
    # Within 6 hours (09:00 to 14:00 in Chicago) 19:00 is out of reach; those hours score
    # alike, so the earliest wins. Another campaign's messages go at once.
    six = chosen(6)
    assert six[("fresh-mart-winback", "c000001")] == naive(LAUNCH)
    assert six[("another-campaign", "c000000")] is None


def naive(moment: datetime) -> datetime:
    """As Spark collects a timestamp: the session's zone (UTC in tests), no tzinfo."""
    return moment.astimezone(UTC).replace(tzinfo=None)
