"""Story-changed events, fanned out inside one web process: to the render cache (drop stale
copies) and to server-sent-events clients of ``/events``.

One task per process tails the Redis stream :data:`ingest.keys.EVENTS` (written by every store
change, read through :class:`ingest.store.events.RedisEvents`) and hands each event to every
local listener; ``/events`` clients never touch Redis themselves, so a thousand of them cost
one blocking read. An event names the story, the kind of
change (new, update, also, correction, kill; an editor's rename, pin, merge, move; config) and
the sources involved: those whose feeds list the changed entries, and for an editor's change
every source of every story it touched (their tags' feeds list the stories). The tail adds
each story's sources as it takes a batch (one round trip per batch: every tag feed listing the
story changed with it) and keeps each source's tags, read again at each config event, so that
every feed URL an event touched can be named (:func:`feeds.websub.topics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from feeds.cache import RenderCache
from ingest.store.base import Client
from ingest.store.events import Event, RedisEvents, event_of
from ingest.store.outage import RedisWatch, unreachable
from ingest.store.reads import RedisReader

__all__ = [
    "Event",  # the records live with the stream's reads (ingest.store.events)
    "EventHub",
    "event_of",
    "reraise_cancellation",
    "sse_stream",
    "with_story_sources",
]

log = logging.getLogger("wirefeed.push")

QUEUE_SIZE = 256
HEARTBEAT = 15.0
REPLAY_LIMIT = 500


def reraise_cancellation() -> None:
    """redis-py can turn a cancellation that lands inside its socket timeout into a
    TimeoutError; a task that was asked to stop must stop anyway (Python 3.11+)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def with_story_sources(client: Client | RedisEvents, events: list[Event]) -> list[Event]:
    """``events`` with each story's sources filled in: one round trip for the batch."""
    stream = client if isinstance(client, RedisEvents) else RedisEvents(client)
    stories = sorted({e.story for e in events if e.story and e.kind != "config"})
    if not stories:
        return events
    found = await stream.story_sources(stories)
    return [replace(e, story_sources=found[e.story]) if e.story in found else e for e in events]


class EventHub:
    """Tails the event stream for this process; ``subscribe`` gives a queue of new events."""

    def __init__(self, client: Client, cache: RenderCache, watch: RedisWatch | None = None) -> None:
        self._events = RedisEvents(client)
        self.cache = cache
        self.watch = watch
        self._reader = RedisReader(client)
        self._queues: set[asyncio.Queue[Event]] = set()
        self._last = ""
        self.tags: dict[str, tuple[str, ...]] = {}
        """Each configured source's tags, as of the events handed on so far."""

    async def run(self) -> None:
        """Tail until cancelled; on a Redis error the cache stops trusting local copies until
        the tail is back, so nothing stale is served for long."""
        while True:
            try:
                await self._tail()
            except asyncio.CancelledError:
                self.cache.tailing = False
                raise
            except Exception as exc:  # Redis away: retry; meanwhile requests check Redis
                self.cache.tailing = False
                reraise_cancellation()
                if self.watch is not None and unreachable(exc):
                    self.watch.lost(exc)  # one line for the outage, not one per retry
                else:
                    log.warning("event stream unavailable; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    async def _tail(self) -> None:
        """Hand on the next events. The tags are read when the tail starts (after noting
        where the stream ends, so that no config event slips between) and at each config
        event, before that event is handed on."""
        if not self._last:
            start = await self._events.newest_id() or "0-0"
            await self._load_tags()
            self._last = start
        self.cache.tailing = True
        events = await self._events.read_after(self._last, count=500, block_ms=2000)
        for event in await with_story_sources(self._events, events):
            if event.kind == "config":
                await self._load_tags()
            self._last = event.id
            self._publish(event)

    async def _load_tags(self) -> None:
        self.tags = {s.id: s.tags for s in await self._reader.get_sources()}

    def _publish(self, event: Event) -> None:
        self.cache.invalidate(event.scopes)
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):  # a slow client misses events
                queue.put_nowait(event)

    @property
    def seen(self) -> str:
        """The id of the last event handed on ('' before the tail starts): how far this
        process has caught up with the stream."""
        return self._last

    @property
    def clients(self) -> int:
        """Listeners subscribed now (``/events`` clients)."""
        return len(self._queues)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def since(self, last_id: str) -> list[Event]:
        """Events after ``last_id`` still in the stream (for a reconnecting client)."""
        events = await self._events.since(last_id, count=REPLAY_LIMIT)
        return await with_story_sources(self._events, events)


async def sse_stream(
    hub: EventHub,
    describe: Callable[[Event], dict[str, object]],
    last_id: str | None,
) -> AsyncIterator[bytes]:
    """The ``text/event-stream`` body of one ``/events`` client (WHATWG HTML, server-sent
    events): replay after ``Last-Event-ID`` if given, then live events and heartbeats."""
    async with hub.subscribe() as queue:
        yield b"retry: 3000\n\n"
        sent = ""
        if last_id and _STREAM_ID.fullmatch(last_id.strip()):  # a garbled id replays nothing
            last_id = last_id.strip()
            for event in await hub.since(last_id):
                sent = event.id
                yield _frame(event, describe)
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if sent and _older_or_same(event.id, sent):
                continue  # already replayed
            yield _frame(event, describe)


_STREAM_ID = re.compile(r"[0-9]{1,19}(?:-[0-9]{1,19})?")


def _frame(event: Event, describe: Callable[[Event], dict[str, object]]) -> bytes:
    described = describe(event)
    data = json.dumps(described, separators=(",", ":"))
    kind = described.get("kind") or event.kind  # the public name ("kill" is "killed")
    return f"id: {event.id}\nevent: {kind}\ndata: {data}\n\n".encode()


def _older_or_same(a: str, b: str) -> bool:
    ams, _, aseq = a.partition("-")
    bms, _, bseq = b.partition("-")
    return (int(ams), int(aseq or 0)) <= (int(bms), int(bseq or 0))
