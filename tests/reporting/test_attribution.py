"""Attribution on a hand-computed dataset: windows per touch type, last touch across
campaigns, failed sends and other tenants' touches never count, offers recognised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructField, StructType

from jobs.config.models import AttributionWindows
from jobs.reporting.attribution import OUTPUT, attribute_orders, message_touches, offer_codes
from jobs.warehouse import table_spec

T = datetime(2026, 11, 1, tzinfo=UTC)
RUN_AT = datetime(2026, 11, 20, tzinfo=UTC)
WINDOWS = AttributionWindows(click_hours=168, open_hours=72, send_hours=24)


def frame(
    spark: SparkSession, table: str, rows: list[dict[str, Any]], *, partial: bool = False
) -> DataFrame:
    """Rows of a warehouse table; `partial` rows leave the columns a test does not need null."""
    schema = table_spec(table).schema
    if partial:
        schema = StructType([StructField(f.name, f.dataType, True) for f in schema])
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema) for r in rows], schema)


def send(message: str, customer: str, campaign: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "retailer_id": "fresh-mart",
        "message_id": message,
        "run_id": f"{campaign}-run",
        "campaign_id": campaign,
        "customer_id": customer,
        "channel": "email",
        "variant_id": "control",
        "is_holdout": False,
        "status": "sent",
        "attempts": 1,
        "batch_size": 1,
        "queued_at": at,
        "completed_at": at,
        "delivery_run_id": "dr-1",
        "source_version": 1,
        **extra,
    }


def event(message: str, customer: str, kind: str, at: datetime) -> dict[str, Any]:
    return {
        "retailer_id": "fresh-mart",
        "event_id": f"{message}-{kind}",
        "message_id": message,
        "customer_id": customer,
        "channel": "email",
        "event_type": kind,
        "occurred_at": at,
        "workspace_id": "ws-freshmart",
        "ip_pool": "shared-a",
        "ingested_at": at,
    }


def order(order_id: str, customer: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "retailer_id": "fresh-mart",
        "order_id": order_id,
        "customer_id": customer,
        "ordered_at": at,
        "total_cents": 1000,
        "discount_cents": 0,
        "category": "produce",
        "item_count": 1,
        **extra,
    }


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_each_order_goes_to_its_last_touch_within_that_touchs_window(
    spark: SparkSession,
) -> None:
    sends = [
        send("m1", "c1", "winback", T),
        send("m2", "c2", "winback", T),
        send("m3", "c3", "winback", T),
        send("m4", "c4", "winback", T),
        send("m5", "c4", "deals", T + hours(10)),
        send("m6", "c5", "winback", T, status="failed"),
    ]
    events = [
        event("m1", "c1", "delivered", T + hours(0.5)),
        event("m1", "c1", "clicked", T + hours(1)),
        event("m2", "c2", "opened", T + hours(2)),
        event("m4", "c4", "clicked", T + hours(1)),
    ]
    orders = [
        order("o-click-in", "c1", T + hours(1 + 167), promo_code="P1"),
        order("o-click-out", "c1", T + hours(1 + 169)),
        order("o-open-in", "c2", T + hours(2 + 71)),
        order("o-open-out", "c2", T + hours(2 + 73)),
        order("o-send-in", "c3", T + hours(23)),
        order("o-send-out", "c3", T + hours(25)),
        order("o-before", "c3", T - hours(1)),
        order("o-last-touch", "c4", T + hours(20), total_cents=4200),
        order("o-failed-send", "c5", T + hours(1)),
        order("o-other-tenant", "c1", T + hours(2), retailer_id="green-grocer"),
    ]
    codes = [{"retailer_id": "fresh-mart", "message_id": "m1", "promo_code": "P1"}]
    result_df = attribute_orders(
        frame(spark, "orders", orders),
        message_touches(
            frame(spark, "message_sends", sends), frame(spark, "delivery_events", events)
        ),
        spark.createDataFrame(codes),
        windows=WINDOWS,
        attributed_at=RUN_AT,
    )

    def expected(
        order_id: str,
        customer: str,
        at: datetime,
        message: str,
        campaign: str,
        touch: str,
        touched: datetime,
        cents: int = 1000,
        redeemed: bool = False,
    ) -> tuple[Any, ...]:
        return (
            "fresh-mart",
            order_id,
            customer,
            at,
            cents,
            0,
            campaign,
            f"{campaign}-run",
            "control",
            message,
            "email",
            touch,
            touched,
            redeemed,
            RUN_AT,
        )

    expected_df = spark.createDataFrame(
        [
            expected(
                "o-click-in",
                "c1",
                T + hours(168),
                "m1",
                "winback",
                "click",
                T + hours(1),
                redeemed=True,
            ),
            expected("o-open-in", "c2", T + hours(73), "m2", "winback", "open", T + hours(2)),
            expected("o-send-in", "c3", T + hours(23), "m3", "winback", "send", T),
            # c4: a click on winback at T+1h, then a send of deals at T+10h: the latter is last
            expected(
                "o-last-touch",
                "c4",
                T + hours(20),
                "m5",
                "deals",
                "send",
                T + hours(10),
                cents=4200,
            ),
        ],
        table_spec("attributed_orders").schema,
    )
    assert_df_equality(
        result_df, expected_df.select(*OUTPUT), ignore_row_order=True, ignore_nullable=True
    )


def test_a_click_beats_the_send_it_came_from_and_offer_codes_come_from_the_event(
    spark: SparkSession,
) -> None:
    events_df = frame(
        spark,
        "campaign_events",
        [
            {"retailer_id": "fresh-mart", "message_id": "m1", "promo_code": "P1"},
            {"retailer_id": "fresh-mart", "message_id": "m2", "promo_code": None},
        ],
        partial=True,
    )
    assert sorted(r.message_id for r in offer_codes(events_df).collect()) == ["m1"]
    touches_df = message_touches(
        frame(spark, "message_sends", [send("m1", "c1", "winback", T)]),
        frame(spark, "delivery_events", [event("m1", "c1", "clicked", T + hours(3))]),
    )
    result = attribute_orders(
        frame(spark, "orders", [order("o1", "c1", T + hours(4), promo_code="OTHER")]),
        touches_df,
        offer_codes(events_df),
        windows=WINDOWS,
        attributed_at=RUN_AT,
    ).collect()
    assert [(r.touch_type, r.is_offer_redeemed) for r in result] == [("click", False)]
