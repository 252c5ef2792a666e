"""Template validation: every rule names the template, the retailer, the file and the line.

Rules (each has a failing example in tests/templates/test_validation.py):

    syntax               the Liquid does not parse
    unsupplied-variable  a template uses a variable that nobody supplies
    unknown-override     an override names a variable its template does not declare
    unknown-slot         a layout names a `[[ slot ]]` that is not a brand variable
    unsubscribe-link     an email has no link to the retailer's unsubscribe page
    length               subject, preheader or push text over its limit (metadata.yaml)
    html-size            email HTML over the size Gmail clips (102 KB)
    img-alt              an image without alt text
    render               the template fails to render with the retailer's sample message

Rendered rules run per retailer (its brand and overrides) and per campaign
variant (its overrides), with a sample customer: a subject that fits in one
retailer's voice can overflow in another's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from liquid.exceptions import LiquidError, LiquidSyntaxError

from jobs.config import CampaignConfig, Conf, RetailerConfig
from jobs.config.positions import value_line
from jobs.templates.compose import CONTENT_SLOT, SLOT, parse, render_branded
from jobs.templates.library import (
    Layout,
    TemplateLibrary,
    TemplateSpec,
    TextLimits,
    campaign_templates,
)
from jobs.templates.variables import (
    BRAND_VARIABLES,
    CUSTOMER_VARIABLES,
    Layers,
    campaign_variables,
    configured_layers,
    merge_variables,
    winning_layers,
)

# The customer every rendered check (and a preview without --customer) uses: long-ish
# values, so a subject that only fits with a short first name is caught.
SAMPLE_CUSTOMER: dict[str, str] = {
    "first_name": "Alexandra",
    "last_name": "Montgomery",
    "locale": "en-US",
    "favourite_category": "produce",
    "days_since_last_order": "64",
    "lifetime_orders": "12",
    "promo_code": "SAMPLE-7Q2X-K9",
    "offer_text": "15% off orders over $30.00.",
    "offer_expires_on": "2026-12-31",
}


@dataclass(frozen=True)
class TemplateProblem:
    rule: str
    template_id: str
    file: str
    line: int
    message: str
    retailer_id: str | None = None
    campaign_id: str | None = None

    @property
    def blocks_deploy(self) -> bool:
        """A campaign's bad override stops its launch, not the template's deploy."""
        return self.campaign_id is None and self.rule != "unknown-override"

    def __str__(self) -> str:
        who = f"template '{self.template_id}'"
        who += f", retailer '{self.retailer_id}'" if self.retailer_id else ""
        who += f", campaign '{self.campaign_id}'" if self.campaign_id else ""
        return f"{self.file}:{self.line}: {who}: {self.message} [{self.rule}]"


def validate_library(conf: Conf, library: TemplateLibrary) -> list[TemplateProblem]:
    """Every problem of the library, its layouts, metadata and campaign overrides."""
    problems = [p for layout in library.layouts.values() for p in _layout_problems(layout)]
    for spec in library.templates.values():
        problems += _source_problems(library, spec)
    broken = {
        p.template_id
        for p in problems
        if p.rule in ("syntax", "unknown-slot", "unsupplied-variable")
    }
    problems += _override_problems(conf, library)
    for retailer in conf.retailers.values():
        for spec in library.for_retailer(retailer):
            if spec.template_id not in broken and f"layout:{spec.layout_name}" not in broken:
                problems += rendered_problems(conf, library, retailer, spec)
    return problems


# --- sources: syntax, variables nobody supplies, images without alt --------------------


def _field_line(library: TemplateLibrary, spec: TemplateSpec, name: str) -> int:
    return value_line(library.path_of(spec.template_id), "fields", name)


def _line_at(source: str, index: int) -> int:
    return source.count("\n", 0, max(0, index)) + 1


def _source_problems(library: TemplateLibrary, spec: TemplateSpec) -> list[TemplateProblem]:
    supplied = {*spec.variables, *BRAND_VARIABLES, *CUSTOMER_VARIABLES}
    problems = [
        problem
        for name, source in spec.fields.items()
        for problem in _field_problems(library, spec, name, source, supplied)
    ]
    layout = library.layout_of(spec)
    if layout is not None:
        problems += _layout_variables(layout, spec, supplied)
    return problems


def _field_problems(
    library: TemplateLibrary, spec: TemplateSpec, name: str, source: str, supplied: set[str]
) -> Iterator[TemplateProblem]:
    path, first = library.path_of(spec.template_id), _field_line(library, spec, name)

    def problem(rule: str, line_in_field: int, message: str) -> TemplateProblem:
        line = first + line_in_field - 1
        return TemplateProblem(rule, spec.template_id, str(path), line, f"{name}: {message}")

    try:
        globals_ = parse(source).analyze().globals
    except LiquidSyntaxError as error:
        yield problem("syntax", _error_line(source, error), _first_line(error))
        return
    for variable, uses in sorted(globals_.items()):
        if variable not in supplied:
            yield problem(
                "unsupplied-variable", _line_at(source, uses[0].span.index), _unsupplied(variable)
            )
    if name == "html":
        for line in _images_without_alt(source, blank_too=False):
            yield problem("img-alt", line, "<img> without an alt attribute")


MARKUP = re.compile(r"{%-?\s*(\w+)(.*?)-?%}|{{.*?}}", re.DOTALL)
# How to parse one tag on its own: a block tag needs its end, a branch its block.
ALONE = {
    "if": "{0}{{% endif %}}",
    "unless": "{0}{{% endunless %}}",
    "for": "{0}{{% endfor %}}",
    "case": "{0}{{% endcase %}}",
    "capture": "{0}{{% endcapture %}}",
    "elsif": "{{% if true %}}{0}{{% endif %}}",
    "else": "{{% if true %}}{0}{{% endif %}}",
    "when": "{{% case 1 %}}{0}{{% endcase %}}",
}


def _error_line(source: str, error: LiquidSyntaxError) -> int:
    """Liquid reports most errors with a position; for the rest, the first tag or
    output that fails on its own is where the error is."""
    if error.token is not None and error.token.start_index >= 0:
        return _line_at(source, error.token.start_index)
    for match in MARKUP.finditer(source):
        tag = match.group(1)
        if tag is not None and (tag.startswith("end") or tag in ("raw", "comment")):
            continue
        try:
            parse(ALONE.get(tag or "", "{0}").format(match.group(0)))
        except LiquidSyntaxError:
            return _line_at(source, match.start())
    return 1


def _unsupplied(variable: str) -> str:
    return (
        f"uses '{variable}', which no layer supplies: declare it under `variables:` "
        "with a default, or fix the name"
    )


def _layout_problems(layout: Layout) -> list[TemplateProblem]:
    problems = []
    for path, source in ((layout.html_path, layout.html), (layout.text_path, layout.text)):
        where = f"layout:{layout.name}"
        for match in SLOT.finditer(source):
            if match.group(1) not in (*BRAND_VARIABLES, CONTENT_SLOT):
                problems.append(
                    TemplateProblem(
                        "unknown-slot",
                        where,
                        str(path),
                        _line_at(source, match.start()),
                        f"[[ {match.group(1)} ]] is not a brand slot "
                        f"(known: {[*BRAND_VARIABLES, CONTENT_SLOT]})",
                    )
                )
        try:
            parse(SLOT.sub("", source))
        except LiquidSyntaxError as error:
            line = _error_line(SLOT.sub("", source), error)
            problems.append(TemplateProblem("syntax", where, str(path), line, _first_line(error)))
            continue
        if path == layout.html_path:
            problems += [
                TemplateProblem("img-alt", where, str(path), line, "<img> without alt")
                for line in _images_without_alt(source, blank_too=False)
            ]
    return problems


def _layout_variables(
    layout: Layout, spec: TemplateSpec, supplied: set[str]
) -> list[TemplateProblem]:
    """A layout's own `{{ variables }}` (the preheader, say) must be supplied to each template."""
    problems = []
    for path, source in ((layout.html_path, layout.html), (layout.text_path, layout.text)):
        try:
            globals_ = parse(SLOT.sub("", source)).analyze().globals
        except LiquidSyntaxError:
            continue  # reported once, by _layout_problems
        for variable, uses in sorted(globals_.items()):
            if variable not in supplied:
                problems.append(
                    TemplateProblem(
                        "unsupplied-variable",
                        spec.template_id,
                        str(path),
                        _line_at(SLOT.sub("", source), uses[0].span.index),
                        f"layout '{layout.name}' {_unsupplied(variable)}",
                    )
                )
    return problems


