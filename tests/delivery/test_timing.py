"""When a message may leave: quiet hours in local time (over midnight, across DST) and
a chosen send time."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from jobs.config.models import SMS_QUIET_HOURS, QuietHours, RetailerConfig
from jobs.delivery.timing import QUIET_HOURS, SEND_TIME, not_before, quiet_until, zone_of

CHICAGO = ZoneInfo("America/Chicago")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (utc(2026, 11, 3, 2, 59), None),  # 20:59 local: still allowed
        (utc(2026, 11, 3, 3, 0), utc(2026, 11, 3, 14, 0)),  # 21:00: until 08:00 tomorrow
        (utc(2026, 11, 3, 7, 0), utc(2026, 11, 3, 14, 0)),  # 01:00, past midnight: same day
        (utc(2026, 11, 3, 13, 59), utc(2026, 11, 3, 14, 0)),
        (utc(2026, 11, 3, 14, 0), None),  # 08:00 sharp: allowed
        # the night the clocks go back (1 Nov 2026, 02:00 CDT -> 01:00 CST): 08:00 CST
        (utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 14, 0)),
        # the night they go forward (8 Mar 2026): 08:00 CDT is 13:00 UTC
        (utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 13, 0)),
    ],
)
def test_sms_quiet_hours_in_chicago(now: datetime, until: datetime | None) -> None:
    assert quiet_until(now, CHICAGO, SMS_QUIET_HOURS) == until


def test_a_daytime_window_does_not_wrap() -> None:
    lunch = QuietHours(start=time(12), end=time(13))
    assert quiet_until(utc(2026, 11, 3, 18, 30), CHICAGO, lunch) == utc(2026, 11, 3, 19, 0)
    assert quiet_until(utc(2026, 11, 3, 19, 0), CHICAGO, lunch) is None


def test_a_send_time_in_quiet_hours_waits_for_them_to_end() -> None:
    now = utc(2026, 11, 3, 15, 0)  # 09:00 local
    at_ten = utc(2026, 11, 3, 16, 0)
    at_night = utc(2026, 11, 4, 4, 0)  # 22:00 local

    assert not_before(now, zone=CHICAGO, window=SMS_QUIET_HOURS, send_after=at_ten) == (
        at_ten,
        SEND_TIME,
    )
    assert not_before(now, zone=CHICAGO, window=SMS_QUIET_HOURS, send_after=at_night) == (
        utc(2026, 11, 4, 14, 0),
        QUIET_HOURS,
    )
    assert not_before(at_ten, zone=CHICAGO, window=None, send_after=at_ten) is None


def test_an_unknown_zone_falls_back_to_the_retailers() -> None:
    assert zone_of("Mars/Olympus_Mons", "America/Chicago") == CHICAGO
    assert zone_of(None, "America/Chicago") == CHICAGO
    assert zone_of("Europe/Paris", "America/Chicago") == ZoneInfo("Europe/Paris")


def test_sms_quiet_hours_cannot_be_loosened() -> None:
    with pytest.raises(ValueError, match="the law forbids"):
        RetailerConfig.model_validate({"quiet_hours": {"sms": {"start": "22:00", "end": "08:00"}}})
