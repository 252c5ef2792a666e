"""Cron expressions as Airflow reads them, checked when the configuration loads.

Airflow parses a campaign's cron only when the scheduler parses its DAG, so a typo
would surface hours later as a DAG import error; checking the five fields here
makes `validate-config` refuse it with the field that is wrong.
"""

from __future__ import annotations

import re

# Airflow's presets (and cron's own @ forms) that stand for a whole expression.
PRESETS = frozenset(
    {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names counted from `lowest`)
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
ITEM = re.compile(r"^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?$")


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a five-field cron (or an Airflow preset), or None."""
    if expression.strip() in PRESETS:
        return None
    parts = expression.split()
    if len(parts) != len(FIELDS):
        return (
            f"'{expression}' is not a cron expression: it needs five fields "
            "(minute hour day-of-month month day-of-week, e.g. '0 9 * * MON') or one of "
            f"{sorted(PRESETS)}"
        )
    for part, (name, low, high, names) in zip(parts, FIELDS, strict=True):
        for item in part.split(","):
            problem = _item_problem(item, low, high, names)
            if problem:
                return f"'{expression}': {name} field '{part}': {problem}"
    return None


def _item_problem(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    match = ITEM.match(item)
    if match is None:
        return f"'{item}' is not a value, a range a-b, * or a step /n"
    if match.group(2) is not None and int(match.group(2)) == 0:
        return "a step of 0 never repeats"
    if match.group(1) == "*":
        return None
    for bound in match.group(1).split("-"):
        value = _value(bound, low, names)
        if value is None or not low <= value <= high:
            spelled = f" or {names[0]}..{names[-1]}" if names else ""
            return f"'{bound}' is outside {low}..{high}{spelled}"
    return None


def _value(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    upper = text.upper()
    return names.index(upper) + low if upper in names else None
