"""Configuration for synthetic retailers, so platform-scale runs have a campaign each.

conf/ describes the demo retailers; a 350-banner benchmark needs 347 more.
They get the same validated models as real configuration, built in code.
"""

from __future__ import annotations

import dataclasses

from jobs.config import CampaignConfig, Conf, RetailerConfig
from jobs.dev.synthetic.generator import SyntheticRetailer
from jobs.dev.synthetic.seed import seed_retailers

BENCH_AUDIENCE = [
    {"rule": "days_since_last_order", "min": 30},
    {"rule": "order_count", "min": 2, "window_days": 365},
]


def retailer_config(conf: Conf, retailer: SyntheticRetailer) -> RetailerConfig:
    """The configured retailer, or a plausible one for a synthetic id."""
    if retailer.retailer_id in conf.retailers:
        return conf.retailers[retailer.retailer_id]
    slug = retailer.retailer_id.replace("-", "")
    return RetailerConfig.model_validate(
        {
            "retailer_id": retailer.retailer_id,
            "slug": slug,
            "brand": {
                "name": slug.title(),
                "logo_url": f"https://assets.campaigns.example/{slug}.png",
                "primary_color": "#336699",
                "secondary_color": "#FFFFFF",
            },
            "postal_address": "1 Synthetic Way, Springfield, USA",
            "timezone": "UTC",
            "default_locale": retailer.default_locale,
            "channels": retailer.channels,
            "workspace": {
                "workspace_id": f"ws-{slug}",
                "base_url": f"http://127.0.0.1:8610/ws/ws-{slug}",
                "api_key_env": f"CAMPAIGNS_WS_{slug.upper()}_API_KEY",
            },
            "rate_limit": {"requests_per_second": 10, "burst": 20},
            "ip_pool": "shared-synthetic",
        }
    )


def winback_campaign(retailer: RetailerConfig) -> CampaignConfig:
    """A representative winback: two variants (one with an offer) and a 10% holdout."""
    return CampaignConfig.model_validate(
        {
            "campaign_id": f"{retailer.retailer_id}-bench-winback",
            "retailer_id": retailer.retailer_id,
            "type": "winback",
            "channels": retailer.channels,
            "audience": BENCH_AUDIENCE,
            "variants": [
                {"variant_id": "control", "weight": 1},
                {
                    "variant_id": "offer",
                    "weight": 1,
                    "offer": {"kind": "percent_off", "percent": 10, "min_basket_cents": 3000},
                },
            ],
            "holdout_share": 0.1,
            "templates": {channel: f"winback-{channel}" for channel in retailer.channels},
        }
    )


def platform_conf(conf: Conf, count: int) -> Conf:
    """conf/ grown to `count` retailers, each synthetic one with its benchmark winback campaign.

    Deterministic, so a simulator process and a job process that both call it
    agree on every workspace.
    """
    retailers = {r.retailer_id: retailer_config(conf, r) for r in seed_retailers(conf, count)}
    campaigns = dict(conf.campaigns)
    for retailer_id, retailer in retailers.items():
        if retailer_id not in conf.retailers:
            campaign = winback_campaign(retailer)
            campaigns[campaign.campaign_id] = campaign
    return dataclasses.replace(conf, retailers=retailers, campaigns=campaigns)
