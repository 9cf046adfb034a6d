"""When a learner may be reminded of due reviews: daily, in their own daytime, never after
they opted out."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

QUIET_FROM = 20  # no reminders from 20:00 ...
QUIET_UNTIL = 9  # ... until 09:00, the learner's local time
EVERY = timedelta(hours=20)  # at most one a day, give or take the hourly beat


def local_time(now: datetime, timezone: str) -> datetime:
    try:
        return now.astimezone(ZoneInfo(timezone)) if timezone else now
    except (ZoneInfoNotFoundError, ValueError):
        return now  # an unknown zone: UTC rather than silence


def should_remind(
    now: datetime, *, due: int, enabled: bool, timezone: str, reminded_at: datetime | None
) -> bool:
    if due <= 0 or not enabled:
        return False
    if reminded_at is not None and now - reminded_at < EVERY:
        return False
    hour = local_time(now, timezone).hour
    return QUIET_UNTIL <= hour < QUIET_FROM


def reminder_text(due: int) -> str:
    reviews = "1 review is" if due == 1 else f"{due} reviews are"
    return f"{reviews} due — say *quiz* to start. (Say *reminders off* to stop these.)"
