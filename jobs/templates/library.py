"""The standard template library (conf/templates) and its metadata.

    conf/templates/library/<stage>/<template>.yaml   one template: channel, stage,
                                                     declared variables with defaults,
                                                     Liquid fields
    conf/templates/layouts/<name>.html, <name>.txt   the shared email layouts
    conf/templates/metadata.yaml                     who receives what, retailer-specific
                                                     variants, variable overrides, limits

A retailer-specific variant is a template with `variant_of: <template>`: the
retailers that metadata gives it to receive it in place of the standard one,
under the standard one's id, so campaigns name one template for everybody.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, model_validator

from jobs.config import CampaignConfig, Conf, ConfigError, ConfigProblem, RetailerConfig
from jobs.config.loader import load_many, load_one
from jobs.config.models import Channel, Identifier, StrictModel
from jobs.templates.variables import merge_variables

LIBRARY_FOLDER = "templates"
DEFAULT_LAYOUT = "standard"
NO_LAYOUT = "none"
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("subject", "preheader", "html", "text"),
    "push": ("title", "body", "deep_link"),
    "sms": ("body",),
}


class TemplateSpec(StrictModel):
    template_id: Identifier
    channel: Channel
    stage: str = Field(pattern=r"^(onboarding|winback|promotional)$")
    description: str = ""
    variables: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, str] = Field(min_length=1)
    # Email only: the shared layout that wraps `html` and `text` ("none": the template is whole).
    layout: str | None = None
    variant_of: Identifier | None = None

    @model_validator(mode="after")
    def _fields_of_its_channel(self) -> TemplateSpec:
        wanted = CHANNEL_FIELDS[self.channel]
        missing = [name for name in wanted if name not in self.fields]
        unknown = sorted(set(self.fields) - set(wanted))
        if missing or unknown:
            raise ValueError(
                f"a {self.channel} template has exactly the fields {list(wanted)}; "
                f"missing {missing}, unknown {unknown}"
            )
        if self.channel != "email" and self.layout is not None:
            raise ValueError(f"{self.channel} templates have no layout; remove 'layout'")
        return self

    @property
    def deployed_id(self) -> str:
        """The id in the workspace: a retailer's variant stands in for the standard one."""
        return self.variant_of or self.template_id

    @property
    def layout_name(self) -> str | None:
        if self.channel != "email" or self.layout == NO_LAYOUT:
            return None
        return self.layout or DEFAULT_LAYOUT


class RetailerTemplates(StrictModel):
    templates: list[Identifier] | None = None
    variants: dict[Identifier, Identifier] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict)
    template_variables: dict[Identifier, dict[str, str]] = Field(default_factory=dict)


class TextLimits(StrictModel):
    """Where a message stops being read whole (defaults and reasons in the README)."""

    subject: int = Field(default=100, ge=1)
    preheader: int = Field(default=140, ge=1)
    push_title: int = Field(default=50, ge=1)
    push_body: int = Field(default=178, ge=1)
    html_bytes: int = Field(default=102 * 1024, ge=1)
    # Each segment of a text is billed; past three, long texts read as spam.
    sms_segments: int = Field(default=3, ge=1, le=10)


class TemplateMetadata(StrictModel):
    limits: TextLimits = TextLimits()
    retailers: dict[str, RetailerTemplates] = Field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """A shared email layout: `[[ brand slots ]]` filled at deploy, `{{ Liquid }}` at send."""

    name: str
    html: str
    text: str
    html_path: Path
    text_path: Path

    def files(self) -> list[tuple[Path, str]]:
        """(path, source) of the HTML and the text layout."""
        return [(self.html_path, self.html), (self.text_path, self.text)]


