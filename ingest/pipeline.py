"""The one orchestrator of a fetch: everything that happens to a source's items is in here.

::

    ingest_source(source)
        politeness   take a slot of the host's shared budget      (none left: deferred)
        | fetch      conditional GET, redirects, limits            -> FetchResult (200 / 304)
        | parse      bytes + headers -> ParsedFeed                 (skipped: body unchanged)
        | normalize  each RawEntry -> Item                         (a bad entry is skipped, counted)
        | dedupe     Item + Known -> NEW / UPDATE / UNCHANGED
        | assign     NEW / UPDATE -> story
        | store      idempotent writes; the identity record last
        then the source's status is saved (see ingest.health for the states)

Parsing and normalization run in a worker thread, so one 5 MB document does not stall every
other fetch of the process. A failure to fetch or parse is recorded on the source and reported;
it is never raised, so one bad source cannot stop a worker.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from config.sources import Source
from ingest import freshness, health
from ingest.dedupe import DedupePolicy, Evidence, decide, repair_identities
from ingest.errors import EntryError, FetchError, FetchHTTPError, ParseError
from ingest.fetch import Fetcher
from ingest.health import HealthPolicy
from ingest.model import (
    Action,
    FetchResult,
    IngestReport,
    Item,
    Known,
    ParsedFeed,
    Plan,
    SourceStatus,
    Validators,
)
from ingest.normalize import normalize
from ingest.parse import parse
from ingest.politeness import HostGate
from ingest.store import Store
from ingest.stories import assign


@dataclass(frozen=True, slots=True)
class IngestPolicy:
    """How much of a document to take, and how polls change a source's health."""

    max_entries: int = 500
    health: HealthPolicy = field(default_factory=HealthPolicy)
    dedupe: DedupePolicy = field(default_factory=DedupePolicy)


async def ingest_source(
    source: Source,
    *,
    fetcher: Fetcher,
    store: Store,
    now: datetime,
    policy: IngestPolicy | None = None,
    gate: HostGate | None = None,
    status: SourceStatus | None = None,
    save_status: bool = True,
) -> IngestReport:
    """Poll ``source`` once and store what is new; save and report what happened.

    Idempotent: running it twice on the same answer changes nothing the second time. ``now`` is
    the time of the attempt (aware); ``status`` may be passed when the caller already read it.
    The source's new status is saved once, at the end, and returned as ``report.after``; with
    ``save_status=False`` the caller saves it (a worker batching its writes does).
    Never raises for anything the source or its server did.
    """
    policy = policy or IngestPolicy()
    stored = status or await store.source_status(source.id)
    report, after = await _poll(
        source, stored, fetcher=fetcher, store=store, now=now, policy=policy, gate=gate
    )
    if save_status:
        await store.save_status(after, previous=stored)
    return replace(report, after=after)


async def _poll(
    source: Source,
    stored: SourceStatus,
    *,
    fetcher: Fetcher,
    store: Store,
    now: datetime,
    policy: IngestPolicy,
    gate: HostGate | None,
) -> tuple[IngestReport, SourceStatus]:
    url = health.current_url(source, stored)
    status = replace(stored, fetched_url=url)
    permit = await gate.acquire(url) if gate else None
    if permit is not None and not permit.granted:
        report = IngestReport(source.id, status="deferred", error=permit.reason, wait=permit.wait)
        return report, health.deferred(status, now)
    unconditional = health.unconditional_due(status, policy.health)
    try:
        result = await fetcher.fetch(
            url, Validators() if unconditional else status.validators, source.headers
        )
    except FetchError as exc:
        return _fetch_failed(status, now, exc, policy.health)
    finally:
        if gate is not None and permit is not None:
            await gate.release(permit)
    status = health.redirected(status, source, url, result, policy.health)
    return await _fetched(source, status, result, store, now, policy)


async def _fetched(
    source: Source,
    status: SourceStatus,
    result: FetchResult,
    store: Store,
    now: datetime,
    policy: IngestPolicy,
) -> tuple[IngestReport, SourceStatus]:
    floors = freshness.floors(result.headers, now, status=result.status)
    body_hash = None if result.not_modified else hashlib.sha256(result.body).hexdigest()[:32]
    if result.not_modified or body_hash == status.body_hash:
        report = IngestReport(
            source.id,
            status="unchanged",
            http_status=result.status,
            floors=_with_ttl(floors, status.ttl),
        )
        return report, health.succeeded(status, result, now, policy.health, ttl=status.ttl)
    try:
        feed, items, skipped = await asyncio.to_thread(_read, source, result, now, policy)
    except ParseError as exc:
        report = IngestReport(
            source.id,
            status="error",
            http_status=result.status,
            error=f"cannot parse the feed: {exc}",
            floors=tuple(floors),
        )
        return report, health.failed(status, exc, now, policy.health, http_status=result.status)
    keep: frozenset[str] = frozenset()
    if status.ids_unreliable:  # ids already stored keep their entries
        natives = [i.identity for i in items if i.identity_kind == "native"]
        keep = frozenset(await store.known_identities(source.id, natives))
    items, collided = repair_identities(items, distrust=bool(status.ids_unreliable), keep=keep)
    if collided:  # ids that collide once are not trusted again for this source
        status = replace(status, ids_unreliable=1)
    stored = await _store_items(source, items, store=store, now=now, policy=policy)
    report = replace(
        stored,
        http_status=result.status,
        entries=len(feed.entries),
        skipped=stored.skipped + skipped,
        floors=_with_ttl(floors, feed.ttl),
    )
    after = health.succeeded(
        status,
        result,
        now,
        policy.health,
        new_items=stored.new,
        body_hash=body_hash,
        entries=len(feed.entries),
        ttl=feed.ttl,
    )
    return report, after


