"""When a message may leave: not inside its channel's quiet hours in the customer's own
time zone, and not before the send time the launch chose for it (`send_after`).

Pure functions of an instant, so the sender decides at the moment a request would
leave, and tests decide with any clock. A message that may not leave yet is deferred
with the instant it becomes eligible; the next run after that instant sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobs.config.models import QuietHours

QUIET_HOURS = "quiet_hours"
SEND_TIME = "send_time"


def zone_of(name: str | None, fallback: str) -> ZoneInfo:
    """The customer's zone, or the retailer's when the customer's is missing or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo(fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def quiet_until(now: datetime, zone: ZoneInfo, window: QuietHours) -> datetime | None:
    """When the window ends, if `now` is inside it in `zone` (UTC), else None."""
    local = now.astimezone(zone)
    if not window.is_quiet(local.time()):
        return None
    ends_today = local.time() < window.end
    day = local.date() if ends_today else local.date() + timedelta(days=1)
    # a window ending in a skipped hour (spring forward) ends at the first valid instant
    return datetime.combine(day, window.end, tzinfo=zone).astimezone(UTC)


def not_before(
    now: datetime,
    *,
    zone: ZoneInfo,
    window: QuietHours | None,
    send_after: datetime | None,
) -> tuple[datetime, str] | None:
    """(the instant the message becomes eligible, why it waits), or None: it may go now.

    A chosen send time that falls in quiet hours waits for the window's end too."""
    if send_after is not None and send_after > now:
        later = not_before(send_after, zone=zone, window=window, send_after=None)
        return (later[0], QUIET_HOURS) if later else (send_after, SEND_TIME)
    if window is None:
        return None
    until = quiet_until(now, zone, window)
    return None if until is None else (until, QUIET_HOURS)
