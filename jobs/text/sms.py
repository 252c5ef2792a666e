"""How many segments a text costs: carriers bill, and phones reassemble, per segment.

A text in the GSM 03.38 alphabet packs 7-bit septets: 160 in one message, 153 per
segment once it is split (the rest carries the concatenation header); the extension
characters (`{ } [ ] ~ | ^ \\ €` and form feed) take an escape septet each, and a pair
is never split between segments. One character outside that alphabet (an emoji, most
accented capitals, curly quotes) turns the whole text into UCS-2: 70 UTF-16 code units
in one message, 67 per segment, a surrogate pair (an emoji) never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PER_SEGMENT = {"GSM-7": 153, "UCS-2": 67}
Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsSize:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    # The first character that forced UCS-2, so a template author can replace it.
    first_wide_character: str | None = None

    def describe(self) -> str:
        why = (
            f" (UCS-2 because of {self.first_wide_character!r})"
            if self.first_wide_character
            else ""
        )
        return f"{self.segments} segment(s), {self.units} {self.encoding} units{why}"


def sms_size(text: str) -> SmsSize:
    """The encoding a phone would use for `text`, its length in that encoding's units and
    the segments it is sent (and billed) as; an empty text is one segment."""
    wide = next((c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION), None)
    if wide is None:
        widths = [2 if c in GSM7_EXTENSION else 1 for c in text]
        return SmsSize("GSM-7", sum(widths), _segments(widths, "GSM-7"))
    widths = [len(c.encode("utf-16-le")) // 2 for c in text]
    return SmsSize("UCS-2", sum(widths), _segments(widths, "UCS-2"), wide)


def text_problem(body: str, max_segments: int) -> str | None:
    """What makes a rendered text unfit to send, or None: too many segments, or no
    opt-out instruction (carriers require the word STOP in marketing texts)."""
    size = sms_size(body)
    if size.segments > max_segments:
        return f"{size.describe()} (limit {max_segments})"
    if not re.search(r"\bSTOP\b", body, re.IGNORECASE):
        return "does not tell how to opt out; end it with 'Reply STOP to opt out'"
    return None


def _segments(widths: list[int], encoding: Encoding) -> int:
    """Segments when characters are packed in order and none is split across two."""
    if sum(widths) <= SINGLE[encoding]:
        return 1
    room, segments, used = PER_SEGMENT[encoding], 1, 0
    for width in widths:
        if used + width > room:
            segments, used = segments + 1, 0
        used += width
    return segments
