"""Times and dates in Associated Press style, in a story's own time zone.

AP style: "9:40 p.m.", "3 p.m." (no ":00"), "noon", "midnight"; months abbreviated when
followed by a day, except the short ones ("Nov. 29", "March 3", "Sept. 5").
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = (
    "Jan.",
    "Feb.",
    "March",
    "April",
    "May",
    "June",
    "July",
    "Aug.",
    "Sept.",
    "Oct.",
    "Nov.",
    "Dec.",
)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The named zone, falling back to UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: Python 3.11 raises IsADirectoryError for a zone folder such as "America".
        return ZoneInfo("UTC")


def ap_time(moment: datetime, tz: str) -> str:
    """``moment`` as an AP-style clock time in ``tz``: "9:40 p.m.", "3 p.m.", "noon"."""
    local = moment.astimezone(zone(tz))
    if local.minute == 0 and local.hour in (0, 12):
        return "midnight" if local.hour == 0 else "noon"
    hour = local.hour % 12 or 12
    suffix = "a.m." if local.hour < 12 else "p.m."
    if local.minute == 0:
        return f"{hour} {suffix}"
    return f"{hour}:{local.minute:02d} {suffix}"


def ap_zoned(moment: datetime, tz: str) -> str:
    """A clock time with its zone, for a time shown on its own: "4:12 p.m. CST"."""
    return f"{ap_time(moment, tz)} {moment.astimezone(zone(tz)).tzname() or tz}"


def ap_date(moment: datetime, tz: str, *, year: bool = False) -> str:
    """``moment`` as an AP-style date in ``tz``: "Nov. 29", or "Nov. 29, 2026" with ``year``."""
    local = moment.astimezone(zone(tz))
    text = f"{_MONTHS[local.month - 1]} {local.day}"
    return f"{text}, {local.year}" if year else text


def ap_stamp(moment: datetime, tz: str, *, reference: datetime) -> str:
    """The heading of a timeline entry: the time alone when it falls on the same local day as
    ``reference`` (the story's newest entry), else date and time ("Nov. 28, 4:10 p.m.").
    """
    local, ref = moment.astimezone(zone(tz)), reference.astimezone(zone(tz))
    if local.date() == ref.date():
        return ap_time(moment, tz)
    return f"{ap_date(moment, tz, year=local.year != ref.year)}, {ap_time(moment, tz)}"
