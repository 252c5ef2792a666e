"""Segment counting of texts, with the cases that bill a surprise."""

from __future__ import annotations

import pytest

from jobs.text.sms import sms_size


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),  # split: 153 per segment
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        # accented letters in the GSM alphabet stay 7-bit
        ("Café à Köln? Ünd Ñ: é è ù ì ò Å Ø ß", "GSM-7", 35, 1),
        ("Noël", "UCS-2", 4, 1),  # but ë is not in it
        # an extension character takes two septets: 159 + 2 no longer fits one message
        ("a" * 159 + "€", "GSM-7", 161, 2),
        # ... and its pair is never split: 152 + '{' moves whole into the second segment
        ("a" * 152 + "{" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 152 + "{" + "a" * 153, "GSM-7", 307, 3),
        # one character outside the alphabet makes the whole text UCS-2
        ("a" * 70, "GSM-7", 70, 1),
        ("ç" + "a" * 69, "UCS-2", 70, 1),  # lower-case ç is not GSM-7 (only Ç is)
        ("ç" + "a" * 70, "UCS-2", 71, 2),
        ("Save 10% \u2019today\u2019", "UCS-2", 16, 1),  # curly quotes
        # an emoji is two UTF-16 units and is never split between segments
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" + "a" * 69, "UCS-2", 71, 2),
        ("a" * 66 + "😀" + "a" * 10, "UCS-2", 78, 2),
        ("a" * 66 + "😀" + "a" * 66, "UCS-2", 134, 3),
    ],
)
def test_segments_of_awkward_texts(text: str, encoding: str, units: int, segments: int) -> None:
    size = sms_size(text)

    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_the_character_that_forced_ucs2_is_named() -> None:
    size = sms_size("Fresh picks 🍓 this week")

    assert size.first_wide_character == "🍓"
    assert "UCS-2 because of '🍓'" in size.describe()
    assert sms_size("plain text").first_wide_character is None
