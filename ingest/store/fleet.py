"""What the workers leave in Redis about themselves, read for ``/readyz``, ``/metrics`` and
``/ops`` (:mod:`feeds.fleet` makes the snapshot): heartbeats, what each worker reports, the
schedule's due times, reloads and the items taken per minute.

Heartbeats and due times are epoch milliseconds written by the workers' clocks. Redis errors
come out as :class:`~ingest.errors.StoreError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest import keys
from ingest.store.base import RedisAdapter


@dataclass(frozen=True, slots=True)
class FleetState:
    """The raw state of the fleet, read in one round trip (text as the workers wrote it)."""

    due: dict[str, int] = field(default_factory=dict)
    """Each scheduled source's next due time (epoch ms)."""
    beats: list[tuple[str, int]] = field(default_factory=list)
    """(worker id, last heartbeat in epoch ms), oldest heartbeat first."""
    infos: dict[str, str] = field(default_factory=dict)
    """Each worker's own report (JSON text, as the worker wrote it)."""
    stories: int = 0
    reloads: dict[str, str] = field(default_factory=dict)
    """The last reload of the sources file: ``ok``, ``failed``, ``result``, ``message``, ``at``."""
    minutes: dict[str, str] = field(default_factory=dict)
    """Items taken per minute: epoch ms of the minute to a count."""


class RedisFleet(RedisAdapter):
    """The workers' traces over a text client (``decode_responses=True``): each worker writes
    its own (:meth:`beat`, :meth:`leave`, :meth:`note_reload`), the web app reads them all."""

    async def beat(self, worker_id: str, now_ms: int, info: str, keep_from_ms: int) -> None:
        """Worker ``worker_id`` is alive at ``now_ms`` and reports ``info`` (JSON text);
        minutes of the ingest chart before ``keep_from_ms`` are forgotten."""
        pipe = self._r.pipeline(transaction=False)
        pipe.zadd(keys.WORKERS, {worker_id: now_ms})
        pipe.hset(keys.WORKER_INFO, worker_id, info)
        pipe.hkeys(keys.INGEST_MINUTES)
        replies = await self._call(pipe.execute())
        stale = [m for m in replies[-1] if int(m) < keep_from_ms]
        if stale:
            await self._call(self._r.hdel(keys.INGEST_MINUTES, *stale))

    async def leave(self, worker_id: str) -> None:
        """Worker ``worker_id`` stopped: it is no longer counted or shown."""
        pipe = self._r.pipeline(transaction=False)
        pipe.zrem(keys.WORKERS, worker_id)
        pipe.hdel(keys.WORKER_INFO, worker_id)
        await self._call(pipe.execute())

    async def note_reload(self, ok: bool, message: str, by: str, at_ms: int) -> None:
        """A reload of the sources file by worker ``by``: applied or refused, and why."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hincrby(keys.RELOADS, "ok" if ok else "failed", 1)
        pipe.hset(
            keys.RELOADS,
            mapping={
                "at": at_ms,
                "result": "ok" if ok else "refused",
                "message": message[:2000],
                "by": by,
            },
        )
        await self._call(pipe.execute())

    async def ping(self) -> None:
        """Return once Redis answers; a :class:`~ingest.errors.StoreError` if it does not."""
        await self._call(self._r.ping())

    async def alive_since(self, since_ms: int) -> int:
        """How many workers sent a heartbeat at or after ``since_ms``."""
        count: int = await self._call(self._r.zcount(keys.WORKERS, since_ms, "+inf"))
        return count

    async def state(self) -> FleetState:
        """Heartbeats, reports, due times, stories, reloads and ingest minutes: one round
        trip."""
        pipe = self._r.pipeline(transaction=False)
        pipe.zrange(keys.SCHEDULE, 0, -1, withscores=True)
        pipe.zrange(keys.WORKERS, 0, -1, withscores=True)
        pipe.hgetall(keys.WORKER_INFO)
        pipe.zcard(keys.STORIES)
        pipe.hgetall(keys.RELOADS)
        pipe.hgetall(keys.INGEST_MINUTES)
        due, beats, infos, stories, reloads, minutes = await self._call(pipe.execute())
        return FleetState(
            due={str(sid): int(score) for sid, score in due},
            beats=[(str(wid), int(score)) for wid, score in beats],
            infos=dict(infos),
            stories=int(stories),
            reloads=dict(reloads),
            minutes=dict(minutes),
        )
