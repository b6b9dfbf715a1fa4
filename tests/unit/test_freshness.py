"""ingest.freshness: the floors an answer's headers put under the next poll (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import freshness

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def http_date(when: datetime) -> str:
    """An IMF-fixdate (RFC 9110 section 5.6.7), as servers send."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


IN_2_MIN = http_date(NOW + timedelta(minutes=2))
AN_HOUR_AGO = http_date(NOW - timedelta(hours=1))


# ---------------------------------------------------------------------------------------------
# Retry-After: seconds or an HTTP-date (RFC 9110 section 10.2.3)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("120", 120.0, id="seconds"),
        pytest.param("0", 0.0, id="zero-seconds"),
        pytest.param(" 30 ", 30.0, id="whitespace"),
        pytest.param("86400", 86400.0, id="a-day"),
        pytest.param(IN_2_MIN, 120.0, id="future-date"),
        pytest.param("Wed, 01 May 2024 14:00:00 +0200", 0.0, id="date-with-offset-is-now"),
        pytest.param("Wednesday, 01-May-24 12:02:00 GMT", 120.0, id="rfc850-date"),
        pytest.param("Wed May  1 12:02:00 2024", 120.0, id="asctime-date-read-as-utc"),
        pytest.param(AN_HOUR_AGO, 0.0, id="past-date-is-zero"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("-5", None, id="negative"),
        pytest.param("1.5", None, id="fraction"),
        pytest.param("120 seconds", None, id="with-unit"),
        pytest.param("Wed, 32 May 2024 12:00:00 GMT", None, id="impossible-date"),
        pytest.param(
            "²",
            None,
            id="superscript-digit",
        ),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert freshness.retry_after(value, NOW) == seconds


# ---------------------------------------------------------------------------------------------
# Cache-Control max-age (RFC 9111 section 5.2.2.1)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("max-age=300", 300.0, id="alone"),
        pytest.param("public, max-age=300, must-revalidate", 300.0, id="among-others"),
        pytest.param("MAX-AGE=300", 300.0, id="case-insensitive-name"),
        pytest.param('max-age="300"', 300.0, id="quoted"),
        pytest.param("max-age = 300", 300.0, id="spaces-around-equals"),
        pytest.param("private,max-age=60", 60.0, id="no-space-after-comma"),
        pytest.param("max-age=300, no-cache", None, id="no-cache"),
        pytest.param("no-store, max-age=300", None, id="no-store"),
        pytest.param('no-cache="set-cookie", max-age=60', None, id="qualified-no-cache"),
        pytest.param("max-age=0", None, id="zero"),
        pytest.param("max-age=-1", None, id="negative"),
        pytest.param("max-age=abc", None, id="garbage"),
        pytest.param("max-age=1.5", None, id="fraction"),
        pytest.param("max-age=", None, id="empty-value"),
        pytest.param("max-age", None, id="no-value"),
        pytest.param("s-maxage=600", None, id="shared-caches-only"),
        pytest.param("public", None, id="no-max-age"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
        pytest.param(
            "max-age=²",
            None,
            id="superscript-digit",
        ),
    ],
)
def test_max_age(value: str | None, seconds: float | None) -> None:
    assert freshness.max_age(value) == seconds


# ---------------------------------------------------------------------------------------------
# Expires (RFC 9111 section 5.3), measured by the server's own Date


