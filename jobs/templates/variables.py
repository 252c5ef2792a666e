"""Which value a template variable takes: the one precedence rule, shared by every job.

Template defaults, then the retailer's overrides, then the campaign's (and
its variant's), then the customer's own variables: the most specific wins.
The retailer's brand (name, logo, colours, postal address, unsubscribe link)
sits with the retailer's layer. Delivery, validation, preview and deploy all
call `configured_layers`, so a preview shows exactly what a customer receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobs.config import CampaignConfig, Conf, RetailerConfig

if TYPE_CHECKING:
    from jobs.templates.library import TemplateLibrary

# What the platform supplies to every template of a retailer, from its configuration.
BRAND_VARIABLES = (
    "brand_name",
    "logo_url",
    "primary_color",
    "secondary_color",
    "postal_address",
    "sender",
    "unsubscribe_url",
)
# A customer's own variables: profile fields (campaigns engine) and the personal offer.
PROFILE_VARIABLES = (
    "first_name",
    "last_name",
    "locale",
    "favourite_category",
    "days_since_last_order",
    "lifetime_orders",
)
OFFER_VARIABLES = ("promo_code", "offer_text", "offer_expires_on")
CUSTOMER_VARIABLES = PROFILE_VARIABLES + OFFER_VARIABLES
Layers = dict[str, Mapping[str, str | None]]


def merge_variables(*layers: Mapping[str, str | None]) -> dict[str, str]:
    """Later layers win; a missing (None) value never hides an earlier one."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update({name: value for name, value in layer.items() if value is not None})
    return merged


def winning_layers(layers: Layers) -> dict[str, str]:
    """For each variable, the name of the layer its value comes from (for the preview)."""
    return {name: layer for layer, values in layers.items() for name in merge_variables(values)}


def retailer_variables(conf: Conf, retailer: RetailerConfig) -> dict[str, str]:
    """What every template of a retailer knows about its brand (the retailer layer's base)."""
    return {
        "brand_name": retailer.brand.name,
        "logo_url": retailer.brand.logo_url,
        "primary_color": retailer.brand.primary_color,
        "secondary_color": retailer.brand.secondary_color,
        "postal_address": retailer.postal_address,
        "sender": retailer.sending_identity(conf.platform.sending_domain),
        "unsubscribe_url": f"https://{conf.platform.sending_domain}/u/{retailer.slug}",
    }


def campaign_variables(campaign: CampaignConfig, variant_id: str | None) -> dict[str, str]:
    """The campaign's overrides, then its variant's (a variant is the more specific)."""
    variant = next((v for v in campaign.variants if v.variant_id == variant_id), None)
    return merge_variables(campaign.variables, variant.variables if variant else {})


def configured_layers(
    conf: Conf,
    library: TemplateLibrary,
    retailer: RetailerConfig,
    template_id: str,
    *,
    campaign: CampaignConfig | None = None,
    variant_id: str | None = None,
) -> Layers:
    """Every layer but the customer's, in precedence order: computed once per
    (retailer, campaign, variant, template) and shared by all its recipients."""
    spec = library.spec_for(retailer.retailer_id, template_id)
    return {
        "template": spec.variables if spec else {},
        "brand": retailer_variables(conf, retailer),
        "retailer": library.overrides(retailer.retailer_id, template_id),
        "campaign": campaign_variables(campaign, variant_id) if campaign else {},
    }


def message_variables(
    base: Mapping[str, str], customer: Mapping[str, str | None]
) -> dict[str, str]:
    """A recipient's final properties: the customer's own variables win over everything."""
    return merge_variables(base, customer)


def customer_layer(row: dict[str, Any]) -> dict[str, str | None]:
    """The customer's own variables: profile fields and the personal offer of the event."""
    layer: dict[str, str | None] = dict(row["variables"] or [])
    layer["promo_code"] = row["promo_code"]
    layer["offer_text"] = offer_text(row)
    if row["offer_expires_on"] is not None:
        layer["offer_expires_on"] = row["offer_expires_on"]
    return layer


def offer_text(row: dict[str, Any]) -> str | None:
    """The personal offer in words, e.g. '15% off orders over $30.00'."""
    kind = row["offer_kind"]
    if kind is None:
        return None
    minimum = row["offer_min_basket_cents"] or 0
    over = f" orders over ${minimum / 100:.2f}" if minimum else " your next order"
    if kind == "percent_off":
        return f"{row['offer_percent']:g}% off{over}."
    if kind == "amount_off":
        return f"${row['offer_amount_cents'] / 100:.2f} off{over}."
    return f"Free delivery on{over}."
