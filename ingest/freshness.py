"""How long an answer asks us to wait before asking again: HTTP caching and rate-limit headers.

Each is a *floor* under the next poll, never a reason to poll sooner:

* ``Retry-After`` on 429 and 503, as seconds or an HTTP-date (RFC 9110 section 10.2.3);
* ``Cache-Control: max-age`` (RFC 9111 section 5.2.2.1), unless ``no-cache`` or ``no-store``;
* ``Expires`` (RFC 9111 section 5.3), measured against the server's own ``Date`` when it sent
  one, so a server whose clock is off still gets the lifetime it meant;
* RSS ``<ttl>`` (parsed with the document).

Pure: headers and ``now`` in, ``(name, seconds)`` pairs out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def floors(headers: Mapping[str, str], now: datetime, *, status: int) -> list[tuple[str, float]]:
    """Every floor the answer's ``headers`` (lowercase names) set, with a name for reasons."""
    found: list[tuple[str, float]] = []
    if status in (429, 503):
        retry = retry_after(headers.get("retry-after"), now)
        if retry is not None:
            found.append(("Retry-After", retry))
    age = max_age(headers.get("cache-control"))
    if age is not None:
        found.append(("Cache-Control max-age", age))
    expiry = expires_in(headers.get("expires"), headers.get("date"), now)
    if expiry is not None:
        found.append(("Expires", expiry))
    return found


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait per a ``Retry-After`` value, or ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _digits(value):
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())


def max_age(cache_control: str | None) -> float | None:
    """The ``max-age`` of a Cache-Control header, unless it also forbids reuse."""
    if not cache_control:
        return None
    directives = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    raw = directives.get("max-age", "")
    return float(raw) if _digits(raw) and int(raw) > 0 else None


def expires_in(expires: str | None, date: str | None, now: datetime) -> float | None:
    """Seconds until ``Expires``, by the server's ``Date`` when given; ``None`` if past."""
    if not expires:
        return None
    when = _http_date(expires)
    if when is None:
        return None
    base = _http_date(date) if date else None
    seconds = (when - (base or now)).total_seconds()
    return seconds if seconds > 0 else None


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²", which httpx can hand us when a
    server sends a latin-1 byte in a header."""
    return text.isascii() and text.isdigit()


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
