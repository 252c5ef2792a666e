"""A retailer's branded version of a template, and rendering it as the provider will.

Two moments fill a template. At deploy, the email layout's `[[ slots ]]` take
the retailer's brand (logo, colours, postal address, unsubscribe link) and the
template's own `html` and `text`: the result is what the retailer's workspace
stores. At send, the provider fills the `{{ Liquid }}` with each recipient's
properties. Brand values are escaped for HTML and can never inject Liquid.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache

from liquid import Environment, StrictUndefined
from liquid.template import BoundTemplate

from jobs.providers import Template
from jobs.templates.library import TemplateLibrary, TemplateSpec

SLOT = re.compile(r"\[\[\s*([a-z_]+)\s*\]\]")
CONTENT_SLOT = "content"
BRAND_SLOT = "brand_slot_"
# How brand text is written into each layout file: escaped in HTML, as is in text.
ESCAPE: dict[str, Callable[[str], str]] = {"html": html.escape, "text": str}
# Strict, like the provider: a variable nobody supplies is an error, never an empty string.
LIQUID = Environment(undefined=StrictUndefined)


def branded_fields(
    library: TemplateLibrary, spec: TemplateSpec, brand: Mapping[str, str]
) -> dict[str, str]:
    """The template as the retailer's workspace stores it: inside its layout, branded."""
    return _in_layout(
        library, spec, lambda kind: {n: _literal(ESCAPE[kind](v)) for n, v in brand.items()}
    )


def _in_layout(
    library: TemplateLibrary, spec: TemplateSpec, slots: Callable[[str], Mapping[str, str]]
) -> dict[str, str]:
    """The template's fields, `html` and `text` put into its layout with `slots(kind)`."""
    layout = library.layout_of(spec)
    if layout is None:
        return dict(spec.fields)
    return {
        **spec.fields,
        **{
            kind: fill_slots(
                getattr(layout, kind), {**slots(kind), CONTENT_SLOT: spec.fields[kind].strip()}
            )
            for kind in ESCAPE
        },
    }


def fill_slots(source: str, values: Mapping[str, str]) -> str:
    """Replace each `[[ name ]]`; validation has already reported unknown slots."""
    return SLOT.sub(lambda match: values.get(match.group(1), match.group(0)), source)


def _literal(value: str) -> str:
    """Brand text goes out as written, even if it happens to contain `{{` or `{%`."""
    if "{{" in value or "{%" in value:
        return "{% raw %}" + value.replace("{% endraw %}", "") + "{% endraw %}"
    return value


def deployable(library: TemplateLibrary, spec: TemplateSpec, brand: Mapping[str, str]) -> Template:
    return Template(spec.deployed_id, spec.channel, branded_fields(library, spec, brand))


def content_hash(template: Template) -> str:
    """What decides whether a workspace's copy is current: channel, id and fields."""
    canonical = json.dumps(
        [template.channel, template.template_id, dict(sorted(template.fields.items()))],
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@lru_cache(maxsize=8192)
def parse(source: str) -> BoundTemplate:
    return LIQUID.from_string(source)


def render_fields(fields: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """Every field rendered with one recipient's properties (raises LiquidError)."""
    return {name: parse(source).render(**variables) for name, source in fields.items()}


def render_branded(
    library: TemplateLibrary,
    spec: TemplateSpec,
    brand: Mapping[str, str],
    variables: Mapping[str, str],
    *,
    fields: tuple[str, ...] | None = None,
) -> dict[str, str]:
    """What `render_fields(branded_fields(...), variables)` renders, without parsing each
    retailer's branded copy: the brand goes in as variables of one shared parse. Validation
    and preview render every retailer's templates this way (tests hold the two equal)."""
    sources = _in_layout(
        library, spec, lambda kind: {n: "{{ " + _slot_variable(kind, n) + " }}" for n in brand}
    )
    values = {
        **variables,
        **{_slot_variable(kind, n): ESCAPE[kind](v) for kind in ESCAPE for n, v in brand.items()},
    }
    wanted = fields or tuple(sources)
    return render_fields({name: sources[name] for name in wanted}, values)


def _slot_variable(kind: str, slot: str) -> str:
    return f"{BRAND_SLOT}{kind}__{slot}"
