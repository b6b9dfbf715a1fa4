"""Reads over the Redis layout for the output side: stories, timelines, source and tag feeds,
archive pages and the revisions that caches of rendered feeds compare against.

Raw Redis replies never leave this module; what comes out is our model. A story is read in
one round trip for its meta, timeline slice, sources and credits, plus one for its entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from config.sources import Source
from ingest import keys
from ingest.codec import story_of
from ingest.model import Entry, Story, from_ms
from ingest.store.base import RedisAdapter
from ingest.store.connect import get_many


class RedisReader(RedisAdapter):
    """Read-only queries; :class:`ingest.store.redis_store.RedisStore` adds the writes."""

    async def get_sources(self, source_ids: Iterable[str] | None = None) -> list[Source]:
        """The configured sources (all, or those of ``source_ids`` that exist), sorted by id."""
        ids = sorted(
            source_ids
            if source_ids is not None
            else [str(m) for m in await self._call(self._r.smembers(keys.SOURCES))]
        )
        if not ids:
            return []
        raws = await self._call(get_many(self._r, [keys.source_config(i) for i in ids]))
        return [Source.from_json(raw) for raw in raws if raw is not None]

    async def recent_stories(
        self, limit: int, *, entries: int = 10, offset: int = 0
    ) -> list[Story]:
        """Stories most recently updated first, from ``offset``, each with its newest entries."""
        ids = await self._call(self._r.zrevrange(keys.STORIES, offset, offset + limit - 1))
        return await self.stories([str(sid) for sid in ids], entries=entries)

    async def story_count(self) -> int:
        count: int = await self._call(self._r.zcard(keys.STORIES))
        return count

    async def stories(self, story_ids: Sequence[str], *, entries: int = 10) -> list[Story]:
        """The named stories in that order, each with its newest entries; gone ones are left
        out. Two round trips however many stories."""
        if not story_ids:
            return []
        pipe = self._r.pipeline(transaction=False)
        for sid in story_ids:
            self._queue_story_head(pipe, sid, 0, entries - 1)
        heads = await self._call(pipe.execute())
        pipe = self._r.pipeline(transaction=False)
        for n, sid in enumerate(story_ids):
            ids = heads[5 * n + 1]
            if ids:
                pipe.hmget(keys.story_entries(sid), ids)
            else:
                pipe.get(keys.NOTHING)
        bodies = await self._call(pipe.execute())
        found = []
        for n, sid in enumerate(story_ids):
            meta, _ids, count, sources, also = heads[5 * n : 5 * n + 5]
            timeline = tuple(Entry.unpack(r) for r in (bodies[n] or ()) if r)
            if meta and timeline:
                found.append(story_of(sid, meta, timeline, int(count), sources, also))
        return found

    async def story(self, story_id: str, *, entries: int = 200) -> Story | None:
        """One story with up to ``entries`` of its timeline, newest first; ``None`` if unknown."""
        found = await self.stories([story_id], entries=entries)
        return found[0] if found else None

    async def story_slice(self, story_id: str, start: int, stop: int) -> Story | None:
        """A story with the entries at positions ``start..stop`` in order of arrival
        (inclusive), oldest first: the stable pages of RFC 5005 archives."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(keys.story_meta(story_id))
        pipe.zrange(keys.story_arrivals(story_id), start, stop)
        pipe.zcard(keys.story_timeline(story_id))
        pipe.smembers(keys.story_sources(story_id))
        pipe.hgetall(keys.story_also(story_id))
        meta, ids, count, sources, also = await self._call(pipe.execute())
        if not meta or not ids:
            return None
        raws = await self._call(self._r.hmget(keys.story_entries(story_id), ids))
        timeline = tuple(Entry.unpack(r) for r in raws if r)
        return story_of(story_id, meta, timeline, int(count), sources, also) if timeline else None

    async def merged_into(self, story_id: str) -> str | None:
        """The story an editor merged ``story_id`` into, if any (followed to the end)."""
        found = None
        for _ in range(5):
            into = await self._call(self._r.hget(keys.story_meta(found or story_id), "merged_into"))
            if not into:
                break
            found = str(into)
        return found

    async def timeline_count(self, story_id: str) -> int:
        count: int = await self._call(self._r.zcard(keys.story_timeline(story_id)))
        return count

    def _queue_story_head(self, pipe: Any, story_id: str, start: int, stop: int) -> None:
        pipe.hgetall(keys.story_meta(story_id))
        pipe.zrevrange(keys.story_timeline(story_id), start, stop)
        pipe.zcard(keys.story_timeline(story_id))
        pipe.smembers(keys.story_sources(story_id))
        pipe.hgetall(keys.story_also(story_id))

    async def source_entries(
        self, source_id: str, start: int, stop: int, *, newest_first: bool = True
    ) -> list[Entry]:
        """What ``source_id`` reported (positions inclusive), each entry once however often
        the source sent it; duplicates of other sources' entries included. Newest published
        first, or (``newest_first=False``, for archive pages) in order of arrival."""
        members = await self._call(
            self._r.zrevrange(keys.source_entries(source_id), start, stop)
            if newest_first
            else self._r.zrange(keys.source_arrivals(source_id), start, stop)
        )
        refs = [str(m).split(":", 1) for m in members]
        pipe = self._r.pipeline(transaction=False)
        for sid, eid in refs:
            pipe.hget(keys.story_entries(sid), eid)
            pipe.hget(keys.story_also(sid), f"{eid}\x1f{source_id}")
        replies = await self._call(pipe.execute()) if refs else []
        found = []
        for raw, own in zip(replies[::2], replies[1::2], strict=True):
            if not raw:
                continue
            entry = Entry.unpack(raw)
            if entry.source_id != source_id and own:
                # This source's copy of another source's entry: its own link, so a reader of
                # the source's feed goes where the source sent them.
                entry = replace(entry, url=str(own))
            found.append(entry)
        return found

    async def deleted(
        self, *, story_id: str | None = None, source_id: str | None = None, limit: int = 100
    ) -> list[tuple[str, datetime]]:
        """Entries killed from a story's (or a source's) feed within the tombstone window:
        (entry id, when), newest kill first. What RFC 6721 tombstones are rendered from."""
        key = keys.story_deleted(story_id) if story_id else keys.source_deleted(source_id or "")
        found = await self._call(self._r.zrevrange(key, 0, limit - 1, withscores=True))
        return [(str(m).rsplit(":", 1)[-1], from_ms(score)) for m, score in found]

    async def source_entry_count(self, source_id: str) -> int:
        count: int = await self._call(self._r.zcard(keys.source_entries(source_id)))
        return count

    async def tag_stories(
        self, source_ids: Sequence[str], limit: int, *, offset: int = 0, entries: int = 10
    ) -> list[Story]:
        """The stories any of ``source_ids`` contributed to, most recently updated first: the
        per-source story lists merged, so the cost follows the page size, not the archive."""
        found, _more = await self.tag_page(source_ids, limit, offset=offset, entries=entries)
        return found

    async def tag_page(
        self, source_ids: Sequence[str], limit: int, *, offset: int = 0, entries: int = 10
    ) -> tuple[list[Story], bool]:
        """A page of :meth:`tag_stories`, and whether story ids follow it (stories without
        entries are left out of the page but do not end the paging)."""
        want = offset + limit + 1
        pipe = self._r.pipeline(transaction=False)
        for source_id in source_ids:
            pipe.zrevrange(keys.source_stories(source_id), 0, want - 1, withscores=True)
        lists = await self._call(pipe.execute()) if source_ids else []
        seen: set[str] = set()
        ordered = []
        for sid, _score in heapq.merge(*lists, key=lambda pair: -pair[1]):
            if sid not in seen:
                seen.add(sid)
                ordered.append(str(sid))
        more = len(ordered) > offset + limit
        return await self.stories(ordered[offset : offset + limit], entries=entries), more