# Email HTML is generated, not arbitrary: tags and attributes found by pattern, which is
# several times faster than html.parser across 350 retailers' templates.
TAG = re.compile(r"<(a|img)\b([^>]*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"""\b([a-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""", re.I)


def _attributes(markup: str) -> dict[str, str]:
    return {
        match.group(1).lower(): html.unescape(next((g for g in match.groups()[1:] if g), ""))
        for match in ATTRIBUTE.finditer(markup)
    }


def _images(source: str) -> Iterator[tuple[int, str | None]]:
    """(line, alt text or None when the attribute is missing) for every <img>."""
    for match in TAG.finditer(source):
        if match.group(1).lower() == "img":
            yield _line_at(source, match.start()), _attributes(match.group(2)).get("alt")


def _links(source: str) -> set[str]:
    return {
        _attributes(match.group(2)).get("href", "")
        for match in TAG.finditer(source)
        if match.group(1).lower() == "a"
    }


def _images_without_alt(source: str, *, blank_too: bool) -> Iterator[int]:
    for line, alt in _images(source):
        if alt is None or (blank_too and not alt.strip()):
            yield line


def _first_line(error: LiquidError) -> str:
    return str(error).splitlines()[0]


# --- rendered: per retailer and per campaign variant, with the sample customer ---------


def rendered_problems(
    conf: Conf, library: TemplateLibrary, retailer: RetailerConfig, spec: TemplateSpec
) -> list[TemplateProblem]:
    """The rendered rules for one retailer's template, then for each campaign variant
    that sends it with overrides of its own (only what the overrides newly break)."""
    problems = _render_checks(conf, library, retailer, spec, None, None)
    seen = {(p.rule, p.message) for p in problems}
    for campaign in conf.campaigns.values():
        if campaign.retailer_id != retailer.retailer_id:
            continue
        for variant in campaign.variants:
            if _variant_template(campaign, variant.variant_id, spec.channel) != spec.deployed_id:
                continue
            if not campaign_variables(campaign, variant.variant_id):
                continue  # renders exactly as the retailer's, checked above
            found_here = _render_checks(conf, library, retailer, spec, campaign, variant.variant_id)
            for found in found_here:
                if (found.rule, found.message) not in seen:
                    seen.add((found.rule, found.message))
                    message = f"variant '{variant.variant_id}': {found.message}"
                    problems.append(_with(found, message=message, campaign=campaign.campaign_id))
    return problems


def _variant_template(campaign: CampaignConfig, variant_id: str, channel: str) -> str | None:
    variant = next(v for v in campaign.variants if v.variant_id == variant_id)
    if channel not in campaign.channels:
        return None
    return variant.templates.get(channel, campaign.templates.get(channel))


def _with(problem: TemplateProblem, *, message: str, campaign: str) -> TemplateProblem:
    return TemplateProblem(
        problem.rule,
        problem.template_id,
        problem.file,
        problem.line,
        message,
        problem.retailer_id,
        campaign,
    )


def _render_checks(
    conf: Conf,
    library: TemplateLibrary,
    retailer: RetailerConfig,
    spec: TemplateSpec,
    campaign: CampaignConfig | None,
    variant_id: str | None,
) -> list[TemplateProblem]:
    layers = configured_layers(
        conf, library, retailer, spec.deployed_id, campaign=campaign, variant_id=variant_id
    )
    variables = merge_variables(*layers.values(), SAMPLE_CUSTOMER)
    brand = merge_variables(layers["brand"])
    problems: list[TemplateProblem] = []

    def problem(rule: str, field: str, message: str) -> None:
        problems.append(
            TemplateProblem(
                rule,
                spec.template_id,
                str(library.path_of(spec.template_id)),
                _field_line(library, spec, field),
                f"{field}: {message}",
                retailer.retailer_id,
            )
        )

    rendered: dict[str, str] = {}
    for name in spec.fields:
        try:
            rendered.update(render_branded(library, spec, brand, variables, fields=(name,)))
        except LiquidError as error:
            problem("render", name, f"does not render: {_first_line(error)}")
    if problems:
        return problems
    for rule, name, message in check_rendered(
        spec.channel, rendered, library.metadata.limits, brand["unsubscribe_url"]
    ):
        problem(rule, name, message + _value_sources(spec.fields[name], layers))
    return problems


def _value_sources(source: str, layers: Layers) -> str:
    """Where a field's values came from, so an overflow is fixed in the right file."""
    winners = winning_layers(layers)
    used = sorted(parse(source).analyze().globals)
    found = [f"'{name}' from the {winners[name]} layer" for name in used if name in winners]
    return f" ({', '.join(found)})" if found else ""


def check_rendered(
    channel: str, rendered: Mapping[str, str], limits: TextLimits, unsubscribe_url: str
) -> list[tuple[str, str, str]]:
    """(rule, field, message) for one rendered message; the preview page shows these live."""
    found = [
        ("length", name, f"{len(rendered[name])} characters (limit {limit})")
        for name, limit in _length_limits(channel, limits).items()
        if len(rendered[name]) > limit
    ]
    if channel != "email":
        return found
    size = len(rendered["html"].encode())
    if size > limits.html_bytes:
        found.append(
            ("html-size", "html", f"{size:,} bytes; Gmail clips above {limits.html_bytes:,}")
        )
    if unsubscribe_url not in _links(rendered["html"]):
        found.append(
            ("unsubscribe-link", "html", f"no link to the unsubscribe page {unsubscribe_url}")
        )
    if unsubscribe_url not in rendered["text"]:
        found.append(
            ("unsubscribe-link", "text", f"the unsubscribe page {unsubscribe_url} is missing")
        )
    if any(alt is not None and not alt.strip() for _, alt in _images(rendered["html"])):
        found.append(("img-alt", "html", "an <img> has empty alt text with these variables"))
    return found


def _length_limits(channel: str, limits: TextLimits) -> dict[str, int]:
    if channel == "email":
        return {"subject": limits.subject, "preheader": limits.preheader}
    return {"title": limits.push_title, "body": limits.push_body}


# --- overrides: metadata and campaigns may only set variables templates declare ----------


def _override_problems(conf: Conf, library: TemplateLibrary) -> list[TemplateProblem]:
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
    paths = _campaign_paths(conf.root)
    for campaign in conf.campaigns.values():
        path = paths.get(campaign.campaign_id, Path("conf/campaigns"))
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


def _campaign_paths(conf_root: Path) -> dict[str, Path]:
    """Campaign id -> its file (generated campaigns, as in benchmarks, have none)."""
    paths = {}
    for path in sorted((conf_root / "campaigns").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and "campaign_id" in data:
            paths[str(data["campaign_id"])] = path
    return paths
