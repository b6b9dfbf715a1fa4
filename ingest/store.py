"""The store port (:class:`Store`) and its Redis implementation (:class:`RedisStore`).

Layout: see :mod:`ingest.keys`. Writes are idempotent and ordered so that a worker dying between
any two of them leaves a state that a replay of the same item repairs rather than duplicates:

1. the story's entries hash, timeline and meta, in one Lua script (one slot, atomic);
2. the stories index and the canonical-URL index (each idempotent on its own);
3. last, the source's identity record, which is what the next dedupe decision reads.

Until step 3 lands, a replay decides the same way again and rewrites the same values.
Raw Redis replies never leave this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, get_type_hints

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from config.sources import Source
from ingest import keys
from ingest.errors import StoreError
from ingest.model import (
    Action,
    Assignment,
    Decision,
    Entry,
    Item,
    Known,
    Plan,
    SourceStatus,
    Story,
    from_ms,
    to_ms,
)

MAX_VERSIONS_KEPT = 20
EVENTS_MAXLEN = 10_000

# One slot: KEYS share the {story:ID} tag. Returns the story's updated time (ms).
_APPLY_ENTRY = """
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[7])
redis.call('HSETNX', KEYS[1], 'created', ARGV[5])
redis.call('HSETNX', KEYS[1], 'timezone', ARGV[6])
local current = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
local updated = math.max(current, tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'updated', updated)
return updated
"""


class Store(Protocol):
    """What the pipeline and the web app need from storage. Every write is idempotent."""

    async def known_many(self, source_id: str, identities: Sequence[str]) -> dict[str, Known]: ...
    async def stories_for_urls(self, urls: Iterable[str]) -> dict[str, str]: ...
    async def apply_many(
        self, plans: Sequence[Plan], *, timezone: str, now: datetime
    ) -> list[Entry]: ...
    async def source_status(self, source_id: str) -> SourceStatus: ...
    async def source_statuses(self, source_ids: Sequence[str]) -> dict[str, SourceStatus]: ...
    async def set_state(self, source_id: str, state: str) -> None: ...
    async def note_schedule(
        self, status: SourceStatus, interval: float | None, reason: str
    ) -> None: ...
    async def save_status(
        self, status: SourceStatus, previous: SourceStatus | None = None
    ) -> None: ...
    async def put_sources(self, sources: Sequence[Source]) -> None: ...
    async def get_sources(self, source_ids: Iterable[str] | None = None) -> list[Source]: ...
    async def recent_stories(self, limit: int, *, entries: int = 10) -> list[Story]: ...
    async def story(self, story_id: str, *, entries: int = 200) -> Story | None: ...


class RedisStore:
    """:class:`Store` over one Redis (or Redis Cluster) connection owned by the caller."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._apply_entry = client.register_script(_APPLY_ENTRY)

    # -- ingest side -------------------------------------------------------------------------

    async def known_many(self, source_id: str, identities: Sequence[str]) -> dict[str, Known]:
        """What we know of each of ``identities`` in ``source_id``; new ones are absent."""
        if not identities:
            return {}
        raws = await self._call(self._r.hmget(keys.source_ids(source_id), list(identities)))
        return {i: _known_of(raw) for i, raw in zip(identities, raws, strict=True) if raw}

    async def known(self, source_id: str, identity: str) -> Known | None:
        """What we know of one identity, or ``None`` if it is new to us."""
        return (await self.known_many(source_id, [identity])).get(identity)

    async def stories_for_urls(self, urls: Iterable[str]) -> dict[str, str]:
        """For each canonical URL an earlier item carried: the story it went to."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        pipe = self._r.pipeline(transaction=False)  # keys live in many slots: no MGET
        for url in wanted:
            pipe.get(keys.url_story(url))
        found = await self._call(pipe.execute())
        return {url: str(sid) for url, sid in zip(wanted, found, strict=True) if sid}

    async def apply(
        self,
        item: Item,
        decision: Decision,
        assignment: Assignment,
        *,
        timezone: str,
        now: datetime,
    ) -> Entry:
        """Store one NEW entry or UPDATE of one; see :meth:`apply_many`."""
        (entry,) = await self.apply_many(
            [Plan(item, decision, assignment)], timezone=timezone, now=now
        )
        return entry

    async def apply_many(
        self, plans: Sequence[Plan], *, timezone: str, now: datetime
    ) -> list[Entry]:
        """Store NEW entries and UPDATEs of entries, in one round trip after one read.

        Idempotent: applying the same plans twice leaves the same state. Within each plan the
        writes go in the order of the module docstring (identity record last), and Redis runs a
        pipeline in order, so a connection lost part-way leaves a prefix that a replay repairs.
        Plans must name distinct entries; UNCHANGED decisions must not reach here.
        """
        if any(p.decision.action is Action.UNCHANGED for p in plans):
            raise ValueError("apply_many() given an UNCHANGED decision")
        previous = await self._entries(
            [
                (p.assignment.story_id, p.decision.entry_id)
                for p in plans
                if p.decision.action is Action.UPDATE
            ]
        )
        pipe = self._r.pipeline(transaction=False)
        entries = []
        for plan in plans:
            entry = _entry_of(
                plan.item,
                plan.decision,
                plan.assignment.story_id,
                previous.get(plan.decision.entry_id),
                now,
            )
            await self._queue_writes(pipe, plan, entry, timezone, now)
            entries.append(entry)
        if entries:
            await self._call(pipe.execute())
        return entries

    async def _queue_writes(
        self, pipe: Any, plan: Plan, entry: Entry, timezone: str, now: datetime
    ) -> None:
        sid, item = plan.assignment.story_id, plan.item
        changed_ms = to_ms(entry.updated if plan.assignment.new_story else max(entry.updated, now))
        await self._apply_entry(  # with a pipeline client this queues, it does not send
            keys=[
                keys.story_meta(sid),
                keys.story_timeline(sid),
                keys.story_entries(sid),
                keys.story_sources(sid),
            ],
            args=[
                entry.id,
                to_ms(entry.published),
                entry.to_json(),
                changed_ms,
                to_ms(entry.first_seen),
                timezone,
                item.source_id,
            ],
            client=pipe,
        )
        pipe.zadd(keys.STORIES, {sid: changed_ms}, gt=True)  # the same max the script keeps
        if item.url:
            pipe.set(keys.url_story(item.url), sid, nx=True)
        record = f"{entry.id} {sid} {entry.version} {entry.content_hash}"
        pipe.hset(keys.source_ids(item.source_id), item.identity, record)
        pipe.xadd(
            keys.EVENTS,
            {"story": sid, "kind": plan.decision.action.value, "entry": entry.id},
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )

    async def _entries(self, wanted: Sequence[tuple[str, str]]) -> dict[str, Entry]:
        if not wanted:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for story_id, entry_id in wanted:
            pipe.hget(keys.story_entries(story_id), entry_id)
        raws = await self._call(pipe.execute())
        return {
            eid: Entry.from_json(raw)
            for (_sid, eid), raw in zip(wanted, raws, strict=True)
            if raw is not None
        }

    async def source_status(self, source_id: str) -> SourceStatus:
        raw: dict[str, str] = await self._call(self._r.hgetall(keys.source_status(source_id)))
        return _status_of(source_id, raw)

    async def source_statuses(self, source_ids: Sequence[str]) -> dict[str, SourceStatus]:
        """The statuses of ``source_ids`` in one round trip (unknown ones come back new)."""
        pipe = self._r.pipeline(transaction=False)
        for source_id in source_ids:
            pipe.hgetall(keys.source_status(source_id))
        raws = await self._call(pipe.execute()) if source_ids else []
        return {sid: _status_of(sid, raw) for sid, raw in zip(source_ids, raws, strict=True)}

    async def set_state(self, source_id: str, state: str) -> None:
        """Set a source's state alone (for example ``paused`` when it is disabled)."""
        await self._call(self._r.hset(keys.source_status(source_id), "state", state))

    async def note_schedule(
        self, status: SourceStatus, interval: float | None, reason: str
    ) -> None:
        """Record the interval just chosen and why, for status displays. Skipped when the
        reason is the same and the interval within jitter of the recorded one, so a steady
        source costs no write here."""
        same_reason = status.interval_reason == reason
        if same_reason and _close(status.interval, interval):
            return
        key = keys.source_status(status.source_id)
        fields: dict[Any, str] = {"interval_reason": reason}
        if interval is None:
            await self._call(self._r.hdel(key, "interval"))
        else:
            fields["interval"] = f"{interval:.3f}"
        await self._call(self._r.hset(key, mapping=fields))

    async def save_status(self, status: SourceStatus, previous: SourceStatus | None = None) -> None:
        """Make the stored status of ``status.source_id`` equal ``status``.

        With ``previous`` (what is stored now, as read earlier by this lease holder) only the
        fields that differ are written: an unchanged poll costs one small HSET.
        """
        key = keys.source_status(status.source_id)
        fields = _status_fields(status)
        if previous is None:
            pipe = self._r.pipeline(transaction=True)
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            await self._call(pipe.execute())
            return
        before = _status_fields(previous)
        changed = {k: v for k, v in fields.items() if before.get(k) != v}
        dropped = [k for k in before if k not in fields]
        if dropped:
            await self._call(self._r.hdel(key, *dropped))
        if changed:
            await self._call(self._r.hset(key, mapping=changed))

    async def put_sources(self, sources: Sequence[Source]) -> None:
        """Make ``sources`` the configured set: write each config, forget the others."""
        wanted = {s.id for s in sources}
        current = {str(m) for m in await self._call(self._r.smembers(keys.SOURCES))}
        for source in sources:
            await self._call(self._r.set(keys.source_config(source.id), source.to_json()))
        if wanted:
            await self._call(self._r.sadd(keys.SOURCES, *wanted))
        for gone in current - wanted:
            await self._call(self._r.srem(keys.SOURCES, gone))
            await self._call(self._r.delete(keys.source_config(gone)))

    async def get_sources(self, source_ids: Iterable[str] | None = None) -> list[Source]:
        """The configured sources (all, or those of ``source_ids`` that exist), sorted by id."""
        ids = sorted(
            source_ids
            if source_ids is not None
            else [str(m) for m in await self._call(self._r.smembers(keys.SOURCES))]
        )
        if not ids:
            return []
        raws = await self._call(self._r.mget([keys.source_config(i) for i in ids]))
        return [Source.from_json(raw) for raw in raws if raw is not None]

    # -- read side ---------------------------------------------------------------------------

    async def recent_stories(self, limit: int, *, entries: int = 10) -> list[Story]:
        """Up to ``limit`` stories, most recently updated first, each with its newest entries."""
        ids = await self._call(self._r.zrevrange(keys.STORIES, 0, limit - 1))
        stories = [await self.story(str(sid), entries=entries) for sid in ids]
        return [s for s in stories if s is not None]

    async def story(self, story_id: str, *, entries: int = 200) -> Story | None:
        """One story with up to ``entries`` of its timeline, newest first; ``None`` if unknown."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(keys.story_meta(story_id))
        pipe.zrevrange(keys.story_timeline(story_id), 0, entries - 1)
        pipe.zcard(keys.story_timeline(story_id))
        pipe.smembers(keys.story_sources(story_id))
        meta, entry_ids, count, sources = await self._call(pipe.execute())
        if not meta or not entry_ids:
            return None
        raws = await self._call(self._r.hmget(keys.story_entries(story_id), entry_ids))
        timeline = tuple(Entry.from_json(r) for r in raws if r is not None)
        return _story_of(story_id, meta, timeline, int(count), sources)

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"redis: {type(exc).__name__}: {exc}") from exc


def _close(recorded: float | None, chosen: float | None) -> bool:
    if recorded is None or chosen is None:
        return recorded is chosen
    return abs(recorded - chosen) <= 0.25 * max(recorded, chosen)


def _known_of(raw: str) -> Known:
    entry_id, story_id, version, content_hash = str(raw).split(" ", 3)
    return Known(entry_id, story_id, int(version), content_hash)


def _entry_of(
    item: Item, decision: Decision, story_id: str, previous: Entry | None, now: datetime
) -> Entry:
    """The stored form of ``item`` at ``decision.version``, carrying history from ``previous``."""
    history = ((decision.version, item.content_hash, now),)
    entry = Entry(
        id=decision.entry_id,
        story_id=story_id,
        source_id=item.source_id,
        identity=item.identity,
        identity_kind=item.identity_kind,
        url=item.url,
        title=item.title,
        summary_html=item.summary_html,
        content_html=item.content_html,
        published=item.published,
        updated=item.updated,
        authors=item.authors,
        content_hash=item.content_hash,
        version=decision.version,
        first_seen=now,
        versions=history,
    )
    if previous is None:
        return entry
    # A new version keeps the entry's place in the timeline and gets a fresh updated time:
    # the feed's date if it moved, else the moment we saw the change.
    kept = tuple(v for v in previous.versions if v[0] < decision.version)
    return replace(
        entry,
        published=previous.published,
        first_seen=previous.first_seen,
        updated=item.updated if item.updated > previous.updated else max(now, previous.updated),
        versions=(kept + history)[-MAX_VERSIONS_KEPT:],
    )


def _story_of(
    story_id: str,
    meta: dict[str, str],
    timeline: tuple[Entry, ...],
    count: int,
    sources: Iterable[str],
) -> Story:
    head = timeline[0]
    return Story(
        id=story_id,
        title=meta.get("title") or head.title,
        lede_html=meta.get("lede") or head.summary_html or _first_paragraph(head.content_html),
        created=from_ms(meta.get("created", to_ms(head.first_seen))),
        updated=from_ms(meta.get("updated", to_ms(head.updated))),
        timezone=meta.get("timezone", "UTC"),
        entry_count=count,
        sources=tuple(sorted(str(s) for s in sources)),
        entries=timeline,
    )


def _first_paragraph(fragment: str) -> str:
    end = fragment.find("</p>")
    return fragment[: end + 4] if fragment.startswith("<p>") and end > 0 else fragment


def _status_codec() -> dict[str, Callable[[str], Any]]:
    """How to read each stored status field back, from SourceStatus's own annotations."""
    readers: dict[str, Callable[[str], Any]] = {}
    for name, hint in get_type_hints(SourceStatus).items():
        text = str(hint)
        if "datetime" in text:
            readers[name] = from_ms
        elif "tuple" in text:
            readers[name] = lambda raw: tuple(json.loads(raw))
        elif "int" in text:
            readers[name] = int
        elif "float" in text:
            readers[name] = float
        else:
            readers[name] = str
    return readers


_STATUS_READERS = _status_codec()


def _status_fields(status: SourceStatus) -> dict[Any, str]:  # Any: redis-py's key union
    """The hash fields of ``status``; unset (None) fields are left out."""
    fields: dict[Any, str] = {}
    for name in _STATUS_READERS:
        value = getattr(status, name)
        if value is None or name == "source_id":
            continue
        if isinstance(value, datetime):
            fields[name] = str(to_ms(value))
        elif isinstance(value, tuple):
            fields[name] = json.dumps(list(value))
        else:
            fields[name] = str(value)
    return fields


def _status_of(source_id: str, raw: dict[str, str]) -> SourceStatus:
    values = {
        name: _STATUS_READERS[name](text)
        for name, text in raw.items()
        if name in _STATUS_READERS and name != "source_id"
    }
    return SourceStatus(source_id=source_id, **values)
