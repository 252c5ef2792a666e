"""Overrides may only set variables their templates declare, and never the brand.

Checked for metadata.yaml (a retailer's every-template and per-template
overrides) and for each campaign's and variant's `variables`.
"""

from __future__ import annotations

from pathlib import Path

from jobs.config import CampaignConfig, Conf
from jobs.config.positions import value_line
from jobs.templates.library import TemplateLibrary, TemplateSpec, campaign_templates
from jobs.templates.problems import TemplateProblem
from jobs.templates.variables import BRAND_VARIABLES


def override_problems(conf: Conf, library: TemplateLibrary) -> list[TemplateProblem]:
    problems = []
    metadata = library.metadata_path
    for retailer_id, entry in library.metadata.retailers.items():
        retailer = conf.retailers.get(retailer_id)
        if retailer is None:
            continue  # reported by load_library
        specs = library.for_retailer(retailer)
        for name in entry.variables:
            line = value_line(metadata, "retailers", retailer_id, "variables", name)
            reason = _override_reason(name, specs, retailer_id)
            if reason:
                problems.append(_override(reason, "(every template)", metadata, line, retailer_id))
        for template_id, values in entry.template_variables.items():
            spec = library.spec_for(retailer_id, template_id)
            for name in values:
                reason = _override_reason(name, [spec] if spec else [], retailer_id)
                line = value_line(
                    metadata, "retailers", retailer_id, "template_variables", template_id, name
                )
                if reason:
                    problems.append(_override(reason, template_id, metadata, line, retailer_id))
    for campaign in conf.campaigns.values():
        path = conf.campaign_paths.get(campaign.campaign_id, conf.root / "campaigns")
        problems += _campaign_override_problems(library, campaign, path)
    return problems


def _campaign_override_problems(
    library: TemplateLibrary, campaign: CampaignConfig, path: Path
) -> list[TemplateProblem]:
    specs = [
        spec
        for template_id in sorted(campaign_templates(campaign))
        if (spec := library.spec_for(campaign.retailer_id, template_id)) is not None
    ]
    places: list[tuple[tuple[str, ...], str]] = [
        (("variables", name), name) for name in campaign.variables
    ]
    places += [
        (("variants", str(index), "variables", name), name)
        for index, variant in enumerate(campaign.variants)
        for name in variant.variables
    ]
    problems = []
    for keys, name in places:
        reason = _override_reason(name, specs, campaign.retailer_id)
        if reason:
            problems.append(
                TemplateProblem(
                    "unknown-override",
                    ", ".join(spec.deployed_id for spec in specs),
                    str(path),
                    value_line(path, *keys),
                    reason,
                    campaign.retailer_id,
                    campaign.campaign_id,
                )
            )
    return problems


def _override_reason(name: str, specs: list[TemplateSpec], retailer_id: str) -> str | None:
    if name in BRAND_VARIABLES:
        return (
            f"'{name}' is part of the brand: set it in the retailer's configuration "
            f"(conf/retailers, '{retailer_id}'), not as an override"
        )
    if any(name in spec.variables for spec in specs):
        return None
    declared = sorted({v for spec in specs for v in spec.variables})
    return f"override '{name}' is declared by none of its templates (declared: {declared})"


def _override(
    reason: str, template_id: str, path: Path, line: int, retailer_id: str | None
) -> TemplateProblem:
    return TemplateProblem("unknown-override", template_id, str(path), line, reason, retailer_id)
