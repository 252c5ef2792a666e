"""The branded template a workspace stores, and the fast rendering validation and
preview use, produce the same message, even for a brand with markup in its name."""

from __future__ import annotations

from jobs.config import load_conf
from jobs.templates import load_library, merge_variables
from jobs.templates.compose import branded_fields, render_branded
from jobs.templates.validate import SAMPLE_CUSTOMER
from jobs.templates.variables import configured_layers
from jobs.text.liquid import render_fields
from tests.conftest import REPO_CONF


def test_render_branded_equals_rendering_the_deployed_copy_for_every_retailer() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    for retailer in conf.retailers.values():
        for spec in library.for_retailer(retailer):
            layers = configured_layers(conf, library, retailer, spec.deployed_id)
            brand = merge_variables(layers["brand"])
            variables = merge_variables(*layers.values(), SAMPLE_CUSTOMER)
            deployed = render_fields(branded_fields(library, spec, brand), variables)
            assert render_branded(library, spec, brand, variables) == deployed


def test_brand_text_is_escaped_in_html_and_never_read_as_liquid() -> None:
    conf = load_conf(REPO_CONF)
    library = load_library(conf)
    spec = library.templates["winback-email"]
    retailer = conf.retailer("fresh-mart")
    layers = configured_layers(conf, library, retailer, "winback-email")
    brand = {**merge_variables(layers["brand"]), "brand_name": "Tom & Jerry's {{ Market }} <b>"}
    variables = merge_variables(*layers.values(), SAMPLE_CUSTOMER)
    deployed = branded_fields(library, spec, brand)
    assert "{% raw %}Tom &amp; Jerry&#x27;s {{ Market }} &lt;b&gt;{% endraw %}" in deployed["html"]
    rendered = render_fields(deployed, variables)
    assert 'alt="Tom &amp; Jerry&#x27;s {{ Market }} &lt;b&gt;"' in rendered["html"]
    assert "shop at Tom & Jerry's {{ Market }} <b>." in rendered["text"]
    assert render_branded(library, spec, brand, variables) == rendered
