"""Checks of one rendered message: lengths, HTML size, the unsubscribe link, alt text,
and a text's segments and opt-out instruction.

Validation runs them for every retailer and campaign variant; the preview page
runs them on every edit.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping

from jobs.templates.library import TextLimits
from jobs.text.sms import text_problem


def line_at(source: str, index: int) -> int:
    return source.count("\n", 0, max(0, index)) + 1


# Email HTML is generated, not arbitrary: tags and attributes found by pattern, which is
# several times faster than html.parser across 350 retailers' templates.
TAG = re.compile(r"<(a|img)\b([^>]*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(r"""\b([a-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""", re.I)


def _attributes(markup: str) -> dict[str, str]:
    return {
        match.group(1).lower(): html.unescape(next((g for g in match.groups()[1:] if g), ""))
        for match in ATTRIBUTE.finditer(markup)
    }


def images(source: str) -> Iterator[tuple[int, str | None]]:
    """(line, alt text or None when the attribute is missing) for every <img>."""
    for match in TAG.finditer(source):
        if match.group(1).lower() == "img":
            yield line_at(source, match.start()), _attributes(match.group(2)).get("alt")


def links(source: str) -> set[str]:
    return {
        _attributes(match.group(2)).get("href", "")
        for match in TAG.finditer(source)
        if match.group(1).lower() == "a"
    }


def images_without_alt(source: str) -> Iterator[int]:
    """Lines of the <img> tags that have no alt attribute at all."""
    for line, alt in images(source):
        if alt is None:
            yield line


def check_rendered(
    channel: str, rendered: Mapping[str, str], limits: TextLimits, unsubscribe_url: str
) -> list[tuple[str, str, str]]:
    """(rule, field, message) for one rendered message; the preview page shows these live."""
    found = [
        ("length", name, f"{len(rendered[name])} characters (limit {limit})")
        for name, limit in length_limits(channel, limits).items()
        if len(rendered[name]) > limit
    ]
    if channel == "sms":
        return found + _sms_problems(rendered["body"], limits)
    if channel != "email":
        return found
    size = len(rendered["html"].encode())
    if size > limits.html_bytes:
        found.append(
            ("html-size", "html", f"{size:,} bytes; Gmail clips above {limits.html_bytes:,}")
        )
    if unsubscribe_url not in links(rendered["html"]):
        found.append(
            ("unsubscribe-link", "html", f"no link to the unsubscribe page {unsubscribe_url}")
        )
    if unsubscribe_url not in rendered["text"]:
        found.append(
            ("unsubscribe-link", "text", f"the unsubscribe page {unsubscribe_url} is missing")
        )
    if any(alt is not None and not alt.strip() for _, alt in images(rendered["html"])):
        found.append(("img-alt", "html", "an <img> has empty alt text with these variables"))
    return found


def _sms_problems(body: str, limits: TextLimits) -> list[tuple[str, str, str]]:
    problem = text_problem(body, limits.sms_segments)
    return [] if problem is None else [("sms", "body", problem)]


def length_limits(channel: str, limits: TextLimits) -> dict[str, int]:
    if channel == "email":
        return {"subject": limits.subject, "preheader": limits.preheader}
    if channel == "sms":
        return {}
    return {"title": limits.push_title, "body": limits.push_body}
