"""What one customer will see: a template rendered for a retailer, a campaign and a customer.

The preview composes the retailer's branded template exactly as the deploy
writes it to the workspace and takes each variable from the same layers, in
the same order, as the delivery job; only the customer layer differs (the
sample customer, a real one from the warehouse, or edits typed in the page).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from liquid.exceptions import LiquidError

from jobs.config import CampaignConfig, Conf, RetailerConfig
from jobs.errors import OperatorError
from jobs.templates.compose import render_branded
from jobs.templates.library import TemplateLibrary, TemplateSpec
from jobs.templates.message_checks import check_rendered
from jobs.templates.validate import SAMPLE_CUSTOMER
from jobs.templates.variables import (
    OFFER_VARIABLES,
    Layers,
    configured_layers,
    customer_layer,
    merge_variables,
    winning_layers,
)
from jobs.warehouse.store import DeltaStore

# The profile variables the customers table holds; the engine's computed ones
# (days since last order, ...) come with a campaign's event (--campaign).
PROFILE_COLUMNS = ("first_name", "last_name", "locale")


class PreviewError(OperatorError):
    """A preview request names something that does not exist or does not belong together."""


@dataclass(frozen=True)
class Preview:
    retailer_id: str
    template_id: str
    channel: str
    customer: str
    rendered: dict[str, str]
    variables: dict[str, str]
    layers: dict[str, str]
    declared: list[str]
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "retailer_id": self.retailer_id,
            "template_id": self.template_id,
            "channel": self.channel,
            "customer": self.customer,
            "sender": self.variables.get("sender"),
            "rendered": self.rendered,
            "variables": [
                {"name": name, "value": self.variables[name], "layer": self.layers.get(name)}
                for name in self.declared
            ],
            "problems": self.problems,
            "error": self.error,
        }


@dataclass(frozen=True)
class PreviewRequest:
    retailer_id: str
    template_id: str
    campaign_id: str | None = None
    variant_id: str | None = None
    customer_id: str | None = None
    edits: Mapping[str, str] = field(default_factory=dict)


def build_preview(
    conf: Conf,
    library: TemplateLibrary,
    request: PreviewRequest,
    *,
    store: DeltaStore | None = None,
) -> Preview:
    """Render a template for one retailer as its customer would receive it."""
    retailer = _retailer(conf, request.retailer_id)
    spec = _template(library, retailer, request.template_id)
    campaign = _campaign(conf, retailer, request.campaign_id)
    customer = _customer(store, retailer, spec, campaign, request.customer_id)
    variant_id = _variant(campaign, request.variant_id or customer.variant_id)
    layers: Layers = configured_layers(
        conf, library, retailer, spec.deployed_id, campaign=campaign, variant_id=variant_id
    )
    layer = customer.layer
    if request.customer_id is None and campaign and not _has_offer(campaign, variant_id):
        layer = {k: v for k, v in layer.items() if k not in OFFER_VARIABLES}
    layers["customer"] = layer
    layers["edits"] = dict(request.edits)
    variables = merge_variables(*layers.values())
    brand = merge_variables(layers["brand"])
    rendered: dict[str, str] = {}
    problems: list[str] = []
    error = None
    try:
        rendered = render_branded(library, spec, brand, variables)
    except LiquidError as failure:
        error = str(failure).splitlines()[0]
    else:
        problems = [
            f"{name}: {message} [{rule}]"
            for rule, name, message in check_rendered(
                spec.channel, rendered, library.metadata.limits, brand["unsubscribe_url"]
            )
        ]
    return Preview(
        retailer.retailer_id,
        spec.deployed_id,
        spec.channel,
        customer.label,
        rendered,
        variables,
        winning_layers(layers),
        sorted({*spec.variables, *request.edits}),
        problems,
        error,
    )


def _variant(campaign: CampaignConfig | None, variant_id: str | None) -> str | None:
    """The variant asked for (or the customer's own); the campaign's first by default."""
    if campaign is None:
        return None
    known = [v.variant_id for v in campaign.variants]
    if variant_id is not None and variant_id not in known:
        raise PreviewError(
            f"campaign '{campaign.campaign_id}' has no variant '{variant_id}' {known}"
        )
    return variant_id or known[0]


def _has_offer(campaign: CampaignConfig, variant_id: str | None) -> bool:
    """The sample customer gets an offer only where the variant makes one (not the control)."""
    return any(v.offer is not None for v in campaign.variants if v.variant_id == variant_id)


def _retailer(conf: Conf, retailer_id: str) -> RetailerConfig:
    retailer = conf.retailers.get(retailer_id)
    if retailer is None:
        raise PreviewError(f"unknown retailer '{retailer_id}' (known: {sorted(conf.retailers)})")
    return retailer


def _template(library: TemplateLibrary, retailer: RetailerConfig, template_id: str) -> TemplateSpec:
    received = {spec.deployed_id: spec for spec in library.for_retailer(retailer)}
    if template_id not in received:
        raise PreviewError(
            f"retailer '{retailer.retailer_id}' does not receive template '{template_id}' "
            f"(it receives: {sorted(received)}; see conf/templates/metadata.yaml)"
        )
    return received[template_id]


def _campaign(
    conf: Conf, retailer: RetailerConfig, campaign_id: str | None
) -> CampaignConfig | None:
    if campaign_id is None:
        return None
    campaign = conf.campaigns.get(campaign_id)
    if campaign is None or campaign.retailer_id != retailer.retailer_id:
        mine = sorted(
            c for c, cfg in conf.campaigns.items() if cfg.retailer_id == retailer.retailer_id
        )
        raise PreviewError(
            f"retailer '{retailer.retailer_id}' has no campaign '{campaign_id}' "
            f"(its campaigns: {mine})"
        )
    return campaign


@dataclass(frozen=True)
class _Customer:
    label: str
    layer: dict[str, str | None]
    variant_id: str | None = None


def _customer(
    store: DeltaStore | None,
    retailer: RetailerConfig,
    spec: TemplateSpec,
    campaign: CampaignConfig | None,
    customer_id: str | None,
) -> _Customer:
    """The customer layer: the sample customer, or a real one of this retailer only
    (as the campaign's newest run wrote it, with its variant and offer, if it did)."""
    if customer_id is None:
        return _Customer("sample customer", dict(SAMPLE_CUSTOMER))
    if store is None:
        raise PreviewError("a real customer needs the warehouse; none is configured")
    rid = retailer.retailer_id
    event = None
    if campaign is not None:
        event = _latest_event(store, rid, campaign.campaign_id, spec.channel, customer_id)
    if event is not None and campaign is not None:
        if event["is_holdout"]:
            raise PreviewError(
                f"customer '{customer_id}' is in the holdout of '{campaign.campaign_id}': "
                "it receives no message"
            )
        expires = event.pop("offer_expires_at")
        event["offer_expires_on"] = None if expires is None else f"{expires:%Y-%m-%d}"
        label = f"customer {customer_id} as sent by {campaign.campaign_id}"
        return _Customer(label, customer_layer(event), event["variant_id"])
    rows = _rows(store, "customers", rid, customer_id, list(PROFILE_COLUMNS))
    if not rows:
        raise PreviewError(
            f"customer '{customer_id}' is not among retailer '{rid}''s customers "
            f"in the warehouse at {store.root_uri}"
        )
    return _Customer(f"customer {customer_id}", {name: rows[0][name] for name in PROFILE_COLUMNS})


def _latest_event(
    store: DeltaStore, retailer_id: str, campaign_id: str, channel: str, customer_id: str
) -> dict[str, Any] | None:
    columns = [
        "campaign_id",
        "channel",
        "created_at",
        "variant_id",
        "is_holdout",
        "variables",
        "promo_code",
        "offer_kind",
        "offer_percent",
        "offer_amount_cents",
        "offer_min_basket_cents",
        "offer_expires_at",
    ]
    if store.find("campaign_events") is None:
        return None
    rows = [
        row
        for row in _rows(store, "campaign_events", retailer_id, customer_id, columns)
        if row["campaign_id"] == campaign_id and row["channel"] == channel
    ]
    return max(rows, key=lambda row: row["created_at"]) if rows else None


def _rows(
    store: DeltaStore, table: str, retailer_id: str, customer_id: str, columns: list[str]
) -> list[dict[str, Any]]:
    """One customer's rows of one retailer's partition: never another tenant's."""
    data = store.read_arrow(
        table, columns=["customer_id", *columns], partitions={"retailer_id": [retailer_id]}
    )
    return data.filter(pc.equal(data["customer_id"], customer_id)).to_pylist()


def parse_edits(items: list[str]) -> dict[str, str]:
    """`--set NAME=VALUE` items as the variables they try (each wins over every layer)."""
    return dict(_assignment(item) for item in items)


def _assignment(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name:
        raise PreviewError(f"--set '{item}' is not NAME=VALUE (e.g. --set first_name=Ava)")
    return name, value


def describe(preview: Preview, out: Path) -> list[str]:
    """The lines the command prints; email HTML is written to a file under `out`."""
    head = f"{preview.template_id} for {preview.retailer_id}, {preview.customer}"
    if preview.error:
        return [head, f"does not render: {preview.error}"]
    rendered = preview.rendered
    if preview.channel == "push":
        lines = [
            head,
            f"title:     {rendered['title']}",
            f"body:      {rendered['body']}",
            f"deep link: {rendered['deep_link']}",
        ]
    else:
        path = out / f"{_slug(preview.retailer_id)}-{_slug(preview.template_id)}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered["html"], encoding="utf-8")
        lines = [
            head,
            f"from:      {preview.variables.get('sender', '')}",
            f"subject:   {rendered['subject']}",
            f"preheader: {rendered['preheader']}",
            f"html:      {path} ({len(rendered['html'].encode()):,} bytes)",
            "text:",
            *(f"  {line}" if line else "" for line in rendered["text"].splitlines()),
        ]
    return lines + [f"warning: {problem}" for problem in preview.problems]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower())
