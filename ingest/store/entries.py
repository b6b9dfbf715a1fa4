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

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import redis.asyncio as aioredis

from config.settings import Settings
from config.sources import Source, StoryRule
from ingest import keys, similar
from ingest.codec import entry_of, status_changes, status_fields, status_of
from ingest.dedupe import DedupePolicy, Evidence, decide
from ingest.dedupe import entry_id as entry_id_of
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
from ingest.planner import Lookup
from ingest.similar import SimilarityPolicy
from ingest.store import scripts
from ingest.store.audit import Actor, RedisAudit
from ingest.store.connect import queue_gets
from ingest.store.dedupe_index import RedisIndex, Retention
from ingest.store.editing import EditError, Editing
from ingest.store.embargo import RedisEmbargoes, split
from ingest.store.reads import RedisReader
from ingest.store.story_index import RedisStoryIndex, follow
from ingest.stories import StoryEvidence

EVENTS_MAXLEN = 10_000
MACHINE = Actor("wirefeed", "machine", "worker")
"""Who the audit log names for what the machine changes on its own (automatic merges)."""
SETTLE_TRIES = 6
SETTLE_PAUSE = 0.05
"""Seconds: how long a copy waits (growing each try, about a second in all) for the entry it
is a copy of, stored at the same moment by another worker, to appear."""
YIELD_TTL_MS = 3_600_000

Arrivals = list[tuple[int, str, str]]
"""Archive-order placements queued by one batch: (published ms, arrivals key, member)."""


class Store(Protocol):
    """What the pipeline and the web app need from storage. Every write is idempotent."""

    async def evidence(self, source_id: str, items: Sequence[Item]) -> list[Evidence]: ...
    async def known_identities(self, source_id: str, identities: Sequence[str]) -> set[str]: ...
    async def article_sections(
        self, source_id: str, identities: Sequence[str]
    ) -> dict[str, list[str]]: ...
    async def story_evidence(
        self, source_id: str, items: Sequence[Item], rules: Sequence[StoryRule], now: datetime
    ) -> tuple[list[StoryEvidence], list[Lookup]]: ...
    async def page_stories(self, pages: Iterable[str]) -> dict[str, str]: ...
    async def apply_many(
        self, plans: Sequence[Plan], *, timezone: str, now: datetime
    ) -> list[Plan]: ...
    async def merge_bridged(
        self, merges: Sequence[tuple[str, str]], *, now: datetime
    ) -> list[tuple[str, str, int]]: ...
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
    async def hold_embargoed(self, items: Sequence[Item], now: datetime) -> list[Item]: ...


