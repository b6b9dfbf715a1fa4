"""The store port (:class:`Store`) and its Redis implementation (:class:`RedisStore`).

Layout: see :mod:`ingest.keys`. Writes are idempotent and ordered so that a worker dying between
any two of them leaves a state that a replay of the same item repairs rather than duplicates:

0. a new entry first claims its canonical URL and its copy (SET NX GET): of two workers
   storing the same wire copy at once, one wins and the other files its item as a duplicate;
1. the story's entries hash, timeline and meta, in one Lua script (one slot, atomic);
2. the stories index, the page index and the dedupe index (each idempotent on its own);
3. last, the source's identity record, which is what the next dedupe decision reads.

Until step 3 lands, a replay decides the same way again and rewrites the same values.
Kills remove the entry from its story in one script and leave tombstones on the identity, the
URL, the copy and the near-copy record, so the item and copies of it never come back.
Raw Redis replies never leave this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from config.sources import Source
from ingest import keys
from ingest.codec import entry_of, status_changes, status_fields, status_of, story_of
from ingest.dedupe import DedupePolicy, Evidence, decide
from ingest.errors import StoreError
from ingest.index import RedisIndex, Retention
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
    to_ms,
)

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
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return updated
"""

# One slot. Removes an entry and its "also reported by" credits; returns what is left, the
# removed entry's JSON and the story's updated time.
_KILL_ENTRY = """
local raw = redis.call('HGET', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local prefix = ARGV[1] .. '\31'
for _, field in ipairs(redis.call('HKEYS', KEYS[4])) do
  if string.sub(field, 1, #prefix) == prefix then redis.call('HDEL', KEYS[4], field) end
end
local current = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
local updated = math.max(current, tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'updated', updated)
return {redis.call('ZCARD', KEYS[2]), raw or '', updated}
"""


