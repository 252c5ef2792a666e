"""The standard template library (conf/templates/library) and its metadata.

One YAML file a template: channel, lifecycle stage, the variables it uses
with their defaults, and its Liquid fields. `metadata.yaml` says which
retailers receive which templates and holds each retailer's overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from jobs.config import CampaignConfig, Conf, ConfigError, ConfigProblem, RetailerConfig
from jobs.config.loader import load_many, load_one
from jobs.config.models import Channel, Identifier, StrictModel

LIBRARY_FOLDER = "templates"


class TemplateSpec(StrictModel):
    template_id: Identifier
    channel: Channel
    stage: str = Field(pattern=r"^(onboarding|winback|promotional)$")
    description: str = ""
    variables: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(min_length=1)


class RetailerTemplates(StrictModel):
    templates: list[Identifier] | None = None
    variables: dict[str, str] = Field(default_factory=dict)


class TemplateMetadata(StrictModel):
    retailers: dict[str, RetailerTemplates] = Field(default_factory=dict)


@dataclass(frozen=True)
class TemplateLibrary:
    templates: dict[str, TemplateSpec]
    metadata: TemplateMetadata = field(default_factory=TemplateMetadata)

    def overrides(self, retailer_id: str) -> dict[str, str]:
        entry = self.metadata.retailers.get(retailer_id)
        return dict(entry.variables) if entry else {}

    def for_retailer(self, retailer: RetailerConfig) -> list[TemplateSpec]:
        """The templates a retailer receives: its channels, and its subset when it names one."""
        entry = self.metadata.retailers.get(retailer.retailer_id)
        wanted = None if entry is None or entry.templates is None else set(entry.templates)
        return [
            spec
            for template_id, spec in sorted(self.templates.items())
            if spec.channel in retailer.channels and (wanted is None or template_id in wanted)
        ]


def load_library(conf: Conf) -> TemplateLibrary:
    """Every template and the metadata, with every problem reported together."""
    root = conf.root / LIBRARY_FOLDER
    problems: list[ConfigProblem] = []
    loaded: dict[str, TemplateSpec] = {}
    for folder in sorted(p for p in (root / "library").glob("*") if p.is_dir()):
        found, _ = load_many(folder, TemplateSpec, "template_id", problems)
        for template_id, (spec, path) in found.items():
            if template_id in loaded:
                problems.append(ConfigProblem(str(path), "template_id", "defined twice"))
            loaded[template_id] = spec
    metadata = load_one(root / "metadata.yaml", TemplateMetadata, problems)
    problems.extend(_check_references(conf, loaded, metadata, root / "metadata.yaml"))
    if problems or metadata is None:
        raise ConfigError(problems)
    return TemplateLibrary(loaded, metadata)


def _check_references(
    conf: Conf,
    templates: dict[str, TemplateSpec],
    metadata: TemplateMetadata | None,
    metadata_path: Path,
) -> list[ConfigProblem]:
    problems = [
        ConfigProblem(
            f"conf/campaigns ({campaign.campaign_id})",
            "templates",
            f"template '{template_id}' is not in the library (known: {sorted(templates)})",
        )
        for campaign in conf.campaigns.values()
        for template_id in _campaign_templates(campaign)
        if template_id not in templates
    ]
    for retailer_id, entry in (metadata.retailers if metadata else {}).items():
        if retailer_id not in conf.retailers:
            problems.append(
                ConfigProblem(str(metadata_path), f"retailers.{retailer_id}", "unknown retailer")
            )
        for template_id in entry.templates or []:
            if template_id not in templates:
                problems.append(
                    ConfigProblem(
                        str(metadata_path),
                        f"retailers.{retailer_id}.templates",
                        f"unknown template '{template_id}'",
                    )
                )
    return problems


def _campaign_templates(campaign: CampaignConfig) -> set[str]:
    templates = set(campaign.templates.values())
    for variant in campaign.variants:
        templates |= set(variant.templates.values())
    return templates