@pytest.mark.parametrize(
    ("expires", "date", "seconds"),
    [
        pytest.param(http_date(NOW + timedelta(minutes=10)), None, 600.0, id="future-by-our-clock"),
        pytest.param(
            http_date(NOW + timedelta(minutes=10)),
            http_date(NOW),
            600.0,
            id="future-by-a-right-server-clock",
        ),
        pytest.param(
            http_date(NOW - timedelta(hours=1) + timedelta(minutes=10)),
            http_date(NOW - timedelta(hours=1)),
            600.0,
            id="server-clock-an-hour-slow",
        ),
        pytest.param(
            http_date(NOW + timedelta(hours=1, minutes=10)),
            http_date(NOW + timedelta(hours=1)),
            600.0,
            id="server-clock-an-hour-fast",
        ),
        pytest.param(
            http_date(NOW + timedelta(minutes=10)),
            "not a date",
            600.0,
            id="bad-date-falls-back-to-our-clock",
        ),
        pytest.param(AN_HOUR_AGO, None, None, id="past"),
        pytest.param(http_date(NOW), http_date(NOW), None, id="already-expired"),
        pytest.param(
            http_date(NOW + timedelta(minutes=10)),
            http_date(NOW + timedelta(minutes=20)),
            None,
            id="past-by-the-server-clock",
        ),
        pytest.param("0", None, None, id="zero-means-expired"),
        pytest.param("-1", None, None, id="minus-one"),
        pytest.param("tomorrow", None, None, id="garbage"),
        pytest.param("Mon, 01 Jan 99999 00:00:00 GMT", None, None, id="year-out-of-range"),
        pytest.param("Wed, 01 May 2024 12:10:00 +0200", None, None, id="offset-makes-it-past"),
        pytest.param("Wed, 01 May 2024 12:10:00", None, 600.0, id="no-zone-read-as-utc"),
        pytest.param("", None, None, id="empty"),
        pytest.param(None, http_date(NOW), None, id="absent"),
    ],
)
def test_expires_in(expires: str | None, date: str | None, seconds: float | None) -> None:
    assert freshness.expires_in(expires, date, NOW) == seconds


# ---------------------------------------------------------------------------------------------
# floors: every floor an answer sets, Retry-After only where it means "wait"


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        pytest.param(200, {}, [], id="nothing"),
        pytest.param(429, {"retry-after": "120"}, [("Retry-After", 120.0)], id="429"),
        pytest.param(503, {"retry-after": IN_2_MIN}, [("Retry-After", 120.0)], id="503-date"),
        pytest.param(200, {"retry-after": "120"}, [], id="200-ignores-retry-after"),
        pytest.param(301, {"retry-after": "120"}, [], id="301-ignores-retry-after"),
        pytest.param(500, {"retry-after": "120"}, [], id="500-ignores-retry-after"),
        pytest.param(429, {"retry-after": "later"}, [], id="unreadable-retry-after"),
        pytest.param(
            200, {"cache-control": "max-age=300"}, [("Cache-Control max-age", 300.0)], id="max-age"
        ),
        pytest.param(
            304,
            {"cache-control": "public, max-age=60", "expires": http_date(NOW + timedelta(hours=1))},
            [("Cache-Control max-age", 60.0), ("Expires", 3600.0)],
            id="max-age-and-expires",
        ),
        pytest.param(
            503,
            {
                "retry-after": "30",
                "cache-control": "no-store",
                "expires": AN_HOUR_AGO,
            },
            [("Retry-After", 30.0)],
            id="503-uncacheable",
        ),
        pytest.param(
            200,
            {
                "date": http_date(NOW - timedelta(hours=1)),
                "expires": http_date(NOW - timedelta(minutes=55)),
            },
            [("Expires", 300.0)],
            id="expires-by-server-date",
        ),
    ],
)
def test_floors(status: int, headers: dict[str, str], expected: list[tuple[str, float]]) -> None:
    assert freshness.floors(headers, NOW, status=status) == expected


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([200, 304, 429, 503]),
    retry=HEADER_TEXT | st.sampled_from([IN_2_MIN, AN_HOUR_AGO, "120"]),
    cache=HEADER_TEXT | st.sampled_from(["max-age=300", "no-cache, max-age=1"]),
    expires=HEADER_TEXT | st.sampled_from([IN_2_MIN, AN_HOUR_AGO]),
    date=HEADER_TEXT | st.sampled_from([IN_2_MIN, AN_HOUR_AGO]),
)
def test_floors_of_any_ascii_headers_are_never_negative(
    status: int, retry: str, cache: str, expires: str, date: str
) -> None:
    headers = {"retry-after": retry, "cache-control": cache, "expires": expires, "date": date}
    found = freshness.floors(headers, NOW, status=status)
    assert all(seconds >= 0 for _, seconds in found)
    assert len({name for name, _ in found}) == len(found)
