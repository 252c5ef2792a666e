"""Where each value of a YAML file starts, so errors can name a file and a line.

Pydantic validates the loaded data, which has no positions; the checks that
run after it (template validation above all) look lines up here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

KeyPath = tuple[str, ...]


@lru_cache(maxsize=512)
def _value_lines(path: Path, modified_ns: int) -> dict[KeyPath, int]:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[KeyPath, int] = {}
    _walk(root, (), lines)
    return lines


def _walk(node: yaml.Node | None, prefix: KeyPath, lines: dict[KeyPath, int]) -> None:
    """Mapping keys by name, sequence items by position ("0", "1", ...)."""
    if isinstance(node, yaml.MappingNode):
        items = [(str(key.value), value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        items = [(str(index), value) for index, value in enumerate(node.value)]
    else:
        return
    for name, value in items:
        here = (*prefix, name)
        # A block scalar (`|` or `>`) starts on its indicator's line; its text, which is
        # what a Liquid line number counts from, starts on the next one.
        block = isinstance(value, yaml.ScalarNode) and value.style in ("|", ">")
        lines[here] = value.start_mark.line + 1 + (1 if block else 0)
        _walk(value, here, lines)


def value_line(path: Path, *keys: str) -> int:
    """The 1-based line where the value at `keys` starts; 0 when the file has no such key."""
    try:
        modified = path.stat().st_mtime_ns
    except OSError:
        return 0
    return _value_lines(path, modified).get(tuple(keys), 0)
