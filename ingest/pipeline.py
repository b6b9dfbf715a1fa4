"""The one orchestrator of a fetch: everything that happens to a source's items is in here.

::

    ingest_source(source)
        politeness   take a slot of the host's shared budget      (none left: deferred)
        | fetch      conditional GET, redirects, limits            -> FetchResult (200 / 304)
        | parse      bytes + headers -> ParsedFeed                 (skipped: body unchanged)
        | normalize  each RawEntry -> Item                         (a bad entry is skipped, counted)
        | filter     the source's keep and block rules            (a blocked item is counted)
        | embargo    items embargoed past now are held, not stored (ingest.store.embargo)
        | dedupe     Item + Known -> NEW / UPDATE / UNCHANGED
        | assign     NEW / UPDATE -> story
        | store      idempotent writes; the identity record last
        | merge      stories a stored item bridged become one          (ingest.similar.bridged)
        then the source's status is saved (see ingest.health for the states)

Parsing and normalization run in a worker thread, or in a pool process when the caller passes
one (:mod:`ingest.offload`), so one 5 MB document does not stall every other fetch. A
failure to fetch or parse is recorded on the source and reported; it is never raised, so one
bad source cannot stop a worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from config.sources import Source, StoryRule
from ingest import filters, freshness, health, races, rolling, unchanged
from ingest.dedupe import DedupePolicy, repair_identities
from ingest.discovery import Discovery, discover
from ingest.errors import EntryError, FetchError, FetchHTTPError, ParseError
from ingest.fetch.http import Fetcher
from ingest.fetch.politeness import HostGate
from ingest.health import HealthPolicy
from ingest.model import (
    Action,
    FetchResult,
    IngestReport,
    Item,
    ParsedFeed,
    Plan,
    RawEntry,
    SourceStatus,
    Validators,
    to_ms,
)
from ingest.normalize import normalize
from ingest.offload import Offload, in_thread
from ingest.parse import goes_to_feedparser, parse, skim
from ingest.planner import Lookup, plan
from ingest.ports import IngestStore
from ingest.similar import SimilarityPolicy
from ingest.stories import StoryEvidence
from ingest.versions import entry_of


@dataclass(frozen=True, slots=True)
class IngestPolicy:
    """How much of a document to take, and how polls change a source's health."""

    max_entries: int = 500
    health: HealthPolicy = field(default_factory=HealthPolicy)
    dedupe: DedupePolicy = field(default_factory=DedupePolicy)
    similarity: SimilarityPolicy = field(default_factory=SimilarityPolicy)
    rules: tuple[StoryRule, ...] = ()
    """Editors' story rules from the sources file."""


async def ingest_source(
    source: Source,
    *,
    fetcher: Fetcher,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy | None = None,
    gate: HostGate | None = None,
    status: SourceStatus | None = None,
    save_status: bool = True,
    offload: Offload = in_thread,
) -> IngestReport:
    """Poll ``source`` once and store what is new; save and report what happened.

    Idempotent: running it twice on the same answer changes nothing the second time. ``now`` is
    the time of the attempt (aware); ``status`` may be passed when the caller already read it.
    The source's new status is saved once, at the end, and returned as ``report.after``; with
    ``save_status=False`` the caller saves it (a worker batching its writes does).
    ``offload`` runs parsing and normalizing (a thread; a worker may pass a process pool).
    Never raises for anything the source or its server did.
    """
    policy = policy or IngestPolicy()
    stored = status or await store.source_status(source.id)
    report, after = await _poll(
        source,
        stored,
        fetcher=fetcher,
        store=store,
        now=now,
        policy=policy,
        gate=gate,
        offload=offload,
    )
    if save_status:
        await store.save_status(after, previous=stored)
    return replace(report, after=after)


