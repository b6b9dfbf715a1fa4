"""Editors' overrides of what the machine assembled: rename, merge, split, pin, close (kill and
correct live in :mod:`ingest.store.entries`). Redis I/O, a part of
:class:`ingest.store.redis_store.RedisStore`.

Overrides survive re-ingestion because they change what later decisions read: a renamed story
keeps the editor's headline (automatic headlines never overwrite it); a moved entry's identity
record, locator and URL and copy claims name its new story, so its next version lands there; a
story merged into another points to it (``merged_into``) and every link that still names it is
followed to the survivor. Moves write the target first and remove from the source last, so an
interrupted move is repaired by running it again. Every edit's change event names every source
of every story it touched (both stories of a merge or split), as an ingestion event names its
sources: the feeds of those sources and of their tags list the stories or their entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ingest import keys, similar
from ingest.errors import WirefeedError
from ingest.model import Entry, Known, to_ms
from ingest.store.timeline import RedisTimeline
from ingest.stories import story_id_for
from ingest.text import xml_safe

MAX_TITLE = 300


def clean_title(title: str) -> str:
    """An editor's headline: whitespace collapsed, characters no feed can carry dropped, at
    most :data:`MAX_TITLE` characters (else :class:`EditError`)."""
    title = " ".join(xml_safe(title).split())
    if len(title) > MAX_TITLE:
        raise EditError("invalid", f"title: at most {MAX_TITLE} characters, got {len(title)}")
    return title


class EditError(WirefeedError):
    """An editor's request that cannot be carried out; ``kind`` is not_found, conflict or
    invalid (mapped to HTTP 404, 409 and 400 by the admin API)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Editing(RedisTimeline):
    """Editors' overrides of what the machine assembled (see the module docstring)."""

    async def rename(self, story_id: str, title: str, *, now: datetime) -> None:
        """The editor's headline for a story; an empty title hands it back to the machine."""
        await self._existing(story_id)
        title = clean_title(title)
        pipe = self._r.pipeline(transaction=False)
        if title:
            pipe.hset(keys.story_meta(story_id), "title", title)
        else:
            pipe.hdel(keys.story_meta(story_id), "title")
        self._changed(pipe, story_id, "rename", now, *await self._sources_of(story_id))
        await self._call(pipe.execute())

    async def pin(self, story_id: str, entry_id: str | None, *, now: datetime) -> None:
        """Pin one entry to the top of the story page, or (``None``) unpin."""
        await self._existing(story_id)
        pipe = self._r.pipeline(transaction=False)
        if entry_id is None:
            pipe.hdel(keys.story_meta(story_id), "pinned")
        else:
            await self._entries_of(story_id, [entry_id], field="entry")
            pipe.hset(keys.story_meta(story_id), "pinned", entry_id)
        self._changed(pipe, story_id, "pin", now, *await self._sources_of(story_id))
        await self._call(pipe.execute())

    async def close(self, story_id: str, closed: bool, *, now: datetime) -> None:
        """Close a story to similarity (no item joins it for looking alike; explicit links,
        the same page and story rules still reach it, as for a story quiet past the window),
        or reopen it."""
        await self._existing(story_id)
        if closed:
            await self._call(self._r.hset(keys.story_meta(story_id), "closed", str(to_ms(now))))
        else:
            await self._call(self._r.hdel(keys.story_meta(story_id), "closed"))

    async def merge(
        self, target: str, other: str, *, now: datetime, automatic: bool = False
    ) -> int:
        """Move every entry of ``other`` into ``target``; ``other`` then points to ``target``.
        Returns how many entries moved. ``automatic``: the machine's merge (of stories one item
        bridges), which leaves both stories open to further automatic merges; an editor's
        marks both as edited, and the machine never merges those again."""
        if target == other:
            raise EditError("invalid", "from: a story cannot be merged into itself")
        await self._existing(target)
        pipe = self._r.pipeline(transaction=False)
        pipe.hget(keys.story_meta(other), "merged_into")
        pipe.zcard(keys.story_timeline(other))
        into, left = await self._call(pipe.execute())
        if into != target or not int(left):  # (else an interrupted merge: finish it)
            await self._existing(other)
        # Marked first, so readers follow ``other`` to ``target`` while entries move and an
        # interrupted merge is finished by asking for it again.
        await self._call(self._r.hset(keys.story_meta(other), "merged_into", target))
        ids = [str(e) for e in await self._call(self._r.zrange(keys.story_timeline(other), 0, -1))]
        raws = await self._call(self._r.hmget(keys.story_entries(other), ids)) if ids else []
        entries = [Entry.unpack(r) for r in raws if r]
        moved = await self._move(entries, other, target, now, edited=not automatic)
        involved = await self._sources_of(target, other)
        pipe = self._r.pipeline(transaction=False)
        self._changed(pipe, other, "merge", now, *involved, edited=not automatic)
        pipe.zrem(keys.STORIES, other)
        await self._call(pipe.execute())
        return moved

    async def split(
        self, story_id: str, entry_ids: Sequence[str], *, title: str = "", now: datetime
    ) -> str:
        """Move ``entry_ids`` out of a story into a new one; returns the new story's id."""
        if not entry_ids:
            raise EditError("invalid", "entries: name at least one entry to split out")
        title = clean_title(title)  # refused before anything moves
        await self._existing(story_id)
        entries = await self._entries_of(story_id, list(dict.fromkeys(entry_ids)))
        left = await self._call(self._r.zcard(keys.story_timeline(story_id)))
        if len(entries) >= int(left):
            raise EditError("invalid", "entries: a split must leave at least one entry behind")
        new_id = await self._split_id(min(e.id for e in entries))
        await self._move(entries, story_id, new_id, now)
        if title:
            await self.rename(new_id, title, now=now)
        return new_id

    async def _split_id(self, first: str) -> str:
        """The id of the story a split of ``first`` (and others) makes: the same for the same
        split asked for twice at once, so the copies converge on one story; never a story
        merged away earlier, so splitting an entry out again after merging it back makes a
        clean story."""
        for attempt in range(1000):
            candidate = story_id_for(f"split:{first}" + (f":{attempt}" if attempt else ""))
            if not await self._call(self._r.hexists(keys.story_meta(candidate), "merged_into")):
                return candidate
        raise EditError("conflict", f"entries: {first!r} was split out and merged back too often")

    async def _existing(self, story_id: str) -> None:
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(keys.story_meta(story_id))
        pipe.zcard(keys.story_timeline(story_id))
        meta, size = await self._call(pipe.execute())
        if meta.get("merged_into"):
            raise EditError(
                "conflict", f"story {story_id!r} was merged into {meta['merged_into']!r}"
            )
        if not meta or not int(size):  # every entry killed or expired: readers see none
            raise EditError("not_found", f"no story {story_id!r}")

    async def _entries_of(
        self, story_id: str, entry_ids: Sequence[str], *, field: str = "entries"
    ) -> list[Entry]:
        """The stored entries ``entry_ids`` of a story; any missing is a not_found naming the
        request's ``field``."""
        if not entry_ids:
            return []
        raws = await self._call(self._r.hmget(keys.story_entries(story_id), list(entry_ids)))
        missing = [e for e, raw in zip(entry_ids, raws, strict=True) if not raw]
        if missing:
            raise EditError(
                "not_found", f"{field}: not in story {story_id!r}: " + ", ".join(missing)
            )
        return [Entry.unpack(raw) for raw in raws]

    async def finish_merge(self, story_id: str, live: str, *, now: datetime) -> int:
        """Entries and "also reported by" credits written into ``story_id`` after a merge into
        ``live`` (directly or in steps) had listed them, by a worker storing at that moment,
        follow the others into ``live``. Returns how many entries moved."""
        timeline = await self._call(self._r.zrange(keys.story_timeline(story_id), 0, -1))
        ids = [str(e) for e in timeline]
        raws = await self._call(self._r.hmget(keys.story_entries(story_id), ids)) if ids else []
        entries = [Entry.unpack(r) for r in raws if r]
        moved = await self._move(entries, story_id, live, now, edited=False)
        also = await self._call(self._r.hgetall(keys.story_also(story_id)))
        fields = sorted(str(f) for f in also)
        pipe = self._r.pipeline(transaction=False)
        for field in fields:
            pipe.hexists(keys.story_also(live), field)
            pipe.hexists(keys.story_entries(live), field.split("\x1f")[0])
        found = await self._call(pipe.execute()) if fields else []
        pipe = self._r.pipeline(transaction=False)
        for n, field in enumerate(fields):
            if found[2 * n] or not found[2 * n + 1]:  # moved already, or its entry is not there
                continue
            entry_id, credited = field.split("\x1f")
            pipe.hset(keys.story_also(live), field, also[field])
            pipe.sadd(keys.story_sources(live), credited)
            await self._move_feed_member(pipe, credited, entry_id, story_id, live, now)
            pipe.incr(keys.source_revision(credited))
        pipe.zrem(keys.STORIES, story_id)
        self._changed(pipe, live, "move", now, *await self._sources_of(live), edited=False)
        await self._call(pipe.execute())
        return moved

    async def _move(
        self,
        entries: Sequence[Entry],
        source: str,
        target: str,
        now: datetime,
        *,
        edited: bool = True,
    ) -> int:
        """Write ``entries`` into ``target``, repoint everything that names them, then take
        them out of ``source``. ``edited``: an editor's move, which marks both stories."""
        if not entries:
            return 0
        meta = await self._call(self._r.hgetall(keys.story_meta(source)))
        also = await self._call(self._r.hgetall(keys.story_also(source)))
        profile = await self._call(
            self._r.zrange(keys.story_profile(source), 0, -1, withscores=True)
        )
        pipe = self._r.pipeline(transaction=False)
        sources: set[str] = set()
        for entry in entries:
            await self._write_moved(pipe, replace(entry, story_id=target), meta, now)
            await self._move_feed_member(pipe, entry.source_id, entry.id, source, target, now)
            sources.add(entry.source_id)
            for field, url in also.items():
                if field.startswith(entry.id + "\x1f"):
                    credited = field.split("\x1f")[1]
                    pipe.hset(keys.story_also(target), field, url)
                    pipe.sadd(keys.story_sources(target), credited)
                    await self._move_feed_member(pipe, credited, entry.id, source, target, now)
                    sources.add(credited)
        for term, weight in profile:  # an approximate union: the next entries refine it
            pipe.zincrby(keys.story_profile(target), float(weight), term)
        if profile:
            pipe.zremrangebyrank(keys.story_profile(target), 0, -similar.PROFILE_TERMS - 1)
        await self._queue_arrivals(
            pipe, [(to_ms(e.published), keys.story_arrivals(target), e.id) for e in entries]
        )
        await self._call(pipe.execute())
        await self._repoint(entries, source, target)
        involved = sorted({*sources, *await self._sources_of(source, target)})
        pipe = self._r.pipeline(transaction=False)
        for entry in entries:
            pipe.hdel(keys.story_entries(source), entry.id)
            pipe.zrem(keys.story_timeline(source), entry.id)
            pipe.zrem(keys.story_arrivals(source), entry.id)
        pipe.zadd(keys.STORIES, {target: to_ms(now)}, gt=True)
        for source_id in sorted(sources):  # cached source feeds link the entry's old story
            pipe.incr(keys.source_revision(source_id))
        self._changed(pipe, target, "move", now, *involved, edited=edited)
        self._changed(pipe, source, "move", now, *involved, edited=edited)
        await self._call(pipe.execute())
        return len(entries)

    async def _move_feed_member(
        self, pipe: Any, source_id: str, entry_id: str, old: str, new: str, now: datetime
    ) -> None:
        """Point a source's feed member for ``entry_id`` at its new story, keeping its places
        (published and arrival order) in that feed."""
        member, moved = f"{old}:{entry_id}", f"{new}:{entry_id}"
        read = self._r.pipeline(transaction=False)
        read.zscore(keys.source_entries(source_id), member)
        read.zscore(keys.source_arrivals(source_id), member)
        published, arrived = await self._call(read.execute())
        if published is None:
            return
        pipe.zadd(keys.source_entries(source_id), {moved: published})
        pipe.zrem(keys.source_entries(source_id), member)
        pipe.zadd(keys.source_arrivals(source_id), {moved: arrived or published}, nx=True)
        pipe.zrem(keys.source_arrivals(source_id), member)
        pipe.zadd(keys.source_stories(source_id), {new: to_ms(now)}, gt=True)

    async def _write_moved(
        self, pipe: Any, entry: Entry, meta: dict[str, str], now: datetime
    ) -> None:
        self._queue_apply_entry(pipe, entry, to_ms(now), meta.get("timezone", "UTC"))

    async def _repoint(self, entries: Sequence[Entry], source: str, target: str) -> None:
        """Identity records, locators, claims and near-copy records that name
        the moved entries now name ``target``: the next version of a moved item lands where
        the editor put it, and so do copies of it from other sources."""
        records: list[tuple[str, str | None]] = []  # (key, hash field or None for a string)
        for entry in entries:
            records += [
                (keys.identity(entry.source_id, entry.identity), None),
                (keys.entry_locator(entry.id), None),
                (keys.near_record(entry.id), "known"),
            ]
            records += [(keys.item_url(entry.url), None)] if entry.url else []
            records += [(keys.copy(entry.copy_key), None)] if entry.copy_key else []
        pipe = self._r.pipeline(transaction=False)
        for key, field in records:
            pipe.hget(key, field) if field else pipe.get(key)
        found = await self._call(pipe.execute())
        moved = {e.id for e in entries}
        pipe = self._r.pipeline(transaction=False)
        for (key, field), raw in zip(records, found, strict=True):
            known = Known.from_json(raw) if raw else None
            if known is None or known.entry_id not in moved or known.story_id != source:
                continue
            value = replace(known, story_id=target).to_json()
            pipe.hset(key, field, value) if field else pipe.set(key, value, keepttl=True)
        if len(pipe):
            await self._call(pipe.execute())

    async def _sources_of(self, *story_ids: str) -> list[str]:
        """Every source that contributed to (or is credited in) any of ``story_ids``: the
        sources whose feeds and whose tags' feeds list those stories or their entries."""
        pipe = self._r.pipeline(transaction=False)
        for story_id in story_ids:
            pipe.smembers(keys.story_sources(story_id))
        found = await self._call(pipe.execute())
        return sorted({str(s) for members in found for s in members})

    def _changed(
        self,
        pipe: Any,
        story_id: str,
        kind: str,
        now: datetime,
        *sources: str,
        edited: bool = True,
    ) -> None:
        """A story changed by hand: new revision, new updated time, an event for listeners.
        ``sources`` are every source of every story the edit touched (see :meth:`_sources_of`),
        so that listeners hear of the feeds of those sources and of their tags. ``edited``:
        an editor's change, after which the machine never merges the story automatically."""
        if edited:
            pipe.hset(keys.story_meta(story_id), "edited", str(to_ms(now)))
        pipe.hincrby(keys.story_meta(story_id), "rev", 1)
        pipe.hset(keys.story_meta(story_id), "updated", str(to_ms(now)))
        if kind != "merge":  # a story merged away leaves the index for good
            pipe.zadd(keys.STORIES, {story_id: to_ms(now)}, gt=True)
        pipe.incr(keys.REVISION)
        self._event(pipe, story_id, kind, "", *sources)
