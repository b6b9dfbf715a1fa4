"""WebSub publisher (W3C WebSub, section 7): tell the configured hubs which feeds changed.

Each story-changed event names the feeds it touched: all stories, the story's timeline, the
feeds of the sources involved and of their tags, in every format. Events are read through a
Redis consumer group (:class:`ingest.store.events.RedisEvents`), so with several web processes
each event is announced once. Topics of events that arrive together are announced in one
request per hub (repeated ``hub.url``, :func:`ingest.fetch.hubs.post_form`). Pings are best
effort: a hub that fails is logged and the next change announces again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from feeds.push import Event, reraise_cancellation, with_story_sources
from feeds.queries import FORMATS
from feeds.render.context import Context
from ingest.errors import HubError
from ingest.fetch.hubs import HubClient, post_form
from ingest.store.base import Client
from ingest.store.events import RedisEvents
from ingest.store.reads import RedisReader

log = logging.getLogger("wirefeed.websub")
GROUP = "websub"


def topics(event: Event, ctx: Context, tags: dict[str, tuple[str, ...]]) -> list[str]:
    """Every feed URL an event changed, in every format (pure): what hubs are pinged with
    and what ``/events`` lists as ``topics``. ``tags`` maps a source id to its tags."""
    if event.kind == "config":
        return []
    urls = [ctx.stories_feed(ext) for ext in FORMATS]
    urls += [ctx.story_feed(event.story, ext) for ext in FORMATS]
    for source in event.sources:
        urls += [ctx.feed("source", source, ext) for ext in FORMATS]
    for source in dict.fromkeys(event.sources + event.story_sources):  # tag feeds list stories
        for tag in tags.get(source, ()):
            urls += [ctx.feed("tag", tag, ext) for ext in FORMATS]
    return list(dict.fromkeys(urls))


class WebSubPublisher:
    """Reads events as one consumer of the ``websub`` group and pings every hub."""

    def __init__(
        self,
        client: Client,
        hubs: Sequence[str],
        base_url: str,
        consumer: str,
        http: HubClient,
    ) -> None:
        self._events = RedisEvents(client)
        self.hubs = tuple(hubs)
        self.base_url = base_url
        self.consumer = consumer
        self._http = http
        self._reader = RedisReader(client)

    async def run(self) -> None:
        await self._events.create_group(GROUP)
        while True:
            try:
                events = await self._events.read_group(
                    GROUP, self.consumer, count=200, block_ms=2000
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: try again shortly
                reraise_cancellation()
                log.warning("websub: event stream unavailable; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if not events:
                continue
            try:
                await self.announce(events)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad batch must not stop announcing for good
                reraise_cancellation()
                log.exception("websub: announcing %d events failed; skipped", len(events))
            await self._events.ack(GROUP, [e.id for e in events])

    async def announce(self, events: Iterable[Event]) -> list[str]:
        """Ping every hub about the feeds ``events`` changed; returns the topics."""
        events = await with_story_sources(self._events, list(events))
        sources = await self._reader.get_sources()
        tags = {s.id: s.tags for s in sources}
        ctx = Context(base=self.base_url, source_names={s.id: s.title for s in sources})
        found: list[str] = []
        for event in events:
            found += topics(event, ctx, tags)
        found = list(dict.fromkeys(found))
        if found:
            await asyncio.gather(*(self._ping(hub, found) for hub in self.hubs))
        return found

    async def _ping(self, hub: str, urls: list[str]) -> None:
        form = {"hub.mode": "publish", "hub.url": urls}  # a list repeats the field
        try:
            status = await post_form(self._http, hub, form)
        except HubError as exc:
            log.warning("websub: %s", exc)
            return
        if status >= 300:
            log.warning("websub: hub %s answered HTTP %d", hub, status)
