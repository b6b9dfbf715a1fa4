"""AP-style times and dates in a story's own time zone (feeds.render.aptime)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.render.aptime import ap_date, ap_stamp, ap_time, zone


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


CLOCK = [
    pytest.param(utc(2026, 11, 29, 21, 40), "9:40 p.m.", id="evening"),
    pytest.param(utc(2026, 11, 29, 15, 0), "3 p.m.", id="on-the-hour-drops-00"),
    pytest.param(utc(2026, 11, 29, 12, 0), "noon", id="noon"),
    pytest.param(utc(2026, 11, 29, 0, 0), "midnight", id="midnight"),
    pytest.param(utc(2026, 11, 29, 0, 30), "12:30 a.m.", id="half-past-midnight"),
    pytest.param(utc(2026, 11, 29, 12, 5), "12:05 p.m.", id="just-after-noon"),
    pytest.param(utc(2026, 11, 29, 9, 5), "9:05 a.m.", id="minutes-zero-padded"),
    pytest.param(utc(2026, 11, 29, 1, 0), "1 a.m.", id="one-am"),
    pytest.param(utc(2026, 11, 29, 11, 59), "11:59 a.m.", id="before-noon"),
    pytest.param(utc(2026, 11, 29, 23, 59), "11:59 p.m.", id="before-midnight"),
    pytest.param(utc(2026, 11, 29, 12, 0, 59), "noon", id="seconds-ignored"),
]


@pytest.mark.parametrize(("moment", "expected"), CLOCK)
def test_ap_time_in_utc(moment: datetime, expected: str) -> None:
    assert ap_time(moment, "UTC") == expected


ZONES = [
    pytest.param(utc(2026, 11, 29, 3, 40), "America/Chicago", "9:40 p.m.", id="chicago-cst"),
    pytest.param(utc(2026, 7, 1, 3, 40), "America/Chicago", "10:40 p.m.", id="chicago-cdt"),
    pytest.param(utc(2026, 3, 8, 7, 59), "America/Chicago", "1:59 a.m.", id="chicago-before-dst"),
    pytest.param(utc(2026, 3, 8, 8, 0), "America/Chicago", "3 a.m.", id="chicago-after-dst"),
    pytest.param(utc(2026, 11, 1, 6, 30), "America/Chicago", "1:30 a.m.", id="fall-back-first"),
    pytest.param(utc(2026, 11, 1, 7, 30), "America/Chicago", "1:30 a.m.", id="fall-back-second"),
    pytest.param(utc(2026, 11, 29, 6, 30), "Asia/Kolkata", "noon", id="kolkata-half-hour-noon"),
    pytest.param(utc(2026, 11, 28, 18, 30), "Asia/Kolkata", "midnight", id="kolkata-midnight"),
    pytest.param(utc(2026, 11, 29, 3, 40), "Asia/Kolkata", "9:10 a.m.", id="kolkata-morning"),
    pytest.param(
        datetime(2026, 11, 29, 9, 40, tzinfo=ZoneInfo("Asia/Tokyo")),
        "America/New_York",
        "7:40 p.m.",
        id="non-utc-input",
    ),
]


@pytest.mark.parametrize(("moment", "tz", "expected"), ZONES)
def test_ap_time_converts_to_the_story_zone(moment: datetime, tz: str, expected: str) -> None:
    assert ap_time(moment, tz) == expected


DATES = [
    pytest.param(utc(2026, 11, 29, 12), "UTC", False, "Nov. 29", id="abbreviated"),
    pytest.param(utc(2026, 3, 3, 12), "UTC", False, "March 3", id="march-spelled-out"),
    pytest.param(utc(2026, 9, 5, 12), "UTC", False, "Sept. 5", id="sept-four-letters"),
    pytest.param(utc(2026, 5, 1, 12), "UTC", False, "May 1", id="may"),
    pytest.param(utc(2026, 1, 1, 12), "UTC", False, "Jan. 1", id="jan"),
    pytest.param(utc(2026, 2, 28, 12), "UTC", False, "Feb. 28", id="feb"),
    pytest.param(utc(2026, 4, 30, 12), "UTC", False, "April 30", id="april"),
    pytest.param(utc(2026, 6, 2, 12), "UTC", False, "June 2", id="june"),
    pytest.param(utc(2026, 7, 4, 12), "UTC", False, "July 4", id="july"),
    pytest.param(utc(2026, 8, 9, 12), "UTC", False, "Aug. 9", id="aug"),
    pytest.param(utc(2026, 10, 12, 12), "UTC", False, "Oct. 12", id="oct"),
    pytest.param(utc(2026, 12, 31, 12), "UTC", False, "Dec. 31", id="dec"),
    pytest.param(utc(2026, 11, 29, 12), "UTC", True, "Nov. 29, 2026", id="with-year"),
    pytest.param(utc(2026, 3, 3, 3), "America/Chicago", False, "March 2", id="zone-moves-day"),
    pytest.param(
        utc(2026, 1, 1, 3), "America/Chicago", True, "Dec. 31, 2025", id="zone-moves-year"
    ),
]


@pytest.mark.parametrize(("moment", "tz", "year", "expected"), DATES)
def test_ap_date(moment: datetime, tz: str, year: bool, expected: str) -> None:
    assert ap_date(moment, tz, year=year) == expected


REF = utc(2026, 11, 29, 22, 10)  # 4:10 p.m. Nov. 29 in Chicago
STAMPS = [
    pytest.param(
        utc(2026, 11, 29, 19, 25), "America/Chicago", "1:25 p.m.", id="same-day-time-only"
    ),
    pytest.param(REF, "America/Chicago", "4:10 p.m.", id="the-reference-itself"),
    pytest.param(
        utc(2026, 11, 28, 23, 45), "America/Chicago", "Nov. 28, 5:45 p.m.", id="other-day"
    ),
    pytest.param(
        utc(2026, 1, 1, 5, 50), "America/Chicago", "Dec. 31, 2025, 11:50 p.m.", id="other-year"
    ),
    pytest.param(
        utc(2026, 11, 29, 6, 0), "America/Chicago", "midnight", id="local-midnight-same-day"
    ),
    # 02:00 UTC on Nov. 30 is still Nov. 29 in Chicago: the story's zone decides the day.
    pytest.param(utc(2026, 11, 30, 2, 0), "America/Chicago", "8 p.m.", id="zone-keeps-same-day"),
    pytest.param(utc(2026, 11, 30, 2, 0), "UTC", "Nov. 30, 2 a.m.", id="utc-sees-other-day"),
]


@pytest.mark.parametrize(("moment", "tz", "expected"), STAMPS)
def test_ap_stamp(moment: datetime, tz: str, expected: str) -> None:
    assert ap_stamp(moment, tz, reference=REF) == expected


UNKNOWN_ZONES = [
    pytest.param("Mars/Olympus_Mons", id="not-a-zone"),
    pytest.param("", id="empty"),
    pytest.param("America", id="zone-folder"),
    pytest.param("../../etc/passwd", id="path-escape"),
    pytest.param("/etc/localtime", id="absolute-path"),
    pytest.param("America/Chicago ", id="trailing-space"),
]


@pytest.mark.parametrize("name", UNKNOWN_ZONES)
def test_unknown_zone_falls_back_to_utc(name: str) -> None:
    moment = utc(2026, 11, 29, 21, 40)
    assert zone(name) == ZoneInfo("UTC")
    assert ap_time(moment, name) == "9:40 p.m."
    assert ap_date(moment, name) == "Nov. 29"
    assert ap_stamp(moment, name, reference=moment) == "9:40 p.m."


_AP_CLOCK = re.compile(r"noon|midnight|(1[0-2]|[1-9])(:[0-5]\d)? [ap]\.m\.")


@given(
    moment=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(["UTC", "America/Chicago", "Asia/Kolkata", "Australia/Lord_Howe"]),
)
def test_ap_time_is_always_an_ap_clock_time(moment: datetime, tz: str) -> None:
    text = ap_time(moment, tz)
    assert _AP_CLOCK.fullmatch(text), text
    assert ":00" not in text