async def _poll(
    source: Source,
    stored: SourceStatus,
    *,
    fetcher: Fetcher,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy,
    gate: HostGate | None,
    offload: Offload,
) -> tuple[IngestReport, SourceStatus]:
    url = health.current_url(source, stored)
    status = stored if stored.fetched_url == url else replace(stored, fetched_url=url)
    permit = await gate.acquire(url) if gate else None
    if permit is not None and not permit.granted:
        report = IngestReport(source.id, status="deferred", error=permit.reason, wait=permit.wait)
        return report, health.deferred(status, now)
    unconditional = health.unconditional_due(status, policy.health)
    started = time.perf_counter()
    try:
        result = await fetcher.fetch(
            url, Validators() if unconditional else status.validators, source.headers
        )
    except FetchError as exc:
        report, after = _fetch_failed(status, now, exc, policy.health)
        return replace(report, fetch_seconds=time.perf_counter() - started), after
    finally:
        if gate is not None and permit is not None:
            await gate.release(permit)
    fetched = time.perf_counter() - started
    status = health.redirected(status, source, url, result, policy.health)
    report, after = await _fetched(source, status, result, store, now, policy, offload)
    return replace(report, fetch_seconds=fetched), after


async def _fetched(
    source: Source,
    status: SourceStatus,
    result: FetchResult,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy,
    offload: Offload = in_thread,
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
    started = time.perf_counter()
    try:
        feed, items, read = await _read_new(source, result, store, now, policy, offload)
        found = await asyncio.to_thread(_discovered, result)
    except ParseError as exc:
        report = IngestReport(
            source.id,
            status="error",
            http_status=result.status,
            error=f"cannot parse the feed: {exc}",
            error_class=type(exc).__name__,
            parse_seconds=time.perf_counter() - started,
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
    parsed = time.perf_counter() - started
    made = await _articles(source, items, store, now)
    items, filtered = filters.apply(source, made)  # blocked items are never stored
    free = await store.hold_embargoed(items, now)
    stored, done = await _store_items(source, free, store=store, now=now, policy=policy)
    await _remember(store, source, made, done, now)  # last: every item is stored
    report = replace(
        stored,
        filtered=filtered,
        held=len(items) - len(free),
        hubs=found.hubs if found else (),
        topic=found.topic if found else None,
        http_status=result.status,
        entries=read.entries,
        unchanged=stored.unchanged + read.seen,
        skipped=stored.skipped + read.skipped,
        floors=_with_ttl(floors, feed.ttl),
        parse_seconds=parsed,
    )
    after = health.succeeded(
        status,
        result,
        now,
        policy.health,
        new_items=stored.new,
        body_hash=body_hash,
        entries=read.entries,
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
            status.source_id,
            status="deferred",
            http_status=429,
            error=str(exc),
            error_class=type(exc).__name__,
            floors=floors,
        )
        return report, health.deferred(status, now, http_status=429, note=str(exc))
    report = IngestReport(
        status.source_id,
        status="error",
        http_status=http_status,
        error=str(exc),
        error_class=type(exc).__name__,
        floors=floors,
    )
    return report, health.failed(status, exc, now, policy)


def _read(
    source: Source, result: FetchResult, now: datetime, policy: IngestPolicy
) -> tuple[ParsedFeed, list[Item], int]:
    """Parse and normalize one document (CPU only: runs in a thread)."""
    feed = _parse(source, result)
    entries = [(e, None) for e in feed.entries[: policy.max_entries]]
    items, skipped = _normalize_all(entries, source, result.url, now)
    return feed, items, skipped + len(feed.entries) - len(entries)


def _parse(source: Source, result: FetchResult) -> ParsedFeed:
    # The document's own URL is the base for its relative links (RFC 3986 5.1.3).
    headers = {"content-location": result.url, **result.headers}
    return parse(result.body, headers, source.kind, ninjs_version=source.ninjs_version)


@dataclass(frozen=True, slots=True)
class _Read:
    """What reading a document found besides its new items."""

    seen: int
    """Raw entries the source sent before, unchanged: not normalized, counted as unchanged."""
    skipped: int
    """Entries left out: past ``max_entries``, or with nothing to show."""
    entries: int
    """The document's entries, seen ones included."""


async def _read_new(
    source: Source,
    result: FetchResult,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy,
    offload: Offload = in_thread,
) -> tuple[ParsedFeed, list[Item], _Read]:
    """Parse a document and normalize the entries the source did not send before (see
    :mod:`ingest.unchanged`); parsing and normalizing run where ``offload`` runs them. RSS
    and Atom are cut into entries first, and only those not seen are parsed."""
    feed = None
    if goes_to_feedparser(result.body, result.headers, source.kind):
        cut = await offload(unchanged.cut, source, result.url, result.body, policy.max_entries)
        if cut is not None:
            seen = await store.seen_entries(source.id, list(cut.digests))
            dropped = frozenset(n for n, d in enumerate(cut.digests) if d in seen)
            read = await offload(_read_cut, source, result, now, cut, dropped)
            if not isinstance(read, ParsedFeed):
                return read
            feed = read  # the whole document, whose entries do not match the cut
    if feed is None:
        feed = await offload(_parse, source, result)
    entries = feed.entries[: policy.max_entries]
    digests = unchanged.raw_digests(source, result.url, entries)
    seen = await store.seen_entries(source.id, [d for d in digests if d])
    todo = [(e, d) for e, d in zip(entries, digests, strict=True) if d is None or d not in seen]
    items, skipped = (
        await offload(_normalize_all, todo, source, result.url, now) if todo else ([], 0)
    )
    left_out = len(feed.entries) - len(entries)
    return feed, items, _Read(len(entries) - len(todo), skipped + left_out, len(feed.entries))


def _read_cut(
    source: Source,
    result: FetchResult,
    now: datetime,
    cut: unchanged.Cut,
    dropped: frozenset[int],
) -> tuple[ParsedFeed, list[Item], _Read] | ParsedFeed:
    """Parse what is left of a document once the entries seen (``dropped``) are cut out,
    and normalize its entries. If it does not parse to one entry per span left, or an entry
    shares its id with one cut out, the whole document is parsed instead (its seen entries
    skipped all the same). If even that does not match the cut, the parsed document comes
    back alone, for the caller to take without the cut. CPU only."""
    found = _parse_cut(source, result, cut, dropped) if dropped else None
    if found is None or unchanged.collides([e for _n, e in found[1]], result.body, cut, dropped):
        dropped = frozenset()
        whole = _parse(source, result)
        if len(whole.entries) != len(cut.spans):
            return whole
        found = whole, list(enumerate(whole.entries))
    feed, entries = found
    digests = unchanged.with_digests(entries, cut.digests)
    todo = [
        (e, d) for (n, e), d in zip(entries, digests, strict=True) if d is None or n not in dropped
    ]
    items, skipped = _normalize_all(todo, source, result.url, now)
    return feed, items, _Read(len(cut.spans) - len(todo), skipped, len(cut.spans))


def _parse_cut(
    source: Source, result: FetchResult, cut: unchanged.Cut, dropped: frozenset[int]
) -> tuple[ParsedFeed, list[tuple[int, RawEntry]]] | None:
    """The document without the spans in ``dropped``, parsed: the feed and its entries, each
    with the number of its span; ``None`` unless that is one entry per span left."""
    kept = [n for n in range(len(cut.spans)) if n not in dropped]
    try:
        feed = _parse(source, replace(result, body=skim.without(result.body, cut.spans, dropped)))
    except ParseError:
        return None  # without them it is no feed (one whose format is unknown, say)
    if len(feed.entries) != len(kept):
        return None
    return feed, list(zip(kept, feed.entries, strict=True))


async def _remember(
    store: IngestStore, source: Source, items: Sequence[Item], done: Sequence[Plan], now: datetime
) -> None:
    """Record the raw entries of ``items`` as seen, once they are stored: all but those of
    items killed, blocked or expired, which take the full path each time they come."""
    refused = {p.item.raw_digest for p in done if p.decision.action in _REFUSED}
    digests = {i.raw_digest for i in items if i.raw_digest and i.raw_digest not in refused}
    await store.mark_seen(source.id, sorted(d for d in digests if d), to_ms(now))


_REFUSED = (Action.KILL, Action.BLOCKED, Action.EXPIRED)


async def _store_items(
    source: Source,
    items: Sequence[Item],
    *,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy,
) -> tuple[IngestReport, list[Plan]]:
    """Decide and store ``items``; the report, and the plans as carried out."""
    plans, counts = await _plans(source, items, store=store, now=now, policy=policy)
    done = await store_plans(store, plans, timezone=source.timezone, now=now, policy=policy)
    # Stories a stored item showed to be one are merged (see ingest.similar.bridged).
    merged = await store.merge_bridged([m for p in done for m in p.assignment.merges], now=now)
    into = {other: target for target, other, _moved in merged}
    for before, after in zip(plans, done, strict=True):  # races lost while storing
        if before.decision.action is not after.decision.action:
            counts[before.decision.action] -= 1
            counts[after.decision.action] += 1
    report = IngestReport(
        source.id,
        status="ok",
        new=counts[Action.NEW],
        updated=counts[Action.UPDATE],
        unchanged=counts[Action.UNCHANGED],
        duplicates=counts[Action.DUPLICATE],
        killed=counts[Action.KILL],
        blocked=counts[Action.BLOCKED],
        expired=counts[Action.EXPIRED],
        skipped=counts[None],
        merged=len(merged),
        stories=tuple(
            dict.fromkeys(
                into.get(p.assignment.story_id, p.assignment.story_id)
                for p in done
                if p.decision.action is not Action.KILL
            )
        ),
    )
    return report, done


async def _plans(
    source: Source,
    items: Sequence[Item],
    *,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy,
) -> tuple[list[Plan], Counter[Action | None]]:
    """Decide every item (dedupe, then story) against what the store holds; reads only."""
    evidence = await store.evidence(source.id, items)
    fresh = [n for n, ev in enumerate(evidence) if ev.known is None]
    found, looked = await store.story_evidence(
        source.id, [items[n] for n in fresh], policy.rules, now
    )
    stories = [StoryEvidence()] * len(items)
    lookups = [Lookup()] * len(items)
    for n, story, lookup in zip(fresh, found, looked, strict=True):
        stories[n], lookups[n] = story, lookup
    return plan(
        items,
        evidence,
        stories,
        now=now,
        policy=policy.dedupe,
        lookups=lookups,
        similarity=policy.similarity,
    )


async def store_plans(
    store: IngestStore,
    plans: Sequence[Plan],
    *,
    timezone: str,
    now: datetime,
    policy: IngestPolicy | None = None,
) -> list[Plan]:
    """Store decided plans; return them as carried out (see :mod:`ingest.races`).

    Another worker may store the same wire at the same moment. The store settles each race
    in one slot and returns what it found; the verdicts are pure::

        claim     URL and copy of NEW plans        -> races.after_claims, store.hand_over
        near      enter the near-copy index        -> races.after_near, store.withdraw_near
        copies    the entries copies name          -> races.settle_copies
        open      stories about to be opened       -> races.rejoined
        merges    stories merged away meanwhile    -> races.followed
        write     versions merged, then written    -> versions.entry_of, store.write

    A plan that lost a race is filed as the decision against the winner says (usually a
    DUPLICATE). Idempotent: storing the same plans twice leaves the same state. UNCHANGED
    plans are skipped.
    """
    policy = policy or IngestPolicy()
    todo = [p for p in plans if p.decision.action is not Action.UNCHANGED]
    todo = await _claimed(store, todo, now, policy.dedupe)
    todo = await _settled(store, todo)
    todo = await _opened(store, todo, policy.similarity)
    into = await store.merges(p.assignment.story_id for p in todo if races.names_story(p))
    todo = [races.followed(p, into) for p in todo] if into else todo
    previous = await store.previous_entries(todo)
    entries = [
        entry_of(p.item, p.decision, p.assignment.story_id, previous.get(p.decision.entry_id), now)
        if p.decision.action in (Action.NEW, Action.UPDATE)
        else None
        for p in todo
    ]
    await store.write(todo, entries, timezone=timezone, now=now)
    return todo


async def _claimed(
    store: IngestStore, plans: list[Plan], now: datetime, policy: DedupePolicy
) -> list[Plan]:
    """Claim URL, copy and near copy for NEW plans; re-decide those another entry beat."""
    fresh = [p for p in plans if p.decision.action is Action.NEW]
    redone: dict[int, Plan] = {}
    for mine, (by_url, by_copy) in zip(fresh, await store.claim(fresh), strict=True):
        decision = races.after_claims(mine, by_url, by_copy, now, policy)
        if decision is not None:
            owner = by_url or by_copy
            assert owner is not None
            await store.hand_over(mine, owner)
            redone[id(mine)] = races.lost(mine, decision, owner)
    # A second copy (already in a story) shares its entry's near copy by design.
    racing = [
        p for p in fresh if id(p) not in redone and p.decision.story_id is None and p.item.terms
    ]
    for mine, (before, candidates) in zip(racing, await store.claim_near(racing), strict=True):
        yielded = races.after_near(mine, before, candidates, now, policy)
        if yielded is not None:  # a near copy stored at the same moment won
            decision, rival = yielded
            await store.withdraw_near(mine)
            await store.hand_over(mine, rival)
            redone[id(mine)] = races.lost(mine, decision, rival)
    return [redone.get(id(p), p) for p in plans]


async def _settled(store: IngestStore, plans: list[Plan]) -> list[Plan]:
    """Credit every copy on an entry that exists (see :func:`races.settle_copies`)."""
    owners = {
        n: races.owner_named(p)
        for n, p in enumerate(plans)
        if p.decision.action is Action.DUPLICATE
    }
    if not owners:
        return plans
    settled = await store.copy_owners(owners)
    held = await store.held_credits(
        (o.story_id, o.entry_id, plans[n].item.source_id) for n, o in settled.items()
    )
    return races.settle_copies(plans, settled, held)


async def _opened(store: IngestStore, plans: list[Plan], policy: SimilarityPolicy) -> list[Plan]:
    """Stories about to be opened by similarity misses enter the list of recent openings
    first; an item that fits a story opened a moment earlier by another fetch joins it."""
    opening = [n for n, p in enumerate(plans) if races.opening(p)]
    if not opening:
        return plans
    found = await store.open_stories([plans[n] for n in opening])
    out, into = races.rejoined(plans, dict(zip(opening, found, strict=True)), policy)
    await store.opened_into(into)
    return out


async def preview_source(
    source: Source, *, fetcher: Fetcher, store: IngestStore, now: datetime, policy: IngestPolicy
) -> tuple[list[Plan], int, int]:
    """What a poll of ``source`` would do, storing nothing: fetch (unconditionally), parse,
    normalize, filter and decide each item, including the story it would join (a new
    story's id is the one it would get). Returns the plans, how many entries the document
    had and how many items the source's rules would leave out. Raises
    :class:`~ingest.errors.FetchError` or :class:`~ingest.errors.ParseError`."""
    result = await fetcher.fetch(source.url, Validators(), source.headers)
    feed, items, _skipped = await asyncio.to_thread(_read, source, result, now, policy)
    items = rolling.expand(items, source.timezone, now)
    items, filtered = filters.apply(source, items)
    plans, _counts = await _plans(source, items, store=store, now=now, policy=policy)
    return plans, len(feed.entries), filtered


async def ingest_document(
    source: Source,
    body: bytes,
    *,
    store: IngestStore,
    now: datetime,
    policy: IngestPolicy | None = None,
    headers: dict[str, str] | None = None,
    base_url: str | None = None,
) -> IngestReport:
    """The same path for a document already in hand (a drop-folder file, a WebSub content
    distribution): parse | normalize | embargo | dedupe | assign | store. Idempotent.

    Raises :class:`ParseError` when the document is unusable; the caller records it (a
    folder moves the file to ``failed/``). The source's status is not touched.
    """
    policy = policy or IngestPolicy()
    result = FetchResult(url=base_url or source.url, status=200, headers=headers or {}, body=body)
    _feed, items, read = await _read_new(source, result, store, now, policy)
    items, _collided = repair_identities(items, distrust=False, keep=frozenset())
    made = await _articles(source, items, store, now)
    items, filtered = filters.apply(source, made)  # blocked items are never stored
    free = await store.hold_embargoed(items, now)
    stored, done = await _store_items(source, free, store=store, now=now, policy=policy)
    await _remember(store, source, made, done, now)
    return replace(
        stored,
        filtered=filtered,
        held=len(items) - len(free),
        http_status=200,
        entries=read.entries,
        unchanged=stored.unchanged + read.seen,
        skipped=stored.skipped + read.skipped,
    )


async def release_embargoed(
    store: IngestStore, *, now: datetime, policy: IngestPolicy | None = None, limit: int = 100
) -> list[IngestReport]:
    """Publish the held items whose embargo is over at ``now``, through the same store path
    as a poll's (dedupe | assign | store), one report per source. Any number of workers may
    call this at once: each held item is handed to exactly one of them."""
    policy = policy or IngestPolicy()
    due = await store.take_embargoed(now, limit)
    if not due:
        return []
    by_source: dict[str, list[Item]] = {}
    for held in due:
        by_source.setdefault(held.source_id, []).append(replace(held.item, embargoed=None))
    sources = {s.id: s for s in await store.get_sources(list(by_source))}
    reports = []
    for source_id, items in by_source.items():
        source = sources.get(source_id) or Source(id=source_id, url="http://removed.invalid/")
        report, _done = await _store_items(source, items, store=store, now=now, policy=policy)
        reports.append(report)
    await store.embargo_done(due)
    return reports


async def _articles(
    source: Source, items: Sequence[Item], store: IngestStore, now: datetime
) -> list[Item]:
    """Rolling articles become their sections; a withdrawn article withdraws every section it
    was ever split into."""
    killed = [i for i in items if i.killed]
    sections = await store.article_sections(source.id, [i.identity for i in killed])
    withdrawn = [
        replace(item, identity=section, rolling=True)
        for item in killed
        for section in sections.get(item.identity, ())
    ]
    return rolling.expand(items, source.timezone, now) + withdrawn


_HUB_LINK = re.compile(rb"""rel\s*=\s*["']?[^"'>]*\bhub\b""", re.IGNORECASE)
DISCOVERY_BYTES = 256 * 1024
"""Hub links sit among a document's first elements: only this much of it is searched."""


def _discovered(result: FetchResult) -> Discovery | None:
    """The WebSub hubs the answer advertises, if it mentions one at all (cheap to rule out).
    CPU only: runs in a thread, over at most DISCOVERY_BYTES of the body."""
    head = result.body[:DISCOVERY_BYTES]
    if "hub" not in result.headers.get("link", "") and not _HUB_LINK.search(head):
        return None
    return discover(result.url, result.headers, head)


def _normalize_all(
    entries: Sequence[tuple[RawEntry, str | None]], source: Source, base_url: str, now: datetime
) -> tuple[list[Item], int]:
    """The items of ``entries`` (each with its raw digest), and how many made none."""
    items = []
    for raw, digest in entries:
        try:
            item = normalize(raw, source.id, now=now, base_url=base_url)
        except EntryError:
            continue
        items.append(replace(item, raw_digest=digest) if digest else item)
    return items, len(entries) - len(items)
