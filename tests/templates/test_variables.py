"""One precedence rule: template defaults < retailer overrides < campaign < customer."""

from __future__ import annotations

from jobs.config import load_conf
from jobs.templates import load_library, merge_variables
from jobs.templates.variables import (
    campaign_variables,
    configured_layers,
    customer_layer,
    message_variables,
    offer_text,
    winning_layers,
)
from tests.conftest import REPO_CONF


def test_later_layers_win_and_missing_values_never_hide_earlier_ones() -> None:
    merged = merge_variables(
        {"subject": "template", "cta": "template", "footer": "template"},
        {"subject": "retailer", "cta": "retailer"},
        {"subject": "campaign", "cta": None},
        {"first_name": "Ann"},
    )
    assert merged == {
        "subject": "campaign",
        "cta": "retailer",
        "footer": "template",
        "first_name": "Ann",
    }


def test_each_layer_wins_over_the_one_before_and_the_customer_over_all() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    layers = configured_layers(
        conf,
        library,
        conf.retailer("fresh-mart"),
        "winback-email",
        campaign=conf.campaign("fresh-mart-winback"),
        variant_id="control",
    )
    assert list(layers) == ["template", "brand", "retailer", "campaign"]
    base = merge_variables(*layers.values())
    assert base["headline"] == "It has been a while"  # template default
    assert base["brand_name"] == "FreshMart"  # brand
    assert base["cta_url"] == "https://freshmart.example/shop"  # retailer over template
    assert base["subject"] == "We miss you at FreshMart"  # campaign over template
    final = message_variables(base, {"first_name": "Ann", "promo_code": None, "subject": "Hi"})
    assert (final["first_name"], final["subject"], final["promo_code"]) == ("Ann", "Hi", "")
    assert winning_layers({**layers, "customer": {"first_name": "Ann"}})["first_name"] == (
        "customer"
    )


def test_a_retailers_per_template_override_wins_over_its_every_template_one() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    assert library.overrides("fresh-mart", "winback-push")["deep_link"] == "freshmart://home"
    assert "deep_link" not in library.overrides("fresh-mart", "welcome-push")
    assert library.overrides("fresh-mart", "welcome-push")["cta_url"] == (
        "https://freshmart.example/shop"
    )


def test_library_metadata_decides_who_receives_what() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    assert [t.template_id for t in library.for_retailer(conf.retailer("maple-market"))] == [
        "weekly-deals-email"
    ]
    fresh = {t.template_id for t in library.for_retailer(conf.retailer("fresh-mart"))}
    assert {"winback-email", "winback-push", "welcome-email"} <= fresh


def test_a_retailer_specific_variant_takes_the_standard_templates_place() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    green = {t.deployed_id: t for t in library.for_retailer(conf.retailer("green-grocer"))}
    assert green["welcome-email"].template_id == "welcome-email-green-grocer"
    layers = configured_layers(conf, library, conf.retailer("green-grocer"), "welcome-email")
    assert layers["template"]["subject"] == "Welcome to the Green Grocer family"
    fresh = library.spec_for("fresh-mart", "welcome-email")
    assert fresh is not None and fresh.template_id == "welcome-email"


def test_offers_are_put_in_words_for_the_customer_layer() -> None:
    row = {
        "offer_kind": "amount_off",
        "offer_percent": None,
        "offer_amount_cents": 500,
        "offer_min_basket_cents": 4000,
        "offer_expires_on": None,
        "promo_code": "ABC",
        "variables": [("first_name", "Ann")],
    }
    assert offer_text(row) == "$5.00 off orders over $40.00."
    assert customer_layer(row) == {
        "first_name": "Ann",
        "promo_code": "ABC",
        "offer_text": offer_text(row),
    }
    assert offer_text({**row, "offer_kind": None}) is None


def test_a_variant_overrides_its_campaign() -> None:
    conf = load_conf(REPO_CONF)
    campaign = conf.campaign("fresh-mart-winback")
    variant = campaign.variants[1].model_copy(update={"variables": {"subject": "Ten percent off"}})
    changed = campaign.model_copy(update={"variants": [campaign.variants[0], variant]})
    assert campaign_variables(changed, "control")["subject"] == "We miss you at FreshMart"
    assert campaign_variables(changed, variant.variant_id)["subject"] == "Ten percent off"
