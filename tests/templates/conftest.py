"""Helpers to break a copy of the template library in one place and find the line."""

from __future__ import annotations

from pathlib import Path

from jobs.config import load_conf
from jobs.templates import load_library
from jobs.templates.problems import TemplateProblem
from jobs.templates.validate import validate_library


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the first occurrence of `text` (what an error must point at)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def problems_of(conf_dir: Path) -> list[TemplateProblem]:
    conf = load_conf(conf_dir)
    return validate_library(conf, load_library(conf))


def library_file(conf_dir: Path, stage: str, template_id: str) -> Path:
    return conf_dir / "templates" / "library" / stage / f"{template_id}.yaml"
