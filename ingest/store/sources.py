"""Sources and their statuses in Redis: the configured set, each source's health and
schedule record.

A status is a hash with one field per attribute (see :mod:`ingest.codec`), so ops can read it
with ``HGETALL``; saving one writes only the fields that changed. Changing the configured set
bumps the revisions feeds are cached against, since feeds show source names and tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config.sources import Source
from ingest import keys
from ingest.codec import status_changes, status_fields, status_of
from ingest.model import SourceStatus
from ingest.store.base import RedisAdapter
from ingest.store.connect import queue_gets
from ingest.store.timeline import EVENTS_MAXLEN


class RedisSources(RedisAdapter):
    """The configured sources and their statuses (reading configs is in
    :class:`~ingest.store.reads.RedisReader`, which the web app uses too)."""

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
        queue_note(pipe, status, interval, reason)
        if len(pipe):
            await self._call(pipe.execute())

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
        queue_status(pipe, status, previous)
        if len(pipe):
            await self._call(pipe.execute())

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


def queue_note(pipe: Any, status: SourceStatus, interval: float | None, reason: str) -> None:
    """Queue the write of :meth:`RedisSources.note_schedule`; nothing when the reason is the
    same and the interval within jitter of the recorded one, so a steady source costs no
    write."""
    if status.interval_reason == reason and _close(status.interval, interval):
        return
    key = keys.source_status(status.source_id)
    if interval is None:
        pipe.hdel(key, "interval")
        pipe.hset(key, "interval_reason", reason)
    else:
        pipe.hset(key, mapping={"interval_reason": reason, "interval": f"{interval:.3f}"})


def queue_status(pipe: Any, status: SourceStatus, previous: SourceStatus) -> None:
    """Queue on ``pipe`` the writes that turn the stored ``previous`` into ``status``."""
    key = keys.source_status(status.source_id)
    changed, dropped = status_changes(previous, status)
    if dropped:
        pipe.hdel(key, *dropped)
    if changed:
        pipe.hset(key, mapping=changed)


def _close(recorded: float | None, chosen: float | None) -> bool:
    if recorded is None or chosen is None:
        return recorded is chosen
    return abs(recorded - chosen) <= 0.25 * max(recorded, chosen)
