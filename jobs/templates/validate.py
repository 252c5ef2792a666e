"""Template validation: every rule names the template, the retailer, the file and the line.

Rules (each has a failing example in tests/templates/test_validation.py):

    syntax               the Liquid does not parse
    unsupported-tag      {% include %} or {% render %}: workspaces hold no partials, so a
                         template must be whole (shared parts belong in a layout)
    engine-dependent     a form whose meaning differs between Liquid engines (`blank`:
                         "empty" in python-liquid and LiquidJS, never true in Ruby Liquid
                         without Rails, which Braze runs)
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

import re
from collections.abc import Iterator
from dataclasses import replace

from liquid.exceptions import LiquidError, LiquidSyntaxError

from jobs.config import CampaignConfig, Conf, RetailerConfig
from jobs.config.models import Variant
from jobs.config.positions import value_line
from jobs.templates.compose import CONTENT_SLOT, SLOT, render_branded
from jobs.templates.library import (
    Layout,
    TemplateLibrary,
    TemplateSpec,
)
from jobs.templates.message_checks import (
    check_rendered,
    images_without_alt,
    line_at,
)
from jobs.templates.overrides import override_problems
from jobs.templates.problems import TemplateProblem
from jobs.templates.variables import (
    BRAND_VARIABLES,
    CUSTOMER_VARIABLES,
    Layers,
    campaign_variables,
    configured_layers,
    merge_variables,
    winning_layers,
)
from jobs.text.liquid import parse

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


def validate_library(conf: Conf, library: TemplateLibrary) -> list[TemplateProblem]:
    """Every problem of the library, its layouts, metadata and campaign overrides."""
    problems = [p for layout in library.layouts.values() for p in _layout_problems(layout)]
    for spec in library.templates.values():
        problems += _source_problems(library, spec)
    broken = {
        p.template_id
        for p in problems
        if p.rule in ("syntax", "unknown-slot", "unsupplied-variable", "unsupported-tag")
    }
    problems += override_problems(conf, library)
    for retailer in conf.retailers.values():
        for spec in library.for_retailer(retailer):
            if spec.template_id not in broken and f"layout:{spec.layout_name}" not in broken:
                problems += rendered_problems(conf, library, retailer, spec)
    return problems


# --- sources: syntax, variables nobody supplies, images without alt --------------------


def _field_line(library: TemplateLibrary, spec: TemplateSpec, name: str) -> int:
    return value_line(library.path_of(spec.template_id), "fields", name)


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

    portability = list(_portability_problems(source))
    for rule, line_in_field, message in portability:
        yield problem(rule, line_in_field, message)
    if any(rule == "unsupported-tag" for rule, _, _ in portability):
        return  # analysing would try to load the partial
    try:
        globals_ = parse(source).analyze().globals
    except LiquidSyntaxError as error:
        yield problem("syntax", _error_line(source, error), _first_line(error))
        return
    for variable, uses in sorted(globals_.items()):
        if variable not in supplied:
            yield problem(
                "unsupplied-variable", line_at(source, uses[0].span.index), _unsupplied(variable)
            )
    if name == "html":
        for line in images_without_alt(source):
            yield problem("img-alt", line, "<img> without an alt attribute")


# Tags that load another template: no provider workspace holds partials to load.
PARTIAL_TAGS = ("include", "render")
BLANK = re.compile(r"\bblank\b")


def _portability_problems(source: str) -> Iterator[tuple[str, int, str]]:
    """(rule, line, message) for what would render differently, or not at all, at the
    provider: the same template must mean the same in every Liquid engine."""
    for match in MARKUP.finditer(source):
        line = line_at(source, match.start())
        if match.group(1) in PARTIAL_TAGS:
            yield (
                "unsupported-tag",
                line,
                f"{{% {match.group(1)} %}} loads another template, which no workspace holds; "
                "write the shared part into the template or its layout",
            )
        elif BLANK.search(match.group(0)):
            yield (
                "engine-dependent",
                line,
                "'blank' is never true in Ruby Liquid without Rails (what Braze runs), so "
                "an empty value would still show; compare with 'empty' "
                "(`{% if x != empty %}`) or give a `| default:`",
            )


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
        return line_at(source, error.token.start_index)
    for match in MARKUP.finditer(source):
        tag = match.group(1)
        if tag is not None and (tag.startswith("end") or tag in ("raw", "comment")):
            continue
        try:
            parse(ALONE.get(tag or "", "{0}").format(match.group(0)))
        except LiquidSyntaxError:
            return line_at(source, match.start())
    return 1


def _unsupplied(variable: str) -> str:
    return (
        f"uses '{variable}', which no layer supplies: declare it under `variables:` "
        "with a default, or fix the name"
    )


def _layout_problems(layout: Layout) -> list[TemplateProblem]:
    problems = []
    for path, source in layout.files():
        where = f"layout:{layout.name}"
        for match in SLOT.finditer(source):
            if match.group(1) not in (*BRAND_VARIABLES, CONTENT_SLOT):
                problems.append(
                    TemplateProblem(
                        "unknown-slot",
                        where,
                        str(path),
                        line_at(source, match.start()),
                        f"[[ {match.group(1)} ]] is not a brand slot "
                        f"(known: {[*BRAND_VARIABLES, CONTENT_SLOT]})",
                    )
                )
        liquid = SLOT.sub("", source)
        portability = [
            TemplateProblem(rule, where, str(path), line, message)
            for rule, line, message in _portability_problems(liquid)
        ]
        if portability:
            problems += portability
            continue
        try:
            parse(liquid)
        except LiquidSyntaxError as error:
            line = _error_line(liquid, error)
            problems.append(TemplateProblem("syntax", where, str(path), line, _first_line(error)))
            continue
        if path == layout.html_path:
            problems += [
                TemplateProblem("img-alt", where, str(path), line, "<img> without alt")
                for line in images_without_alt(source)
            ]
    return problems


def _layout_variables(
    layout: Layout, spec: TemplateSpec, supplied: set[str]
) -> list[TemplateProblem]:
    """A layout's own `{{ variables }}` (the preheader, say) must be supplied to each template."""
    problems = []
    for path, source in layout.files():
        liquid = SLOT.sub("", source)
        try:
            globals_ = parse(liquid).analyze().globals
        except LiquidSyntaxError:
            continue  # reported once, by _layout_problems
        for variable, uses in sorted(globals_.items()):
            if variable not in supplied:
                problems.append(
                    TemplateProblem(
                        "unsupplied-variable",
                        spec.template_id,
                        str(path),
                        line_at(liquid, uses[0].span.index),
                        f"layout '{layout.name}' {_unsupplied(variable)}",
                    )
                )
    return problems


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
            if _variant_template(campaign, variant, spec.channel) != spec.deployed_id:
                continue
            if not campaign_variables(campaign, variant.variant_id):
                continue  # renders exactly as the retailer's, checked above
            found_here = _render_checks(conf, library, retailer, spec, campaign, variant.variant_id)
            for found in found_here:
                if (found.rule, found.message) not in seen:
                    seen.add((found.rule, found.message))
                    message = f"variant '{variant.variant_id}': {found.message}"
                    problems.append(
                        replace(found, message=message, campaign_id=campaign.campaign_id)
                    )
    return problems


def _variant_template(campaign: CampaignConfig, variant: Variant, channel: str) -> str | None:
    if channel not in campaign.channels:
        return None
    return variant.templates.get(channel, campaign.templates.get(channel))


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