@dataclass(frozen=True)
class TemplateLibrary:
    templates: dict[str, TemplateSpec]
    metadata: TemplateMetadata = field(default_factory=TemplateMetadata)
    layouts: dict[str, Layout] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    metadata_path: Path = Path("conf/templates/metadata.yaml")

    def _entry(self, retailer_id: str) -> RetailerTemplates:
        return self.metadata.retailers.get(retailer_id) or RetailerTemplates()

    def overrides(self, retailer_id: str, template_id: str) -> dict[str, str]:
        """The retailer's overrides for one template: its per-template ones win."""
        entry = self._entry(retailer_id)
        return merge_variables(entry.variables, entry.template_variables.get(template_id, {}))

    def spec_for(self, retailer_id: str, template_id: str) -> TemplateSpec | None:
        """The template a retailer gets under `template_id`: its own variant, if any."""
        chosen = self._entry(retailer_id).variants.get(template_id, template_id)
        return self.templates.get(chosen)

    def for_retailer(self, retailer: RetailerConfig) -> list[TemplateSpec]:
        """The templates a retailer receives: its channels, its subset, its variants."""
        entry = self._entry(retailer.retailer_id)
        wanted = None if entry.templates is None else set(entry.templates)
        chosen = [
            self.spec_for(retailer.retailer_id, template_id)
            for template_id, spec in sorted(self.templates.items())
            if spec.variant_of is None
            and spec.channel in retailer.channels
            and (wanted is None or template_id in wanted)
        ]
        return [spec for spec in chosen if spec is not None]

    def layout_of(self, spec: TemplateSpec) -> Layout | None:
        name = spec.layout_name
        return None if name is None else self.layouts[name]

    def path_of(self, template_id: str) -> Path:
        return self.paths.get(template_id, Path(f"conf/templates/library ({template_id})"))


def load_library(conf: Conf) -> TemplateLibrary:
    """Every template, layout and the metadata, with every problem reported together.

    This checks structure and references; `validate_library` checks the Liquid.
    """
    root = conf.root / LIBRARY_FOLDER
    problems: list[ConfigProblem] = []
    loaded: dict[str, TemplateSpec] = {}
    paths: dict[str, Path] = {}
    for folder in sorted(p for p in (root / "library").glob("*") if p.is_dir()):
        found, _ = load_many(folder, TemplateSpec, "template_id", problems)
        for template_id, (spec, path) in found.items():
            if template_id in loaded:
                problems.append(ConfigProblem(str(path), "template_id", "defined twice"))
            loaded[template_id], paths[template_id] = spec, path
    layouts = _load_layouts(root / "layouts", problems)
    metadata = load_one(root / "metadata.yaml", TemplateMetadata, problems)
    library = TemplateLibrary(
        loaded, metadata or TemplateMetadata(), layouts, paths, root / "metadata.yaml"
    )
    problems.extend(_check_templates(library))
    problems.extend(_check_campaigns(conf, library))
    problems.extend(_check_metadata(conf, library))
    if problems or metadata is None:
        raise ConfigError(problems)
    return library


def _load_layouts(folder: Path, problems: list[ConfigProblem]) -> dict[str, Layout]:
    layouts: dict[str, Layout] = {}
    for html_path in sorted(folder.glob("*.html")):
        text_path = html_path.with_suffix(".txt")
        if not text_path.exists():
            problems.append(ConfigProblem(str(text_path), "", "a layout needs .html and .txt"))
            continue
        layouts[html_path.stem] = Layout(
            html_path.stem,
            html_path.read_text(encoding="utf-8"),
            text_path.read_text(encoding="utf-8"),
            html_path,
            text_path,
        )
    return layouts


def _check_templates(library: TemplateLibrary) -> list[ConfigProblem]:
    problems = []
    for template_id, spec in library.templates.items():
        path = str(library.path_of(template_id))
        name = spec.layout_name
        if name is not None and name not in library.layouts:
            known = sorted(library.layouts)
            problems.append(ConfigProblem(path, "layout", f"no layout '{name}' (known: {known})"))
        base = library.templates.get(spec.variant_of or "")
        if spec.variant_of is not None and (base is None or base.variant_of is not None):
            reason = f"'{spec.variant_of}' is not a standard template of the library"
            problems.append(ConfigProblem(path, "variant_of", reason))
        elif base is not None and base.channel != spec.channel:
            reason = f"a variant keeps its template's channel ({base.channel})"
            problems.append(ConfigProblem(path, "channel", reason))
    return problems