class Store(Protocol):
    """What the pipeline and the web app need from storage. Every write is idempotent."""

    async def evidence(self, source_id: str, items: Sequence[Item]) -> list[Evidence]: ...
    async def page_stories(self, pages: Iterable[str]) -> dict[str, str]: ...
    async def apply_many(
        self, plans: Sequence[Plan], *, timezone: str, now: datetime
    ) -> list[Plan]: ...
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

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        retention: Retention | None = None,
        dedupe: DedupePolicy | None = None,
    ) -> None:
        self._r = client
        self.retention = retention or Retention()
        self.dedupe = dedupe or DedupePolicy()
        self.index = RedisIndex(client, self.retention)
        self._apply_entry = client.register_script(_APPLY_ENTRY)
        self._kill_entry = client.register_script(_KILL_ENTRY)

    # -- ingest side -------------------------------------------------------------------------

    async def evidence(self, source_id: str, items: Sequence[Item]) -> list[Evidence]:
        """What the dedupe decision needs for each of ``items`` (see :mod:`ingest.index`)."""
        return list(await self._call(self.index.evidence(source_id, items)))

    async def known(self, source_id: str, identity: str) -> Known | None:
        """What we hold for one identity of a source, or ``None`` if it is new to us."""
        raw = await self._call(self._r.get(keys.identity(source_id, identity)))
        return Known.from_json(raw) if raw else None

    async def page_stories(self, pages: Iterable[str]) -> dict[str, str]:
        """For each page an earlier item came from: the story that item opened."""
        wanted = list(dict.fromkeys(pages))
        if not wanted:
            return {}
        pipe = self._r.pipeline(transaction=False)  # keys live in many slots: no MGET
        for page in wanted:
            pipe.get(keys.page_story(page))
        found = await self._call(pipe.execute())
        return {page: str(sid) for page, sid in zip(wanted, found, strict=True) if sid}

    async def apply(
        self,
        item: Item,
        decision: Decision,
        assignment: Assignment,
        *,
        timezone: str,
        now: datetime,
        known: Known | None = None,
    ) -> Plan:
        """Store one decided item; see :meth:`apply_many`."""
        (done,) = await self.apply_many(
            [Plan(item, decision, assignment, known)], timezone=timezone, now=now
        )
        return done

    async def apply_many(
        self, plans: Sequence[Plan], *, timezone: str, now: datetime
    ) -> list[Plan]:
        """Carry out decided plans; return them as carried out.

        A NEW plan whose URL or copy another entry claimed first (a race between workers)
        is decided again against that owner and usually becomes a DUPLICATE: the returned
        plans say what really happened. Idempotent: applying the same plans twice leaves the
        same state. UNCHANGED plans are skipped.
        """
        plans = await self._claim(
            [p for p in plans if p.decision.action is not Action.UNCHANGED], now
        )
        previous = await self._entries(
            [
                (p.assignment.story_id, p.decision.entry_id)
                for p in plans
                if p.decision.action is Action.UPDATE
            ]
        )
        pipe = self._r.pipeline(transaction=False)
        for plan in plans:
            action = plan.decision.action
            if action in (Action.NEW, Action.UPDATE):
                await self._queue_entry(pipe, plan, previous, timezone, now)
            elif action is Action.DUPLICATE:
                self._queue_duplicate(pipe, plan, now)
            elif action is Action.BLOCKED:
                self._queue_blocked(pipe, plan)
        if len(pipe):
            await self._call(pipe.execute())
        for plan in plans:
            if plan.decision.action is Action.KILL:
                await self._kill(plan, reason="withdrawn by its source", now=now)
        return list(plans)

    async def _claim(self, plans: list[Plan], now: datetime) -> list[Plan]:
        """Claim URL and copy for NEW plans; re-decide the ones another entry beat."""
        fresh = [p for p in plans if p.decision.action is Action.NEW]
        if not fresh:
            return plans
        pipe = self._r.pipeline(transaction=False)
        for plan in fresh:
            self.index.queue_claims(pipe, plan.item, _record(plan, plan.item))
        replies = await self._call(pipe.execute())
        redone: dict[int, Plan] = {}
        for n, plan in enumerate(fresh):
            owners = [Known.from_json(r) for r in replies[2 * n : 2 * n + 2] if r]
            rival = next((o for o in owners if o.entry_id != plan.decision.entry_id), None)
            if rival is not None:
                redone[id(plan)] = await self._lost_race(plan, rival, now)
        return [redone.get(id(p), p) for p in plans]

    async def _lost_race(self, plan: Plan, owner: Known, now: datetime) -> Plan:
        decision = decide(plan.item, Evidence(by_url=owner), now, self.dedupe)
        # Claims we did win point at an entry that will not exist: hand them to the owner.
        pipe = self._r.pipeline(transaction=False)
        for key in (keys.item_url(plan.item.url or ""), keys.copy(plan.item.copy_key)):
            pipe.set(key, owner.to_json(), xx=True, px=self.retention.entries_ms)
        await self._call(pipe.execute())
        assignment = Assignment(owner.story_id, new_story=False)
        return Plan(
            plan.item,
            decision,
            assignment,
            owner if owner.source_id == plan.item.source_id else None,
        )

    async def _queue_entry(
        self, pipe: Any, plan: Plan, previous: dict[str, Entry], timezone: str, now: datetime
    ) -> None:
        sid, item = plan.assignment.story_id, plan.item
        entry = entry_of(item, plan.decision, sid, previous.get(plan.decision.entry_id), now)
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
                self.retention.entries_ms,
            ],
            client=pipe,
        )
        pipe.zadd(keys.STORIES, {sid: changed_ms}, gt=True)  # the same max the script keeps
        if item.page_url:
            pipe.set(keys.page_story(item.page_url), sid, nx=True, px=self.retention.entries_ms)
        record = _record(plan, item, now)
        self.index.queue_entry(pipe, item, record, to_ms(entry.published))
        self.index.queue_identity(pipe, item, record)
        self._event(pipe, sid, plan.decision.action.value, entry.id)

    def _queue_duplicate(self, pipe: Any, plan: Plan, now: datetime) -> None:
        sid, item, owner = plan.assignment.story_id, plan.item, plan.decision.entry_id
        pipe.hset(keys.story_also(sid), f"{owner}\x1f{item.source_id}", item.url or "")
        pipe.pexpire(keys.story_also(sid), self.retention.entries_ms)
        pipe.sadd(keys.story_sources(sid), item.source_id)
        alias = Known(
            owner,
            sid,
            plan.decision.version,
            item.content_hash,
            item.version,
            to_ms(item.updated),
            item.source_id,
            alias=True,
        )
        self.index.queue_identity(pipe, item, alias)
        self._event(pipe, sid, "also", owner)

    def _queue_blocked(self, pipe: Any, plan: Plan) -> None:
        dead = Known(
            plan.decision.entry_id,
            plan.decision.story_id or "",
            0,
            plan.item.content_hash,
            source_id=plan.item.source_id,
            killed=True,
        )
        self.index.queue_identity(pipe, plan.item, dead)

    async def kill(self, entry_id: str, *, reason: str, now: datetime) -> bool:
        """An editor's kill: remove ``entry_id`` from every feed and tombstone it. False when
        no such entry is known (or it is dead already)."""
        owner = await self._call(self.index.owner(entry_id))
        if owner is None or owner.killed:
            return False
        item = Item(
            source_id=owner.source_id,
            identity="",
            identity_kind="native",
            url=None,
            title="",
            summary_html="",
            content_html="",
            published=now,
            updated=now,
            authors=(),
            content_hash=owner.content_hash,
        )
        plan = Plan(
            item,
            Decision(Action.KILL, entry_id, owner.version, owner.story_id),
            Assignment(owner.story_id, new_story=False),
            owner,
        )
        await self._kill(plan, reason=reason, now=now)
        return True

    async def _kill(self, plan: Plan, *, reason: str, now: datetime) -> None:
        sid, entry_id = plan.decision.story_id, plan.decision.entry_id
        removed: Entry | None = None
        if sid:
            left, raw, updated = await self._call(
                self._kill_entry(
                    keys=[
                        keys.story_meta(sid),
                        keys.story_timeline(sid),
                        keys.story_entries(sid),
                        keys.story_also(sid),
                    ],
                    args=[entry_id, to_ms(now)],
                )
            )
            removed = Entry.from_json(raw) if raw else None
            if int(left) == 0:
                await self._call(self._r.zrem(keys.STORIES, sid))
            else:
                await self._call(self._r.zadd(keys.STORIES, {sid: int(updated)}, gt=True))
        record = plan.known or Known(
            entry_id,
            sid or "",
            plan.decision.version,
            plan.item.content_hash,
            source_id=plan.item.source_id,
        )
        pipe = self._r.pipeline(transaction=False)
        dead = self.index.queue_tombstone(
            pipe,
            record,
            url=removed.url if removed else plan.item.url,
            copy_key=removed.copy_key if removed else plan.item.copy_key,
            reason=reason,
            now_ms=to_ms(now),
        )
        identities = {(plan.item.source_id, plan.item.identity)} if plan.item.identity else set()
        if removed is not None:
            identities.add((removed.source_id, removed.identity))
        for source_id, identity in identities:
            pipe.set(
                keys.identity(source_id, identity), dead.to_json(), px=self.retention.tombstones_ms
            )
        if sid:
            self._event(pipe, sid, "kill", entry_id)
        await self._call(pipe.execute())

    async def correct(self, entry_id: str, *, note: str | None, now: datetime) -> bool:
        """An editor's correction flag on an entry: republished with a new updated time and
        the note. False when no such entry is known."""
        owner = await self._call(self.index.owner(entry_id))
        if owner is None or owner.killed:
            return False
        raw = await self._call(self._r.hget(keys.story_entries(owner.story_id), entry_id))
        if not raw:
            return False
        entry = Entry.from_json(raw)
        fixed = replace(
            entry,
            correction_note=note or entry.correction_note,
            corrected_at=now,
            updated=max(now, entry.updated),
        )
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(keys.story_entries(owner.story_id), entry_id, fixed.to_json())
        pipe.hset(keys.story_meta(owner.story_id), "updated", str(to_ms(fixed.updated)))
        pipe.zadd(keys.STORIES, {owner.story_id: to_ms(fixed.updated)}, gt=True)
        self._event(pipe, owner.story_id, "correction", entry_id)
        await self._call(pipe.execute())
        return True

    def _event(self, pipe: Any, story_id: str, kind: str, entry_id: str) -> None:
        pipe.xadd(
            keys.EVENTS,
            {"story": story_id, "kind": kind, "entry": entry_id},
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )

    async def trim(self, now: datetime) -> int:
        """Forget stories whose last change is older than the retention window (their keys
        expire on their own); returns how many left the index."""
        horizon = to_ms(now) - self.retention.entries_ms
        removed: int = await self._call(self._r.zremrangebyscore(keys.STORIES, "-inf", horizon))
        return removed

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
        return status_of(source_id, raw)

    async def source_statuses(self, source_ids: Sequence[str]) -> dict[str, SourceStatus]:
        """The statuses of ``source_ids`` in one round trip (unknown ones come back new)."""
        pipe = self._r.pipeline(transaction=False)
        for source_id in source_ids:
            pipe.hgetall(keys.source_status(source_id))
        raws = await self._call(pipe.execute()) if source_ids else []
        return {sid: status_of(sid, raw) for sid, raw in zip(source_ids, raws, strict=True)}

    async def set_state(self, source_id: str, state: str) -> None:
        """Set a source's state alone (for example ``paused`` when it is disabled)."""
        await self._call(self._r.hset(keys.source_status(source_id), "state", state))

    async def note_schedule(
        self, status: SourceStatus, interval: float | None, reason: str
    ) -> None:
        """Record the interval just chosen and why, for status displays."""
        pipe = self._r.pipeline(transaction=False)
        self.queue_note(pipe, status, interval, reason)
        if len(pipe):
            await self._call(pipe.execute())

    def queue_note(
        self, pipe: Any, status: SourceStatus, interval: float | None, reason: str
    ) -> None:
        """Queue :meth:`note_schedule`'s write; nothing when the reason is the same and the
        interval within jitter of the recorded one, so a steady source costs no write."""
        if status.interval_reason == reason and _close(status.interval, interval):
            return
        key = keys.source_status(status.source_id)
        if interval is None:
            pipe.hdel(key, "interval")
            pipe.hset(key, "interval_reason", reason)
        else:
            pipe.hset(key, mapping={"interval_reason": reason, "interval": f"{interval:.3f}"})

    async def save_status(self, status: SourceStatus, previous: SourceStatus | None = None) -> None:
        """Make the stored status of ``status.source_id`` equal ``status``.

        With ``previous`` (what is stored now, as read earlier by this lease holder) only the
        fields that differ are written: an unchanged poll costs one small HSET.
        """
        key = keys.source_status(status.source_id)
        if previous is None:
            pipe = self._r.pipeline(transaction=True)
            pipe.delete(key)
            pipe.hset(key, mapping=status_fields(status))
            await self._call(pipe.execute())
            return
        pipe = self._r.pipeline(transaction=False)
        self.queue_status(pipe, status, previous)
        if len(pipe):
            await self._call(pipe.execute())

    def queue_status(self, pipe: Any, status: SourceStatus, previous: SourceStatus) -> None:
        """Queue on ``pipe`` the writes that turn the stored ``previous`` into ``status``."""
        key = keys.source_status(status.source_id)
        changed, dropped = status_changes(previous, status)
        if dropped:
            pipe.hdel(key, *dropped)
        if changed:
            pipe.hset(key, mapping=changed)

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
        pipe.hgetall(keys.story_also(story_id))
        meta, entry_ids, count, sources, also = await self._call(pipe.execute())
        if not meta or not entry_ids:
            return None
        raws = await self._call(self._r.hmget(keys.story_entries(story_id), entry_ids))
        timeline = tuple(Entry.from_json(r) for r in raws if r is not None)
        if not timeline:
            return None
        return story_of(story_id, meta, timeline, int(count), sources, also)

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"redis: {type(exc).__name__}: {exc}") from exc


def _record(plan: Plan, item: Item, now: datetime | None = None) -> Known:
    """The identity record an applied plan leaves behind."""
    known, decision = plan.known, plan.decision
    changes: tuple[int, ...] = known.hash_changes if known else ()
    explicit = [
        v for v in ((known.explicit_version if known else None), item.version) if v is not None
    ]
    hash_only = known is not None and item.version in (None, known.explicit_version)
    if hash_only and now is not None and decision.action is Action.UPDATE:
        changes = (*changes, to_ms(now))[-16:]  # a change without a version: counts to the cap
    return Known(
        entry_id=decision.entry_id,
        story_id=plan.assignment.story_id,
        version=decision.version,
        content_hash=item.content_hash,
        explicit_version=max(explicit) if explicit else None,
        updated_ms=max(to_ms(item.updated), known.updated_ms if known else 0),
        source_id=item.source_id,
        hash_changes=changes,
    )


def _close(recorded: float | None, chosen: float | None) -> bool:
    if recorded is None or chosen is None:
        return recorded is chosen
    return abs(recorded - chosen) <= 0.25 * max(recorded, chosen)
