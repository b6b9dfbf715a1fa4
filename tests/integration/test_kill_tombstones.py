"""Kills that reach subscribers: a killed entry leaves an RFC 6721 ``at:deleted-entry`` in the
Atom feeds of its story and of the sources that carried it, a ``_wirefeed.deleted`` record in
their JSON Feeds (docs/jsonfeed-extension.md), and a ``killed`` event on ``/events``; a
downstream reader that parses our feed learns of the kill.

Real Redis, the real app on loopback, a real wire on loopback; times derive from NOW.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from lxml import etree

from config.sources import Source
from feeds.render.doc import urn
from ingest.fetch.http import HttpFetcher
from ingest.parse import parse
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import FeedServer, Reply
from tests.unit.validate import validate_atom, validate_jsonfeed

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
AT = "http://purl.org/atompub/tombstones/1.0"
LEAK = "Harbor authority shuts container terminal after chemical leak"
PHOTOS = "Photos: a long night for the crews at the terminal"


def item(uri: str, headline: str, body: str, **extra: object) -> dict[str, object]:
    return {
        "uri": uri,
        "type": "text",
        "version": "1",
        "versioncreated": NOW.isoformat(),
        "headlines": [{"role": "main", "value": headline}],
        "bodies": [{"role": "main", "contenttype": "text/html", "value": body}],
        **extra,
    }


@pytest.fixture
async def killed(server: FeedServer, store: RedisStore, fetcher: HttpFetcher) -> tuple[str, str]:
    """Two entries of one story from the agency; the second killed by an editor at NOW+5m.
    Returns (story id, killed entry id)."""
    source = Source(id="agency", url=server.url("/agency.ninjs"), title="Agency")
    await store.put_sources([source])
    leak = item("urn:agency:leak", LEAK, "<p>A storage tank began leaking a cleaning agent.</p>")
    photos = item(
        "urn:agency:photos",
        PHOTOS,
        "<p>Pictures from the quay as workers in white suits pumped tanks dry.</p>",
        associations=[{"name": "main", "uri": "urn:agency:leak"}],
    )
    server.set("/agency.ninjs", Reply(json.dumps([leak, photos]).encode()))
    report = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    assert report.new == 2
    stories = await store.recent_stories(5)
    story, victim = next((s, e) for s in stories for e in s.entries if e.title == PHOTOS)
    assert await store.kill(victim.id, reason="legal", now=NOW + timedelta(minutes=5))
    return story.id, victim.id


def tombstones(atom: bytes) -> list[tuple[str | None, str | None]]:
    root = etree.fromstring(atom)
    return [(n.get("ref"), n.get("when")) for n in root.iter(f"{{{AT}}}deleted-entry")]


@pytest.mark.parametrize("feed", ["story", "source"])
async def test_atom_feeds_that_held_a_killed_entry_carry_its_tombstone(
    killed: tuple[str, str], http: httpx.AsyncClient, feed: str
) -> None:
    story_id, entry_id = killed
    story_text = (await http.get(f"/stories/{story_id}")).text
    path = f"/feeds/stories/{story_id}.atom" if feed == "story" else "/feeds/sources/agency.atom"
    response = await http.get(path)
    assert response.status_code == 200
    validate_atom(response.content)
    assert tombstones(response.content) == [(urn("entry", entry_id), "2026-11-29T15:05:00+00:00")]
    assert PHOTOS not in response.text
    assert (LEAK in response.text) == (feed == "source" or LEAK in story_text)

    # A downstream reader polling this feed reads the tombstone as a withdrawal.
    parsed = parse(response.content, {}, "auto")
    gone = [e for e in parsed.entries if e.status == "deleted"]
    assert [e.native_id for e in gone] == [urn("entry", entry_id)]


@pytest.mark.parametrize("feed", ["story", "source"])
async def test_json_feeds_carry_the_kill_in_the_documented_extension(
    killed: tuple[str, str], http: httpx.AsyncClient, feed: str
) -> None:
    story_id, entry_id = killed
    path = f"/feeds/stories/{story_id}.json" if feed == "story" else "/feeds/sources/agency.json"
    response = await http.get(path)
    validate_jsonfeed(response.content)
    extension = response.json()["_wirefeed"]
    assert extension["about"].endswith("docs/jsonfeed-extension.md")
    assert extension["deleted"] == [
        {"id": urn("entry", entry_id), "date_deleted": "2026-11-29T15:05:00Z"}
    ]


async def test_a_story_emptied_by_kills_keeps_a_feed_of_tombstones(
    killed: tuple[str, str], http: httpx.AsyncClient, store: RedisStore
) -> None:
    story_id, _ = killed
    story = await store.story(story_id)
    for left in story.entries if story else ():
        assert await store.kill(left.id, reason="legal", now=NOW + timedelta(minutes=6))
    response = await http.get(f"/feeds/stories/{story_id}.atom")
    validate_atom(response.content)
    assert b"<entry" not in response.content
    assert len(tombstones(response.content)) == 1 + len(story.entries if story else ())
    assert (await http.get(f"/stories/{story_id}")).status_code == 404


async def test_a_kill_is_a_killed_event_naming_the_tombstone(
    server: FeedServer,
    store: RedisStore,
    fetcher: HttpFetcher,
    http: httpx.AsyncClient,
) -> None:
    source = Source(id="agency", url=server.url("/agency.ninjs"), title="Agency")
    await store.put_sources([source])
    server.set("/agency.ninjs", Reply(json.dumps([item("urn:a:1", LEAK, "<p>Leak.</p>")]).encode()))
    await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    (story,) = await store.recent_stories(5)
    (entry,) = story.entries

    async def first_killed() -> dict[str, object]:
        async with http.stream("GET", "/events") as stream:
            kind = None
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind == "killed":
                    return dict(json.loads(line.removeprefix("data: ")))
        raise AssertionError("the stream ended")

    listening = asyncio.create_task(first_killed())
    await asyncio.sleep(0.5)  # the stream is open before the kill
    assert await store.kill(entry.id, reason="legal", now=NOW + timedelta(minutes=1))
    event = await asyncio.wait_for(listening, 10)
    assert event["kind"] == "killed"
    assert event["deleted"] == urn("entry", entry.id)
    assert event["sources"] == ["agency"]
