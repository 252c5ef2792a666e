"""The template library loads with every problem named by file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.config import ConfigError, load_conf
from jobs.templates import load_library


def test_a_campaign_naming_a_template_the_library_lacks_is_an_error(conf_dir: Path) -> None:
    path = conf_dir / "campaigns" / "green-grocer-welcome.yaml"
    path.write_text(path.read_text().replace("welcome-email", "welcom-email"))
    with pytest.raises(ConfigError, match="template 'welcom-email' is not in the library"):
        load_library(load_conf(conf_dir))


def test_metadata_for_unknown_retailers_and_templates_is_reported_together(conf_dir: Path) -> None:
    path = conf_dir / "templates" / "metadata.yaml"
    path.write_text(
        path.read_text()
        + "  fresh-mrt:\n    variables: {}\n"
        + "  green-grocer-2:\n    templates: [no-such-template]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_library(load_conf(conf_dir))
    message = str(caught.value)
    assert "retailers.fresh-mrt" in message and "unknown retailer" in message
    assert "unknown template 'no-such-template'" in message


def test_a_template_with_an_unknown_field_names_its_file(conf_dir: Path) -> None:
    path = conf_dir / "templates" / "library" / "winback" / "winback-push.yaml"
    path.write_text(path.read_text() + "colour: green\n")
    with pytest.raises(ConfigError, match=r"winback-push\.yaml: colour"):
        load_library(load_conf(conf_dir))
