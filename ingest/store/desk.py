"""What the editors' desk (:class:`ingest.desk.EditorsDesk`) reads and keeps beside the store's
own operations: the state of a story or entry before and after a change (for the audit trail),
the copy of a killed entry kept for an unkill, and the lifting of a kill.

Raw Redis replies stay here; entries come out as the JSON they are stored as, which the desk
decodes (and keeps byte for byte when it saves a killed entry). Redis errors come out as
:class:`~ingest.errors.StoreError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest import keys
from ingest.model import Entry, Known
from ingest.store.base import Client, RedisAdapter
from ingest.store.connect import get_many
from ingest.store.dedupe_index import RedisIndex
from ingest.store.redis_store import RedisStore
from ingest.store.registry import RedisRegistry


@dataclass(frozen=True, slots=True)
class StoryState:
    """What an override can change of a story."""

    title: str
    pinned: str | None
    merged_into: str | None
    closed: bool
    entries: tuple[str, ...]
    """Its timeline's entry ids, newest first."""


class RedisDesk(RedisAdapter):
    """The desk's reads and its two writes outside the store (kept kills, lifted kills)."""

    def __init__(self, client: Client, index: RedisIndex) -> None:
        super().__init__(client)
        self._index = index

    @classmethod
    def of(cls, store: RedisStore) -> RedisDesk:
        """The desk adapter over ``store``'s client and dedupe index."""
        return cls(store._r, store.index)

    async def story(self, story_id: str) -> StoryState | None:
        """The story's headline, pin, merge, closing and entries; ``None`` if unknown."""
        meta = await self._call(self._r.hgetall(keys.story_meta(story_id)))
        if not meta:
            return None
        ids = await self._call(self._r.zrevrange(keys.story_timeline(story_id), 0, -1))
        return StoryState(
            title=meta.get("title", ""),
            pinned=meta.get("pinned"),
            merged_into=meta.get("merged_into"),
            closed=bool(meta.get("closed")),
            entries=tuple(str(i) for i in ids),
        )

    async def owner(self, entry_id: str) -> Known | None:
        """The dedupe record of an entry (its story and source), if it still exists."""
        found: Known | None = await self._call(self._index.owner(entry_id))
        return found

    async def tombstoned(self, entry_id: str) -> bool:
        """Whether the entry has a tombstone (killed or withdrawn, within the window)."""
        return bool(await self._call(self._r.get(keys.tombstone(entry_id))))

    async def entry_json(self, story_id: str, entry_id: str) -> str | None:
        """The entry as stored in its story (JSON), ``None`` if it is not there."""
        raw = await self._call(self._r.hget(keys.story_entries(story_id), entry_id))
        return str(raw) if raw else None

    async def keep_killed(self, entry_id: str, raw: str, ttl_ms: int) -> None:
        """Keep the killed entry's JSON for ``ttl_ms`` (as long as its tombstone), so that an
        unkill can bring it back. Idempotent."""
        await self._call(self._r.set(keys.killed_entry(entry_id), raw, px=ttl_ms))

    async def killed(self, entry_id: str) -> tuple[bool, str | None]:
        """Whether the entry has a tombstone, and the JSON kept at its kill (if any)."""
        tomb, raw = await self._call(
            get_many(self._r, [keys.tombstone(entry_id), keys.killed_entry(entry_id)])
        )
        return bool(tomb), (str(raw) if raw else None)

    async def lift_kill(self, entry_id: str, entry: Entry) -> None:
        """Drop the tombstone, locator, identity, near record and kept copy of the killed
        ``entry``, and its URL and copy claims where they still name it, so that the item is
        taken again the next time its source lists it. Idempotent."""
        claims = [keys.item_url(entry.url)] if entry.url else []
        claims += [keys.copy(entry.copy_key)] if entry.copy_key else []
        held = await self._call(get_many(self._r, claims))
        pipe = self._r.pipeline(transaction=False)
        for key in (keys.tombstone(entry_id), keys.entry_locator(entry_id)):
            pipe.delete(key)
        pipe.delete(keys.identity(entry.source_id, entry.identity))
        pipe.delete(keys.near_record(entry_id))
        for key, value in zip(claims, held, strict=True):
            if value and Known.from_json(value).entry_id == entry_id:
                pipe.delete(key)
        pipe.delete(keys.killed_entry(entry_id))
        await self._call(pipe.execute())


def registry_of(store: RedisStore) -> RedisRegistry:
    """The sources registry over ``store``'s client (the desk's source operations)."""
    return RedisRegistry(store._r, store)
