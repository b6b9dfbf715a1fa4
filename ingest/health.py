"""A source's health: how one poll's outcome changes its stored status. Pure.

States (:data:`ingest.model.STATES`)::

    new       never polled
    ok        the last poll worked
    quiet     works, but a normally busy source has published nothing for K times its usual gap
    deferred  the poll was put off: the host's shared budget was spent, or it answered 429
    failing   1..N-1 consecutive failures (404, 403, 5xx, timeouts, DNS, TLS, connection,
              unparseable documents); retried with exponential backoff
    dead      N or more consecutive failures; still retried, rarely, never silently dropped
    gone      410 Gone: the source is disabled until its configuration changes
    paused    disabled in the configuration

A deferral is not a failure: the failure count and the last error stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from config.sources import Source
from ingest.errors import FetchError, FetchHTTPError, ParseError
from ingest.model import FetchResult, SourceStatus

PERMANENT_REDIRECTS = frozenset({301, 308})
GAP_SMOOTHING = 0.3
"""Weight of the newest observation in the smoothed gap between new items."""


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    dead_after: int = 10
    quiet_factor: float = 10.0
    quiet_min_items: int = 5
    """A source counts as normally busy once it has brought this many new items."""
    redirect_confirmations: int = 3
    unconditional_every: int = 100


def current_url(source: Source, status: SourceStatus) -> str:
    """Where to fetch ``source``: its confirmed new address, unless its configured URL changed
    since the move (an editor's word beats a redirect)."""
    if status.url and status.moved_from == source.url:
        return status.url
    return source.url


def unconditional_due(status: SourceStatus, policy: HealthPolicy) -> bool:
    """Whether this poll should go out without validators (every Nth, to catch servers whose
    validators lie); never on the first poll, which has none anyway."""
    every = policy.unconditional_every
    return every > 0 and status.polls > 0 and (status.polls + 1) % every == 0


def succeeded(
    status: SourceStatus,
    result: FetchResult,
    now: datetime,
    policy: HealthPolicy,
    *,
    new_items: int = 0,
    body_hash: str | None = None,
    entries: int | None = None,
    ttl: float | None = None,
) -> SourceStatus:
    """The status after a poll that got a usable answer (200 or 304)."""
    sent = result.validators
    fresh = result.status == 200  # a fresh answer without an ETag retires the old one
    after = replace(
        status,
        state="ok",
        http_status=result.status,
        last_attempt=now,
        last_success=now,
        last_error=None,
        consecutive_failures=0,
        polls=status.polls + 1,
        etag=(sent.etag or None) if fresh else (sent.etag or status.etag),
        last_modified=(
            (sent.last_modified or None) if fresh else (sent.last_modified or status.last_modified)
        ),
        body_hash=body_hash or status.body_hash,
        entries_seen=status.entries_seen if entries is None else entries,
        ttl=ttl if ttl is not None else (status.ttl if result.not_modified else None),
    )
    after = _publishing(after, now, new_items)
    return replace(after, state="quiet") if is_quiet(after, now, policy) else after


def _publishing(status: SourceStatus, now: datetime, new_items: int) -> SourceStatus:
    if new_items <= 0:
        return status
    if status.last_new is None:
        return replace(status, new_items=status.new_items + new_items, last_new=now)
    gap = max((now - status.last_new).total_seconds(), 0.0) / new_items
    smoothed = (
        gap
        if status.mean_gap is None
        else (GAP_SMOOTHING * gap + (1 - GAP_SMOOTHING) * status.mean_gap)
    )
    return replace(status, new_items=status.new_items + new_items, last_new=now, mean_gap=smoothed)


def is_quiet(status: SourceStatus, now: datetime, policy: HealthPolicy) -> bool:
    """A normally busy source that has been silent for ``quiet_factor`` times its usual gap."""
    if status.new_items < policy.quiet_min_items or not status.mean_gap or not status.last_new:
        return False
    silent = (now - status.last_new).total_seconds()
    return silent > policy.quiet_factor * status.mean_gap


def failed(
    status: SourceStatus,
    exc: FetchError | ParseError,
    now: datetime,
    policy: HealthPolicy,
    *,
    http_status: int | None = None,
) -> SourceStatus:
    """The status after a failed poll: counted, and ``dead`` after ``dead_after`` in a row;
    410 Gone disables the source instead."""
    if isinstance(exc, FetchHTTPError):
        http_status = exc.status
    message = f"cannot parse the feed: {exc}" if isinstance(exc, ParseError) else str(exc)
    failures = status.consecutive_failures + 1
    state = "dead" if failures >= policy.dead_after else "failing"
    if http_status == 410:
        state = "gone"
    return replace(
        status,
        state=state,
        http_status=http_status,
        last_attempt=now,
        last_error=message,
        consecutive_failures=failures,
        redirect_count=0,  # a failed fetch breaks a run of redirects
        redirect_target=None,
        polls=status.polls + 1,
    )


def deferred(
    status: SourceStatus, now: datetime, *, http_status: int | None = None, note: str | None = None
) -> SourceStatus:
    """The status after a poll that was put off (host budget spent, or 429)."""
    return replace(
        status,
        state="dead" if status.state == "dead" else "deferred",  # still dead: retried rarely
        last_attempt=now,
        http_status=http_status if http_status is not None else status.http_status,
        last_error=note if note is not None else status.last_error,
    )


def redirected(
    status: SourceStatus,
    source: Source,
    fetched: str,
    result: FetchResult,
    policy: HealthPolicy,
) -> SourceStatus:
    """Track permanent redirects; move the source after ``redirect_confirmations`` fetches in a
    row were sent by 301/308 alone to the same place. 302 and 307 never move it."""
    chain = result.redirects
    if not chain or any(code not in PERMANENT_REDIRECTS for code, _ in chain):
        if status.redirect_target is None and status.redirect_count == 0:
            return status  # the common case: nothing to track, nothing to copy
        return replace(status, redirect_target=None, redirect_count=0)
    target = chain[-1][1]
    count = status.redirect_count + 1 if status.redirect_target == target else 1
    if count < policy.redirect_confirmations:
        return replace(status, redirect_target=target, redirect_count=count)
    aliases = tuple(dict.fromkeys((*status.aliases, fetched)))
    return replace(
        status,
        url=target,
        moved_from=source.url,
        aliases=aliases,
        redirect_target=None,
        redirect_count=0,
    )
