"""Print the offsets, in seconds from now, at which ``make test-clock`` runs the suite.

``ahead``: 400 days ahead. ``dst``: 10 seconds before midnight UTC at the start of the next day
on which New York (the story time zone of most tests) changes between EST and EDT, so the run
crosses midnight UTC into a change day. The day is computed from today's date, so the target
works on any day of the year; the change itself (02:00 local, 06:00 or 07:00 UTC) comes hours
later, so tests that need one UTC offset keep it (see local_day in tests/support/clock.py).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


def next_change_day(after: datetime) -> datetime:
    """Midnight UTC at the start of the next date whose New York offset changes that day."""
    day = after.date() + timedelta(days=1)
    while True:
        start = datetime.combine(day, time(0), NEW_YORK).utcoffset()
        end = datetime.combine(day, time(23, 59), NEW_YORK).utcoffset()
        if start != end:
            return datetime.combine(day, time(0), UTC)
        day += timedelta(days=1)


def main(which: str) -> None:
    now = datetime.now(UTC)
    if which == "ahead":
        target = now + timedelta(days=400)
    elif which == "dst":
        target = next_change_day(now) - timedelta(seconds=10)
    else:
        raise SystemExit(f"shift.py: say ahead or dst, not {which!r}")
    print(f"+{int((target - now).total_seconds())}")
    print(f"test-clock: the clock starts at {target:%Y-%m-%d %H:%M:%S} UTC", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
