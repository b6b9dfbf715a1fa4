"""Editors' commands, run as a newsroom runs them: ``python -m workers.cli entries kill ID``
and ``entries correct ID --note ...`` in a subprocess against the test Redis
(``WIREFEED_REDIS_URL``), with their effect checked in the app's feeds and pages.

An editor finds an entry's id on the story page: each update is ``<section id="e-ID">``.
Times here are real ones, since the commands stamp their changes with the clock.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest
import redis.asyncio as aioredis

from feeds.render.jsonfeed import rfc3339
from ingest import keys
from tests.support import SESSION, Wire, json_feed, rss, wirefeed
from tests.support.desk import (
    LEAK,
    LEAK_TITLE,
    LIVE,
    POLLED,
    STRIKE_TEXT,
    STRIKE_TITLE,
    Desk,
    assert_nowhere,
    assert_story_gone,
    get_feed,
    page_updates,
)

NOT_LIVE = "wirefeed: no live entry {!r} (unknown, expired or killed)\n"


@pytest.fixture
def clock() -> datetime:
    """The time the wires were polled: a little before the editors act."""
    return POLLED


def live_updates(clock: datetime) -> list[Wire]:
    """A live page on another event than the leak (a tank leak at the terminal would be the
    leak's story: similarity joins reports of one event)."""
    return [
        Wire("live-2", "Ferries sail again overnight", "Crews finish.", LIVE + "#u2", clock),
        Wire(
            "live-1",
            "Storm halts the island ferries",
            "Gales stop every crossing.",
            LIVE + "#u1",
            clock - timedelta(hours=1),
        ),
    ]


async def entry_ids(http: httpx.AsyncClient, story_id: str) -> dict[str, str]:
    """Title -> entry id, as an editor reads them off the story page."""
    return {
        u.xpath("string(h3)"): u.get("id").removeprefix("e-")
        for u in await page_updates(http, story_id)
    }


# -- kill ---------------------------------------------------------------------------------------


async def test_kill_removes_an_entry_from_every_feed_and_page_for_good(
    desk: Desk, http: httpx.AsyncClient, rclient: aioredis.Redis, clean_redis: str, clock: datetime
) -> None:
    updates = live_updates(clock)
    first = await desk.publish("harbor", rss(*updates, replace(LEAK, at=clock)), clock)
    sid_live, sid_leak = first.stories
    gone, kept = updates[1], updates[0]
    assert gone.title in (await get_feed(http, "/feeds/sources/harbor.json")).text
    eid = (await entry_ids(http, sid_live))[gone.title]

    done = await wirefeed(clean_redis, "entries", "kill", eid, "--reason", "Legal request")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"killed entry {eid}: removed from every feed; it will not come back\n"

    await assert_nowhere(http, gone.title, [sid_live, sid_leak])
    assert list(await entry_ids(http, sid_live)) == [kept.title]
    feed = (await get_feed(http, f"/feeds/stories/{sid_live}.json")).json()
    assert [i["title"] for i in feed["items"]] == [kept.title]
    note = json.loads(await rclient.get(keys.tombstone(eid)) or "{}")
    assert (note["entry"], note["story"], note["reason"]) == (eid, sid_live, "Legal request")

    # The wire still lists it, and another wire sends the same copy: neither comes back.
    later = clock + timedelta(minutes=1)
    again = await desk.publish("harbor", rss(*updates, replace(LEAK, at=clock)) + b"\n", later)
    assert (again.blocked, again.new, again.unchanged) == (1, 0, 2)
    other = Wire("coast-u1", gone.title, gone.text, "https://coast.example/u1", clock)
    assert (await desk.publish("coast", json_feed(other), later)).blocked == 1
    await assert_nowhere(http, gone.title, [sid_live, sid_leak])


async def test_killing_a_storys_only_entry_removes_the_story(
    desk: Desk, http: httpx.AsyncClient, rclient: aioredis.Redis, clean_redis: str, clock: datetime
) -> None:
    strike = Wire("harbor-strike", STRIKE_TITLE, STRIKE_TEXT, "https://harbor.example/s", clock)
    first = await desk.publish("harbor", rss(replace(LEAK, at=clock), strike), clock)
    sid_leak, sid_strike = first.stories
    (eid,) = (await entry_ids(http, sid_leak)).values()
    done = await wirefeed(clean_redis, "entries", "kill", eid)
    assert done.returncode == 0, done.stderr
    await assert_story_gone(http, rclient, sid_leak)
    await assert_nowhere(http, LEAK_TITLE, [sid_leak, sid_strike])
    assert [s.id for s in await desk.store.recent_stories(10)] == [sid_strike]
    note = json.loads(await rclient.get(keys.tombstone(eid)) or "{}")
    assert note["reason"] == "killed by an editor"


async def test_kill_of_an_unknown_or_dead_entry_fails(
    desk: Desk, clean_redis: str, clock: datetime
) -> None:
    unknown = await wirefeed(clean_redis, "entries", "kill", "0123456789abcdef0123")
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr == NOT_LIVE.format("0123456789abcdef0123")

    await desk.publish("harbor", rss(replace(LEAK, at=clock)), clock)
    (entry,) = (await desk.entries()).values()
    assert (await wirefeed(clean_redis, "entries", "kill", entry.id)).returncode == 0
    twice = await wirefeed(clean_redis, "entries", "kill", entry.id)
    assert (twice.returncode, twice.stderr) == (1, NOT_LIVE.format(entry.id))


async def test_kill_tombstones_last_as_long_as_the_settings_say(
    desk: Desk, rclient: aioredis.Redis, clean_redis: str, clock: datetime
) -> None:
    await desk.publish("harbor", rss(replace(LEAK, at=clock)), clock)
    (entry,) = (await desk.entries()).values()
    done = await wirefeed(
        clean_redis,
        "entries",
        "kill",
        entry.id,
        WIREFEED_RETENTION_DAYS="2",
        WIREFEED_TOMBSTONE_DAYS="9",
    )
    assert done.returncode == 0, done.stderr
    nine_days = 9 * 24 * 3600 * 1000
    for key in (keys.tombstone(entry.id), keys.identity("harbor", LEAK.id or "")):
        assert nine_days - 60_000 <= await rclient.pttl(key) <= nine_days, key


# -- correct ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "shown"),
    [
        pytest.param("Reyes is the port director, not its chair.", None, id="with-a-note"),
        pytest.param(None, "This update has been corrected.", id="default-note"),
    ],
)
async def test_correct_republishes_with_a_new_updated_time_and_a_visible_note(
    desk: Desk,
    http: httpx.AsyncClient,
    clean_redis: str,
    clock: datetime,
    note: str | None,
    shown: str | None,
) -> None:
    strike = Wire("harbor-strike", STRIKE_TITLE, STRIKE_TEXT, "https://harbor.example/s", clock)
    leak = replace(LEAK, at=clock - timedelta(hours=2))
    first = await desk.publish("harbor", rss(strike, leak), clock)
    sid_strike, sid_leak = first.stories
    listing = (await get_feed(http, "/feeds/stories.json")).json()
    assert [i["title"] for i in listing["items"]] == [STRIKE_TITLE, LEAK_TITLE]
    (eid,) = (await entry_ids(http, sid_leak)).values()

    args = ["entries", "correct", eid] + (["--note", note] if note else [])
    done = await wirefeed(clean_redis, *args)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"entry {eid} marked as corrected\n"

    entry = (await desk.entries())[LEAK_TITLE]
    # The command stamps the real clock: after the session's instant, whatever the day.
    assert entry.corrected_at is not None and entry.corrected_at >= SESSION
    assert entry.updated == entry.corrected_at
    text = note or shown or ""
    item = (await get_feed(http, f"/feeds/stories/{sid_leak}.json")).json()["items"][0]
    assert item["date_modified"] == rfc3339(entry.updated)
    assert item["date_modified"] > rfc3339(leak.at)
    assert "<strong>Correction</strong>" in item["content_html"] and text in item["content_html"]
    assert text in (await get_feed(http, f"/feeds/stories/{sid_leak}.atom")).text
    (update,) = await page_updates(http, sid_leak)
    assert update.xpath("string(p[@class='correction'])").endswith(text)
    # Its story moved to the top of the all-stories feed.
    listing = (await get_feed(http, "/feeds/stories.json")).json()
    assert [i["title"] for i in listing["items"]] == [LEAK_TITLE, STRIKE_TITLE]

    # A later version from the wire keeps the editor's note.
    edited = replace(leak, text=leak.text + " Traffic resumed at noon.")
    later = entry.corrected_at + timedelta(minutes=1)
    assert (await desk.publish("harbor", rss(strike, edited), later)).updated == 1
    (update,) = await page_updates(http, sid_leak)
    assert "Traffic resumed at noon." in update.text_content()
    assert update.xpath("string(p[@class='correction'])").endswith(text)
    assert sid_strike != sid_leak


async def test_correct_of_an_unknown_or_killed_entry_fails(
    desk: Desk, clean_redis: str, clock: datetime
) -> None:
    unknown = await wirefeed(clean_redis, "entries", "correct", "nope", "--note", "x")
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (1, "", NOT_LIVE.format("nope"))

    await desk.publish("harbor", rss(replace(LEAK, at=clock)), clock)
    (entry,) = (await desk.entries()).values()
    assert (await wirefeed(clean_redis, "entries", "kill", entry.id)).returncode == 0
    dead = await wirefeed(clean_redis, "entries", "correct", entry.id, "--note", "x")
    assert (dead.returncode, dead.stderr) == (1, NOT_LIVE.format(entry.id))
    assert await desk.entries() == {}
