"""How tests get time. One rule, two instants:

1. **Every time a test uses derives from one instant** in this module, never from a second
   reading of the clock, and a test never mixes the two instants below.
2. ``FIXED`` (2026-11-29 15:00 UTC) is the instant of pure tests (unit tests, golden files,
   rendering with dates in the output) and of integration tests in which the only clock is the
   ``now=`` they pass to the product (``ingest_source``, ``RedisStore``, the in-process app).
   Redis TTLs do not make those depend on the calendar: the store sets every expiry as a
   *relative* ``PX``/``PEXPIRE`` (retention from the moment of writing), never an absolute
   ``EXPIREAT`` from ``now``, so data stamped with ``FIXED`` lives as long on any day.
3. ``SESSION`` is the wall clock read **once**, when the test session imports this module. It is
   the instant of tests in which the product reads the real clock: a real worker process (its
   scheduler and retention window), the schedule and politeness scripts (Redis ``TIME``), the
   admin API and the editors' CLI (they stamp changes with ``datetime.now``). Such a test says
   so, and derives all of its own times from ``SESSION`` (``SESSION - timedelta(minutes=30)``
   for "when the wires were polled"), so it holds on any day, under a shifted clock too.
4. Wording that depends on the local time of day in a story's time zone (AP times such as
   "12:40 p.m.") needs a time of day, not just an instant: ``FIXED`` has one, and
   ``local_day(zone)`` gives a day derived from ``SESSION`` at which a local wall time can be
   built without meeting a daylight-saving change (see ``at_local``).
5. Tests never assert on wall time or durations; ``wait_for`` polls with a deadline only.

``make test-clock`` runs the integration and end-to-end suites under libfaketime, 400 days ahead
and across midnight UTC on a US daylight-saving change day, with Redis on the same clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIXED = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
"""The instant of pure tests and of tests that pass ``now=`` everywhere (see rule 2)."""

SESSION = datetime.now(UTC).replace(microsecond=0)
"""The wall clock, read once per test session (see rule 3)."""


def _fixed_offset_on(day: date, zone: ZoneInfo) -> bool:
    """True if ``zone`` keeps one UTC offset from the day before ``day`` to the day after."""
    offsets = {
        datetime.combine(day + timedelta(days=d), time(12), zone).utcoffset() for d in (-1, 0, 1)
    }
    return len(offsets) == 1


def local_day(zone: str, *, before: datetime = SESSION) -> date:
    """A day in ``zone`` at least two days before ``before`` whose neighbours share one UTC
    offset: a local wall time on it is unambiguous, and a few hours either side of it stay on
    the same offset, whatever day the session runs on."""
    tz = ZoneInfo(zone)
    day = before.astimezone(tz).date() - timedelta(days=2)
    while not _fixed_offset_on(day, tz):
        day -= timedelta(days=1)
    return day


def at_local(day: date, hour: int, minute: int, zone: str) -> datetime:
    """The instant (in UTC) at which clocks in ``zone`` show ``hour:minute`` on ``day``."""
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)
