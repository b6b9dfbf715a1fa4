"""The one orchestrator of a fetch: everything that happens to a source's items is in here.

::

    ingest_source(source)
        fetch        conditional GET                       -> FetchResult (200 / 304)
        | parse      bytes + headers -> ParsedFeed          (skipped when the body is unchanged)
        | normalize  each RawEntry -> Item                  (a bad entry is skipped and counted)
        | dedupe     Item + Known -> NEW / UPDATE / UNCHANGED
        | assign     NEW / UPDATE -> story
        | store      idempotent writes; the identity record last
        then the source's status is saved (validators, state, error, failure count)

A failure to fetch or parse is recorded on the source and reported; it is never raised, so one
bad source cannot stop a worker.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from config.sources import Source
from ingest.dedupe import decide
from ingest.errors import EntryError, FetchError, FetchHTTPError, ParseError
from ingest.fetch import Fetcher
from ingest.model import (
    Action,
    FetchResult,
    IngestReport,
    Item,
    Known,
    ParsedFeed,
    Plan,
    SourceStatus,
)
from ingest.normalize import normalize
from ingest.parse import parse
from ingest.store import Store
from ingest.stories import assign


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    max_entries: int = 500


async def ingest_source(
    source: Source,
    *,
    fetcher: Fetcher,
    store: Store,
    now: datetime,
    limits: PipelineLimits = PipelineLimits(),
) -> IngestReport:
    """Fetch ``source`` once and store what is new. Idempotent: running it twice on the same
    answer changes nothing the second time. ``now`` is the time of the attempt (aware).
    """
    status = await store.source_status(source.id)
    try:
        result = await fetcher.fetch(source.url, status.validators, source.headers)
    except FetchError as exc:
        return await _failed(store, status, now, exc)
    body_hash = hashlib.sha256(result.body).hexdigest()[:32] if not result.not_modified else None
    if result.not_modified or body_hash == status.body_hash:
        return await _unchanged(store, status, result, now)
    try:
        # The document's own URL is the base for its relative links (RFC 3986 5.1.3).
        headers = {"content-location": result.url, **result.headers}
        feed = parse(result.body, headers, source.kind)
    except ParseError as exc:
        return await _failed(store, status, now, exc, http_status=result.status)
    report = await _store_entries(source, feed, result.url, store=store, now=now, limits=limits)
    await store.save_status(_succeeded(status, result, now, body_hash, len(feed.entries)))
    return report


async def _store_entries(
    source: Source,
    feed: ParsedFeed,
    base_url: str,
    *,
    store: Store,
    now: datetime,
    limits: PipelineLimits,
) -> IngestReport:
    items, skipped = _normalize_all(feed, source, base_url, now, limits)
    known = await store.known_many(source.id, [i.identity for i in items])
    url_stories = await store.stories_for_urls(
        i.url for i in items if i.url and i.identity not in known
    )
    plans, counts = plan(items, known, url_stories)
    await store.apply_many(plans, timezone=source.timezone, now=now)
    return IngestReport(
        source_id=source.id,
        status="ok",
        http_status=200,
        entries=len(feed.entries),
        new=counts[Action.NEW],
        updated=counts[Action.UPDATE],
        unchanged=counts[Action.UNCHANGED],
        skipped=skipped + counts[None],
        stories=tuple(dict.fromkeys(p.assignment.story_id for p in plans)),
    )


def _normalize_all(
    feed: ParsedFeed, source: Source, base_url: str, now: datetime, limits: PipelineLimits
) -> tuple[list[Item], int]:
    items, skipped = [], max(0, len(feed.entries) - limits.max_entries)
    for raw in feed.entries[: limits.max_entries]:
        try:
            items.append(normalize(raw, source.id, now=now, base_url=base_url))
        except EntryError:
            skipped += 1
    return items, skipped


def plan(
    items: Sequence[Item], known: Mapping[str, Known], url_stories: Mapping[str, str]
) -> tuple[list[Plan], Counter[Action | None]]:
    """Decide every item of one document, in document order. Pure.

    What earlier items of the same document decided counts for later ones: a canonical URL
    first seen earlier in the document leads to the same story, and an identity repeated in one
    document is taken once, at its first occurrence (feeds list newest first); the repeats are
    counted under ``None``.
    """
    plans: list[Plan] = []
    counts: Counter[Action | None] = Counter()
    seen: set[str] = set()
    stories = dict(url_stories)
    for item in items:
        if item.identity in seen:
            counts[None] += 1
            continue
        seen.add(item.identity)
        decision = decide(item, known.get(item.identity))
        counts[decision.action] += 1
        if decision.action is Action.UNCHANGED:
            continue
        found = known.get(item.identity)
        assignment = assign(decision, found, stories.get(item.url) if item.url else None)
        if item.url:
            stories.setdefault(item.url, assignment.story_id)
        plans.append(Plan(item, decision, assignment))
    return plans, counts


async def _unchanged(
    store: Store, status: SourceStatus, result: FetchResult, now: datetime
) -> IngestReport:
    validators = result.validators
    await store.save_status(
        replace(
            status,
            state="ok",
            http_status=result.status,
            last_attempt=now,
            last_success=now,
            last_error=None,
            consecutive_failures=0,
            etag=validators.etag or status.etag,
            last_modified=validators.last_modified or status.last_modified,
        )
    )
    return IngestReport(source_id=status.source_id, status="unchanged", http_status=result.status)


def _succeeded(
    status: SourceStatus, result: FetchResult, now: datetime, body_hash: str | None, seen: int
) -> SourceStatus:
    return replace(
        status,
        state="ok",
        http_status=result.status,
        last_attempt=now,
        last_success=now,
        last_error=None,
        consecutive_failures=0,
        etag=result.validators.etag,
        last_modified=result.validators.last_modified,
        body_hash=body_hash,
        entries_seen=seen,
    )


async def _failed(
    store: Store,
    status: SourceStatus,
    now: datetime,
    exc: FetchError | ParseError,
    *,
    http_status: int | None = None,
) -> IngestReport:
    if isinstance(exc, FetchHTTPError):
        http_status = exc.status
    prefix = "cannot parse the feed: " if isinstance(exc, ParseError) else ""
    message = prefix + str(exc)
    await store.save_status(
        replace(
            status,
            state="failing",
            http_status=http_status,
            last_attempt=now,
            last_error=message,
            consecutive_failures=status.consecutive_failures + 1,
        )
    )
    return IngestReport(
        source_id=status.source_id, status="error", http_status=http_status, error=message
    )
