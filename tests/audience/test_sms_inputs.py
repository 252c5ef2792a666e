"""Phones: what counts as E.164, and a phone feed that is broken for one retailer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pyspark.sql import SparkSession

from jobs.quality.suites import refused_retailers
from jobs.warehouse import table_spec
from jobs.warehouse.registry import PHONE_PATTERN
from tests.conftest import T0


@pytest.mark.parametrize(
    ("number", "is_e164"),
    [
        ("+13125550142", True),
        ("+447911123456", True),
        ("+4930123456", True),  # Germany: numbers are shorter
        ("3125550142", False),  # no country code: never guessed
        ("13125550142", False),  # the country code without '+'
        ("00447911123456", False),  # the international prefix instead of '+'
        ("(312) 555-0142", False),
        ("+1 312 555 0142", False),  # spaces
        ("+1-312-555-0142", False),
        ("+0123456789", False),  # no country code starts with 0
        ("+1234567", False),  # too short
        ("+1234567890123456", False),  # 16 digits: longer than E.164 allows
        ("+١٣١٢٥٥٥٠١٤٢", False),  # Arabic-Indic digits
        ("", False),
    ],
)
def test_e164(number: str, is_e164: bool) -> None:
    assert bool(re.fullmatch(PHONE_PATTERN, number)) is is_e164


def customer(retailer: str, n: int, phone: str | None) -> tuple[object, ...]:
    return (retailer, f"c{n}", f"c{n}@example.com", None, phone, None, None, None, None, T0, T0)


def test_a_phone_feed_without_country_codes_refuses_that_retailer_only(
    spark: SparkSession,
) -> None:
    rows = [customer("healthy", n, f"+1312555{n:04d}") for n in range(10)]
    rows += [customer("healthy", 10, "(312) 555-0142"), customer("healthy", 11, None)]
    rows += [customer("broken", n, f"312555{n:04d}") for n in range(7)]
    rows += [customer("broken", n, f"+1312555{n:04d}") for n in range(7, 10)]
    customers_df = spark.createDataFrame(rows, table_spec("customers").schema)
    orders_df = spark.createDataFrame([], table_spec("orders").schema)
    consents_df = spark.createDataFrame([], table_spec("consents").schema)

    refused = refused_retailers(customers_df, orders_df, consents_df, now=T0 + timedelta(days=1))

    assert list(refused) == ["broken"]
    assert refused["broken"] == [
        "customers: 3 of 10 phones are in E.164 (+ and country code) (30%; at least 80% "
        "needed): the phone feed looks broken"
    ]
