"""The one declaration of every table the product reads or writes.

A table's schema and partitioning live here and nowhere else, so that a job
writing the wrong shape fails at the write, not in an analyst's query a week
later. Money is integer cents, timestamps are UTC, keys are `<object>_id`, and
every tenant table carries `retailer_id` because every key includes the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

from jobs.config.models import E164_PATTERN
from jobs.warehouse.errors import UnknownTableError


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: T.StructType
    partition_by: tuple[str, ...]
    description: str

    @property
    def column_names(self) -> list[str]:
        return [field.name for field in self.schema.fields]


def _schema(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(name, dtype, nullable) for name, dtype, nullable in fields])


_STRING, _LONG, _INT = T.StringType(), T.LongType(), T.IntegerType()
_TS, _BOOL, _DOUBLE = T.TimestampType(), T.BooleanType(), T.DoubleType()
_DATE = T.DateType()
_STRING_MAP = T.MapType(T.StringType(), T.StringType(), True)
_COUNT_MAP = T.MapType(T.StringType(), T.LongType(), True)

# A well-formed `customers.email`: the quality gate measures the share of these, and
# suppression records any other address as `invalid_contact`.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
# A well-formed `customers.phone` is E.164 (+<country code><number>); the same two rules.
PHONE_PATTERN = E164_PATTERN

CUSTOMERS = TableSpec(
    name="customers",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("email", _STRING, True),
        ("push_token", _STRING, True),
        ("phone", _STRING, True),
        ("first_name", _STRING, True),
        ("last_name", _STRING, True),
        ("locale", _STRING, True),
        # IANA zone (America/Chicago); none: the retailer's zone. Quiet hours are local.
        ("time_zone", _STRING, True),
        ("signup_at", _TS, False),
        ("updated_at", _TS, False),
    ),
    partition_by=("retailer_id",),
    description="Each retailer's customers; ids and emails may repeat across retailers.",
)

ORDERS = TableSpec(
    name="orders",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("order_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("ordered_at", _TS, False),
        ("total_cents", _LONG, False),
        ("discount_cents", _LONG, False),
        ("promo_code", _STRING, True),
        ("category", _STRING, False),
        ("item_count", _INT, False),
    ),
    partition_by=("retailer_id",),
    description="Completed orders; `category` is the order's main category.",
)

CONSENTS = TableSpec(
    name="consents",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("channel", _STRING, False),
        ("is_opted_in", _BOOL, False),
        ("unsubscribed_at", _TS, True),
        ("updated_at", _TS, False),
    ),
    partition_by=("retailer_id",),
    description="Marketing consent per customer and channel (email, push, sms): SMS has "
    "its own opt-in, and a STOP reply ends it.",
)

CAMPAIGN_EVENTS = TableSpec(
    name="campaign_events",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("run_id", _STRING, False),
        ("campaign_id", _STRING, False),
        ("message_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("channel", _STRING, False),
        ("address", _STRING, True),
        ("variant_id", _STRING, False),
        ("is_holdout", _BOOL, False),
        ("template_id", _STRING, True),
        ("offer_kind", _STRING, True),
        ("offer_percent", _DOUBLE, True),
        ("offer_amount_cents", _LONG, True),
        ("offer_min_basket_cents", _LONG, True),
        ("offer_expires_at", _TS, True),
        ("promo_code", _STRING, True),
        ("variables", _STRING_MAP, True),
        ("created_at", _TS, False),
        # The customer's IANA zone (else the retailer's): quiet hours are local to it.
        ("time_zone", _STRING, True),
        # Not before this instant (send-time optimization); none: as soon as allowed.
        ("send_after", _TS, True),
    ),
    partition_by=("retailer_id",),
    description="The event stream: one row per (campaign run, customer, channel). Holdout rows "
    "are recorded (is_holdout) and never sent. Delta versions are the stream's offsets.",
)

CAMPAIGN_RUNS = TableSpec(
    name="campaign_runs",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("run_id", _STRING, False),
        ("campaign_id", _STRING, False),
        ("as_of", _TS, False),
        ("started_at", _TS, False),
        ("finished_at", _TS, False),
        ("audience_customers", _LONG, False),
        ("audience_size", _LONG, False),
        ("suppressed_by_reason", _COUNT_MAP, False),
        ("holdout_size", _LONG, False),
        ("events_written", _LONG, False),
    ),
    partition_by=("retailer_id",),
    description="One row per campaign run: audience (customer x channel), suppressions by "
    "reason, holdout and events; events_written = audience_size - sum(suppressed).",
)

DELIVERY_EVENTS = TableSpec(
    name="delivery_events",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("event_id", _STRING, False),
        ("message_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("channel", _STRING, False),
        ("event_type", _STRING, False),
        ("dispatch_id", _STRING, True),
        ("occurred_at", _TS, False),
        ("workspace_id", _STRING, False),
        ("ip_pool", _STRING, False),
        ("ingested_at", _TS, False),
    ),
    partition_by=("retailer_id",),
    description="Provider send, delivery and engagement events (sent, delivered, "
    "bounced_soft, bounced_hard, opened, clicked, unsubscribed, complained), de-duplicated "
    "by event_id; a `sent` event names the request that sent it (dispatch_id) and is what "
    "delivery reconciles a send it is unsure of against. "
    "`ip_pool` is the retailer's sending pool when the event was ingested. Each commit "
    "carries every workspace's export cursor (`ingest.cursors`).",
)

MESSAGE_SENDS = TableSpec(
    name="message_sends",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("message_id", _STRING, False),
        ("run_id", _STRING, False),
        ("campaign_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("channel", _STRING, False),
        ("variant_id", _STRING, False),
        ("is_holdout", _BOOL, False),
        ("template_id", _STRING, True),
        ("status", _STRING, False),
        ("reason", _STRING, True),
        ("attempts", _INT, False),
        ("dispatch_id", _STRING, True),
        ("segments", _INT, True),  # a text's billed segments (SMS only)
        ("batch_size", _INT, False),
        ("queued_at", _TS, False),
        ("first_attempt_at", _TS, True),
        ("completed_at", _TS, False),
        ("send_latency_ms", _LONG, True),
        # A deferred message's earliest next attempt (quiet hours, its send time).
        ("eligible_at", _TS, True),
        ("delivery_run_id", _STRING, False),
        ("source_version", _LONG, False),
    ),
    partition_by=("retailer_id",),
    description="One row per message of campaign_events: its latest delivery status "
    "(jobs/warehouse/statuses.py) with reason, attempts and timings. Holdout messages are "
    "recorded (is_holdout, status suppressed) and never sent. Deferred and paused rows are "
    "picked up by a later delivery run and updated in place.",
)

CAMPAIGN_CONTROLS = TableSpec(
    name="campaign_controls",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("campaign_id", _STRING, False),
        ("action", _STRING, False),
        ("requested_at", _TS, False),
        ("requested_by", _STRING, True),
        ("note", _STRING, True),
    ),
    partition_by=("retailer_id",),
    description="Pause and resume requests per campaign; the newest request wins.",
)

TEMPLATE_DEPLOYMENTS = TableSpec(
    name="template_deployments",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("template_id", _STRING, False),
        ("channel", _STRING, False),
        ("library_template_id", _STRING, False),
        ("content_hash", _STRING, False),
        ("action", _STRING, False),
        ("deploy_run_id", _STRING, False),
        ("deployed_at", _TS, False),
    ),
    partition_by=(),
    description=(
        "Every template version written to a retailer's workspace (created or updated), "
        "so an analyst can tell which content was live when a message went out."
    ),
)

ATTRIBUTED_ORDERS = TableSpec(
    name="attributed_orders",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("order_id", _STRING, False),
        ("customer_id", _STRING, False),
        ("ordered_at", _TS, False),
        ("revenue_cents", _LONG, False),
        ("discount_cents", _LONG, False),
        ("campaign_id", _STRING, False),
        ("run_id", _STRING, False),
        ("variant_id", _STRING, False),
        ("message_id", _STRING, False),
        ("channel", _STRING, False),
        ("touch_type", _STRING, False),
        ("touched_at", _TS, False),
        ("is_offer_redeemed", _BOOL, False),
        ("attributed_at", _TS, False),
    ),
    partition_by=("retailer_id",),
    description=(
        "Orders attributed to the last message touch (click, open or send) within its "
        "window (platform.yaml reporting.attribution), across the retailer's campaigns; "
        "recomputed per retailer by `campaigns attribute`."
    ),
)

WARMING_SCHEDULE = TableSpec(
    name="warming_schedule",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("ip_pool", _STRING, False),
        ("schedule_date", _DATE, False),
        ("state", _STRING, False),
        ("step", _INT, False),
        ("bad_days", _INT, False),
        ("pool_daily_cap", _LONG, False),
        ("daily_cap", _LONG, False),
        ("reason", _STRING, False),
        ("judged_sent", _LONG, True),
        ("judged_delivery_rate", _DOUBLE, True),
        ("judged_bounce_rate", _DOUBLE, True),
        ("judged_complaint_rate", _DOUBLE, True),
        ("updated_at", _TS, False),
    ),
    partition_by=(),
    description=(
        "Each warming pool's state per day (ramping, holding, backing_off, warmed) and "
        "the email cap of every retailer in it (its share of the pool's cap), decided from "
        "the previous day's deliverability (`judged_*`); the delivery job enforces "
        "`daily_cap` from the newest row on or before today."
    ),
)

CAPACITY_ALERTS = TableSpec(
    name="capacity_alerts",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("ip_pool", _STRING, False),
        ("alert_date", _DATE, False),
        ("pool_sent", _LONG, False),
        ("daily_capacity", _LONG, False),
        ("utilization", _DOUBLE, False),
        ("message", _STRING, False),
        ("raised_at", _TS, False),
    ),
    partition_by=(),
    description=(
        "An IP pool whose day of email reached `capacity_alert_share` of its capacity: "
        "one row per retailer sharing it, a request to add IPs before caps bind."
    ),
)

VARIANT_ALLOCATIONS = TableSpec(
    name="variant_allocations",
    schema=_schema(
        ("retailer_id", _STRING, False),
        ("campaign_id", _STRING, False),
        ("run_id", _STRING, False),
        ("wave", _INT, False),
        ("wave_run_id", _STRING, False),
        ("variant_id", _STRING, False),
        ("weight", _DOUBLE, False),
        ("metric", _STRING, False),
        ("trials", _LONG, False),
        ("successes", _LONG, False),
        ("alpha", _DOUBLE, False),
        ("beta", _DOUBLE, False),
        ("prob_best", _DOUBLE, False),
        ("value_remaining", _DOUBLE, True),
        ("is_stopped", _BOOL, False),
        ("winner_variant_id", _STRING, True),
        ("decided_at", _TS, False),
    ),
    partition_by=("retailer_id",),
    description=(
        "One row per variant of each wave of an adaptive campaign run (allocation mode "
        "'adaptive'): the weight its customers were assigned with, and what it was decided "
        "from: the earlier waves' sent customers (trials) and successes on the campaign's "
        "metric, the Beta(alpha, beta) posterior, the probability of being the best, and "
        "whether exploration had stopped (then the winner has weight 1). `run_id` is the "
        "logical run; the wave's events carry `wave_run_id`. Written once per wave, never "
        "changed: relaunching a wave assigns the same customers the same variants."
    ),
)

DELIVERY_LEASE = TableSpec(
    name="delivery_lease",
    schema=_schema(
        ("token", _LONG, False),
        ("holder", _STRING, False),
        ("action", _STRING, False),
        ("expires_at", _TS, False),
        ("recorded_at", _TS, False),
    ),
    partition_by=(),
    description=(
        "Who may deliver from this warehouse: one row per acquire, renew or release, "
        "each committed as exactly the next table version (compare-and-swap), so two "
        "deliveries never both hold it. `token` grows with every new holder (the fence). "
        "Platform state, not tenant data: the one table without `retailer_id`."
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        CUSTOMERS,
        ORDERS,
        CONSENTS,
        CAMPAIGN_EVENTS,
        CAMPAIGN_RUNS,
        DELIVERY_EVENTS,
        MESSAGE_SENDS,
        CAMPAIGN_CONTROLS,
        TEMPLATE_DEPLOYMENTS,
        ATTRIBUTED_ORDERS,
        WARMING_SCHEDULE,
        CAPACITY_ALERTS,
        VARIANT_ALLOCATIONS,
        DELIVERY_LEASE,
    )
}
INPUT_TABLES = ("customers", "orders", "consents")
# The `txn` app id under which message_sends records the campaign_events version the
# delivery committed through (its source position; jobs.delivery.plan).
DELIVERY_SOURCE_APP_ID = "delivery/campaign_events"


def table_spec(name: str) -> TableSpec:
    """The declared spec of a table, or an error listing the tables that exist."""
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTableError(
            f"unknown table '{name}'; declared tables are {sorted(TABLES)} "
            "(add a TableSpec to jobs/warehouse/registry.py to declare a new one)"
        ) from None
