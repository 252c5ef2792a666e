"""Every template, for every retailer and campaign variant, renders byte-identically in
python-liquid (what validation and preview use) and in LiquidJS (another engine a
provider may run): a template whose meaning depends on the engine is a bug.

LiquidJS comes from npm into tests/liquidjs/node_modules through `make test`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping

from jobs.config import Conf, load_conf
from jobs.templates import load_library
from jobs.templates.compose import branded_fields
from jobs.templates.library import TemplateLibrary, TemplateSpec
from jobs.templates.validate import SAMPLE_CUSTOMER
from jobs.templates.variables import configured_layers, merge_variables
from jobs.text.liquid import render_fields
from tests.conftest import REPO_CONF, REPO_ROOT

LIQUIDJS = REPO_ROOT / "tests" / "liquidjs"
# A customer with nothing optional: no first name, no offer. The case where engines
# disagreed on `blank` (an empty "Code:" line, "A little something for you, .").
BARE_CUSTOMER: dict[str, str | None] = {
    "first_name": "",
    "last_name": "",
    "promo_code": None,
    "offer_text": None,
    "offer_expires_on": None,
}
Message = tuple[str, dict[str, str], dict[str, str]]


def render_in_liquidjs(messages: list[tuple[dict[str, str], dict[str, str]]]) -> list[dict]:
    node = shutil.which("node")
    assert node, "Node.js is needed for this test (Debian: apt-get install nodejs)"
    assert (LIQUIDJS / "node_modules" / "liquidjs").is_dir(), "run `make test` to install it"
    payload = [{"fields": fields, "variables": variables} for fields, variables in messages]
    done = subprocess.run(
        [node, str(LIQUIDJS / "render.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def every_message(conf: Conf, library: TemplateLibrary) -> Iterator[Message]:
    """(label, stored fields, recipient variables) per retailer, template, variant, customer."""
    for retailer in conf.retailers.values():
        for spec in library.for_retailer(retailer):
            for label, layers in _layer_sets(conf, library, retailer.retailer_id, spec):
                fields = branded_fields(library, spec, merge_variables(layers["brand"]))
                for name, customer in (("sample", SAMPLE_CUSTOMER), ("bare", BARE_CUSTOMER)):
                    variables = merge_variables(*layers.values(), customer)
                    yield f"{label} {spec.template_id} {name}", fields, variables


def _layer_sets(
    conf: Conf, library: TemplateLibrary, retailer_id: str, spec: TemplateSpec
) -> Iterator[tuple[str, Mapping]]:
    retailer = conf.retailers[retailer_id]
    yield retailer_id, configured_layers(conf, library, retailer, spec.deployed_id)
    for campaign in conf.campaigns.values():
        if campaign.retailer_id != retailer_id:
            continue
        for variant in campaign.variants:
            yield (
                f"{campaign.campaign_id}/{variant.variant_id}",
                configured_layers(
                    conf,
                    library,
                    retailer,
                    spec.deployed_id,
                    campaign=campaign,
                    variant_id=variant.variant_id,
                ),
            )


def test_every_template_renders_the_same_in_python_liquid_and_liquidjs() -> None:
    conf = load_conf(REPO_CONF)
    messages = list(every_message(conf, load_library(conf)))
    in_python = [render_fields(fields, variables) for _, fields, variables in messages]
    in_js = render_in_liquidjs([(fields, variables) for _, fields, variables in messages])
    differing = [
        (label, name)
        for (label, _, _), python, js in zip(messages, in_python, in_js, strict=True)
        for name in python
        if python[name] != js[name]
    ]
    assert len(messages) > 50 and differing == []


def test_a_message_without_a_first_name_or_an_offer_shows_neither() -> None:
    conf = load_conf(REPO_CONF)
    bare = [
        render_fields(fields, variables)
        for label, fields, variables in every_message(conf, load_library(conf))
        if label.endswith(" bare")
    ]
    texts = [text for message in bare for text in message.values()]
    assert not [t for t in texts if "Code:" in t or "Code <" in t or ", ." in t or ", ," in t]


def test_the_two_engines_are_compared_for_real() -> None:
    """The comparison can fail: integer division is 2 in python-liquid (and Ruby), 2.5
    in LiquidJS."""
    source = "{{ 5 | divided_by: 2 }}"
    [js] = render_in_liquidjs([({"x": source}, {})])
    assert render_fields({"x": source}, {}) != js