def _check_campaigns(conf: Conf, library: TemplateLibrary) -> list[ConfigProblem]:
    """Each template a campaign names is in the library, of its channel, and deployed
    to the campaign's retailer: otherwise every message would fail at the provider."""
    standard = sorted(t for t, spec in library.templates.items() if spec.variant_of is None)
    problems = []
    for campaign in conf.campaigns.values():
        path = str(conf.campaign_paths.get(campaign.campaign_id, conf.root / "campaigns"))
        retailer = conf.retailers[campaign.retailer_id]
        received = {spec.deployed_id for spec in library.for_retailer(retailer)}
        for where, channel, template_id in _named_templates(campaign):
            spec = library.templates.get(template_id)
            if template_id not in standard or spec is None:
                reason = f"template '{template_id}' is not in the library (known: {standard})"
            elif spec.channel != channel:
                reason = f"template '{template_id}' is a {spec.channel} template, not {channel}"
            elif template_id not in received:
                reason = (
                    f"template '{template_id}' is not deployed to retailer "
                    f"'{campaign.retailer_id}' (it receives {sorted(received)}); add it to "
                    f"retailers.{campaign.retailer_id}.templates in {library.metadata_path}"
                )
            else:
                continue
            problems.append(ConfigProblem(path, where, reason))
    return problems


def _named_templates(campaign: CampaignConfig) -> list[tuple[str, str, str]]:
    """(field, channel, template id) of every template a campaign's file names."""
    named: list[tuple[str, str, str]] = [
        (f"templates.{ch}", ch, template) for ch, template in campaign.templates.items()
    ]
    named += [
        (f"variants.{index}.templates.{ch}", ch, template)
        for index, variant in enumerate(campaign.variants)
        for ch, template in variant.templates.items()
    ]
    return named


def _check_metadata(conf: Conf, library: TemplateLibrary) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    path = str(library.metadata_path)

    def problem(where: str, reason: str) -> None:
        problems.append(ConfigProblem(path, where, reason))

    for retailer_id, entry in library.metadata.retailers.items():
        where = f"retailers.{retailer_id}"
        if retailer_id not in conf.retailers:
            problem(where, "unknown retailer")
        for template_id in entry.templates or []:
            if template_id not in library.templates:
                problem(f"{where}.templates", f"unknown template '{template_id}'")
        retailer = conf.retailers.get(retailer_id)
        received = [] if retailer is None else library.for_retailer(retailer)
        for template_id in entry.template_variables:
            reason = _template_variables_key_problem(library, template_id, received)
            if reason:
                problem(f"{where}.template_variables.{template_id}", reason)
        for template_id, variant_id in entry.variants.items():
            variant = library.templates.get(variant_id)
            if variant is None or variant.variant_of != template_id:
                problem(
                    f"{where}.variants.{template_id}",
                    f"'{variant_id}' is not a variant of '{template_id}' "
                    f"(its file must say `variant_of: {template_id}`)",
                )
    return problems


def _template_variables_key_problem(
    library: TemplateLibrary, template_id: str, received: list[TemplateSpec]
) -> str | None:
    """Overrides are looked up by the id deployed in the workspace; any other key would
    be silently never applied."""
    spec = library.templates.get(template_id)
    deployed = sorted(spec.deployed_id for spec in received)
    if spec is None:
        return f"unknown template '{template_id}' (this retailer receives {deployed})"
    if spec.variant_of is not None:
        return (
            f"'{template_id}' is a variant of '{spec.variant_of}'; key its overrides by the "
            f"id it is deployed under: '{spec.variant_of}'"
        )
    if template_id not in deployed:
        return f"'{template_id}' is not deployed to this retailer (it receives {deployed})"
    return None


def campaign_templates(campaign: CampaignConfig) -> set[str]:
    """Every template a campaign sends, over its channels and variants."""
    templates = set(campaign.templates.values())
    for variant in campaign.variants:
        templates |= set(variant.templates.values())
    return templates
