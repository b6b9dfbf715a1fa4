"""Embargoes, end to end over a real Redis and a real HTTP wire on loopback: an embargoed item
is held (visible to editors, in no feed, page or event), published by whichever releaser claims
it once its time has come, and a later version moves or lifts the hold.

All times derive from one fixed instant, NOW; the product is handed them as ``now``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from config.sources import Source
from ingest import keys
from ingest.fetch.http import HttpFetcher
from ingest.model import IngestReport
from ingest.normalize import normalize
from ingest.parse import parse
from ingest.pipeline import ingest_source, release_embargoed
from ingest.store.embargo import item_from_json, item_to_json
from ingest.store.redis_store import RedisStore
from tests.support import FeedServer, Reply, child_env, serve_app, until

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
LIFT = NOW + timedelta(seconds=90)
TOKEN = "embargo-test-token"
TITLE = "Harbor board to announce new ferry schedule"


def ninjs_item(version: int, embargo: datetime | None, title: str = TITLE) -> dict[str, object]:
    item: dict[str, object] = {
        "uri": "urn:agency:2026:ferry",
        "version": str(version),
        "versioncreated": (NOW - timedelta(minutes=5)).isoformat(),
        "headline": title,
        "body_text": "The harbor board will publish the winter ferry timetable at noon.",
    }
    if embargo is not None:
        item["embargoed"] = embargo.isoformat()
    return item


def publish(server: FeedServer, *items: dict[str, object]) -> None:
    server.set("/agency.ninjs", Reply(json.dumps(list(items)).encode()))


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    with serve_app(Settings(redis_url=clean_redis, admin_token=TOKEN)) as url:
        yield url


@pytest.fixture
async def agency(server: FeedServer, store: RedisStore) -> Source:
    source = Source(id="agency", url=server.url("/agency.ninjs"), title="Agency")
    await store.put_sources([source])
    return source


async def poll(
    source: Source, store: RedisStore, fetcher: HttpFetcher, at: datetime
) -> IngestReport:
    return await ingest_source(source, fetcher=fetcher, store=store, now=at)


async def story_events(rclient: aioredis.Redis) -> list[str]:
    """Kinds of the story events in the stream (what push, SSE and hub pings follow)."""
    events = await rclient.xrange(keys.EVENTS)
    return [fields["kind"] for _id, fields in events if fields["kind"] != "config"]


async def public_text(http: httpx.AsyncClient) -> str:
    parts = []
    for path in ("/feeds/stories.json", "/feeds/stories.atom", "/feeds/sources/agency.json", "/"):
        response = await http.get(path)
        parts.append(response.text)
    return "\n".join(parts)


async def in_story_feed(http: httpx.AsyncClient) -> bool:
    """Whether the item shows in /feeds/stories.json, waiting for the web's event tail to see
    the release (a few milliseconds; a feed read before it may be cached until then)."""

    async def check() -> bool:
        return TITLE in (await http.get("/feeds/stories.json")).text

    return await until(check)


async def test_an_embargoed_item_is_held_until_its_time_then_published(
    server: FeedServer,
    store: RedisStore,
    fetcher: HttpFetcher,
    agency: Source,
    http: httpx.AsyncClient,
    rclient: aioredis.Redis,
) -> None:
    publish(server, ninjs_item(1, LIFT))
    report = await poll(agency, store, fetcher, NOW)
    assert (report.status, report.held, report.new) == ("ok", 1, 0)

    assert TITLE not in await public_text(http)
    assert await story_events(rclient) == []  # no event, so no push and no hub ping
    admin = await http.get("/admin/held", headers={"Authorization": f"Bearer {TOKEN}"})
    (held,) = admin.json()["held"]
    assert (held["state"], held["title"], held["until"]) == ("held", TITLE, LIFT.isoformat())

    assert await release_embargoed(store, now=LIFT - timedelta(milliseconds=1)) == []
    assert TITLE not in await public_text(http)

    (released,) = await release_embargoed(store, now=LIFT)
    assert released.new == 1
    assert await in_story_feed(http)
    assert await store.embargoes.held() == []
    assert await story_events(rclient)

    again = await poll(agency, store, fetcher, LIFT + timedelta(seconds=5))  # unchanged body
    assert again.new == 0 and again.held == 0


async def test_a_later_version_moves_the_embargo(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, agency: Source
) -> None:
    later = LIFT + timedelta(minutes=10)
    publish(server, ninjs_item(1, LIFT))
    await poll(agency, store, fetcher, NOW)
    publish(server, ninjs_item(2, later, title=TITLE + " on Friday"))
    assert (await poll(agency, store, fetcher, NOW + timedelta(seconds=30))).held == 1

    assert await release_embargoed(store, now=LIFT) == []
    (held,) = await store.embargoes.held()
    assert held.until == later and held.item.title.endswith("on Friday")
    (released,) = await release_embargoed(store, now=later)
    assert released.new == 1


async def test_a_later_version_without_embargo_lifts_it_at_once(
    server: FeedServer,
    store: RedisStore,
    fetcher: HttpFetcher,
    agency: Source,
    http: httpx.AsyncClient,
) -> None:
    publish(server, ninjs_item(1, LIFT))
    await poll(agency, store, fetcher, NOW)
    publish(server, ninjs_item(2, None))
    report = await poll(agency, store, fetcher, NOW + timedelta(seconds=30))
    assert (report.held, report.new) == (0, 1)
    assert await store.embargoes.held() == []
    assert await release_embargoed(store, now=LIFT) == []
    assert await in_story_feed(http)


async def test_two_releasers_publish_a_held_item_once(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, agency: Source
) -> None:
    publish(server, ninjs_item(1, LIFT))
    await poll(agency, store, fetcher, NOW)
    first, second = await asyncio.gather(
        release_embargoed(store, now=LIFT), release_embargoed(store, now=LIFT)
    )
    assert sorted([len(first), len(second)]) == [0, 1]
    stories = await store.recent_stories(10)
    assert [s.entry_count for s in stories] == [1]


async def test_a_releaser_that_dies_leaves_the_item_due_again_after_its_lease(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, agency: Source
) -> None:
    publish(server, ninjs_item(1, LIFT))
    await poll(agency, store, fetcher, NOW)
    (claimed,) = await store.embargoes.take_due(LIFT, lease=30)  # and then it dies
    assert await store.embargoes.take_due(LIFT + timedelta(seconds=29)) == []
    (released,) = await release_embargoed(store, now=LIFT + timedelta(seconds=30))
    assert released.new == 1 and claimed.item.identity


def test_a_held_item_round_trips_through_json() -> None:
    raw = parse(json.dumps(ninjs_item(3, LIFT)).encode(), {}, "auto").entries[0]
    item = normalize(raw, "agency", now=NOW)
    assert item.embargoed == LIFT
    assert item_from_json(item_to_json(item)) == item


async def test_editors_see_held_items_in_the_cli(
    server: FeedServer,
    store: RedisStore,
    fetcher: HttpFetcher,
    agency: Source,
    clean_redis: str,
) -> None:
    async def held_listing() -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "workers.cli", "entries", "held"],
            env=child_env(WIREFEED_REDIS_URL=clean_redis, WIREFEED_LOG_LEVEL="WARNING"),
            capture_output=True,
            text=True,
            timeout=60,
        )

    empty = await held_listing()
    assert (empty.returncode, empty.stdout) == (0, "no items held under embargo\n")
    publish(server, ninjs_item(1, LIFT))
    await poll(agency, store, fetcher, NOW)
    listed = await held_listing()
    assert listed.returncode == 0
    assert listed.stdout.startswith("HELD until 2026-11-29 15:01:30 UTC  agency")
    assert TITLE in listed.stdout
