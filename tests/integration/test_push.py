"""Push: the WebSub publisher (W3C WebSub) and ``/events`` (server-sent events, WHATWG HTML).

The hub is :class:`~tests.integration.test_feed_families.MiniHub`, a recording hub on loopback
written here: the WebSub hubs on PyPI were tried first; Flask-WebSub (the one maintained hub)
needs Flask, Celery and a broker, and reads one ``hub.topic`` where publishers (this one
included) send ``hub.url``, so it could not take these pings as they are sent.

Every story change is announced to every hub, for every feed it changed, once, however many
web processes run (they read the event stream as one Redis consumer group): here one app runs in
this process and one as ``python -m feeds``, both announcing as the public address.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from config.settings import Settings
from feeds.push import Event, event_of
from feeds.render.context import Context
from feeds.websub import WebSubPublisher
from feeds.websub import topics as websub_topics
from ingest import keys
from ingest.store import RedisStore
from tests.integration.test_app import serve_app
from tests.integration.test_feed_families import (
    EXTS,
    GOVERNOR,
    LIVE,
    OUTAGES,
    SCHOOLS,
    Item,
    MiniHub,
    Newsroom,
    check_feed,
    mini_hub,
    open_newsroom,
    until,
)
from tests.integration.test_http_caching import app_process
from tests.support import FeedServer, free_port

PUBLIC = "https://news.example"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def newsroom(server: FeedServer, store: RedisStore) -> AsyncIterator[Newsroom]:
    async for room in open_newsroom(server, store):
        yield room


@pytest.fixture
def hub() -> Iterator[MiniHub]:
    with mini_hub() as h:
        yield h


# -- WebSub ---------------------------------------------------------------------------------------


def topics(story_id: str, sources: tuple[str, ...], tags: tuple[str, ...]) -> Counter[str]:
    """Each feed a change of ``story_id`` by ``sources`` touched, in every format, once."""
    paths = ["/feeds/stories", f"/feeds/stories/{story_id}"]
    paths += [f"/feeds/sources/{s}" for s in sources] + [f"/feeds/tags/{t}" for t in tags]
    return Counter(f"{PUBLIC}{p}.{ext}" for p in paths for ext in EXTS)


async def consumers(client: aioredis.Redis) -> int:
    try:
        return len(await client.xinfo_consumers(keys.EVENTS, "websub"))
    except ResponseError:  # no group yet
        return 0


async def announced(client: aioredis.Redis) -> bool:
    """Every event in the stream was handed to a publisher and acknowledged (so pinged)."""
    last = await client.xrevrange(keys.EVENTS, count=1)
    (group,) = [g for g in await client.xinfo_groups(keys.EVENTS) if g["name"] == "websub"]
    return bool(last) and group["pending"] == 0 and group["last-delivered-id"] == last[0][0]


@asynccontextmanager
async def two_publishers(redis_url: str, hubs: tuple[str, ...]) -> AsyncIterator[None]:
    """One app in this process and one in its own, both publishing to ``hubs``."""
    settings = Settings(redis_url=redis_url, websub_hubs=hubs, public_url=PUBLIC)
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        with (
            serve_app(settings),
            app_process(redis_url, WIREFEED_WEBSUB_HUBS=",".join(hubs), WIREFEED_PUBLIC_URL=PUBLIC),
        ):

            async def both() -> bool:
                return await consumers(client) == 2

            await until(both, within=30)
            yield
    finally:
        await client.aclose()


Change = Callable[[Newsroom], Awaitable[tuple[str, tuple[str, ...], tuple[str, ...]]]]


async def new_update(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(GOVERNOR)
    item = Item("ls-3", "Power restored to 50,000", "Ahead of schedule.", LIVE + "#u3", room.now)
    await room.add("lakeshore", item, room.now + timedelta(minutes=1))
    return story_id, ("lakeshore",), ("weather", "midwest")


async def new_version(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(SCHOOLS)
    p1, p2 = room.items["prairie"]
    changed = Item(p2.id, p2.title, "Officials cite icy roads and downed lines.", p2.link, p2.at)
    assert (await room.publish("prairie", [p1, changed], room.now)).updated == 1
    return story_id, ("prairie",), ("midwest",)


async def duplicate(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(SCHOOLS)
    p2 = room.items["prairie"][1]
    copy = Item("c-9", p2.title, p2.text, p2.link, p2.at)
    assert (await room.add("coastal", copy)).duplicates == 1
    return story_id, ("coastal",), ("asia",)


async def editor_correction(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(GOVERNOR)
    eid = (await room.entry_ids())[OUTAGES]
    assert await room.store.correct(eid, note="Not 201,000.", now=datetime.now(UTC))
    return story_id, ("prairie",), ("midwest",)


async def editor_kill(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(GOVERNOR)
    # Coastal carried a copy of the governor item: its feeds lose the item too.
    eid = (await room.entry_ids())[GOVERNOR]
    assert await room.store.kill(eid, reason="legal", now=datetime.now(UTC))
    return story_id, ("coastal", "lakeshore"), ("asia", "weather", "midwest")


CHANGES = [
    pytest.param(new_update, id="new"),
    pytest.param(new_version, id="update"),
    pytest.param(duplicate, id="also"),
    pytest.param(editor_correction, id="correction"),
    pytest.param(editor_kill, id="kill"),
]


async def test_the_publisher_pings_a_hub_with_a_publish_form(
    rclient: aioredis.Redis, hub: MiniHub, recwarn: pytest.WarningsRecorder
) -> None:
    # As in production: a DeprecationWarning is a warning there, not an error.
    warnings.simplefilter("ignore", DeprecationWarning)
    event = Event("1-0", "s1", "new", "e1", ("lakeshore",))
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        publisher = WebSubPublisher(rclient, (hub.url,), PUBLIC, "test", http)
        found = await publisher.announce([event])
    assert found and hub.published() == Counter(found)
    assert [(p.mode, p.content_type) for p in hub.pings] == [("publish", FORM)]


async def test_each_story_change_pings_every_affected_topic_once(
    newsroom: Newsroom, clean_redis: str, rclient: aioredis.Redis, hub: MiniHub
) -> None:
    async with two_publishers(clean_redis, (hub.url,)):
        for change in (new_update, new_version, duplicate, editor_correction, editor_kill):
            before, events = hub.published(), await rclient.xlen(keys.EVENTS)
            story_id, sources, tags = await change(newsroom)
            assert await rclient.xlen(keys.EVENTS) == events + 1, "one change, one event"
            await until(lambda: announced(rclient), within=5)
            assert hub.published() - before == topics(story_id, sources, tags), change
    assert {(p.mode, p.content_type) for p in hub.pings} == {("publish", FORM)}


@pytest.mark.parametrize("change", CHANGES)
async def test_the_topics_of_a_change_are_the_self_links_of_its_feeds(
    newsroom: Newsroom, clean_redis: str, rclient: aioredis.Redis, change: Change
) -> None:
    story_id, sources, tags = await change(newsroom)
    ((event_id, fields),) = await rclient.xrevrange(keys.EVENTS, count=1)
    found = await newsroom.store.get_sources()
    ctx = Context(base=PUBLIC, source_names={s.id: s.title for s in found})
    urls = websub_topics(event_of(event_id, fields), ctx, {s.id: s.tags for s in found})
    assert Counter(urls) == topics(story_id, sources, tags)
    settings = Settings(redis_url=clean_redis, public_url=PUBLIC)
    with serve_app(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for topic in urls:
                feed = check_feed(await client.get(topic.removeprefix(PUBLIC)))
                assert feed.link("self") == topic


async def test_every_hub_is_pinged_and_a_dead_one_does_not_stop_the_others(
    newsroom: Newsroom, clean_redis: str, rclient: aioredis.Redis
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hub"  # nothing listens there
    with mini_hub() as first, mini_hub() as second:
        async with two_publishers(clean_redis, (dead, first.url, second.url)):
            story_id, sources, tags = await new_update(newsroom)
            await until(lambda: announced(rclient), within=5)
            # the next change is announced too
            p1, p2 = newsroom.items["prairie"]
            await newsroom.publish("prairie", [p1, Item(p2.id, p2.title, "New.", p2.link, p2.at)])
            await until(lambda: announced(rclient), within=5)
    expected = set(topics(story_id, sources, tags))
    for found in (first, second):
        assert expected <= set(found.published())
        assert f"{PUBLIC}/feeds/sources/prairie.rss" in found.published()


async def test_a_new_version_pings_the_feeds_of_sources_that_carried_a_copy(
    newsroom: Newsroom, clean_redis: str, rclient: aioredis.Redis, hub: MiniHub
) -> None:
    async with two_publishers(clean_redis, (hub.url,)):
        ls2, ls1 = newsroom.items["lakeshore"]
        fixed = Item(ls1.id, ls1.title, "CORRECTS the county count. " + ls1.text, ls1.link, ls1.at)
        later = newsroom.now + timedelta(minutes=2)
        assert (await newsroom.publish("lakeshore", [ls2, fixed], later)).updated == 1
        await until(lambda: announced(rclient), within=5)
    assert f"{PUBLIC}/feeds/sources/coastal.atom" in hub.published()


async def test_a_new_version_names_the_sources_that_carried_a_copy(
    newsroom: Newsroom, rclient: aioredis.Redis
) -> None:
    # What caches and the publisher read is the event; Coastal's feed lists the entry too.
    ls2, ls1 = newsroom.items["lakeshore"]
    fixed = Item(ls1.id, ls1.title, "CORRECTS the county count. " + ls1.text, ls1.link, ls1.at)
    await newsroom.publish("lakeshore", [ls2, fixed], newsroom.now + timedelta(minutes=2))
    ((event_id, fields),) = await rclient.xrevrange(keys.EVENTS, count=1)
    event = event_of(event_id, fields)
    assert event.kind == "update"
    assert sorted(event.sources) == ["coastal", "lakeshore"]


# -- server-sent events ---------------------------------------------------------------------------


class EventStream:
    """Frames of one ``text/event-stream`` response, read one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def frame(self, within: float = 10.0) -> dict[str, str]:
        """The next frame's fields (comments such as keep-alives are skipped)."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(within):
            while True:
                line = await anext(self._lines)
                if not line:
                    if fields:
                        return fields
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    async def event(self, within: float = 10.0) -> dict[str, Any]:
        """The next story-change event: its id, its kind and its data."""
        while "data" not in (fields := await self.frame(within)):
            pass
        return {"id": fields["id"], "event": fields["event"], **json.loads(fields["data"])}


@asynccontextmanager
async def events(
    client: httpx.AsyncClient, last_event_id: str | None = None
) -> AsyncIterator[EventStream]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    async with client.stream("GET", "/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        stream = EventStream(response)
        assert await stream.frame() == {"retry": "3000"}  # subscribed from here on
        yield stream


async def test_a_client_of_events_hears_of_an_ingested_item(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str
) -> None:
    async with events(http) as stream:
        sid, _, _ = await new_update(newsroom)
        event = await stream.event()
    eid = (await newsroom.entry_ids())["Power restored to 50,000"]
    assert event == {
        "id": event["id"],
        "event": "new",
        "story": sid,
        "kind": "new",
        "entry": eid,
        "page": f"{app_url}/stories/{sid}",
        "feeds": {ext: f"{app_url}/feeds/stories/{sid}.{ext}" for ext in EXTS},
        "sources": ["lakeshore"],
    }
    for url in event["feeds"].values():  # the URLs lead to the story's feeds
        feed = check_feed(await http.get(url.removeprefix(app_url)))
        assert "Power restored to 50,000" in feed.titles


@pytest.mark.parametrize(
    ("change", "kind", "sources"),
    [
        pytest.param(new_version, "update", ["prairie"], id="update"),
        pytest.param(duplicate, "also", ["coastal"], id="also"),
        pytest.param(editor_correction, "correction", ["prairie"], id="correction"),
        pytest.param(editor_kill, "kill", ["coastal", "lakeshore"], id="kill"),
    ],
)
async def test_every_kind_of_change_is_streamed(
    newsroom: Newsroom, http: httpx.AsyncClient, change: Change, kind: str, sources: list[str]
) -> None:
    async with events(http) as stream:
        story_id, _, _ = await change(newsroom)
        event = await stream.event()
    assert (event["event"], event["kind"]) == (kind, kind)
    assert sorted(event["sources"]) == sorted(sources)
    assert event["story"] == story_id


async def test_a_source_list_change_is_streamed_as_config(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    async with events(http) as stream:
        await newsroom.store.put_sources([newsroom.source("lakeshore", title="Lakeshore Daily")])
        event = await stream.event()
    assert event == {"id": event["id"], "event": "config", "kind": "config"}


async def test_reconnecting_with_last_event_id_replays_what_was_missed(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    async with events(http) as stream:
        await new_update(newsroom)
        seen = await stream.event()
    # while the client is away: two more changes
    await new_version(newsroom)
    await duplicate(newsroom)
    async with events(http, last_event_id=seen["id"]) as stream:
        missed = [await stream.event(), await stream.event()]
        await editor_correction(newsroom)
        live = await stream.event()
    assert [e["kind"] for e in missed] == ["update", "also"]
    assert seen["id"] < missed[0]["id"] < missed[1]["id"] < live["id"]
    assert live["kind"] == "correction"


async def test_an_unusable_last_event_id_still_gets_live_events(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    async with events(http, last_event_id="not-a-stream-id") as stream:
        await new_update(newsroom)
        event = await stream.event()
    assert event["kind"] == "new"


async def test_many_clients_hear_the_same_event(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    async with events(http) as a, events(http) as b, events(http) as c:
        await new_update(newsroom)
        heard = [await s.event() for s in (a, b, c)]
    assert len({json.dumps(e, sort_keys=True) for e in heard}) == 1
