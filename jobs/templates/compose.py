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

from jobs.config import Conf, RetailerConfig
from jobs.providers.base import Template
from jobs.templates.library import TemplateLibrary, TemplateSpec
from jobs.templates.variables import retailer_variables
from jobs.text.liquid import render_fields

SLOT = re.compile(r"\[\[\s*([a-z_]+)\s*\]\]")
CONTENT_SLOT = "content"
BRAND_SLOT = "brand_slot_"
# How brand text is written into each layout file: escaped in HTML, as is in text.
ESCAPE: dict[str, Callable[[str], str]] = {"html": html.escape, "text": str}


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


def channel_templates(
    conf: Conf, library: TemplateLibrary, channel: str, retailer: RetailerConfig
) -> dict[str, Template]:
    """A retailer's branded templates of one channel, by the id campaigns name them by
    (the SMS client renders these: its provider stores none)."""
    brand = retailer_variables(conf, retailer)
    return {
        spec.deployed_id: deployable(library, spec, brand)
        for spec in library.for_retailer(retailer)
        if spec.channel == channel
    }


def content_hash(template: Template) -> str:
    """What decides whether a workspace's copy is current: channel, id and fields."""
    canonical = json.dumps(
        [template.channel, template.template_id, dict(sorted(template.fields.items()))],
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


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
