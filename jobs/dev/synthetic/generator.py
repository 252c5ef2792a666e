"""The synthetic commerce warehouse: customers, orders and consents per retailer.

Distributions are shaped like a grocery platform's: retailer sizes follow a
long tail, signups skew recent, a share of customers has lapsed (winback
material), a quarter never ordered, basket values are log-normal, each customer
has a favourite category, a few emails are invalid, more than half give a phone
(some typed without the country code), most live in one of the continent's zones, and
some people shop at
several retailers with the same email address (and customer ids repeat across
retailers by construction), which is exactly what tenant isolation must survive.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.dev.synthetic.random import chance, pick, standard_normal, uniform

GENERATOR_VERSION = 3
CATEGORIES = [
    "produce",
    "dairy",
    "bakery",
    "meat",
    "seafood",
    "frozen",
    "pantry",
    "beverages",
    "snacks",
    "household",
    "personal-care",
    "baby",
    "pet",
]
FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Diego",
    "Emma",
    "Farah",
    "Gabe",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Johnson",
    "Kim",
    "Lopez",
    "Martin",
    "Nguyen",
    "Okafor",
    "Patel",
    "Rossi",
    "Smith",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Xu",
    "Young",
    "Zhang",
]
EMAIL_DOMAINS = ["example.com", "mail.example", "inbox.example", "post.example"]
OTHER_LOCALES = ["en-US", "es-US", "en-CA", "fr-CA"]
SIGNUP_HISTORY_DAYS = 3 * 365
SHARED_SHOPPER_SHARE = 0.12
NEVER_ORDERED_SHARE = 0.25
LAPSED_SHARE = 0.35
INVALID_EMAIL_SHARE = 0.02
PUSH_TOKEN_SHARE = 0.45
PHONE_SHARE = 0.6
# Of the phones given, typed as a national number ("(312) 555-0142"): never guessed.
NATIONAL_PHONE_SHARE = 0.05
SMS_CONSENT_SHARE = 0.4
# Where customers live, weighted roughly by population (a zone repeats for its weight);
# a share has no known zone and falls back to the retailer's.
US_TIME_ZONES = (
    ["America/New_York"] * 9
    + ["America/Chicago"] * 6
    + ["America/Denver"] * 2
    + ["America/Phoenix"]
    + ["America/Los_Angeles"] * 4
)
CA_TIME_ZONES = (
    ["America/Toronto"] * 5 + ["America/Vancouver"] * 2 + ["America/Edmonton", "America/Halifax"]
)
UNKNOWN_TIME_ZONE_SHARE = 0.08
_DAY_SECONDS = 86_400


@dataclass(frozen=True)
class SeedSpec:
    """What to generate; equal specs give equal tables."""

    seed: int = 7
    customers: int = 20_000
    orders: int = 200_000
    as_of: date = date(2026, 11, 1)

    def fingerprint(self, retailers: list[tuple[str, str, list[str]]]) -> str:
        payload = {
            **asdict(self),
            "as_of": self.as_of.isoformat(),
            "retailers": retailers,
            "generator": GENERATOR_VERSION,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SyntheticRetailer:
    retailer_id: str
    default_locale: str
    channels: list[str]


def retailer_sizes(count: int, customers: int) -> list[int]:
    """A long tail: a few large banners, many small ones, each with at least a handful."""
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(count)]
    total = sum(weights)
    return [max(5, round(customers * weight / total)) for weight in weights]


def generate_customers(
    spark: SparkSession, spec: SeedSpec, retailers: list[SyntheticRetailer]
) -> DataFrame:
    """One row per (retailer, customer): `customer_id` repeats across retailers on purpose."""
    sizes = retailer_sizes(len(retailers), spec.customers)
    rows = [
        (r.retailer_id, index, size, r.default_locale)
        for index, (r, size) in enumerate(zip(retailers, sizes, strict=True))
    ]
    partitions = max(spark.sparkContext.defaultParallelism, len(rows) // 8)
    base_df = (
        spark.createDataFrame(
            rows, "retailer_id string, retailer_index int, size int, default_locale string"
        )
        .repartition(partitions, "retailer_index")
        .select("*", F.explode(F.sequence(F.lit(0), F.col("size") - 1)).alias("n"))
    )
    return base_df.transform(lambda df: _with_customer_fields(df, spec)).select(
        "retailer_id",
        "customer_id",
        "email",
        "push_token",
        "phone",
        "first_name",
        "last_name",
        "locale",
        "time_zone",
        "signup_at",
        "updated_at",
        # kept for the order and consent generators, dropped before writing
        "n",
        "retailer_index",
        "favourite_category",
        "active_until_at",
        "is_never_ordered",
    )


def _with_customer_fields(df: DataFrame, spec: SeedSpec) -> DataFrame:
    seed, keys = spec.seed, (F.col("retailer_index"), F.col("n"))
    shared_pool = max(1, spec.customers // 20)
    person = F.when(
        chance(SHARED_SHOPPER_SHARE, uniform(seed, "shared", *keys)),
        F.pmod(F.xxhash64(F.lit(seed), F.lit("person"), *keys), F.lit(shared_pool)),
    ).otherwise(
        F.lit(shared_pool) + F.col("retailer_index").cast("long") * 100_000_000 + F.col("n")
    )
    as_of = F.lit(_midnight(spec.as_of))
    signup_days = F.floor(F.pow(uniform(seed, "signup", *keys), F.lit(1.7)) * SIGNUP_HISTORY_DAYS)
    signup_at = _minus_seconds(
        as_of,
        signup_days * _DAY_SECONDS + F.floor(uniform(seed, "signup-time", *keys) * _DAY_SECONDS),
    )
    lapse_days = F.when(
        chance(LAPSED_SHARE, uniform(seed, "lapsed", *keys)),
        F.floor(uniform(seed, "lapse-days", *keys) * 300),
    ).otherwise(F.lit(0))
    return (
        df.withColumn("person_id", person)
        .withColumn("customer_id", F.concat(F.lit("c"), F.lpad(F.col("n").cast("string"), 7, "0")))
        .withColumn("first_name", pick(FIRST_NAMES, uniform(seed, "first", F.col("person_id"))))
        .withColumn("last_name", pick(LAST_NAMES, uniform(seed, "last", F.col("person_id"))))
        .withColumn("email", _email(seed, keys))
        .withColumn(
            "push_token",
            F.when(
                chance(PUSH_TOKEN_SHARE, uniform(seed, "push", *keys)),
                F.concat(
                    F.lit("tok_"),
                    F.substring(
                        F.sha2(
                            F.concat_ws(":", F.lit(seed), *[k.cast("string") for k in keys]), 256
                        ),
                        1,
                        32,
                    ),
                ),
            ),
        )
        .withColumn(
            "locale",
            F.when(chance(0.9, uniform(seed, "locale", *keys)), F.col("default_locale")).otherwise(
                pick(OTHER_LOCALES, uniform(seed, "other-locale", *keys))
            ),
        )
        .withColumn("phone", _phone(seed, keys))
        .withColumn("time_zone", _time_zone(seed, keys))
        .withColumn("signup_at", signup_at)
        .withColumn("updated_at", signup_at)
        .withColumn("favourite_category", pick(CATEGORIES, uniform(seed, "favourite", *keys)))
        .withColumn(
            "active_until_at",
            F.greatest(signup_at, _minus_seconds(as_of, lapse_days * _DAY_SECONDS)),
        )
        .withColumn("is_never_ordered", chance(NEVER_ORDERED_SHARE, uniform(seed, "never", *keys)))
    )


def _email(seed: int, keys: tuple[Column, Column]) -> Column:
    """Same person, same address at every retailer; a small share is malformed or missing."""
    local = F.lower(
        F.concat(
            F.col("first_name"), F.lit("."), F.col("last_name"), F.col("person_id").cast("string")
        )
    )
    domain = pick(EMAIL_DOMAINS, uniform(seed, "domain", F.col("person_id")))
    draw = uniform(seed, "invalid-email", *keys)
    return (
        F.when(draw < INVALID_EMAIL_SHARE / 3, F.lit(None).cast("string"))
        .when(draw < 2 * INVALID_EMAIL_SHARE / 3, F.concat(local, F.lit(" at "), domain))
        .when(draw < INVALID_EMAIL_SHARE, F.concat(local, F.lit("@")))
        .otherwise(F.concat(local, F.lit("@"), domain))
    )


def _phone(seed: int, keys: tuple[Column, Column]) -> Column:
    """A North American number per person, in E.164; some typed as national numbers."""
    person = F.col("person_id")

    def digits(salt: str, low: int, count: int, width: int) -> Column:
        value = F.lit(low) + F.floor(uniform(seed, salt, person) * count).cast("int")
        return F.lpad(value.cast("string"), width, "0")

    area, exchange, line = (
        digits("area", 201, 789, 3),
        digits("exchange", 201, 789, 3),
        digits("line", 0, 10_000, 4),
    )
    draw = uniform(seed, "phone", *keys)
    return (
        F.when(draw >= PHONE_SHARE, F.lit(None).cast("string"))
        .when(
            draw < PHONE_SHARE * NATIONAL_PHONE_SHARE,
            F.concat(F.lit("("), area, F.lit(") "), exchange, F.lit("-"), line),
        )
        .otherwise(F.concat(F.lit("+1"), area, exchange, line))
    )


def _time_zone(seed: int, keys: tuple[Column, Column]) -> Column:
    draw = uniform(seed, "time-zone", *keys)
    canadian = F.col("locale").isin("en-CA", "fr-CA")
    return F.when(
        chance(UNKNOWN_TIME_ZONE_SHARE, uniform(seed, "no-zone", *keys)),
        F.lit(None).cast("string"),
    ).otherwise(F.when(canadian, pick(CA_TIME_ZONES, draw)).otherwise(pick(US_TIME_ZONES, draw)))


def generate_orders(customers_df: DataFrame, spec: SeedSpec) -> DataFrame:
    """About `spec.orders` orders, spread over customers who ever ordered."""
    seed = spec.seed
    mean_per_buyer = spec.orders / max(1.0, spec.customers * (1 - NEVER_ORDERED_SHARE))
    keys = (F.col("retailer_index"), F.col("n"))
    order_count = F.lit(1) + F.floor(
        -F.log(F.lit(1.0) - uniform(seed, "order-count", *keys)) * max(0.0, mean_per_buyer - 1)
        + 0.5
    ).cast("int")
    exploded_df = customers_df.filter(~F.col("is_never_ordered")).select(
        "*", F.explode(F.sequence(F.lit(1), order_count)).alias("k")
    )
    okeys = (*keys, F.col("k"))
    span_seconds = F.unix_timestamp("active_until_at") - F.unix_timestamp("signup_at")
    total_cents = F.greatest(
        F.lit(299),
        F.round(F.exp(F.lit(8.4) + F.lit(0.6) * standard_normal(seed, "basket", *okeys))),
    ).cast("long")
    has_promo = chance(0.1, uniform(seed, "promo", *okeys))
    return exploded_df.select(
        "retailer_id",
        F.concat(F.col("customer_id"), F.lit("-"), F.lpad(F.col("k").cast("string"), 4, "0")).alias(
            "order_id"
        ),
        "customer_id",
        _plus_seconds(
            F.col("signup_at"), F.floor(uniform(seed, "order-at", *okeys) * span_seconds)
        ).alias("ordered_at"),
        total_cents.alias("total_cents"),
        F.when(has_promo, F.least(F.lit(1000), F.floor(total_cents / 10)))
        .otherwise(F.lit(0))
        .cast("long")
        .alias("discount_cents"),
        F.when(has_promo, F.lit("SAVE10")).alias("promo_code"),
        F.when(chance(0.6, uniform(seed, "category", *okeys)), F.col("favourite_category"))
        .otherwise(pick(CATEGORIES, uniform(seed, "other-category", *okeys)))
        .alias("category"),
        (F.lit(1) + F.floor(total_cents / 700 * (F.lit(0.5) + uniform(seed, "items", *okeys))))
        .cast("int")
        .alias("item_count"),
    )


def generate_consents(
    customers_df: DataFrame, spec: SeedSpec, retailers: list[SyntheticRetailer]
) -> DataFrame:
    """One row per customer and enabled channel; push consent needs a device token and
    SMS consent (its own opt-in, by law) a phone."""
    seed = spec.seed
    channels_df = customers_df.sparkSession.createDataFrame(
        [(r.retailer_id, channel) for r in retailers for channel in r.channels],
        "retailer_id string, channel string",
    )
    keys = (F.col("retailer_index"), F.col("n"), F.col("channel"))
    is_unsubscribed = (F.col("channel") == "email") & chance(0.04, uniform(seed, "unsub", *keys))
    opted_in = (
        F.when(
            F.col("channel") == "push",
            F.col("push_token").isNotNull() & chance(0.8, uniform(seed, "push-consent", *keys)),
        )
        .when(
            F.col("channel") == "sms",
            F.col("phone").isNotNull()
            & chance(SMS_CONSENT_SHARE, uniform(seed, "sms-consent", *keys)),
        )
        .otherwise(chance(0.85, uniform(seed, "email-consent", *keys)))
    )
    changed_at = _plus_seconds(
        F.col("signup_at"),
        F.floor(
            uniform(seed, "consent-at", *keys)
            * (F.unix_timestamp(F.lit(_midnight(spec.as_of))) - F.unix_timestamp("signup_at"))
        ),
    )
    return customers_df.join(F.broadcast(channels_df), on="retailer_id", how="inner").select(
        "retailer_id",
        "customer_id",
        "channel",
        (opted_in & ~is_unsubscribed).alias("is_opted_in"),
        F.when(is_unsubscribed, changed_at).alias("unsubscribed_at"),
        F.when(is_unsubscribed, changed_at).otherwise(F.col("signup_at")).alias("updated_at"),
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _minus_seconds(ts: Column, seconds: Column) -> Column:
    return F.timestamp_seconds(F.unix_timestamp(ts) - seconds)


def _plus_seconds(ts: Column, seconds: Column) -> Column:
    return F.timestamp_seconds(F.unix_timestamp(ts) + seconds)
