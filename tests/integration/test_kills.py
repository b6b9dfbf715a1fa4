"""Kills and retention, end to end: a withdrawn item leaves every feed and page, leaves a
tombstone, and neither it nor a copy of it is ever ingested again; index keys expire after the
retention window and tombstones outlive them.

The wires and the invented stories are those of :mod:`tests.support.desk`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from ingest import compose, fingerprint, keys
from ingest.dedupe import DedupePolicy, entry_id
from ingest.fetch.http import HttpFetcher
from ingest.pipeline import IngestPolicy
from ingest.store.dedupe_index import Retention
from ingest.store.redis_store import RedisStore
from tests.support import EARLIER, FeedServer, Wire, atom, json_feed, ninjs, ninjs_item, rss, until
from tests.support import FIXED as NOW
from tests.support.desk import (
    LEAK,
    LEAK_TEXT,
    LEAK_TITLE,
    LIVE,
    NEAR_TEXT,
    NEAR_TITLE,
    SOURCES,
    STRIKE_TEXT,
    STRIKE_TITLE,
    Desk,
    assert_nowhere,
    assert_story_gone,
    get_feed,
    page_updates,
)

K_URI = "urn:agency:2026:leak"
L_URI = "urn:agency:2026:strike"


async def tombstone(rclient: aioredis.Redis, eid: str) -> dict[str, object]:
    raw = await rclient.get(keys.tombstone(eid))
    assert raw is not None, f"no tombstone for {eid}"
    return dict(json.loads(raw))


# -- kills from the wire -------------------------------------------------------------------------


async def test_ninjs_canceled_removes_the_entry_everywhere_and_it_never_comes_back(
    desk: Desk, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    k1 = ninjs_item(K_URI, LEAK_TITLE, LEAK_TEXT, version=1)
    strike = ninjs_item(L_URI, STRIKE_TITLE, STRIKE_TEXT, version=1)
    first = await desk.publish("agency", ninjs(k1, strike))
    assert first.new == 2
    sid_k, sid_l = first.stories
    for path in ("/feeds/stories.json", "/feeds/sources/agency.json", f"/stories/{sid_k}"):
        assert LEAK_TITLE in (await http.get(path)).text, path

    canceled = ninjs_item(
        K_URI, LEAK_TITLE, "This story has been withdrawn.", version=2, pubstatus="canceled"
    )
    killed = await desk.publish("agency", ninjs(canceled, strike), NOW + timedelta(minutes=5))
    assert (killed.killed, killed.unchanged, killed.new) == (1, 1, 0)
    await assert_story_gone(http, rclient, sid_k)
    await assert_nowhere(http, LEAK_TITLE, [sid_k, sid_l])
    assert [e.title for e in (await desk.entries()).values()] == [STRIKE_TITLE]
    eid = entry_id("agency", K_URI)
    note = await tombstone(rclient, eid)
    assert (note["entry"], note["story"], note["source"]) == (eid, sid_k, "agency")
    assert note["reason"] == "withdrawn by its source"

    # The original again, the same copy elsewhere, a near copy elsewhere: all blocked.
    again = await desk.publish("agency", ninjs(k1, strike), NOW + timedelta(minutes=10))
    assert (again.blocked, again.new, again.updated) == (1, 0, 0)
    copy = await desk.publish("harbor", rss(LEAK), NOW + timedelta(minutes=11))
    assert (copy.blocked, copy.new, copy.duplicates) == (1, 0, 0)
    near = Wire("tag:bay.example,2026:w", NEAR_TITLE, NEAR_TEXT, "https://bay.example/w", NOW)
    close = await desk.publish("bay", atom(near), NOW + timedelta(minutes=12))
    assert (close.blocked, close.new, close.duplicates) == (1, 0, 0)
    await assert_story_gone(http, rclient, sid_k)
    await assert_nowhere(http, LEAK_TITLE, [sid_k, sid_l])
    assert [s.id for s in await desk.store.recent_stories(10)] == [sid_l]


BAY_LIVE = [
    Wire("tag:bay.example,2026:live-2", "Acid tank drained", "Crews finish.", LIVE + "#b2", NOW),
    Wire("tag:bay.example,2026:live-1", "Leak found", "A tank leaks.", LIVE + "#b1", EARLIER),
]


async def test_atom_tombstone_removes_one_update_of_a_live_story(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    first = await desk.publish("bay", atom(*BAY_LIVE))
    assert first.new == 2
    (sid,) = first.stories
    assert len(await page_updates(http, sid)) == 2
    gone, kept = BAY_LIVE[1], BAY_LIVE[0]

    report = await desk.publish(
        "bay", atom(kept, deleted=[(gone.id or "", NOW)]), NOW + timedelta(minutes=5)
    )
    assert (report.killed, report.unchanged) == (1, 1)
    await assert_nowhere(http, gone.title, [sid])
    (story,) = await desk.store.recent_stories(10)
    assert (story.id, story.entry_count, [e.title for e in story.entries]) == (sid, 1, [kept.title])
    page = await http.get(f"/stories/{sid}")
    assert "1 update" in page.text
    assert [u.xpath("string(h3)") for u in await page_updates(http, sid)] == [kept.title]
    feed = (await get_feed(http, f"/feeds/stories/{sid}.json")).json()
    assert [i["title"] for i in feed["items"]] == [kept.title]

    # The feed still lists the entry it tombstoned (a stale cache, say): blocked.
    again = await desk.publish("bay", atom(kept, gone), NOW + timedelta(minutes=10))
    assert (again.blocked, again.new, again.unchanged) == (1, 0, 1)
    await assert_nowhere(http, gone.title, [sid])


async def test_atom_tombstone_of_a_storys_only_entry_removes_the_story(
    desk: Desk, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    leak = Wire("tag:bay.example,2026:leak", LEAK_TITLE, LEAK_TEXT, "https://bay.example/leak")
    strike = Wire("tag:bay.example,2026:strike", STRIKE_TITLE, STRIKE_TEXT, "https://bay.example/s")
    first = await desk.publish("bay", atom(leak, strike))
    sid_leak, sid_strike = first.stories
    report = await desk.publish(
        "bay", atom(strike, deleted=[(leak.id or "", NOW)]), NOW + timedelta(minutes=1)
    )
    assert report.killed == 1
    await assert_story_gone(http, rclient, sid_leak)
    await assert_nowhere(http, LEAK_TITLE, [sid_leak, sid_strike])
    copy = Wire("coast-5", LEAK_TITLE, LEAK_TEXT, "https://coast.example/leak", NOW)
    assert (await desk.publish("coast", json_feed(copy))).blocked == 1


async def test_withdrawn_before_it_was_seen_is_never_ingested(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    canceled = ninjs_item(K_URI, LEAK_TITLE, LEAK_TEXT, version=2, pubstatus="withheld")
    report = await desk.publish("agency", ninjs(canceled))
    assert (report.killed, report.new, report.stories) == (1, 0, ())
    usable = ninjs_item(K_URI, LEAK_TITLE, LEAK_TEXT, version=1)
    later = await desk.publish("agency", ninjs(usable), NOW + timedelta(minutes=5))
    assert (later.blocked, later.new) == (1, 0)
    assert await desk.store.recent_stories(10) == []
    await assert_nowhere(http, LEAK_TITLE, [])


async def test_a_tombstone_for_an_entry_never_seen_blocks_nothing_else(desk: Desk) -> None:
    old = ("tag:bay.example,2025:old-story", NOW - timedelta(days=2))
    assert (await desk.publish("bay", atom(deleted=[old]))).killed == 1
    photo = Wire("harbor-photo-1", "", link="https://harbor.example/photos/cranes")
    report = await desk.publish("harbor", rss(photo))
    assert (report.new, report.blocked) == (1, 0)


async def test_another_source_withdrawing_its_copy_leaves_the_original(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    first = await desk.publish("harbor", rss(LEAK))
    copy = Wire("tag:bay.example,2026:copy", LEAK_TITLE, LEAK_TEXT, "https://bay.example/copy")
    assert (await desk.publish("bay", atom(copy))).duplicates == 1
    withdrawn = await desk.publish(
        "bay", atom(deleted=[(copy.id or "", NOW)]), NOW + timedelta(minutes=3)
    )
    assert (withdrawn.killed, withdrawn.unchanged) == (0, 1)
    (story,) = await desk.store.recent_stories(10)
    assert (story.id, [e.title for e in story.entries]) == (first.stories[0], [LEAK_TITLE])
    assert LEAK_TITLE in (await get_feed(http, f"/feeds/stories/{story.id}.atom")).text


async def test_a_kill_takes_the_entry_out_of_the_feeds_of_the_sources_credited_with_it(
    desk: Desk, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    first = await desk.publish("harbor", rss(LEAK))
    (sid,) = first.stories
    copy = Wire("tag:bay.example,2026:copy", LEAK_TITLE, LEAK_TEXT, "https://bay.example/copy")
    assert (await desk.publish("bay", atom(copy))).duplicates == 1
    assert LEAK_TITLE in (await get_feed(http, "/feeds/sources/bay.json")).text
    (entry,) = (await desk.entries()).values()
    assert await desk.store.kill(entry.id, reason="legal", now=NOW + timedelta(minutes=1))
    await assert_nowhere(http, LEAK_TITLE, [sid])
    assert await rclient.hgetall(keys.story_also(sid)) == {}
    assert await rclient.zcard(keys.source_entries("bay")) == 0


async def test_a_copy_of_an_earlier_version_of_a_killed_item_is_blocked(desk: Desk) -> None:
    v1 = ninjs_item(K_URI, LEAK_TITLE, LEAK_TEXT, version=1)
    v2 = ninjs_item(
        K_URI,
        LEAK_TITLE,
        LEAK_TEXT.replace("nobody was hurt", "two workers were hurt"),
        version=2,
        versioncreated=EARLIER + timedelta(minutes=30),
    )
    await desk.publish("agency", ninjs(v1))
    assert (await desk.publish("agency", ninjs(v2), NOW + timedelta(minutes=1))).updated == 1
    canceled = replace_pubstatus(v2, version=3)
    assert (await desk.publish("agency", ninjs(canceled), NOW + timedelta(minutes=2))).killed == 1
    copy = await desk.publish("harbor", rss(LEAK), NOW + timedelta(minutes=3))
    assert (copy.blocked, copy.duplicates) == (1, 0)


def replace_pubstatus(item: dict[str, object], *, version: int) -> dict[str, object]:
    return {**item, "version": str(version), "pubstatus": "canceled"}


# -- retention ---------------------------------------------------------------------------------

HOUR_MS = 3_600_000


def permanent(key: str) -> bool:
    """Global indexes and counters (the constants of ingest.keys) and a source's own records
    (its configuration, status and feed revision) are meant to stay; nothing else is."""
    constants = {v for n, v in vars(keys).items() if n.isupper() and isinstance(v, str)}
    own = "{src:" in key and key.rsplit(":", 1)[1] in ("config", "status", "rev")
    return key in constants or own


def about(window_ms: int) -> range:
    """PTTLs a key written moments ago with ``window_ms`` can have."""
    return range(window_ms - 60_000, window_ms + 1)


async def pttls(rclient: aioredis.Redis, names: list[str]) -> dict[str, int]:
    return {name: await rclient.pttl(name) for name in names}


@pytest.fixture
async def short_desk(server: FeedServer, rclient: aioredis.Redis, fetcher: HttpFetcher) -> Desk:
    """Entries kept one hour, tombstones seven."""
    store = RedisStore(rclient, retention=Retention(entries=3600, tombstones=7 * 3600))
    result = Desk(server, store, fetcher)
    await store.put_sources([result.source(s) for s in SOURCES])
    return result


async def test_entry_and_index_keys_expire_after_the_retention_window(
    short_desk: Desk, rclient: aioredis.Redis
) -> None:
    first = await short_desk.publish("harbor", rss(LEAK))
    copy = Wire("tag:bay.example,2026:copy", LEAK_TITLE, LEAK_TEXT, "https://bay.example/copy")
    assert (await short_desk.publish("bay", atom(copy))).duplicates == 1
    (sid,) = first.stories
    (entry,) = (await short_desk.entries()).values()
    lsh = [k async for k in rclient.scan_iter(keys.lsh_band("*"))]
    assert len(lsh) == fingerprint.BANDS
    names = {
        "identity": keys.identity("harbor", LEAK.id or ""),
        "alias identity": keys.identity("bay", copy.id or ""),
        "url": keys.item_url(LEAK.link or ""),
        "copy": keys.copy(entry.copy_key),
        "near": keys.near_record(entry.id),
        "locator": keys.entry_locator(entry.id),
        "page": keys.page_story(LEAK.link or ""),
        "meta": keys.story_meta(sid),
        "timeline": keys.story_timeline(sid),
        "entries": keys.story_entries(sid),
        "sources": keys.story_sources(sid),
        "also": keys.story_also(sid),
    }
    found = await pttls(rclient, list(names.values()) + lsh)
    assert {name: found[key] in about(HOUR_MS) for name, key in names.items()} == {
        name: True for name in names
    }, found
    assert all(found[key] in about(HOUR_MS) for key in lsh), found


async def test_tombstones_outlive_entries(short_desk: Desk, rclient: aioredis.Redis) -> None:
    await short_desk.publish("harbor", rss(LEAK))
    (entry,) = (await short_desk.entries()).values()
    assert await short_desk.store.kill(entry.id, reason="legal", now=NOW + timedelta(minutes=1))
    names = {
        "tombstone": keys.tombstone(entry.id),
        "identity": keys.identity("harbor", LEAK.id or ""),
        "url": keys.item_url(LEAK.link or ""),
        "copy": keys.copy(entry.copy_key),
        "near": keys.near_record(entry.id),
        "locator": keys.entry_locator(entry.id),
    }
    found = await pttls(rclient, list(names.values()))
    assert {name: found[key] in about(7 * HOUR_MS) for name, key in names.items()} == {
        name: True for name in names
    }, found
    # Tombstoned under the short window, the item stays blocked.
    again = await short_desk.publish("harbor", rss(LEAK) + b"\n", NOW + timedelta(minutes=2))
    assert again.blocked == 1


async def test_no_key_but_the_global_indexes_and_source_records_lives_forever(
    short_desk: Desk, rclient: aioredis.Redis
) -> None:
    await short_desk.publish("harbor", rss(LEAK, *[replace(w, id=f"{w.id}-h") for w in BAY_LIVE]))
    copy = Wire("coast-88", LEAK_TITLE, LEAK_TEXT, "https://coast.example/leak", NOW)
    await short_desk.publish("coast", json_feed(copy))
    near = Wire("tag:bay.example,2026:w", NEAR_TITLE, NEAR_TEXT, "https://bay.example/w", NOW)
    await short_desk.publish("bay", atom(near, *BAY_LIVE[:1]))
    entries = await short_desk.entries()
    await short_desk.store.kill(entries[BAY_LIVE[0].title].id, reason="legal", now=NOW)
    await short_desk.store.correct(entries[LEAK_TITLE].id, note="Fixed.", now=NOW)
    canceled = ninjs_item(K_URI, LEAK_TITLE, LEAK_TEXT, pubstatus="canceled")
    await short_desk.publish("agency", ninjs(canceled))
    forever = []
    async for key in rclient.scan_iter("*"):
        if permanent(key):
            continue
        if not 0 < await rclient.pttl(key) <= 7 * HOUR_MS:
            forever.append(key)
    assert forever == []


async def test_a_purged_item_still_listed_by_its_source_is_not_ingested_again(
    server: FeedServer, rclient: aioredis.Redis, fetcher: HttpFetcher, http: httpx.AsyncClient
) -> None:
    """Entries kept one second (Redis expires them for real): the item's keys are purged, its
    source still lists it, and the next poll leaves it out instead of republishing it."""
    store = RedisStore(rclient, retention=Retention(entries=1, tombstones=7 * 3600))
    policy = IngestPolicy(dedupe=DedupePolicy(max_age=1))
    desk = Desk(server, store, fetcher, policy)
    await store.put_sources([desk.source(s) for s in SOURCES])
    item = replace(LEAK, at=NOW - timedelta(milliseconds=500))
    first = await desk.publish("harbor", rss(item))
    assert first.new == 1
    (entry,) = (await desk.entries()).values()

    async def purged() -> bool:
        return not await rclient.exists(
            keys.identity("harbor", LEAK.id or ""), keys.entry_locator(entry.id)
        )

    assert await until(purged)
    again = await desk.publish("harbor", rss(item) + b"\n", NOW + timedelta(seconds=3))
    assert (again.new, again.expired) == (0, 1)
    assert not await rclient.exists(keys.identity("harbor", LEAK.id or ""))
    await assert_nowhere(http, LEAK_TITLE, list(first.stories))


async def test_retention_settings_reach_the_store(
    server: FeedServer, rclient: aioredis.Redis, fetcher: HttpFetcher
) -> None:
    settings = Settings.from_env({"WIREFEED_RETENTION_DAYS": "2", "WIREFEED_TOMBSTONE_DAYS": "9"})
    desk = Desk(server, compose.store(rclient, settings), fetcher)
    first = await desk.publish("harbor", rss(LEAK))
    (entry,) = (await desk.entries()).values()
    day = 24 * HOUR_MS
    assert await rclient.pttl(keys.identity("harbor", LEAK.id or "")) in about(2 * day)
    assert await rclient.pttl(keys.story_timeline(first.stories[0])) in about(2 * day)
    assert await desk.store.kill(entry.id, reason="legal", now=NOW)
    assert await rclient.pttl(keys.tombstone(entry.id)) in about(9 * day)
    assert await rclient.pttl(keys.identity("harbor", LEAK.id or "")) in about(9 * day)


async def test_trim_drops_stories_past_the_window_from_the_index(
    short_desk: Desk, http: httpx.AsyncClient
) -> None:
    old = Wire(
        "harbor-old", "Ferry service suspended", "Storm warning.", at=NOW - timedelta(minutes=20)
    )
    fresh = Wire("harbor-new", "Bridge reopens", "Winds drop.", at=NOW - timedelta(minutes=5))
    first = await short_desk.publish("harbor", rss(fresh, old))
    sid_fresh, sid_old = first.stories
    store = short_desk.store
    assert await store.trim(NOW) == 0
    assert await store.trim(NOW + timedelta(minutes=50)) == 1  # the window ends 10 minutes back
    assert [s.id for s in await store.recent_stories(10)] == [sid_fresh]
    listing = (await get_feed(http, "/feeds/stories.json")).json()
    assert [i["title"] for i in listing["items"]] == [fresh.title]

    # A change keeps a story in the window.
    changed = replace(fresh, text="Winds drop; trucks may cross again.")
    await short_desk.publish("harbor", rss(changed), NOW + timedelta(minutes=30))
    assert await store.trim(NOW + timedelta(minutes=80)) == 0
    assert await store.trim(NOW + timedelta(minutes=100)) == 1
    assert await store.recent_stories(10) == []
    assert sid_old not in (await get_feed(http, "/feeds/stories.json")).text
