"""The editors' desk: every change an editor or admin makes, audited. Redis I/O through the
store's adapters (:class:`ingest.store.desk.RedisDesk` for what the desk reads and keeps).

The admin API, the web desk and the CLI all call :class:`EditorsDesk`, so the three cover the
same operations with the same checks, and each change lands in the audit trail
(:mod:`ingest.store.audit`) with who made it, when, and the state of what it changed before and
after::

    desk = EditorsDesk(store, Actor("alma", "editor", "api"))
    await desk.kill(entry_id, reason="wrong town", now=now)
        before  = snapshot(entry)     the entry, its story, live or not
        | change  store.kill(...)
        | after = snapshot(entry)
        | audit   who, what, when, before, after

A change that fails (not found, invalid) raises and is not audited: nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from config.sources import Source, source_fields
from ingest.model import Entry
from ingest.store.audit import Actor
from ingest.store.desk import RedisDesk, registry_of
from ingest.store.editing import EditError
from ingest.store.redis_store import RedisStore
from ingest.store.registry import OwnershipError


class EditorsDesk:
    """Story and source operations on behalf of ``actor`` (see the module docstring)."""

    def __init__(self, store: RedisStore, actor: Actor) -> None:
        self.store = store
        self.actor = actor
        self.audit = store.audit
        self.registry = registry_of(store)
        self.reads = RedisDesk.of(store)

    async def _log(
        self, action: str, target: str, before: Any, after: Any, now: datetime, note: str = ""
    ) -> None:
        await self.audit.record(
            self.actor, action, target, before=before, after=after, now=now, note=note
        )

    # -- stories -----------------------------------------------------------------------------

    async def story_state(self, story_id: str) -> dict[str, Any] | None:
        """What an override can change of a story: headline, pin, entries, merged into."""
        found = await self.reads.story(story_id)
        if found is None:
            return None
        return {
            "story": story_id,
            "title": found.title,
            "pinned": found.pinned,
            "merged_into": found.merged_into,
            "closed": found.closed,
            "entries": list(found.entries),
        }

    async def rename(self, story_id: str, title: str, *, now: datetime) -> None:
        before = await self.story_state(story_id)
        await self.store.rename(story_id, title, now=now)
        await self._log("story.rename", story_id, before, await self.story_state(story_id), now)

    async def pin(self, story_id: str, entry_id: str | None, *, now: datetime) -> None:
        before = await self.story_state(story_id)
        await self.store.pin(story_id, entry_id, now=now)
        await self._log("story.pin", story_id, before, await self.story_state(story_id), now)

    async def close(self, story_id: str, closed: bool, *, now: datetime) -> None:
        before = await self.story_state(story_id)
        await self.store.close(story_id, closed, now=now)
        after = await self.story_state(story_id)
        await self._log("story.close" if closed else "story.reopen", story_id, before, after, now)

    async def merge(self, story_id: str, other: str, *, now: datetime) -> int:
        before = {"into": await self.story_state(story_id), "from": await self.story_state(other)}
        moved = await self.store.merge(story_id, other, now=now)
        after = {"into": await self.story_state(story_id), "from": await self.story_state(other)}
        await self._log("story.merge", story_id, before, after, now, note=f"from {other}")
        return moved

    async def split(
        self, story_id: str, entry_ids: Sequence[str], *, title: str, now: datetime
    ) -> str:
        before = await self.story_state(story_id)
        new = await self.store.split(story_id, entry_ids, title=title, now=now)
        after = {"from": await self.story_state(story_id), "new": await self.story_state(new)}
        await self._log("story.split", story_id, before, after, now, note=f"into {new}")
        return new

    async def entry_state(self, entry_id: str) -> dict[str, Any] | None:
        owner = await self.reads.owner(entry_id)
        if owner is None:
            return None
        tomb = await self.reads.tombstoned(entry_id)
        state: dict[str, Any] = {
            "entry": entry_id,
            "story": owner.story_id,
            "source": owner.source_id,
            "killed": bool(owner.killed or tomb),
        }
        raw = await self.reads.entry_json(owner.story_id, entry_id)
        if raw:
            entry = Entry.unpack(raw)
            state["title"] = entry.title
            state["correction_note"] = entry.correction_note
        return state

    async def kill(self, entry_id: str, *, reason: str, now: datetime) -> None:
        before = await self.entry_state(entry_id)
        raw = None
        if before is not None and not before["killed"]:
            raw = await self.reads.entry_json(before["story"], entry_id)
        if not await self.store.kill(entry_id, reason=reason, now=now):
            raise EditError("not_found", f"no live entry {entry_id!r}")
        if raw:  # kept as long as the tombstone, for an unkill
            ttl = self.store.retention.tombstones_ms
            await self.reads.keep_killed(entry_id, raw, ttl)
        after = await self.entry_state(entry_id)
        await self._log("entry.kill", entry_id, before, after, now, note=reason)

    async def unkill(self, entry_id: str, *, reason: str, now: datetime) -> None:
        """Lift an editor's kill: the tombstone and every killed claim go, and the item comes
        back with its source's next poll (made due now) if the source still lists it."""
        tomb, raw = await self.reads.killed(entry_id)
        if not tomb:
            raise EditError("not_found", f"no killed entry {entry_id!r}")
        if not raw:
            raise EditError(
                "conflict",
                f"entry {entry_id!r} was withdrawn by its source (or killed before unkills "
                "were kept): it cannot be brought back from here",
            )
        before = await self.entry_state(entry_id)
        entry = Entry.unpack(raw)
        await self.reads.lift_kill(entry_id, entry)
        with suppress(OwnershipError):  # paused or gone: it comes back when it polls again
            await self.registry.fetch_now(entry.source_id)
        after: dict[str, Any] = {"entry": entry_id, "story": entry.story_id}
        after |= {"source": entry.source_id, "killed": False}
        await self._log("entry.unkill", entry_id, before, after, now, note=reason)

    async def correct(self, entry_id: str, *, note: str | None, now: datetime) -> None:
        before = await self.entry_state(entry_id)
        if not await self.store.correct(entry_id, note=note, now=now):
            raise EditError("not_found", f"no live entry {entry_id!r}")
        after = await self.entry_state(entry_id)
        await self._log("entry.correct", entry_id, before, after, now, note=note or "")

    # -- sources -----------------------------------------------------------------------------

    async def source_state(self, source_id: str) -> dict[str, Any] | None:
        found = await self.registry.definition(source_id)
        if found is None:
            return None
        return {
            **source_fields(found),
            "owner": await self.registry.owner(source_id),
            "paused": source_id in await self.registry.paused(),
        }

    async def create_source(self, source: Source, *, now: datetime) -> None:
        await self.registry.create(source)
        after = await self.source_state(source.id)
        await self._log("source.create", source.id, None, after, now)

    async def import_sources(
        self,
        sources: Sequence[Source],
        *,
        now: datetime,
        progress: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Create every one of ``sources`` (an OPML import), or none: ids already taken are
        refused together before anything is created. ``progress`` hears each one done."""
        taken = [s.id for s in sources if await self.registry.owner(s.id) is not None]
        if taken:
            raise EditError("conflict", "id: sources exist already: " + ", ".join(taken))
        for n, source in enumerate(sources, start=1):
            await self.registry.create(source)
            after = await self.source_state(source.id)
            await self._log("source.create", source.id, None, after, now, note="OPML import")
            if progress is not None:
                progress(n)
        return [s.id for s in sources]

    async def update_source(self, source: Source, *, now: datetime) -> None:
        before = await self.source_state(source.id)
        await self.registry.update(source)
        await self._log("source.update", source.id, before, await self.source_state(source.id), now)

    async def delete_source(self, source_id: str, *, now: datetime) -> None:
        before = await self.source_state(source_id)
        await self.registry.delete(source_id)
        await self._log("source.delete", source_id, before, None, now)

    async def pause_source(self, source_id: str, paused: bool, *, now: datetime) -> None:
        before = await self.source_state(source_id)
        await self.registry.set_paused(source_id, paused)
        after = await self.source_state(source_id)
        await self._log(
            "source.pause" if paused else "source.resume", source_id, before, after, now
        )

    async def fetch_source(self, source_id: str, *, now: datetime) -> None:
        await self.registry.fetch_now(source_id)
        await self._log("source.fetch", source_id, None, None, now)
