"""Push: the WebSub publisher (W3C WebSub) and ``/events`` (server-sent events, WHATWG HTML).

The hub is :class:`~tests.support.lakeshore.MiniHub`, a recording hub on loopback
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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from config.settings import Settings
from feeds.push import Event, event_of, with_story_sources
from feeds.render.context import Context
from feeds.websub import WebSubPublisher
from feeds.websub import topics as websub_topics
from ingest import keys
from ingest.store.connect import open_redis
from tests.support import SESSION, app_process, free_port, serve_app, until
from tests.support.lakeshore import (
    CHENNAI,
    EXTS,
    GOVERNOR,
    LIVE,
    OUTAGES,
    SCHOOLS,
    WIRES,
    Item,
    MiniHub,
    Newsroom,
    check_feed,
    mini_hub,
)

PUBLIC = "https://news.example"
FORM = "application/x-www-form-urlencoded"


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
    client = await open_redis(redis_url)
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
# A change returns its story, the sources whose feeds list the changed entry, and the tags of
# every source of the story: tag feeds list whole stories, so any change of a story is theirs.
ICE_SOURCES, ICE_TAGS = ("coastal", "lakeshore", "prairie"), ("asia", "midwest", "weather")


async def new_update(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(GOVERNOR)
    item = Item("ls-3", "Power restored to 50,000", "Ahead of schedule.", LIVE + "#u3", room.now)
    await room.add("lakeshore", item, room.now + timedelta(minutes=1))
    return story_id, ("lakeshore",), ICE_TAGS


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
    return story_id, ("coastal",), ("asia", "midwest")


async def editor_correction(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(GOVERNOR)
    eid = (await room.entry_ids())[OUTAGES]
    assert await room.store.correct(eid, note="Not 201,000.", now=SESSION)
    return story_id, ("prairie",), ICE_TAGS


async def editor_kill(room: Newsroom) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    story_id = await room.story_of(GOVERNOR)
    # Coastal carried a copy of the governor item: its feeds lose the item too.
    eid = (await room.entry_ids())[GOVERNOR]
    assert await room.store.kill(eid, reason="legal", now=SESSION)
    return story_id, ("coastal", "lakeshore"), ICE_TAGS


CHANGES = [
    pytest.param(new_update, id="new"),
    pytest.param(new_version, id="update"),
    pytest.param(duplicate, id="also"),
    pytest.param(editor_correction, id="correction"),
    pytest.param(editor_kill, id="kill"),
]


# An editor's change touches one story (rename, pin) or two (merge, split: both stories). It
# returns the stories touched and every source of them with their tags: tag feeds list the
# stories, so their hubs hear of it; so do the sources' feeds (their entries move in a merge or
# split; a rename or pin leaves them as they were, and the ping is then a harmless extra).
Edit = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
RENAMED = "Every DeKalb County school stays shut Monday"


async def editor_rename(room: Newsroom) -> Edit:
    story_id = await room.story_of(SCHOOLS)
    await room.store.rename(story_id, RENAMED, now=SESSION)
    return (story_id,), ("prairie",), ("midwest",)


async def editor_pin(room: Newsroom) -> Edit:
    story_id = await room.story_of(OUTAGES)
    await room.store.pin(story_id, (await room.entry_ids())[OUTAGES], now=SESSION)
    return (story_id,), ICE_SOURCES, ICE_TAGS


async def editor_merge(room: Newsroom) -> Edit:
    target, other = await room.story_of(CHENNAI), await room.story_of(SCHOOLS)
    assert await room.store.merge(target, other, now=SESSION) == 1
    return (target, other), ("coastal", "prairie"), ("asia", "midwest")


async def editor_split(room: Newsroom) -> Edit:
    story_id = await room.story_of(OUTAGES)
    eid = (await room.entry_ids())[OUTAGES]
    new_id = await room.store.split(story_id, [eid], now=SESSION)
    return (story_id, new_id), ICE_SOURCES, ICE_TAGS


EDITS = [
    pytest.param(editor_rename, id="rename"),
    pytest.param(editor_pin, id="pin"),
    pytest.param(editor_merge, id="merge"),
    pytest.param(editor_split, id="split"),
]


def edit_topics(edit: Edit, base: str = PUBLIC) -> set[str]:
    """Every feed an editor's change touched: all stories, each story's, each source's and
    each of their tags', in every format."""
    story_ids, sources, tags = edit
    paths = ["/feeds/stories", *(f"/feeds/stories/{s}" for s in story_ids)]
    paths += [f"/feeds/sources/{s}" for s in sources] + [f"/feeds/tags/{t}" for t in tags]
    return {f"{base}{p}.{ext}" for p in paths for ext in EXTS}


