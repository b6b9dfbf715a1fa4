"""What ingestion stores in Redis: :class:`RedisEntries`, a part of
:class:`~ingest.store.redis_store.RedisStore`.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from config.sources import StoryRule
from ingest import keys, similar
from ingest.dedupe import Evidence, NearRecord
from ingest.model import (
    Action,
    Assignment,
    Decision,
    Entry,
    Item,
    Known,
    Plan,
    to_ms,
)
from ingest.planner import Lookup
from ingest.similar import SimilarityPolicy
from ingest.store import scripts
from ingest.store.audit import Actor
from ingest.store.base import Client
from ingest.store.dedupe_index import Retention
from ingest.store.editing import EditError, Editing
from ingest.store.embargo import Held, RedisEmbargoes, split
from ingest.store.timeline import Arrivals
from ingest.stories import StoryEvidence, follow
from ingest.unchanged import SEEN_FOR_MS
from ingest.versions import record_of

MACHINE = Actor("wirefeed", "machine", "worker")
"""Who the audit log names for what the machine changes on its own (automatic merges)."""
SETTLE_TRIES = 6
SETTLE_PAUSE = 0.05
"""Seconds: how long a copy waits (growing each try, about a second in all) for the entry it
is a copy of, stored at the same moment by another worker, to appear."""
YIELD_TTL_MS = 3_600_000


class RedisEntries(Editing):
    """What ingestion stores: the evidence reads, the race claims and the writes of settled
    plans (the steps of :func:`ingest.pipeline.store_plans`), kills and corrections."""

    def __init__(
        self,
        client: Client,
        *,
        retention: Retention | None = None,
        similarity: SimilarityPolicy | None = None,
    ) -> None:
        super().__init__(client, retention=retention, similarity=similarity)
        self.embargoes = RedisEmbargoes(client)

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

    async def take_embargoed(self, now: datetime, limit: int) -> list[Held]:
        """Held items whose embargo is over at ``now``, each handed to one caller (see
        :meth:`ingest.store.embargo.RedisEmbargoes.take_due`)."""
        due: list[Held] = await self._call(self.embargoes.take_due(now, limit))
        return due

    async def embargo_done(self, held: Sequence[Held]) -> None:
        """The ``held`` items were published: forget them."""
        await self._call(self.embargoes.done(held))

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

    async def seen_entries(self, source_id: str, digests: Sequence[str]) -> set[str]:
        """Those of ``digests`` (raw entries, see :mod:`ingest.unchanged`) the source sent
        before: one read per document."""
        if not digests:
            return set()
        scores = await self._call(self._r.zmscore(keys.source_seen(source_id), list(digests)))
        return {d for d, score in zip(digests, scores, strict=True) if score is not None}

    async def mark_seen(self, source_id: str, digests: Sequence[str], now_ms: int) -> None:
        """Record that ``digests`` were first taken at ``now_ms``. A digest is forgotten
        once its entries may have been purged (``retention.entries``, at most
        :data:`~ingest.unchanged.SEEN_FOR_MS`): an entry still listed then takes the full
        path once more, which finds it expired."""
        if not digests:
            return
        key, keep_ms = keys.source_seen(source_id), min(self.retention.entries_ms, SEEN_FOR_MS)
        pipe = self._r.pipeline(transaction=False)
        pipe.zadd(key, dict.fromkeys(digests, now_ms), nx=True)
        pipe.zremrangebyscore(key, "-inf", f"({now_ms - keep_ms}")
        pipe.pexpire(key, keep_ms)
        await self._call(pipe.execute())

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

    # -- storing decided plans, step by step (the order is ingest.pipeline.store_plans') -----

    async def claim(self, plans: Sequence[Plan]) -> list[tuple[Known | None, Known | None]]:
        """Claim the URL and the copy of each NEW plan (``SET NX GET``); return for each the
        other entries already holding them (by URL, by copy), if any."""
        if not plans:
            return []
        pipe = self._r.pipeline(transaction=False)
        for plan in plans:
            self.index.queue_claims(pipe, plan.item, record_of(plan))
        replies = await self._call(pipe.execute())
        return [
            (_rival(replies[2 * n], plan), _rival(replies[2 * n + 1], plan))
            for n, plan in enumerate(plans)
        ]

    async def claim_near(
        self, plans: Sequence[Plan]
    ) -> list[tuple[dict[str, set[str]], tuple[NearRecord, ...]]]:
        """Enter NEW plans in the near-copy index now; return what each found there before
        it (see :meth:`ingest.store.dedupe_index.RedisIndex.claim_near`)."""
        found: list[tuple[dict[str, set[str]], tuple[NearRecord, ...]]] = await self._call(
            self.index.claim_near([(p.item, record_of(p)) for p in plans])
        )
        return found

    async def withdraw_near(self, plan: Plan) -> None:
        """Take a plan that yielded to a near copy back out of the near-copy index."""
        pipe = self._r.pipeline(transaction=False)
        self.index.queue_withdraw_near(pipe, plan.item, plan.decision.entry_id)
        await self._call(pipe.execute())

    async def hand_over(self, plan: Plan, owner: Known) -> None:
        """``plan`` lost a race to ``owner``: hand the claims it did win to that entry (they
        name an entry that will now never exist), and leave a mark so that copies already
        filed against this plan's entry follow on to the owner (see :meth:`copy_owners`)."""
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
        pipe.set(keys.yielded(plan.decision.entry_id), owner.to_json(), px=YIELD_TTL_MS)
        for key, raw in zip(claims, held, strict=True):
            if raw and Known.from_json(raw).entry_id == plan.decision.entry_id:
                pipe.set(key, owner.to_json(), xx=True, px=self.retention.entries_ms)
        await self._call(pipe.execute())

    async def copy_owners(self, owners: Mapping[int, Known]) -> dict[int, Known]:
        """The stored entry each of ``owners`` (the entries copies name) settles on. One may
        still be being stored by another worker, and may itself yield to a third (near copies
        arriving together): follow such yields, waiting a moment (about a second in all) for
        one in flight. Missing from the answer: none appeared."""
        settled: dict[int, Known] = {}
        waiting = dict(owners)
        for attempt in range(SETTLE_TRIES):
            if not waiting:
                break
            pipe = self._r.pipeline(transaction=False)
            for owner in waiting.values():
                pipe.hexists(keys.story_entries(owner.story_id), owner.entry_id)
                pipe.get(keys.yielded(owner.entry_id))
            replies = await self._call(pipe.execute())
            still = {}
            for (n, owner), there, onward in zip(
                waiting.items(), replies[::2], replies[1::2], strict=True
            ):
                if there:
                    settled[n] = owner
                else:
                    still[n] = Known.from_json(onward) if onward else owner
            moved = any(still[n] != waiting[n] for n in still)
            waiting = still
            if waiting and not moved and attempt + 1 < SETTLE_TRIES:
                await asyncio.sleep(SETTLE_PAUSE * (attempt + 1))
        return settled

    async def held_credits(
        self, wanted: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str], str]:
        """For (story, entry, source) triples: (entry, source) -> the link that source is
        credited with on that entry, where it is."""
        ordered = sorted(set(wanted))
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

    async def open_stories(self, plans: Sequence[Plan]) -> list[list[similar.Opening]]:
        """Enter the stories ``plans`` are about to open in the list of recent openings;
        return for each the openings entered before it."""
        if not plans:
            return []
        found: list[list[similar.Opening]] = await self._call(
            self.story_index.open_stories(
                [(p.assignment.story_id, p.linking, to_ms(p.item.published)) for p in plans]
            )
        )
        return found

    async def opened_into(self, joined: Mapping[str, str]) -> None:
        """Record that the stories of ``joined`` were not opened: their items joined these."""
        await self._call(self.story_index.opened_into(joined))

    async def merges(self, stories: Iterable[str]) -> dict[str, str]:
        """Story -> the story it was merged into, for those of ``stories`` merged away (and
        onwards); read just before the writes."""
        named = set(stories)
        into: dict[str, str] = await self._call(self.story_index.merges(named)) if named else {}
        return into

    async def previous_entries(self, plans: Sequence[Plan]) -> dict[str, Entry]:
        """The stored entries the UPDATE plans are new versions of, by entry id."""
        return await self._entries(
            [
                (p.assignment.story_id, p.decision.entry_id)
                for p in plans
                if p.decision.action is Action.UPDATE
            ]
        )

    async def write(
        self,
        plans: Sequence[Plan],
        entries: Sequence[Entry | None],
        *,
        timezone: str,
        now: datetime,
    ) -> None:
        """Write settled plans: ``entries`` holds the stored form of each NEW or UPDATE plan
        (see :func:`ingest.versions.entry_of`). Copies are credited, blocked items recorded,
        withdrawn ones killed. Idempotent: writing the same plans twice leaves the same state.
        An entry written into a story merged away meanwhile finishes that merge."""
        credits = await self._credits(
            {p.assignment.story_id for p in plans if p.decision.action is Action.UPDATE}
        )
        pipe = self._r.pipeline(transaction=False)
        arrivals: Arrivals = []
        marks: list[tuple[int, str]] = []  # (reply naming the story's merge mark, story)
        for plan, entry in zip(plans, entries, strict=True):
            action = plan.decision.action
            if action in (Action.NEW, Action.UPDATE) and entry is not None:
                reporters = credits.get(plan.decision.entry_id, ())
                at = await self._queue_entry(pipe, plan, entry, reporters, arrivals, timezone, now)
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

    async def _queue_entry(
        self,
        pipe: Any,
        plan: Plan,
        entry: Entry,
        reporters: Sequence[str],
        arrivals: Arrivals,
        timezone: str,
        now: datetime,
    ) -> int:
        """Queue a NEW or UPDATE plan's writes; return where the entry script's reply will be.
        ``reporters``: the other sources credited with the entry, whose feeds list it too and
        so change with it."""
        sid, item = plan.assignment.story_id, plan.item
        changed_ms = to_ms(entry.updated if plan.assignment.new_story else max(entry.updated, now))
        mark = len(pipe)
        self._queue_apply_entry(pipe, entry, changed_ms, timezone)
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
        record = record_of(plan, now)
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
            removed = Entry.unpack(raw) if raw else None
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

    async def correct(self, entry_id: str, *, note: str | None, now: datetime) -> bool:
        """An editor's correction flag on an entry: republished with a new updated time and
        the note. False when no such entry is known."""
        owner = await self._call(self.index.owner(entry_id))
        if owner is None or owner.killed:
            return False
        raw = await self._call(self._r.hget(keys.story_entries(owner.story_id), entry_id))
        if not raw:
            return False
        entry = Entry.unpack(raw)
        reporters = (await self._credits({owner.story_id})).get(entry_id, ())
        fixed = replace(
            entry,
            correction_note=note or entry.correction_note,
            corrected_at=now,
            updated=max(now, entry.updated),
        )
        pipe = self._r.pipeline(transaction=False)
        pipe.hset(keys.story_entries(owner.story_id), entry_id, fixed.pack())
        pipe.hset(keys.story_meta(owner.story_id), "updated", str(to_ms(fixed.updated)))
        pipe.hincrby(keys.story_meta(owner.story_id), "rev", 1)
        pipe.zadd(keys.STORIES, {owner.story_id: to_ms(fixed.updated)}, gt=True)
        pipe.incr(keys.REVISION)
        for source_id in (entry.source_id, *reporters):
            pipe.incr(keys.source_revision(source_id))
        self._event(pipe, owner.story_id, "correction", entry_id, entry.source_id, *reporters)
        await self._call(pipe.execute())
        return True

    async def trim(self, now: datetime) -> int:
        """Forget stories whose last change is older than the retention window (their keys
        expire on their own); returns how many left the index."""
        horizon = to_ms(now) - self.retention.entries_ms
        removed: int = await self._call(self._r.zremrangebyscore(keys.STORIES, "-inf", horizon))
        return removed


def _merge_mark(reply: Any) -> str:
    """The story a write's script found its story merged into ('' if none)."""
    if isinstance(reply, list) and len(reply) > 1:
        return str(reply[1] or "")
    return str(reply or "") if isinstance(reply, (str, bytes)) else ""


def _rival(reply: Any, plan: Plan) -> Known | None:
    """The holder of a claim, unless it is this plan's own entry."""
    owner = Known.from_json(reply) if reply else None
    return owner if owner is not None and owner.entry_id != plan.decision.entry_id else None
