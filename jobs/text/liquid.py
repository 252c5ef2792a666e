"""Liquid as the provider renders it: strict, so a variable nobody supplies is an error,
never an empty string. One parse per distinct source, shared by every render."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from liquid import Environment, StrictUndefined
from liquid.template import BoundTemplate

LIQUID = Environment(undefined=StrictUndefined)


@lru_cache(maxsize=8192)
def parse(source: str) -> BoundTemplate:
    return LIQUID.from_string(source)


def render_fields(fields: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """Every field rendered with one recipient's properties (raises LiquidError)."""
    return {name: parse(source).render(**variables) for name, source in fields.items()}