async def events_of(client: aioredis.Redis, change: Awaitable[Edit]) -> tuple[Edit, list[Event]]:
    """What ``change`` returns, and the events it wrote."""
    last = await client.xrevrange(keys.EVENTS, count=1)
    found = await change
    written = await client.xrange(keys.EVENTS, min=f"({last[0][0]}" if last else "-")
    return found, [event_of(event_id, fields) for event_id, fields in written]


async def test_the_publisher_pings_a_hub_with_a_publish_form(
    rclient: aioredis.Redis, hub: MiniHub, recwarn: pytest.WarningsRecorder
) -> None:
    # As in production: a DeprecationWarning is a warning there, not an error.
    warnings.simplefilter("ignore", DeprecationWarning)
    event = Event("1-0", "s1", "new", "e1", ("lakeshore",))
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        publisher = WebSubPublisher(rclient, (hub.hub_url,), PUBLIC, "test", http)
        found = await publisher.announce([event])
    assert found and hub.published() == Counter(found)
    assert [(p.mode, p.content_type) for p in hub.pings] == [("publish", FORM)]


async def test_each_story_change_pings_every_affected_topic_once(
    newsroom: Newsroom, clean_redis: str, rclient: aioredis.Redis, hub: MiniHub
) -> None:
    async with two_publishers(clean_redis, (hub.hub_url,)):
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
    (event,) = await with_story_sources(rclient, [event_of(event_id, fields)])
    urls = websub_topics(event, ctx, {s.id: s.tags for s in found})
    assert Counter(urls) == topics(story_id, sources, tags)
    settings = Settings(redis_url=clean_redis, public_url=PUBLIC)
    with serve_app(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for topic in urls:
                feed = check_feed(await client.get(topic.removeprefix(PUBLIC)))
                assert feed.link("self") == topic


@pytest.mark.parametrize("edit", EDITS)
async def test_an_editors_change_names_every_source_of_every_story_it_touched(
    newsroom: Newsroom, rclient: aioredis.Redis, edit: Callable[[Newsroom], Awaitable[Edit]]
) -> None:
    found, written = await events_of(rclient, edit(newsroom))
    story_ids, sources, _tags = found
    assert written and {e.story for e in written} == set(story_ids)
    for event in written:  # in the one event format ingestion writes
        assert sorted(event.sources) == sorted(sources), event
    stored = await newsroom.store.get_sources()
    ctx = Context(base=PUBLIC, source_names={s.id: s.title for s in stored})
    urls = {u for e in written for u in websub_topics(e, ctx, {s.id: s.tags for s in stored})}
    assert urls == edit_topics(found)


@pytest.mark.parametrize("edit", EDITS)
async def test_an_editors_change_pings_the_source_and_tag_feeds_it_touched(
    newsroom: Newsroom,
    clean_redis: str,
    rclient: aioredis.Redis,
    hub: MiniHub,
    edit: Callable[[Newsroom], Awaitable[Edit]],
) -> None:
    async with two_publishers(clean_redis, (hub.hub_url,)):
        before = hub.published()
        found = await edit(newsroom)
        await until(lambda: announced(rclient), within=5)
    assert set(hub.published() - before) == edit_topics(found)


async def test_every_hub_is_pinged_and_a_dead_one_does_not_stop_the_others(
    newsroom: Newsroom, clean_redis: str, rclient: aioredis.Redis
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hub"  # nothing listens there
    with mini_hub() as first, mini_hub() as second:
        async with two_publishers(clean_redis, (dead, first.hub_url, second.hub_url)):
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
    async with two_publishers(clean_redis, (hub.hub_url,)):
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
        sid, sources, tags = await new_update(newsroom)
        event = await stream.event()
    eid = (await newsroom.entry_ids())["Power restored to 50,000"]
    # every feed the change touched: the same URLs the hubs hear of
    assert Counter(event.pop("topics")) == Counter(
        url.replace(PUBLIC, app_url) for url in topics(sid, sources, tags)
    )
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
        pytest.param(editor_kill, "killed", ["coastal", "lakeshore"], id="kill"),
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


@pytest.mark.parametrize("edit", EDITS)
async def test_an_editors_change_is_streamed_with_every_feed_it_touched(
    newsroom: Newsroom,
    http: httpx.AsyncClient,
    app_url: str,
    rclient: aioredis.Redis,
    edit: Callable[[Newsroom], Awaitable[Edit]],
) -> None:
    async with events(http) as stream:
        found, written = await events_of(rclient, edit(newsroom))
        heard = [await stream.event() for _ in written]
    assert [e["id"] for e in heard] == [e.id for e in written]
    story_ids, sources, _tags = found
    for event in heard:  # the fields there were before are all still there
        assert event["story"] in story_ids and event["page"].endswith(event["story"])
        assert event["feeds"] == {
            ext: f"{app_url}/feeds/stories/{event['story']}.{ext}" for ext in EXTS
        }
        assert sorted(event["sources"]) == sorted(sources)
        assert len(event["topics"]) == len(set(event["topics"]))
    assert {url for e in heard for url in e["topics"]} == edit_topics(found, app_url)
    for topic in edit_topics(found, app_url):  # each one a feed this app serves
        check_feed(await http.get(topic.removeprefix(app_url), follow_redirects=True))


async def test_events_name_the_tag_feeds_of_the_current_source_list(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str
) -> None:
    # The app read the tags when it started; then the source list tags Prairie "schools" too.
    retagged = [
        newsroom.source(s, **({"tags": ("midwest", "schools")} if s == "prairie" else {}))
        for s in WIRES
    ]
    async with events(http) as stream:
        await newsroom.store.put_sources(retagged)
        assert (await stream.event())["kind"] == "config"
        (story_id,), _, _ = await editor_rename(newsroom)
        event = await stream.event()
    assert event["story"] == story_id
    assert f"{app_url}/feeds/tags/schools.atom" in event["topics"]
    assert f"{app_url}/feeds/tags/midwest.json" in event["topics"]


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


# -- caches -----------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", EDITS)
async def test_cached_feeds_an_editors_change_touched_are_as_a_fresh_render_makes_them(
    newsroom: Newsroom,
    clean_redis: str,
    rclient: aioredis.Redis,
    edit: Callable[[Newsroom], Awaitable[Edit]],
) -> None:
    # One app serves every feed before and after the change, from its caches; a second app,
    # started afterwards with no rendered copy anywhere, shows what the feeds must be.
    settings = Settings(redis_url=clean_redis, public_url=PUBLIC)
    stories = tuple((await newsroom.story_ids()).values())
    everything = edit_topics((stories, (*ICE_SOURCES, "quiet"), (*ICE_TAGS, "quiet")))
    paths = sorted(u.removeprefix(PUBLIC) for u in everything)

    async def served(client: httpx.AsyncClient) -> dict[str, tuple[int, bytes]]:
        replies = [await client.get(p) for p in paths]
        return {p: (r.status_code, r.content) for p, r in zip(paths, replies, strict=True)}

    with serve_app(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await served(client)
            async with events(client) as stream:
                await served(client)  # (again: from this process's own copies)
                found, written = await events_of(rclient, edit(newsroom))
                for _ in written:  # the change has reached this process
                    await stream.event()
            cached = await served(client)
    if edit is editor_rename:  # the tag feed lists the story under its new headline
        assert RENAMED.encode() in cached["/feeds/tags/midwest.atom"][1]
    async for key in rclient.scan_iter(match=f"{keys.PREFIX}:render:*"):
        await rclient.delete(key)
    with serve_app(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            fresh = await served(client)
    stale = [p for p in paths if cached[p] != fresh[p]]
    assert not stale, (found, stale)
