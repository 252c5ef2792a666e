"""One precedence rule: template defaults < retailer overrides < campaign < customer."""

from __future__ import annotations

from jobs.config import load_conf
from jobs.delivery.source import customer_layer, offer_text
from jobs.templates import load_library, merge_variables
from jobs.templates.variables import campaign_variables, message_variables
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


def test_the_customer_layer_wins_over_every_configured_layer() -> None:
    base = message_base_variables(
        template_defaults={"first_name": "", "subject": "t"},
        brand={"brand_name": "FreshMart"},
        retailer_overrides={"subject": "r"},
        campaign_overrides={"subject": "c"},
    )
    assert message_variables(base, {"first_name": "Ann", "promo_code": None}) == {
        "first_name": "Ann",
        "subject": "c",
        "brand_name": "FreshMart",
    }


def test_a_variant_overrides_its_campaign() -> None:
    conf = load_conf(REPO_CONF)
    campaign = conf.campaign("fresh-mart-winback")
    variant = campaign.variants[1].model_copy(update={"variables": {"subject": "Ten percent off"}})
    changed = campaign.model_copy(update={"variants": [campaign.variants[0], variant]})
    assert campaign_variables(changed, "control")["subject"] == "We miss you at FreshMart"
    assert campaign_variables(changed, variant.variant_id)["subject"] == "Ten percent off"


def test_library_metadata_decides_who_receives_what() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    assert [t.template_id for t in library.for_retailer(conf.retailer("maple-market"))] == [
        "weekly-deals-email"
    ]
    fresh = {t.template_id for t in library.for_retailer(conf.retailer("fresh-mart"))}
    assert {"winback-email", "winback-push"} <= fresh
    assert library.overrides("fresh-mart")["cta_url"] == "https://freshmart.example/shop"


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
