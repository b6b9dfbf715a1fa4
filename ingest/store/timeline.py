"""The story writes entries and editing share: events, archive orders, source feeds.

:class:`RedisTimeline` holds the indexes every story write touches (the dedupe index, the
story index, the audit log) with the retention their keys live for. Its subclasses are the
two kinds of story writer: :class:`~ingest.store.entries.RedisEntries` (what ingestion
stores) and :class:`~ingest.store.editing.Editing` (what editors change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ingest import keys
from ingest.model import Entry, to_ms
from ingest.similar import SimilarityPolicy
from ingest.store import scripts
from ingest.store.audit import RedisAudit
from ingest.store.base import Client
from ingest.store.dedupe_index import RedisIndex, Retention
from ingest.store.reads import RedisReader
from ingest.store.story_index import RedisStoryIndex

EVENTS_MAXLEN = 10_000
"""Events kept in the stream (approximately): what push and caches replay from."""

Arrivals = list[tuple[int, str, str]]
"""Archive-order placements queued by one batch: (published ms, arrivals key, member)."""


class RedisTimeline(RedisReader):
    """Story reads, plus the writes every change to a story's timeline makes."""

    def __init__(
        self,
        client: Client,
        *,
        retention: Retention | None = None,
        similarity: SimilarityPolicy | None = None,
    ) -> None:
        super().__init__(client)
        self.retention = retention or Retention()
        self.index = RedisIndex(client, self.retention)
        self.story_index = RedisStoryIndex(client, self.retention, similarity or SimilarityPolicy())
        self.audit = RedisAudit(client)

    def _queue_apply_entry(self, pipe: Any, entry: Entry, changed_ms: int, timezone: str) -> None:
        """Queue the write of ``entry`` into its story (entries hash, timeline, meta, sources:
        one slot), the story's change dated ``changed_ms``; the reply names the story it was
        merged into, if any (see :data:`ingest.store.scripts.APPLY_ENTRY`)."""
        sid = entry.story_id
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
                "entry_json": entry.pack(),
                "changed_ms": changed_ms,
                "first_seen_ms": to_ms(entry.first_seen),
                "timezone": timezone,
                "source_id": entry.source_id,
                "ttl_ms": self.retention.entries_ms,
            },
        )

    def _event(self, pipe: Any, story_id: str, kind: str, entry_id: str, *sources: str) -> None:
        """Tell listeners (push, caches) that a story changed, and for which sources' feeds."""
        pipe.xadd(
            keys.EVENTS,
            {"story": story_id, "kind": kind, "entry": entry_id, "sources": ",".join(sources)},
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )

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

    def _queue_deleted(self, pipe: Any, key: str, member: str, now_ms: int) -> None:
        """Record a kill in a feed's tombstone set, dropping those past the window."""
        window = self.retention.tombstones_ms
        pipe.zadd(key, {member: now_ms})
        pipe.zremrangebyscore(key, "-inf", now_ms - window)
        pipe.pexpire(key, window)

    async def _entries(self, wanted: Sequence[tuple[str, str]]) -> dict[str, Entry]:
        if not wanted:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for story_id, entry_id in wanted:
            pipe.hget(keys.story_entries(story_id), entry_id)
        raws = await self._call(pipe.execute())
        return {
            eid: Entry.unpack(raw)
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
