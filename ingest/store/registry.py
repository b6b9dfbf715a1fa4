"""Where sources live: the one model of sources owned by the file and by the API. Redis I/O.

The sources file is declarative and owns every source it names: a worker that loads it
publishes them (:meth:`RedisRegistry.publish_file`), and an API edit or deletion of one is
refused (:class:`OwnershipError`) with a message saying to edit the file. The admin API owns
the sources it created; they live in Redis only (:data:`ingest.keys.SOURCES_API`), so no
reload or restart of anything loses them. Pausing is an editor's switch over either kind
(:data:`ingest.keys.SOURCES_PAUSED`), kept apart from both definitions so a reload of the file
does not undo it.

The configured set every other part reads (``keys.SOURCES`` and each ``source_config``) is
always composed here: the file's sources, then the API's sources whose ids the file does not
name, each disabled while paused. When the file comes to name a source the API created, the
file's definition is used, the API's is kept (not deleted), and the conflict is recorded
(:data:`ingest.keys.SOURCE_CONFLICTS`), logged and listed by the API until one side gives the
id up: never resolved silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis

from config.sources import Source
from ingest import keys
from ingest.errors import WirefeedError
from ingest.store import scripts
from ingest.store.connect import get_many
from ingest.store.redis_store import RedisStore

log = logging.getLogger("wirefeed.sources")

FILE, API = "file", "api"


class OwnershipError(WirefeedError):
    """A change the owner of a source does not allow; ``kind`` as :class:`EditError`'s."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RedisRegistry:
    """Composes and publishes the configured set of sources (see the module docstring)."""

    def __init__(self, client: aioredis.Redis, store: RedisStore) -> None:
        self._r = client
        self.store = store

    async def publish_file(self, sources: Sequence[Source]) -> list[Source]:
        """Record ``sources`` as the file's, and return the composed configured set (which
        the caller publishes and schedules: :meth:`RedisStore.put_sources`, schedule sync)."""
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(keys.SOURCES_FILE)
        if sources:
            pipe.hset(keys.SOURCES_FILE, mapping={s.id: s.to_json() for s in sources})
        pipe.set(keys.SOURCES_OWNED, "1")
        await self.store._call(pipe.execute())
        composed, conflicts = await self.composed()
        for source_id, why in conflicts.items():
            log.warning("source %s: %s", source_id, why)
        return composed

    async def composed(self) -> tuple[list[Source], dict[str, str]]:
        """The configured set (file first, then the API's, paused ones disabled) and the
        conflicts, which are recorded too."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(keys.SOURCES_FILE)
        pipe.hgetall(keys.SOURCES_API)
        pipe.smembers(keys.SOURCES_PAUSED)
        pipe.exists(keys.SOURCES_OWNED)
        from_file, from_api, paused, owned = await self.store._call(pipe.execute())
        if not owned:  # configured before owners were kept: the file's, the only way then
            from_file = await self._configured(set(from_api))
            mapping: dict[Any, Any] = from_file
            record = self._r.pipeline(transaction=True)
            if from_file:
                record.hset(keys.SOURCES_FILE, mapping=mapping)
            record.set(keys.SOURCES_OWNED, "1")
            await self.store._call(record.execute())
        conflicts = {
            sid: (
                "named by the sources file and created through the API: the file's definition "
                "is in force; delete one of them"
            )
            for sid in sorted(set(from_file) & set(from_api))
        }
        chosen = {**{k: v for k, v in from_api.items()}, **from_file}
        sources = [Source.from_json(chosen[sid]) for sid in sorted(chosen)]
        sources = [replace(s, enabled=False) if s.id in paused else s for s in sources]
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(keys.SOURCE_CONFLICTS)
        if conflicts:
            pipe.hset(keys.SOURCE_CONFLICTS, mapping=conflicts)
        await self.store._call(pipe.execute())
        return sources, conflicts

    async def _configured(self, api_owned: set[str]) -> dict[str, str]:
        ids = sorted(
            str(s) for s in await self.store._call(self._r.smembers(keys.SOURCES)) - api_owned
        )
        raws = await self.store._call(get_many(self._r, [keys.source_config(i) for i in ids]))
        return {sid: raw for sid, raw in zip(ids, raws, strict=True) if raw}

    async def owner(self, source_id: str) -> str | None:
        """``file``, ``api`` or ``None`` (no such source); the file wins a conflict."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hexists(keys.SOURCES_FILE, source_id)
        pipe.hexists(keys.SOURCES_API, source_id)
        pipe.sismember(keys.SOURCES, source_id)
        pipe.exists(keys.SOURCES_OWNED)
        in_file, in_api, configured, owned = await self.store._call(pipe.execute())
        # A configured source published before owners were kept is the file's.
        legacy = configured and not owned and not in_api
        return FILE if in_file or legacy else API if in_api else None

    async def definition(self, source_id: str) -> Source | None:
        """The source as its owner defines it (not paused), or ``None``."""
        for key in (keys.SOURCES_FILE, keys.SOURCES_API):  # as owner() ranks them
            raw = await self.store._call(self._r.hget(key, source_id))
            if raw:
                return Source.from_json(raw)
        raw = await self.store._call(self._r.get(keys.source_config(source_id)))
        return Source.from_json(raw) if raw else None

    async def paused(self) -> set[str]:
        return {str(s) for s in await self.store._call(self._r.smembers(keys.SOURCES_PAUSED))}

    async def conflicts(self) -> dict[str, str]:
        found: dict[str, str] = await self.store._call(self._r.hgetall(keys.SOURCE_CONFLICTS))
        return found

    async def create(self, source: Source) -> None:
        """Add an API-owned source; refused when the id is taken by either owner."""
        owner = await self.owner(source.id)
        if owner == FILE:
            raise OwnershipError("conflict", _file_owned(source.id, "create"))
        if owner == API:
            raise OwnershipError("conflict", f"id: a source {source.id!r} exists already")
        await self.store._call(self._r.hset(keys.SOURCES_API, source.id, source.to_json()))
        await self._publish(due=[source.id])

    async def update(self, source: Source) -> None:
        """Replace an API-owned source's definition; a file-owned one is refused."""
        await self._api_owned(source.id, "change")
        await self.store._call(self._r.hset(keys.SOURCES_API, source.id, source.to_json()))
        await self._publish(due=[source.id])

    async def delete(self, source_id: str) -> None:
        """Remove an API-owned source (its stored items stay until they expire)."""
        await self._api_owned(source_id, "delete")
        pipe = self._r.pipeline(transaction=False)
        pipe.hdel(keys.SOURCES_API, source_id)
        pipe.srem(keys.SOURCES_PAUSED, source_id)
        await self.store._call(pipe.execute())
        await self._publish()

    async def set_paused(self, source_id: str, paused: bool) -> None:
        """Pause or resume a source of either owner."""
        if await self.owner(source_id) is None:
            raise OwnershipError("not_found", f"no source {source_id!r}")
        key = keys.SOURCES_PAUSED
        command = self._r.sadd(key, source_id) if paused else self._r.srem(key, source_id)
        await self.store._call(command)
        await self._publish(due=[] if paused else [source_id])
        if paused:
            await self.store.set_state(source_id, "paused")
        else:
            await self.store._call(self._r.hdel(keys.source_status(source_id), "state"))

    async def fetch_now(self, source_id: str) -> None:
        """Make an enabled source due now (a source being fetched right now may be fetched
        once more when its worker finishes: its lease is pulled forward)."""
        sources, _ = await self.composed()
        found = next((s for s in sources if s.id == source_id), None)
        if found is None:
            raise OwnershipError("not_found", f"no source {source_id!r}")
        if not found.enabled:
            raise OwnershipError("conflict", f"source {source_id!r} is paused: resume it first")
        await self.store._call(
            scripts.run(self._r, scripts.SCHEDULE_NOW, keys=[keys.SCHEDULE], rest=[source_id, "lt"])
        )

    async def check_api_owned(self, source_id: str, verb: str) -> None:
        """Raise unless ``source_id`` exists and the API owns it (``verb``: for the message)."""
        await self._api_owned(source_id, verb)

    async def _api_owned(self, source_id: str, verb: str) -> None:
        owner = await self.owner(source_id)
        if owner is None:
            raise OwnershipError("not_found", f"no source {source_id!r}")
        if owner == FILE:
            raise OwnershipError("conflict", _file_owned(source_id, verb))

    async def _publish(self, due: Sequence[str] = ()) -> None:
        """Publish the composed set and bring the schedule in line: enabled sources not yet
        scheduled become due now, the others leave it."""
        sources, _ = await self.composed()
        await self.store.put_sources(sources)
        enabled = {s.id for s in sources if s.enabled}
        current = {str(m) for m in await self.store._call(self._r.zrange(keys.SCHEDULE, 0, -1))}
        stale = current - enabled
        if stale:
            await self.store._call(self._r.zrem(keys.SCHEDULE, *stale))
        args: list[Any] = []
        for sid in sorted(enabled - current):
            args += [sid, "nx"]
        for sid in due:
            if sid in enabled and sid in current:
                args += [sid, "lt"]
        if args:
            await self.store._call(
                scripts.run(self._r, scripts.SCHEDULE_NOW, keys=[keys.SCHEDULE], rest=args)
            )


def _file_owned(source_id: str, verb: str) -> str:
    return (
        f"source {source_id!r} is owned by the sources file: {verb} it there "
        "(the API owns only the sources it created)"
    )
