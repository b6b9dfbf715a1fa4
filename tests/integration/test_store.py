"""RedisStore against a real server: idempotent writes, crash-replay convergence, reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from config.sources import Source
from ingest import keys
from ingest.model import Item
from ingest.pipeline import plan, store_plans
from ingest.store.redis_store import RedisStore
from tests.support.items import make_item

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def item(
    identity: str = "a", text: str = "words", *, url: str | None = None, published: datetime = NOW
) -> Item:
    """An item; with ``url`` (a page), the item is the update ``#identity`` of that page."""
    return make_item(
        "wire",
        identity,
        at=published,
        url=f"{url}#{identity}" if url else None,
        page_url=url,
        copy_key=f"copy-{identity}-{text}",
        title=f"Title {identity}",
        summary_html=f"<p>{text}</p>",
        content_hash=f"h-{identity}-{text}",
    )


async def ingest(store: RedisStore, it: Item, now: datetime = NOW) -> str | None:
    evidence = await store.evidence(it.source_id, [it])
    pages = await store.page_stories([it.page_url] if it.page_url else [])
    plans, _counts = plan([it], evidence, pages, now=now)
    done = await store_plans(store, plans, timezone="America/Chicago", now=now)
    return done[0].assignment.story_id if done else None


async def dump_all(client: aioredis.Redis) -> dict[str, object]:
    """Every stored value, but the change counters (revisions, events): a replay may bump
    those, telling caches to look again, without changing any data."""
    out: dict[str, object] = {}
    async for key in client.scan_iter("*"):
        if key == keys.EVENTS or key.endswith(":rev"):
            continue
        if key.endswith(":meta"):
            out[key] = {f: v for f, v in (await client.hgetall(key)).items() if f != "rev"}
        else:
            out[key] = await client.dump(key)
    return out


async def test_applying_the_same_item_twice_changes_nothing(
    store: RedisStore, rclient: aioredis.Redis
) -> None:
    it = item()
    plans, _counts = plan([it], await store.evidence("wire", [it]), {}, now=NOW)
    await store_plans(store, plans, timezone="UTC", now=NOW)
    first = await dump_all(rclient)
    await store_plans(store, plans, timezone="UTC", now=NOW)
    assert await dump_all(rclient) == first


async def test_replay_after_a_crash_before_the_identity_record_converges(
    store: RedisStore, rclient: aioredis.Redis
) -> None:
    story_id = await ingest(store, item("a"))
    assert story_id is not None
    # Simulate a worker that died after the story writes but before the commit marker.
    await rclient.delete(keys.identity("wire", "a"))
    replayed = await ingest(store, item("a"), now=NOW + timedelta(seconds=30))
    assert replayed == story_id
    story = await store.story(story_id)
    assert story is not None and story.entry_count == 1
    assert await rclient.zcard(keys.STORIES) == 1


async def test_new_version_keeps_place_and_history(store: RedisStore) -> None:
    sid = await ingest(store, item("a", "first"))
    await ingest(store, item("a", "second"), now=NOW + timedelta(minutes=3))
    story = await store.story(sid or "")
    assert story is not None
    (entry,) = story.entries
    assert entry.version == 2 and entry.published == NOW
    assert entry.updated == NOW + timedelta(minutes=3)
    assert [v[0] for v in entry.versions] == [1, 2]
    assert story.updated == NOW + timedelta(minutes=3)


async def test_timeline_is_newest_first_and_headline_follows_the_newest(store: RedisStore) -> None:
    url = "https://news.example/live"
    sid = await ingest(store, item("a", url=url, published=NOW))
    await ingest(
        store, item("c", url=url, published=NOW + timedelta(hours=2)), now=NOW + timedelta(hours=2)
    )
    await ingest(
        store, item("b", url=url, published=NOW + timedelta(hours=1)), now=NOW + timedelta(hours=2)
    )  # arrives late, back-dated
    story = await store.story(sid or "")
    assert story is not None
    assert [e.identity for e in story.entries] == ["c", "b", "a"]
    assert story.title == "Title c"
    assert story.timezone == "America/Chicago"


async def test_recent_stories_are_most_recently_updated_first(store: RedisStore) -> None:
    await ingest(store, item("old", published=NOW - timedelta(days=1)))
    await ingest(store, item("new", published=NOW))
    await ingest(store, item("mid", published=NOW - timedelta(hours=3)))
    titles = [s.title for s in await store.recent_stories(10)]
    assert titles == ["Title new", "Title mid", "Title old"]
    assert len(await store.recent_stories(2)) == 2


async def test_sources_round_trip_and_removal(store: RedisStore) -> None:
    a = Source(id="a", url="https://a.example/", title="A", tags=("x",), headers={"K": "v"})
    b = Source(id="b", url="https://b.example/")
    await store.put_sources([a, b])
    assert await store.get_sources() == [a, b]
    await store.put_sources([replace(a, title="A2")])
    assert [s.title for s in await store.get_sources()] == ["A2"]
    assert await store.get_sources(["b"]) == []


async def test_unknown_story_is_none(store: RedisStore) -> None:
    assert await store.story("nope") is None
