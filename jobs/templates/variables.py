"""Which value a template variable takes: the one precedence rule, shared by every job.

Template defaults, then the retailer's overrides, then the campaign's (and
its variant's), then the customer's own variables: the most specific wins.
Delivery, preview and deploy all call these functions, so a preview shows
exactly what a customer receives.
"""

from __future__ import annotations

from collections.abc import Mapping

from jobs.config import CampaignConfig, Conf, RetailerConfig


def merge_variables(*layers: Mapping[str, str | None]) -> dict[str, str]:
    """Later layers win; a missing (None) value never hides an earlier one."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update({name: value for name, value in layer.items() if value is not None})
    return merged


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


def campaign_variables(campaign: CampaignConfig, variant_id: str) -> dict[str, str]:
    """The campaign's overrides, then its variant's (a variant is the more specific)."""
    variant = next((v for v in campaign.variants if v.variant_id == variant_id), None)
    return merge_variables(campaign.variables, variant.variables if variant else {})


def message_base_variables(
    *,
    template_defaults: Mapping[str, str],
    brand: Mapping[str, str],
    retailer_overrides: Mapping[str, str],
    campaign_overrides: Mapping[str, str],
) -> dict[str, str]:
    """Everything but the customer layer: computed once per (campaign, variant, template)."""
    return merge_variables(template_defaults, brand, retailer_overrides, campaign_overrides)


def message_variables(
    base: Mapping[str, str], customer: Mapping[str, str | None]
) -> dict[str, str]:
    """A recipient's final properties: the customer's own variables win over everything."""
    return merge_variables(base, customer)
