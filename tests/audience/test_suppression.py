"""Suppression: each reason, their order, the frequency cap, and tenant isolation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pyspark.sql import DataFrame, SparkSession

from jobs.audience.suppression import with_channel_candidates, with_suppression_reason
from jobs.warehouse import table_spec
from tests.conftest import T0

AS_OF = T0 + timedelta(days=30)
CANDIDATE_SCHEMA = (
    "retailer_id string, campaign_id string, run_id string, customer_id string, "
    "email string, push_token string, phone string, channels array<string>, frequency_max int, "
    "frequency_window_days int"
)


def candidates(spark: SparkSession, rows: list[tuple[object, ...]]) -> DataFrame:
    return with_channel_candidates(spark.createDataFrame(rows, CANDIDATE_SCHEMA))


def consent(
    retailer: str, customer: str, channel: str, opted_in: bool, unsubscribed: bool = False
) -> tuple[object, ...]:
    return (retailer, customer, channel, opted_in, T0 if unsubscribed else None, T0)


def history_event(
    retailer: str,
    campaign: str,
    run: str,
    customer: str,
    channel: str,
    *,
    days_ago: int,
    holdout: bool = False,
) -> tuple[object, ...]:
    return (
        retailer,
        run,
        campaign,
        f"m-{run}-{customer}-{channel}",
        customer,
        channel,
        "x",
        "a",
        holdout,
        "t",
        None,
        None,
        None,
        None,
        None,
        None,
        {},
        AS_OF - timedelta(days=days_ago),
        None,
        None,
    )


def delivery(retailer: str, customer: str, channel: str, event_type: str) -> tuple[object, ...]:
    event_id = f"e-{customer}-{event_type}"
    return (retailer, event_id, "m", customer, channel, event_type, None, T0, "ws", "pool", T0)


def reasons(
    spark: SparkSession,
    candidate_rows: list[tuple[object, ...]],
    consents: list[tuple[object, ...]],
    history: Sequence[tuple[object, ...]] = (),
    deliveries: Sequence[tuple[object, ...]] = (),
) -> dict[tuple[str, str, str], str | None]:
    result_df = with_suppression_reason(
        candidates(spark, candidate_rows),
        consents_df=spark.createDataFrame(consents, table_spec("consents").schema),
        history_df=spark.createDataFrame(list(history), table_spec("campaign_events").schema),
        delivery_events_df=spark.createDataFrame(
            list(deliveries), table_spec("delivery_events").schema
        ),
        as_of=AS_OF,
        current_run_ids=sorted({str(r[2]) for r in candidate_rows}),
    )
    return {
        (r.retailer_id, r.customer_id, r.channel): r.suppression_reason for r in result_df.collect()
    }


def row(
    retailer: str,
    customer: str,
    email: str | None = "ok@example.com",
    token: str | None = None,
    channels: tuple[str, ...] = ("email",),
    phone: str | None = None,
    cap: int = 3,
    campaign: str = "winback",
    run: str = "run-2",
) -> tuple[object, ...]:
    return (retailer, campaign, run, customer, email, token, phone, list(channels), cap, 7)


def test_each_reason_is_recorded(spark: SparkSession) -> None:
    result = reasons(
        spark,
        [
            row("r1", "ok"),
            row("r1", "unsub"),
            row("r1", "noconsent"),
            row("r1", "missing"),
            row("r1", "bounced"),
            row("r1", "complainer"),
            row("r1", "bademail", email="bad at x"),
            row("r1", "nulladdr", email=None),
            row("r1", "again"),
        ],
        [
            consent("r1", c, "email", True)
            for c in ("ok", "bounced", "complainer", "bademail", "nulladdr", "again")
        ]
        + [
            consent("r1", "unsub", "email", False, unsubscribed=True),
            consent("r1", "noconsent", "email", False),
        ],
        history=[history_event("r1", "winback", "run-1", "again", "email", days_ago=20)],
        deliveries=[
            delivery("r1", "bounced", "email", "bounced_hard"),
            delivery("r1", "complainer", "email", "complained"),
            delivery("r1", "ok", "email", "opened"),
        ],
    )

    assert result == {
        ("r1", "ok", "email"): None,
        ("r1", "unsub", "email"): "unsubscribed",
        ("r1", "noconsent", "email"): "no_consent",
        ("r1", "missing", "email"): "no_consent",  # no consent row at all
        ("r1", "bounced", "email"): "hard_bounced",
        ("r1", "complainer", "email"): "complained",
        ("r1", "bademail", "email"): "invalid_contact",
        ("r1", "nulladdr", "email"): "invalid_contact",
        ("r1", "again", "email"): "already_messaged",
    }


def test_other_retailers_data_never_suppresses(spark: SparkSession) -> None:
    """r2 shares customer id c1 and its address with r1; only r1's own rows count."""
    result = reasons(
        spark,
        [row("r1", "c1")],
        [consent("r1", "c1", "email", True), consent("r2", "c1", "email", False, True)],
        history=[history_event("r2", "winback", "run-1", "c1", "email", days_ago=1)],
        deliveries=[delivery("r2", "c1", "email", "bounced_hard")],
    )

    assert result == {("r1", "c1", "email"): None}