class RedisStore(RedisReader, Editing):
    """:class:`Store` over one Redis (or Redis Cluster) connection owned by the caller: the
    writes here, the reads in :class:`~ingest.store.reads.RedisReader`."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        retention: Retention | None = None,
        dedupe: DedupePolicy | None = None,
        similarity: SimilarityPolicy | None = None,
    ) -> None:
        super().__init__(client)
        self.retention = retention or Retention()
        self.dedupe = dedupe or DedupePolicy()
        self.index = RedisIndex(client, self.retention)
        self.story_index = RedisStoryIndex(client, self.retention, similarity or SimilarityPolicy())
        self.audit = RedisAudit(client)
        self.embargoes = RedisEmbargoes(client)

    @classmethod
    def from_settings(cls, client: aioredis.Redis, settings: Settings) -> RedisStore:
        """The store with the retention, dedupe and story policies of ``settings``."""
        return cls(
            client,
            retention=Retention(
                entries=settings.retention_days * 86400, tombstones=settings.tombstone_days * 86400
            ),
            dedupe=DedupePolicy(hash_change_cap=settings.hash_change_cap),
            similarity=similar.policy_for(settings),
        )

    # -- ingest side -------------------------------------------------------------------------

    async def hold_embargoed(self, items: Sequence[Item], now: datetime) -> list[Item]:
        """Hold the items embargoed past ``now`` (see :mod:`ingest.store.embargo`) and return the
        others; a free version of a held item lifts its hold. Idempotent."""
        free, held = split(items, now)
        await self.embargoes.hold(held)
        by_source: dict[str, list[str]] = {}
        for item in free:
            by_source.setdefault(item.source_id, []).append(item.identity)
        for source_id, identities in by_source.items():
            await self.embargoes.lift(source_id, identities)
        return free

    async def evidence(self, source_id: str, items: Sequence[Item]) -> list[Evidence]:
        """What the dedupe decision needs for each of ``items`` (see
        :mod:`ingest.store.dedupe_index`)."""
        return list(await self._call(self.index.evidence(source_id, items)))

    async def known(self, source_id: str, identity: str) -> Known | None:
        """What we hold for one identity of a source, or ``None`` if it is new to us."""
        raw = await self._call(self._r.get(keys.identity(source_id, identity)))
        return Known.from_json(raw) if raw else None

    async def story_evidence(
        self, source_id: str, items: Sequence[Item], rules: Sequence[StoryRule], now: datetime
    ) -> tuple[list[StoryEvidence], list[Lookup]]:
        """What links each item to a story, and what it would add to the story index."""
        found: tuple[list[StoryEvidence], list[Lookup]] = await self._call(
            self.story_index.evidence(source_id, items, rules, to_ms(now))
        )
        return found

    async def article_sections(
        self, source_id: str, identities: Sequence[str]
    ) -> dict[str, list[str]]:
        """The section identities each rolling article of ``identities`` was split into."""
        if not identities:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for identity in identities:
            pipe.smembers(keys.article_sections(source_id, identity))
        replies = await self._call(pipe.execute())
        return {i: sorted(r) for i, r in zip(identities, replies, strict=True) if r}

    async def known_identities(self, source_id: str, identities: Sequence[str]) -> set[str]:
        """Which of ``identities`` the source has a record for."""
        found: set[str] = await self._call(self.index.known_identities(source_id, identities))
        return found

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
        plans = await self._settle(plans)
        plans = await self._open(plans)
        plans = await self._into_live(plans)
        updates = [
            (p.assignment.story_id, p.decision.entry_id)
            for p in plans
            if p.decision.action is Action.UPDATE
        ]
        previous = await self._entries(updates)
        credits = await self._credits({sid for sid, _eid in updates})
        pipe = self._r.pipeline(transaction=False)
        arrivals: Arrivals = []
        marks: list[tuple[int, str]] = []  # (reply naming the story's merge mark, story)
        for plan in plans:
            action = plan.decision.action
            if action in (Action.NEW, Action.UPDATE):
                reporters = credits.get(plan.decision.entry_id, ())
                at = await self._queue_entry(
                    pipe, plan, previous, reporters, arrivals, timezone, now
                )
                marks.append((at, plan.assignment.story_id))
            elif action is Action.DUPLICATE:
                at = await self._queue_duplicate(pipe, plan, arrivals, now)
                marks.append((at, plan.assignment.story_id))
            elif action is Action.BLOCKED:
                self._queue_blocked(pipe, plan)
        await self._queue_arrivals(pipe, arrivals)
        replies = await self._call(pipe.execute()) if len(pipe) else []
        left = {story for at, story in marks if _merge_mark(replies[at])}
        if left:  # written into stories merged away meanwhile: finish those merges
            await self._finish_merges(left, now)
        for plan in plans:
            if plan.decision.action is Action.KILL:
                await self._kill(plan, reason="withdrawn by its source", now=now)
        return list(plans)

    async def merge_bridged(
        self, merges: Sequence[tuple[str, str]], *, now: datetime
    ) -> list[tuple[str, str, int]]:
        """Carry out the merges stored items called for (see :func:`ingest.similar.bridged`),
        as (into, merged) pairs, each recorded in the audit log as the machine's. A pair is
        skipped when an editor has changed either story, or either was merged or emptied
        meanwhile. Returns the merges made, with the entries each moved."""
        done = []
        for into, other in dict.fromkeys(merges):
            pipe = self._r.pipeline(transaction=False)
            pipe.hget(keys.story_meta(into), "edited")
            pipe.hget(keys.story_meta(other), "edited")
            if any(await self._call(pipe.execute())):
                continue
            try:
                moved = await self.merge(into, other, now=now, automatic=True)
            except EditError:
                continue
            await self.audit.record(
                MACHINE,
                "story.merge",
                into,
                before={"into": into, "from": other},
                after={"into": into, "moved": moved},
                now=now,
                note=f"from {other}: an item fits both stories, and they are alike",
            )
            done.append((into, other, moved))
        return done

    async def _finish_merges(self, stories: set[str], now: datetime) -> None:
        """Finish the merges of ``stories`` that items were just written into (see
        :meth:`finish_merge`)."""
        into = await self._call(self.story_index.merges(stories))
        for story in sorted(stories):
            live = follow(story, into)
            if live is not None and live != story:
                await self.finish_merge(story, live, now=now)

    async def _claim(self, plans: list[Plan], now: datetime) -> list[Plan]:
        """Claim URL and copy for NEW plans, and their place in the near-copy index;
        re-decide the ones another entry beat."""
        # A NEW plan already in a story is a source's second copy of an entry it is credited
        # on: its copy and near copy are that entry's by design, so it claims only its URL.
        fresh = [p for p in plans if p.decision.action is Action.NEW]
        if not fresh:
            return plans
        second = {id(p) for p in fresh if p.decision.story_id is not None}
        pipe = self._r.pipeline(transaction=False)
        for plan in fresh:
            self.index.queue_claims(pipe, plan.item, _record(plan, plan.item))
        replies = await self._call(pipe.execute())
        redone: dict[int, Plan] = {}
        for n, plan in enumerate(fresh):
            url_reply, copy_reply = replies[2 * n : 2 * n + 2]
            evidence = Evidence(by_url=_rival(url_reply, plan), by_copy=_rival(copy_reply, plan))
            if id(plan) in second:
                evidence = replace(evidence, by_copy=None)
            if evidence.by_url is None and evidence.by_copy is None:
                continue
            decision = decide(plan.item, evidence, now, self.dedupe)
            if decision.action is not Action.NEW:
                owner = evidence.by_url or evidence.by_copy
                assert owner is not None
                redone[id(plan)] = await self._lost_race(plan, decision, owner)
        racing = [p for p in fresh if id(p) not in redone and id(p) not in second and p.item.terms]
        found = await self._call(
            self.index.claim_near([(p.item, _record(p, p.item)) for p in racing])
        )
        for plan, (rival, score, size) in zip(racing, found, strict=True):
            if rival is None:
                continue
            evidence = Evidence(near=rival, near_score=score, near_terms=size)
            decision = decide(plan.item, evidence, now, self.dedupe)
            if decision.action is not Action.NEW:  # a near copy stored at the same moment won
                pipe = self._r.pipeline(transaction=False)
                self.index.queue_withdraw_near(pipe, plan.item, plan.decision.entry_id)
                await self._call(pipe.execute())
                redone[id(plan)] = await self._lost_race(plan, decision, rival)
        return [redone.get(id(p), p) for p in plans]

    async def _into_live(self, plans: list[Plan]) -> list[Plan]:
        """Plans for a story an editor merged away after their evidence was read go to the
        story it was merged into (as readers follow it): an entry written into the story
        merged away would be in no feed. Read just before the writes, which narrows the
        window to one round trip."""
        named = {
            p.assignment.story_id
            for p in plans
            if p.decision.action in (Action.NEW, Action.UPDATE, Action.DUPLICATE)
            and not p.assignment.new_story
        }
        into = await self._call(self.story_index.merges(named)) if named else {}
        if not into:
            return plans
        return [_followed(p, into) for p in plans]

    async def _open(self, plans: list[Plan]) -> list[Plan]:
        """Stories about to be opened by similarity misses enter the list of recent openings
        first; an item that finds a story opened a moment earlier by another fetch that it
        fits (see ingest.similar.rejoin) joins that one instead of opening a second."""
        opening = [
            n
            for n, p in enumerate(plans)
            if p.decision.action is Action.NEW and p.assignment.new_story and p.linking.vector
        ]
        if not opening:
            return plans
        found = await self._call(
            self.story_index.open_stories(
                [
                    (plans[n].assignment.story_id, plans[n].linking, to_ms(plans[n].item.published))
                    for n in opening
                ]
            )
        )
        policy = self.story_index.policy
        out = list(plans)
        into: dict[str, str] = {}
        for n, prior in zip(opening, found, strict=True):
            plan = plans[n]
            weighted = dict(plan.linking.vector)
            bar = policy.threshold_for(len(plan.item.terms))
            at_ms = to_ms(plan.item.published)
            joined = similar.rejoin(weighted, at_ms, plan.assignment.story_id, prior, policy, bar)
            if joined is not None:
                into[plan.assignment.story_id] = joined
                out[n] = replace(plan, assignment=Assignment(joined, new_story=False))
        await self._call(self.story_index.opened_into(into))
        return out

    async def _settle(self, plans: list[Plan]) -> list[Plan]:
        """Credit every copy on an entry that exists. A copy may name an entry still being
        stored by another worker, and that one may itself yield to a third (near copies
        arriving together): follow such yields to the entry they settle on, waiting a moment
        for one in flight. An owner that never appears leaves the copy to be stored as an
        entry of its own: nothing a source lists is credited on an entry no feed shows."""
        pending = {n: p for n, p in enumerate(plans) if p.decision.action is Action.DUPLICATE}
        owners = {
            n: Known(p.decision.entry_id, p.assignment.story_id, p.decision.version, "")
            for n, p in pending.items()
        }
        settled = await self._follow(owners)
        held = await self._held_credits(
            {(o.story_id, o.entry_id, plans[n].item.source_id) for n, o in settled.items()}
        )
        out = list(plans)
        for n, plan in pending.items():
            owner = settled.get(n)
            own = entry_id_of(plan.item.source_id, plan.item.identity)
            if owner is None:  # never stored: the copy is an entry of its own
                decision = Decision(Action.NEW, own, 1)
                out[n] = Plan(plan.item, decision, Assignment(plan.assignment.story_id, True))
                continue
            credit = (owner.entry_id, plan.item.source_id)
            if held.get(credit, plan.item.url or "") != (plan.item.url or ""):
                # The source's second copy of that entry: an entry of its own, in its story.
                decision = Decision(Action.NEW, own, 1, owner.story_id, "a second copy")
                out[n] = Plan(plan.item, decision, Assignment(owner.story_id, False))
                continue
            held[credit] = plan.item.url or ""
            if owner.entry_id != plan.decision.entry_id:
                decision = replace(plan.decision, entry_id=owner.entry_id, story_id=owner.story_id)
                out[n] = Plan(plan.item, decision, Assignment(owner.story_id, False), plan.known)
        return out

    async def _held_credits(self, wanted: set[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
        """(entry, source) -> the link that source is credited with on that entry, if any."""
        ordered = sorted(wanted)
        if not ordered:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for story_id, eid, source_id in ordered:
            pipe.hget(keys.story_also(story_id), f"{eid}\x1f{source_id}")
        replies = await self._call(pipe.execute())
        return {
            (eid, source_id): str(url)
            for (_sid, eid, source_id), url in zip(ordered, replies, strict=True)
            if url is not None
        }

    async def _follow(self, owners: dict[int, Known]) -> dict[int, Known]:
        """The stored entry each owner settles on, following yields; missing: none appeared."""
        settled: dict[int, Known] = {}
        for attempt in range(SETTLE_TRIES):
            if not owners:
                break
            pipe = self._r.pipeline(transaction=False)
            for owner in owners.values():
                pipe.hexists(keys.story_entries(owner.story_id), owner.entry_id)
                pipe.get(keys.yielded(owner.entry_id))
            replies = await self._call(pipe.execute())
            waiting = {}
            for (n, owner), there, onward in zip(
                owners.items(), replies[::2], replies[1::2], strict=True
            ):
                if there:
                    settled[n] = owner
                else:
                    waiting[n] = Known.from_json(onward) if onward else owner
            moved = any(waiting[n] != owners[n] for n in waiting)
            owners = waiting
            if owners and not moved and attempt + 1 < SETTLE_TRIES:
                await asyncio.sleep(SETTLE_PAUSE * (attempt + 1))
        return settled

    async def _lost_race(self, plan: Plan, decision: Decision, owner: Known) -> Plan:
        """Another entry claimed this item's URL, copy or near copy first: file the item as
        the decision against that entry says, and hand the claims this item did win to that
        entry (they name an entry that will now never exist)."""
        claims = [
            k
            for k in (
                keys.item_url(plan.item.url) if plan.item.url else None,
                keys.copy(plan.item.copy_key) if plan.item.copy_key else None,
            )
            if k
        ]
        pipe = self._r.pipeline(transaction=False)
        for key in claims:
            pipe.get(key)
        held = await self._call(pipe.execute())
        pipe = self._r.pipeline(transaction=False)
        # Items that already yielded to this one follow on to the owner (see _settle).
        pipe.set(keys.yielded(plan.decision.entry_id), owner.to_json(), px=YIELD_TTL_MS)
        for key, raw in zip(claims, held, strict=True):
            if raw and Known.from_json(raw).entry_id == plan.decision.entry_id:
                pipe.set(key, owner.to_json(), xx=True, px=self.retention.entries_ms)
        if len(pipe):
            await self._call(pipe.execute())
        return Plan(plan.item, decision, Assignment(decision.story_id or owner.story_id, False))

    async def _queue_entry(
        self,
        pipe: Any,
        plan: Plan,
        previous: dict[str, Entry],
        reporters: Sequence[str],
        arrivals: Arrivals,
        timezone: str,
        now: datetime,
    ) -> int:
        """Queue a NEW or UPDATE plan's writes; return where the entry script's reply will be.
        ``reporters``: the other sources credited with the entry, whose feeds list it too and
        so change with it."""
        sid, item = plan.assignment.story_id, plan.item
        entry = entry_of(item, plan.decision, sid, previous.get(plan.decision.entry_id), now)
        changed_ms = to_ms(entry.updated if plan.assignment.new_story else max(entry.updated, now))
        mark = len(pipe)
        scripts.queue(
            pipe,
            scripts.APPLY_ENTRY,
            keys=[
                keys.story_meta(sid),
                keys.story_timeline(sid),
                keys.story_entries(sid),
                keys.story_sources(sid),
            ],
            args={
                "entry_id": entry.id,
                "published_ms": to_ms(entry.published),
                "entry_json": entry.to_json(),
                "changed_ms": changed_ms,
                "first_seen_ms": to_ms(entry.first_seen),
                "timezone": timezone,
                "source_id": item.source_id,
                "ttl_ms": self.retention.entries_ms,
            },
        )
        pipe.zadd(keys.STORIES, {sid: changed_ms}, gt=True)  # the same max the script keeps
        if item.page_url:
            pipe.set(keys.page_story(item.page_url), sid, nx=True, px=self.retention.entries_ms)
        self._queue_source_feed(
            pipe,
            item.source_id,
            sid,
            entry.id,
            to_ms(entry.published),
            changed_ms,
            arrivals,
        )
        arrivals.append((to_ms(entry.published), keys.story_arrivals(sid), entry.id))
        record = _record(plan, item, now)
        self.story_index.queue_item(
            pipe, item, sid, entry.id, plan.linking, new=plan.decision.action is Action.NEW
        )
        if item.article_title:  # a rolling article's headline and intro speak for the story
            pipe.hset(
                keys.story_meta(sid),
                mapping={"headline": item.article_title, "intro": item.article_intro or ""},
            )
        # claimed its buckets in _claim (not a second copy, which skipped that)
        entered = plan.decision.action is Action.NEW and plan.decision.story_id is None
        self.index.queue_entry(pipe, item, record, to_ms(entry.published), entered=entered)
        self.index.queue_identity(pipe, item, record)
        for source_id in reporters:
            pipe.incr(keys.source_revision(source_id))
        self._event(pipe, sid, plan.decision.action.value, entry.id, item.source_id, *reporters)
        return mark

    def _queue_source_feed(
        self,
        pipe: Any,
        source_id: str,
        story_id: str,
        entry_id: str,
        published_ms: int,
        changed_ms: int,
        arrivals: Arrivals,
    ) -> None:
        """Index an entry in its source's feed and the story in the source's story list, and
        bump the revisions that tell caches of rendered feeds they are stale."""
        ttl = self.retention.entries_ms
        member = f"{story_id}:{entry_id}"
        pipe.zadd(keys.source_entries(source_id), {member: published_ms})
        pipe.pexpire(keys.source_entries(source_id), ttl)
        arrivals.append((published_ms, keys.source_arrivals(source_id), member))
        pipe.zadd(keys.source_stories(source_id), {story_id: changed_ms}, gt=True)
        pipe.pexpire(keys.source_stories(source_id), ttl)
        pipe.incr(keys.source_revision(source_id))
        pipe.incr(keys.REVISION)

    async def _queue_arrivals(self, pipe: Any, arrivals: Arrivals) -> None:
        """Place what arrived in the archive orders, oldest published first, so the items of
        one batch keep their published order among themselves."""
        for published_ms, key, member in sorted(arrivals):
            scripts.queue(
                pipe,
                scripts.ARRIVE,
                keys=[key],
                args={
                    "member": member,
                    "published_ms": published_ms,
                    "ttl_ms": self.retention.entries_ms,
                },
            )

    async def _queue_duplicate(
        self, pipe: Any, plan: Plan, arrivals: Arrivals, now: datetime
    ) -> int:
        """A copy from another source: credited on the owner's entry ("also reported by"),
        listed in that source's feed. The story feed changed, so its updated time moves (and
        Last-Modified with it). Returns where the story script's reply will be."""
        sid, item, owner = plan.assignment.story_id, plan.item, plan.decision.entry_id
        pipe.hset(keys.story_also(sid), f"{owner}\x1f{item.source_id}", item.url or "")
        pipe.pexpire(keys.story_also(sid), self.retention.entries_ms)
        pipe.sadd(keys.story_sources(sid), item.source_id)
        mark = len(pipe)
        scripts.queue(
            pipe, scripts.TOUCH_STORY, keys=[keys.story_meta(sid)], args={"now_ms": to_ms(now)}
        )
        pipe.zadd(keys.STORIES, {sid: to_ms(now)}, gt=True)
        self._queue_source_feed(
            pipe,
            item.source_id,
            sid,
            owner,
            to_ms(item.published),
            to_ms(now),
            arrivals,
        )
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
        self._event(pipe, sid, "also", owner, item.source_id)
        return mark

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
        reporters: list[str] = []
        if sid:
            left, raw, updated, also = await self._call(
                scripts.run(
                    self._r,
                    scripts.KILL_ENTRY,
                    keys=[
                        keys.story_meta(sid),
                        keys.story_timeline(sid),
                        keys.story_entries(sid),
                        keys.story_also(sid),
                        keys.story_arrivals(sid),
                    ],
                    args={"entry_id": entry_id, "now_ms": to_ms(now)},
                )
            )
            removed = Entry.from_json(raw) if raw else None
            reporters = [str(a) for a in also] + ([removed.source_id] if removed else [])
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
        if sid and removed is not None:  # tombstones for downstream copies (RFC 6721)
            self._queue_deleted(pipe, keys.story_deleted(sid), entry_id, to_ms(now))
            for source_id in dict.fromkeys(reporters):
                member = f"{sid}:{entry_id}"
                self._queue_deleted(pipe, keys.source_deleted(source_id), member, to_ms(now))
        for source_id in reporters:  # out of every source feed that listed it
            pipe.zrem(keys.source_entries(source_id), f"{sid}:{entry_id}")
            pipe.zrem(keys.source_arrivals(source_id), f"{sid}:{entry_id}")
            pipe.incr(keys.source_revision(source_id))
        if sid:
            pipe.incr(keys.REVISION)
            self._event(pipe, sid, "kill", entry_id, *reporters)
        await self._call(pipe.execute())

    def _queue_deleted(self, pipe: Any, key: str, member: str, now_ms: int) -> None:
        """Record a kill in a feed's tombstone set, dropping those past the window."""
        window = self.retention.tombstones_ms
        pipe.zadd(key, {member: now_ms})
        pipe.zremrangebyscore(key, "-inf", now_ms - window)
        pipe.pexpire(key, window)

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
        reporters = (await self._credits({owner.story_id})).get(entry_id, ())
        fixed = replace(
            entry,
            correction_note=note or entry.correction_note,
            corrected_at=now,
            updated=max(now, entry.updated),
        )
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(keys.story_entries(owner.story_id), entry_id, fixed.to_json())
        pipe.hset(keys.story_meta(owner.story_id), "updated", str(to_ms(fixed.updated)))
        pipe.hincrby(keys.story_meta(owner.story_id), "rev", 1)
        pipe.zadd(keys.STORIES, {owner.story_id: to_ms(fixed.updated)}, gt=True)
        pipe.incr(keys.REVISION)
        for source_id in (entry.source_id, *reporters):
            pipe.incr(keys.source_revision(source_id))
        self._event(pipe, owner.story_id, "correction", entry_id, entry.source_id, *reporters)
        await self._call(pipe.execute())
        return True

    def _event(self, pipe: Any, story_id: str, kind: str, entry_id: str, *sources: str) -> None:
        """Tell listeners (push, caches) that a story changed, and for which sources' feeds."""
        pipe.xadd(
            keys.EVENTS,
            {"story": story_id, "kind": kind, "entry": entry_id, "sources": ",".join(sources)},
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

    async def _credits(self, story_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """For the entries of ``story_ids``: the other sources credited with each (they
        carried a copy, so their feeds list the entry too)."""
        wanted = sorted(story_ids)
        pipe = self._r.pipeline(transaction=False)
        for story_id in wanted:
            pipe.hkeys(keys.story_also(story_id))
        found: dict[str, list[str]] = {}
        for fields in await self._call(pipe.execute()) if wanted else []:
            for field in fields:
                entry_id, _, source_id = str(field).partition("\x1f")
                found.setdefault(entry_id, []).append(source_id)
        return {entry_id: tuple(sorted(sources)) for entry_id, sources in found.items()}

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

    async def sources_and_statuses(
        self, source_ids: Sequence[str]
    ) -> tuple[dict[str, Source], dict[str, SourceStatus]]:
        """The configs of those of ``source_ids`` still configured, and the statuses of all
        (unknown ones come back new), in one round trip."""
        if not source_ids:
            return {}, {}
        pipe = self._r.pipeline(transaction=False)
        count = queue_gets(pipe, [keys.source_config(sid) for sid in source_ids])
        for source_id in source_ids:
            pipe.hgetall(keys.source_status(source_id))
        replies = await self._call(pipe.execute())
        configs, raws = replies[:count], replies[count:]
        sources = {
            sid: Source.from_json(raw)
            for sid, raw in zip(source_ids, configs, strict=True)
            if raw is not None
        }
        statuses = {sid: status_of(sid, raw) for sid, raw in zip(source_ids, raws, strict=True)}
        return sources, statuses

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
        """Make ``sources`` the configured set: write each config, forget the others. Feeds
        show source names and tags, so a changed configuration bumps their revisions."""
        wanted = {s.id for s in sources}
        current = {str(m) for m in await self._call(self._r.smembers(keys.SOURCES))}
        read = self._r.pipeline(transaction=False)
        queue_gets(read, [keys.source_config(s.id) for s in sources])  # one slot per source
        before = await self._call(read.execute()) if sources else []
        pipe = self._r.pipeline(transaction=False)
        changed = False
        for source, old in zip(sources, before, strict=True):
            if old != source.to_json():
                pipe.set(keys.source_config(source.id), source.to_json())
                pipe.incr(keys.source_revision(source.id))
                changed = True
        if wanted:
            pipe.sadd(keys.SOURCES, *wanted)
        for gone in current - wanted:
            pipe.srem(keys.SOURCES, gone)
            pipe.delete(keys.source_config(gone))
            changed = True
        if changed:
            pipe.incr(keys.REVISION)
            pipe.incr(keys.CONFIG_REVISION)
            pipe.xadd(
                keys.EVENTS,
                {"story": "", "kind": "config", "entry": "", "sources": ""},
                maxlen=EVENTS_MAXLEN,
                approximate=True,
            )
        await self._call(pipe.execute())


def _merge_mark(reply: Any) -> str:
    """The story a write's script found its story merged into ('' if none)."""
    if isinstance(reply, list) and len(reply) > 1:
        return str(reply[1] or "")
    return str(reply or "") if isinstance(reply, (str, bytes)) else ""


def _rival(reply: Any, plan: Plan) -> Known | None:
    """The holder of a claim, unless it is this plan's own entry."""
    owner = Known.from_json(reply) if reply else None
    return owner if owner is not None and owner.entry_id != plan.decision.entry_id else None


def _followed(plan: Plan, into: dict[str, str]) -> Plan:
    """``plan`` with its story (and its decision's, for a copy) followed through merges."""
    story = follow(plan.assignment.story_id, into)
    if story == plan.assignment.story_id:
        return plan
    assert story is not None
    decision = plan.decision
    if decision.story_id is not None:
        decision = replace(decision, story_id=follow(decision.story_id, into))
    return replace(plan, decision=decision, assignment=Assignment(story, False))


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
