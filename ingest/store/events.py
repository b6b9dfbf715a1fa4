"""The story-changed event stream (:data:`ingest.keys.EVENTS`), read for the output side.

Every store change appends an event (written by the scripts of :mod:`ingest.store.entries` and
:mod:`ingest.store.editing`); this module reads them back as :class:`Event` records: the newest
id, what follows an id (blocking, for a process's tail; or not, for a reconnecting client's
replay), a consumer group (each event taken by one process of the group, then acknowledged),
and the sources of the stories events name. Stream ids are Redis's ``ms-seq`` strings and
compare in that order. Redis errors come out as :class:`~ingest.errors.StoreError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError, ResponseError

from ingest import keys
from ingest.store.base import RedisAdapter, store_error


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    story: str
    kind: str
    entry: str
    sources: tuple[str, ...]
    story_sources: tuple[str, ...] = ()
    """Every source the story holds entries of, read when the event is taken from the stream
    (:func:`feeds.push.with_story_sources`): a story change changes the tag feeds of all of
    them."""

    @property
    def scopes(self) -> tuple[str, ...]:
        """The revisions scopes (see :class:`feeds.cache.RenderCache`) this change touched."""
        if self.kind == "config":
            return ("config", "stories")
        return ("stories", f"story:{self.story}", *(f"source:{s}" for s in self.sources))


def event_of(event_id: str, fields: Mapping[str, str]) -> Event:
    """The event of one stream entry (pure)."""
    sources = tuple(s for s in fields.get("sources", "").split(",") if s)
    return Event(
        event_id, fields.get("story", ""), fields.get("kind", ""), fields.get("entry", ""), sources
    )


def _events(entries: Any) -> list[Event]:
    return [event_of(event_id, fields) for event_id, fields in entries or ()]


def _streams(replies: Any) -> list[Event]:
    """The events of an ``XREAD``/``XREADGROUP`` reply (one stream: ours)."""
    found: list[Event] = []
    for _stream, entries in replies or ():
        found += _events(entries)
    return found


class RedisEvents(RedisAdapter):
    """Reads of the event stream over a text client (``decode_responses=True``)."""

    async def newest_id(self) -> str | None:
        """The id of the last event in the stream, ``None`` while it is empty."""
        newest: Any = await self._call(self._r.xrevrange(keys.EVENTS, count=1))
        return str(newest[0][0]) if newest else None

    async def read_after(self, last_id: str, *, count: int, block_ms: int) -> list[Event]:
        """Up to ``count`` events after ``last_id``, oldest first, waiting up to ``block_ms``
        for the first one (``[]`` when none came)."""
        replies = await self._call(
            self._r.xread({keys.EVENTS: last_id}, block=block_ms, count=count)
        )
        return _streams(replies)

    async def since(self, last_id: str, *, count: int) -> list[Event]:
        """Up to ``count`` events still in the stream after ``last_id``, oldest first; no
        waiting."""
        entries = await self._call(self._r.xrange(keys.EVENTS, min=f"({last_id}", count=count))
        return _events(entries)

    async def create_group(self, group: str) -> None:
        """Make the consumer group ``group``, reading from the end of the stream (made if
        missing). Idempotent: a group that exists is left where it is."""
        try:
            await self._r.xgroup_create(keys.EVENTS, group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise store_error(exc) from exc
        except RedisError as exc:
            raise store_error(exc) from exc

    async def read_group(
        self, group: str, consumer: str, *, count: int, block_ms: int
    ) -> list[Event]:
        """Up to ``count`` events no consumer of ``group`` was given yet, now given to
        ``consumer``, waiting up to ``block_ms`` for the first. Each stays pending until
        :meth:`ack`."""
        replies = await self._call(
            self._r.xreadgroup(group, consumer, {keys.EVENTS: ">"}, count=count, block=block_ms)
        )
        return _streams(replies)

    async def ack(self, group: str, event_ids: Sequence[str]) -> None:
        """Mark ``event_ids`` handled by ``group``. Idempotent."""
        await self._call(self._r.xack(keys.EVENTS, group, *event_ids))

    async def story_sources(self, story_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Each story's sources, sorted (empty for a story that is gone): one round trip."""
        if not story_ids:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for story in story_ids:
            pipe.smembers(keys.story_sources(story))
        found = await self._call(pipe.execute())
        return {
            story: tuple(sorted(str(s) for s in sources))
            for story, sources in zip(story_ids, found, strict=True)
        }