def test_frequency_cap_counts_planned_messages_and_ranks_channels(spark: SparkSession) -> None:
    both = ("email", "push")
    result = reasons(
        spark,
        [
            row("r1", "fresh", token="t1", channels=both, cap=2),
            row("r1", "one-prior", token="t2", channels=both, cap=2),
            row("r1", "two-prior", token="t3", channels=both, cap=2),
            row("r1", "old-prior", token="t4", channels=both, cap=2),
        ],
        [
            consent("r1", c, ch, True)
            for c in ("fresh", "one-prior", "two-prior", "old-prior")
            for ch in both
        ],
        history=[
            history_event("r1", "promo", "p1", "one-prior", "email", days_ago=1),
            history_event("r1", "promo", "p1", "two-prior", "email", days_ago=2),
            history_event("r1", "promo", "p1", "two-prior", "push", days_ago=2),
            history_event("r1", "promo", "p0", "old-prior", "email", days_ago=8),  # outside 7d
            history_event("r1", "promo", "p1", "fresh", "email", days_ago=1, holdout=True),
        ],
    )

    assert result == {
        ("r1", "fresh", "email"): None,
        ("r1", "fresh", "push"): None,
        ("r1", "one-prior", "email"): None,
        ("r1", "one-prior", "push"): "frequency_cap",
        ("r1", "two-prior", "email"): "frequency_cap",
        ("r1", "two-prior", "push"): "frequency_cap",
        ("r1", "old-prior", "email"): None,
        ("r1", "old-prior", "push"): None,
    }


def test_a_run_is_not_its_own_history(spark: SparkSession) -> None:
    result = reasons(
        spark,
        [row("r1", "c1", run="run-1")],
        [consent("r1", "c1", "email", True)],
        history=[history_event("r1", "winback", "run-1", "c1", "email", days_ago=0)],
    )

    assert result == {("r1", "c1", "email"): None}


def test_texts_need_their_own_opt_in_an_e164_number_and_no_stop_reply(
    spark: SparkSession,
) -> None:
    both = ("email", "sms")
    result = reasons(
        spark,
        [
            row("r1", "ok", channels=both, phone="+13125550142"),
            row("r1", "national", channels=both, phone="(312) 555-0142"),
            row("r1", "no-plus", channels=both, phone="13125550142"),
            row("r1", "no-phone", channels=both),
            row("r1", "email-only-consent", channels=both, phone="+13125550143"),
            row("r1", "stopped", channels=both, phone="+13125550144"),
        ],
        [
            consent("r1", c, channel, True)
            for c in ("ok", "national", "no-plus", "no-phone", "stopped")
            for channel in both
        ]
        + [consent("r1", "email-only-consent", "email", True)],
        deliveries=[delivery("r1", "stopped", "sms", "unsubscribed")],
    )

    assert {key: reason for key, reason in result.items() if key[2] == "sms"} == {
        ("r1", "ok", "sms"): None,
        ("r1", "national", "sms"): "invalid_contact",
        ("r1", "no-plus", "sms"): "invalid_contact",
        ("r1", "no-phone", "sms"): "invalid_contact",
        ("r1", "email-only-consent", "sms"): "no_consent",
        ("r1", "stopped", "sms"): "unsubscribed",
    }
    # a STOP ends texts only; the same customer's email consent stands
    assert result[("r1", "stopped", "email")] is None