def _with_ttl(floors: list[tuple[str, float]], ttl: float | None) -> tuple[tuple[str, float], ...]:
    return (*floors, ("RSS ttl", ttl)) if ttl else tuple(floors)


def _fetch_failed(
    status: SourceStatus, now: datetime, exc: FetchError, policy: HealthPolicy
) -> tuple[IngestReport, SourceStatus]:
    http_status = exc.status if isinstance(exc, FetchHTTPError) else None
    headers = exc.headers if isinstance(exc, FetchHTTPError) else {}
    floors = tuple(freshness.floors(headers, now, status=http_status or 0))
    if http_status == 429:  # asked to slow down: honour it, but it is not a failure
        report = IngestReport(
            status.source_id, status="deferred", http_status=429, error=str(exc), floors=floors
        )
        return report, health.deferred(status, now, http_status=429, note=str(exc))
    report = IngestReport(
        status.source_id, status="error", http_status=http_status, error=str(exc), floors=floors
    )
    return report, health.failed(status, exc, now, policy)


def _read(
    source: Source, result: FetchResult, now: datetime, policy: IngestPolicy
) -> tuple[ParsedFeed, list[Item], int]:
    """Parse and normalize one document (CPU only: runs in a thread)."""
    # The document's own URL is the base for its relative links (RFC 3986 5.1.3).
    headers = {"content-location": result.url, **result.headers}
    feed = parse(result.body, headers, source.kind)
    items, skipped = _normalize_all(feed, source, result.url, now, policy.max_entries)
    return feed, items, skipped


async def _store_items(
    source: Source,
    items: Sequence[Item],
    *,
    store: Store,
    now: datetime,
    policy: IngestPolicy,
) -> IngestReport:
    evidence = await store.evidence(source.id, items)
    pages = await store.page_stories(i.page_url for i in items if i.page_url)
    plans, counts = plan(items, evidence, pages, now=now, policy=policy.dedupe)
    done = await store.apply_many(plans, timezone=source.timezone, now=now)
    for before, after in zip(plans, done, strict=True):  # races lost while storing
        if before.decision.action is not after.decision.action:
            counts[before.decision.action] -= 1
            counts[after.decision.action] += 1
    return IngestReport(
        source.id,
        status="ok",
        new=counts[Action.NEW],
        updated=counts[Action.UPDATE],
        unchanged=counts[Action.UNCHANGED],
        duplicates=counts[Action.DUPLICATE],
        killed=counts[Action.KILL],
        blocked=counts[Action.BLOCKED],
        skipped=counts[None],
        stories=tuple(
            dict.fromkeys(
                p.assignment.story_id for p in done if p.decision.action is not Action.KILL
            )
        ),
    )


def _normalize_all(
    feed: ParsedFeed, source: Source, base_url: str, now: datetime, max_entries: int
) -> tuple[list[Item], int]:
    items, skipped = [], max(0, len(feed.entries) - max_entries)
    for raw in feed.entries[:max_entries]:
        try:
            items.append(normalize(raw, source.id, now=now, base_url=base_url))
        except EntryError:
            skipped += 1
    return items, skipped


def plan(
    items: Sequence[Item],
    evidence: Sequence[Evidence],
    pages: Mapping[str, str],
    *,
    now: datetime,
    policy: DedupePolicy | None = None,
) -> tuple[list[Plan], Counter[Action | None]]:
    """Decide every item of one document, in document order. Pure.

    What earlier items of the same document decided counts for later ones, as if they were
    stored already: a later item with the same URL or the same copy is theirs, and a page an
    earlier item opened a story for leads to that story. An identity repeated in one document
    is taken once, at its first occurrence (feeds list newest first); repeats count under
    ``None``. UNCHANGED decisions are counted but not planned.
    """
    plans: list[Plan] = []
    counts: Counter[Action | None] = Counter()
    seen: set[str] = set()
    stories = dict(pages)
    by_url: dict[str, Known] = {}
    by_copy: dict[str, Known] = {}
    for item, found in zip(items, evidence, strict=True):
        if item.identity in seen:
            counts[None] += 1
            continue
        seen.add(item.identity)
        found = replace(
            found,
            by_url=found.by_url or (by_url.get(item.url) if item.url else None),
            by_copy=found.by_copy or (by_copy.get(item.copy_key) if item.copy_key else None),
        )
        decision = decide(item, found, now, policy)
        counts[decision.action] += 1
        if decision.action is Action.UNCHANGED:
            continue
        assignment = assign(decision, stories.get(item.page_url) if item.page_url else None)
        known = (
            found.known
            or (found.by_url if decision.action is Action.UPDATE else None)
            or (found.by_copy if decision.action is Action.UPDATE else None)
        )
        if decision.action is Action.NEW:
            record = Known(
                decision.entry_id,
                assignment.story_id,
                1,
                item.content_hash,
                source_id=item.source_id,
            )
            if item.url:
                by_url.setdefault(item.url, record)
            if item.copy_key:
                by_copy.setdefault(item.copy_key, record)
            if item.page_url:
                stories.setdefault(item.page_url, assignment.story_id)
        plans.append(Plan(item, decision, assignment, known))
    return plans, counts
