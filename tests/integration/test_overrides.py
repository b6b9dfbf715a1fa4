"""Editors' overrides as readers see them and as the wire tests them: rename, merge, split,
pin and kill through the admin API of the running app, each checked on the story pages and in
every feed (which must still validate), then put to the wire again: the same items re-served,
a new version of an edited item, a new update on the live page, other wires' copies.

The newsroom: Harbor Wire (RSS) runs a live page on the chemical leak at the Port of Westhaven
with three timestamped updates, and a separate item on a dockworkers' strike vote; Coast Desk
(JSON Feed) carries one of the updates word for word. All of it is invented. Editors act at the
real time (the API stamps its changes with the clock), so the wires were polled at ``POLLED``,
half an hour before the session's instant, and every time here derives from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import lxml.etree
import lxml.html
import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from feeds.render.doc import urn
from ingest import keys
from tests.support import (
    Wire,
    atom,
    json_feed,
    serve_app,
    text_of,
    validate_atom,
)
from tests.support.desk import (
    ACID_TITLE,
    CRANES_TITLE,
    LEAK_TEXT,
    LEAK_TITLE,
    LIVE,
    NEAR_TEXT,
    NEAR_TITLE,
    POLLED,
    REOPEN_TITLE,
    REVISION,
    SOURCES,
    STRIKE_TITLE,
    TOKEN,
    VALIDATORS,
    Newsroom,
    assert_nowhere,
    assert_story_gone,
    credit_lines,
    get_valid,
    headlines,
    listed_stories,
    page_order,
    page_updates,
    placement,
    story_titles,
)

FORMATS = ("json", "atom", "rss")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    env = {"WIREFEED_REDIS_URL": clean_redis, "WIREFEED_ADMIN_TOKEN": TOKEN}
    with serve_app(Settings.from_env(env)) as url:
        yield url


async def edit(admin: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST an override that must succeed; its JSON answer."""
    response = await admin.post(f"/admin/{path}", json=body)
    assert response.status_code == 200, (path, response.status_code, response.text)
    answer: dict[str, Any] = response.json()
    assert answer["ok"] is True
    return answer


# -- rename -----------------------------------------------------------------------------------


async def test_a_renamed_story_shows_the_editors_headline_everywhere_and_keeps_it(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    machine = f"The Latest: {REOPEN_TITLE}"  # three updates: a rolling story
    assert set((await headlines(http, room.live)).values()) == {machine}
    strike_before = await headlines(http, room.strike)

    answer = await edit(
        admin,
        f"stories/{room.live}/rename",
        {"title": "  Westhaven leak:\n chemical spill & cleanup <live>  "},
    )
    assert answer == {"ok": True, "story": room.live}
    mine = "Westhaven leak: chemical spill & cleanup <live>"  # no prefix on an editor's words
    assert await headlines(http, room.live) == dict.fromkeys(strike_before, mine)
    assert await headlines(http, room.strike) == strike_before

    # The wire again: the same items, a new version of the newest, a fourth update.
    report = await room.reserve(5, room.fourth(), u3=room.revised("u3"))
    assert (report.new, report.updated, report.unchanged) == (1, 1, 3)
    assert await story_titles(http, room.live) == [
        CRANES_TITLE,
        REOPEN_TITLE,
        ACID_TITLE,
        LEAK_TITLE,
    ]
    assert set((await headlines(http, room.live)).values()) == {mine}
    assert REVISION.strip() in (await http.get(f"/stories/{room.live}")).text

    # An empty title hands the headline back to the machine: the newest update, prefixed.
    assert await edit(admin, f"stories/{room.live}/rename", {"title": ""}) == answer
    assert set((await headlines(http, room.live)).values()) == {f"The Latest: {CRANES_TITLE}"}


# -- merge ------------------------------------------------------------------------------------


async def test_a_merge_moves_every_entry_into_the_target_and_sends_readers_there(
    room: Newsroom,
    http: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    rclient: aioredis.Redis,
    app_url: str,
) -> None:
    before = await placement(rclient)
    answer = await edit(admin, f"stories/{room.strike}/merge", {"from": room.live})
    assert answer == {"ok": True, "story": room.strike, "moved": 3}

    newest_first = [REOPEN_TITLE, STRIKE_TITLE, ACID_TITLE, LEAK_TITLE]
    assert await story_titles(http, room.strike) == newest_first
    assert [title for _stamp, title in await page_order(http, room.strike)] == newest_first
    assert credit_lines(await page_updates(http, room.strike)) == [
        "Harbor Wire",
        "Harbor Wire",
        "Harbor Wire · also reported by Coast Desk",
        "Harbor Wire",
    ]
    item = (await get_valid(http, f"/feeds/stories/{room.strike}.json")).json()["items"][2]
    assert "Harbor Wire · also reported by Coast Desk" in text_of(item["content_html"])
    assert set((await headlines(http, room.strike)).values()) == {f"The Latest: {REOPEN_TITLE}"}

    # The merged story's page and feeds send readers to the target; it left the story list.
    page = await http.get(f"/stories/{room.live}")
    assert (page.status_code, page.headers["location"]) == (301, f"{app_url}/stories/{room.strike}")
    for ext in FORMATS:
        response = await http.get(f"/feeds/stories/{room.live}.{ext}")
        assert response.status_code == 301, ext
        assert response.headers["location"] == f"{app_url}/feeds/stories/{room.strike}.{ext}"
        followed = await http.get(f"/feeds/stories/{room.live}.{ext}", follow_redirects=True)
        VALIDATORS[ext](followed.content)
    assert await listed_stories(http) == [room.strike]
    index = lxml.html.fromstring((await http.get("/")).text)
    assert not [a for a in index.xpath("//a/@href") if a.endswith(f"/stories/{room.live}")]
    for ext in FORMATS:
        await get_valid(http, f"/feeds/stories.{ext}")
        for source in SOURCES:
            await get_valid(http, f"/feeds/sources/{source}.{ext}")

    # The same merge again is refused; nothing was lost or doubled.
    again = await admin.post(f"/admin/stories/{room.strike}/merge", json={"from": room.live})
    assert again.status_code == 409
    assert again.json() == {"error": f"story {room.live!r} was merged into {room.strike!r}"}
    assert await placement(rclient) == dict.fromkeys(before, room.strike)


async def test_after_a_merge_the_wire_keeps_feeding_the_target(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    await edit(admin, f"stories/{room.strike}/merge", {"from": room.live})

    report = await room.reserve(5, room.fourth(), u1=room.revised("u1"))
    assert (report.new, report.updated, report.unchanged) == (1, 1, 3)
    assert report.stories == (room.strike,)
    assert await story_titles(http, room.strike) == [
        CRANES_TITLE,
        REOPEN_TITLE,
        STRIKE_TITLE,
        ACID_TITLE,
        LEAK_TITLE,
    ]
    assert REVISION.strip() in (await http.get(f"/stories/{room.strike}")).text
    # Another wire's copy of a moved update, by its URL: credited in the target.
    u3 = room.wires["u3"]
    bay = Wire("tag:bay.example,2026:reopen", "Westhaven to reopen", "Bay Press says.", u3.link)
    copied = await room.desk.publish("bay", atom(bay), room.clock + timedelta(minutes=6))
    assert (copied.duplicates, copied.stories) == (1, (room.strike,))
    lines = credit_lines(await page_updates(http, room.strike))
    assert lines[1] == "Harbor Wire · also reported by Bay Press"

    assert set((await placement(rclient)).values()) == {room.strike}
    assert (await http.get(f"/stories/{room.live}")).status_code == 301
    assert await listed_stories(http) == [room.strike]


# -- split ------------------------------------------------------------------------------------


async def test_a_split_makes_a_new_story_that_new_versions_of_its_entries_follow(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await placement(rclient)
    title = "Chemical leak shuts Westhaven terminal"
    body = {"entries": [room.eid("u1")], "title": title}
    answer = await edit(admin, f"stories/{room.live}/split", body)
    new = answer["story"]
    assert answer == {"ok": True, "story": new, "from": room.live}
    assert new not in (room.live, room.strike)
    # The same split again is refused; nothing was lost or doubled.
    again = await admin.post(f"/admin/stories/{room.live}/split", json=body)
    assert again.status_code == 404
    assert again.json() == {"error": f"entries: not in story {room.live!r}: {room.eid('u1')}"}
    assert await placement(rclient) == {**before, room.eid("u1"): new}

    assert await story_titles(http, new) == [LEAK_TITLE]
    assert await story_titles(http, room.live) == [REOPEN_TITLE, ACID_TITLE]
    assert set((await headlines(http, new)).values()) == {title}
    assert set((await headlines(http, room.live)).values()) == {f"The Latest: {REOPEN_TITLE}"}
    assert set(await listed_stories(http)) == {new, room.live, room.strike}
    for ext in FORMATS:
        for source in SOURCES:
            await get_valid(http, f"/feeds/sources/{source}.{ext}")

    # The wire again: the split-out item's new version lands in the new story; a new update
    # on the live page lands in the live story.
    report = await room.reserve(5, room.fourth(), u1=room.revised("u1"))
    assert (report.new, report.updated, report.unchanged) == (1, 1, 3)
    assert await story_titles(http, new) == [LEAK_TITLE]
    assert REVISION.strip() in (await http.get(f"/stories/{new}")).text
    assert REVISION.strip() not in (await http.get(f"/stories/{room.live}")).text
    assert await story_titles(http, room.live) == [CRANES_TITLE, REOPEN_TITLE, ACID_TITLE]
    assert set((await headlines(http, new)).values()) == {title}
    assert (await placement(rclient))[room.eid("u1")] == new


@pytest.mark.parametrize(
    ("source", "body", "credit"),
    [
        pytest.param(
            "bay",
            atom(
                Wire(
                    "tag:bay.example,2026:leak",
                    "Leak at Westhaven",
                    "Bay says.",
                    LIVE + "#u1",
                    POLLED,
                )
            ),
            "Bay Press",
            id="same-url",
        ),
        pytest.param(
            "coast",
            json_feed(Wire("coast-9", LEAK_TITLE, LEAK_TEXT, "https://coast.example/leak", POLLED)),
            "Coast Desk",
            id="same-copy",
        ),
        pytest.param(
            "bay",
            atom(
                Wire("tag:bay.example,2026:near", NEAR_TITLE, NEAR_TEXT, "https://bay.ex/w", POLLED)
            ),
            "Bay Press",
            id="near-copy",
        ),
    ],
)
async def test_after_a_split_copies_of_a_moved_entry_are_credited_in_its_new_story(
    room: Newsroom,
    http: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    source: str,
    body: bytes,
    credit: str,
) -> None:
    answer = await edit(admin, f"stories/{room.live}/split", {"entries": [room.eid("u1")]})
    new = answer["story"]
    report = await room.desk.publish(source, body, room.clock + timedelta(minutes=5))
    assert (report.new, report.duplicates, report.stories) == (0, 1, (new,))
    assert credit_lines(await page_updates(http, new)) == [
        f"Harbor Wire · also reported by {credit}"
    ]
    assert credit_lines(await page_updates(http, room.live)) == [
        "Harbor Wire",
        "Harbor Wire · also reported by Coast Desk",
    ]
    await story_titles(http, new)


async def test_a_moved_entry_stays_in_the_feeds_of_sources_credited_with_it(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    answer = await edit(admin, f"stories/{room.live}/split", {"entries": [room.eid("u2")]})
    new = answer["story"]
    coast = (await get_valid(http, "/feeds/sources/coast.json")).json()
    assert [(i["title"], i["url"].split("#")[0].rsplit("/", 1)[1]) for i in coast["items"]] == [
        (ACID_TITLE, new)
    ]


async def test_a_moved_entry_links_to_its_new_story_in_its_sources_feed(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    def link_of(doc: dict[str, Any]) -> str:
        (url,) = [i["url"] for i in doc["items"] if i["title"] == LEAK_TITLE]
        return str(url).split("#")[0].rsplit("/", 1)[1]

    assert link_of((await get_valid(http, "/feeds/sources/harbor.json")).json()) == room.live
    answer = await edit(admin, f"stories/{room.live}/split", {"entries": [room.eid("u1")]})
    assert link_of((await get_valid(http, "/feeds/sources/harbor.json")).json()) == answer["story"]


async def test_splitting_an_entry_out_again_after_merging_it_back_makes_a_clean_story(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    body = {"entries": [room.eid("u1")], "title": "Leak: first reports"}
    first = await edit(admin, f"stories/{room.live}/split", body)
    await edit(admin, f"stories/{room.live}/merge", {"from": first["story"]})
    assert await story_titles(http, room.live) == [REOPEN_TITLE, ACID_TITLE, LEAK_TITLE]

    again = await admin.post(f"/admin/stories/{room.live}/split", json=body)
    assert again.status_code == 200, again.text
    new = again.json()["story"]
    assert await rclient.hget(keys.story_meta(new), "merged_into") is None
    await edit(admin, f"stories/{new}/rename", {"title": "Leak: the first hours"})
    assert set((await headlines(http, new)).values()) == {"Leak: the first hours"}


# -- pin --------------------------------------------------------------------------------------


async def test_a_pinned_entry_leads_the_page_and_stays_pinned_through_reingestion(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    answer = await edit(admin, f"stories/{room.live}/pin", {"entry": room.eid("u1")})
    assert answer == {"ok": True, "story": room.live, "pinned": room.eid("u1")}

    def pinned(order: list[tuple[str, str]]) -> list[str]:
        return [title for stamp, title in order if stamp.startswith("Pinned · ")]

    order = await page_order(http, room.live)
    assert [title for _stamp, title in order] == [LEAK_TITLE, REOPEN_TITLE, ACID_TITLE]
    assert pinned(order) == [LEAK_TITLE]
    listing = (await get_valid(http, "/feeds/stories.json")).json()
    (item,) = [i for i in listing["items"] if i["id"] == urn("story", room.live)]
    assert item["content_html"].count("Pinned · ") == 1
    # The story's own feed stays a timeline, newest first.
    assert await story_titles(http, room.live) == [REOPEN_TITLE, ACID_TITLE, LEAK_TITLE]

    report = await room.reserve(5, room.fourth(), u1=room.revised("u1"))
    assert (report.new, report.updated) == (1, 1)
    order = await page_order(http, room.live)
    assert [title for _stamp, title in order] == [
        LEAK_TITLE,
        CRANES_TITLE,
        REOPEN_TITLE,
        ACID_TITLE,
    ]
    assert pinned(order) == [LEAK_TITLE]

    answer = await edit(admin, f"stories/{room.live}/pin", {"entry": None})
    assert answer == {"ok": True, "story": room.live, "pinned": None}
    order = await page_order(http, room.live)
    assert [title for _stamp, title in order] == [
        CRANES_TITLE,
        REOPEN_TITLE,
        ACID_TITLE,
        LEAK_TITLE,
    ]
    assert pinned(order) == []


async def test_a_killed_pinned_entry_leaves_the_page_and_nothing_is_pinned(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await edit(admin, f"stories/{room.live}/pin", {"entry": room.eid("u2")})
    await edit(admin, f"entries/{room.eid('u2')}/kill", {})
    order = await page_order(http, room.live)
    assert order == [(stamp, title) for stamp, title in order if "Pinned" not in stamp]
    assert [title for _stamp, title in order] == [REOPEN_TITLE, LEAK_TITLE]
    await story_titles(http, room.live)


# -- kill -------------------------------------------------------------------------------------


async def test_a_killed_entry_leaves_every_feed_and_stays_dead_on_the_wire(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    assert ACID_TITLE in (await get_valid(http, "/feeds/sources/coast.json")).text
    answer = await edit(admin, f"entries/{room.eid('u2')}/kill", {"reason": "Legal request"})
    assert answer == {"ok": True, "entry": room.eid("u2"), "killed": True}
    await assert_nowhere(http, ACID_TITLE, [room.live, room.strike])
    for path in ("/feeds/stories.rss", f"/feeds/stories/{room.live}.rss"):
        assert ACID_TITLE not in (await get_valid(http, path)).text
    for source in SOURCES:
        assert ACID_TITLE not in (await get_valid(http, f"/feeds/sources/{source}.rss")).text

    # The same item, then a new version of it, then another wire's copy: all blocked.
    assert (await room.reserve(5)).blocked == 1
    report = await room.reserve(6, room.fourth(), u2=room.revised("u2"))
    assert (report.new, report.blocked, report.updated) == (1, 1, 0)
    u2 = room.wires["u2"]
    copy = Wire("coast-8", u2.title, u2.text, "https://coast.example/acid-2", u2.at)
    blocked = await room.desk.publish("coast", json_feed(copy), room.clock + timedelta(minutes=7))
    assert blocked.blocked == 1
    await assert_nowhere(http, ACID_TITLE, [room.live, room.strike])
    assert await story_titles(http, room.live) == [CRANES_TITLE, REOPEN_TITLE, LEAK_TITLE]


async def test_a_kill_finds_a_moved_entry_in_its_new_story(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    new = (await edit(admin, f"stories/{room.live}/split", {"entries": [room.eid("u1")]}))["story"]
    await edit(admin, f"entries/{room.eid('u1')}/kill", {})
    await assert_story_gone(http, rclient, new)
    await assert_nowhere(http, LEAK_TITLE, [new, room.live, room.strike])
    report = await room.reserve(5, u1=room.revised("u1"))
    assert (report.blocked, report.new, report.updated) == (1, 0, 0)
    await assert_nowhere(http, LEAK_TITLE, [new, room.live, room.strike])
    assert await story_titles(http, room.live) == [REOPEN_TITLE, ACID_TITLE]


# -- the same edit at once, and edits while readers read ---------------------------------------


async def test_identical_edits_sent_at_once_neither_lose_nor_double_entries(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await placement(rclient)
    body = {"entries": [room.eid("u1")]}
    splits = await asyncio.gather(
        *(admin.post(f"/admin/stories/{room.live}/split", json=body) for _ in range(4))
    )
    assert {r.status_code for r in splits} <= {200, 404}, [r.text for r in splits]
    new = {r.json()["story"] for r in splits if r.status_code == 200}
    assert len(new) == 1
    (split_story,) = new
    after_split = await placement(rclient)
    assert after_split == {e: split_story if e == room.eid("u1") else s for e, s in before.items()}

    merges = await asyncio.gather(
        *(
            admin.post(f"/admin/stories/{room.strike}/merge", json={"from": room.live})
            for _ in range(4)
        )
    )
    assert {r.status_code for r in merges} <= {200, 404, 409}, [r.text for r in merges]
    assert 200 in {r.status_code for r in merges}
    assert await placement(rclient) == {
        e: s if s == split_story else room.strike for e, s in after_split.items()
    }
    assert await story_titles(http, room.strike) == [REOPEN_TITLE, STRIKE_TITLE, ACID_TITLE]


async def test_readers_are_served_while_editors_work(
    room: Newsroom, http: httpx.AsyncClient, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    stories = {room.live, room.strike}
    before = await placement(rclient)
    done = asyncio.Event()

    async def editors() -> None:
        try:
            await edit(admin, f"stories/{room.live}/rename", {"title": "Westhaven leak"})
            await edit(admin, f"stories/{room.live}/pin", {"entry": room.eid("u2")})
            bad = await admin.post(f"/admin/stories/{room.live}/split", content=b"{oops")
            assert bad.status_code == 400
            split = {"entries": [room.eid("u1")]}
            stories.add((await edit(admin, f"stories/{room.live}/split", split))["story"])
            await edit(admin, f"stories/{room.strike}/merge", {"from": room.live})
            await edit(admin, f"stories/{room.strike}/rename", {"title": ""})
        finally:
            done.set()

    async def readers() -> int:
        served = 0
        while not done.is_set() or served < 3:
            for sid in sorted(stories):
                # The story being merged away may answer 404 for a moment: its entries have
                # left, its pointer to the target is not written yet (Editing.merge).
                allowed = (200, 301, 404) if sid == room.live else (200,)
                page = await http.get(f"/stories/{sid}")
                assert page.status_code in allowed, (sid, page.status_code)
                feed = await http.get(f"/feeds/stories/{sid}.atom", follow_redirects=True)
                assert feed.status_code in allowed, (sid, feed.status_code)
                if feed.status_code == 200:
                    validate_atom(feed.content)
            await get_valid(http, "/feeds/stories.json")
            assert (await http.get("/healthz")).status_code == 200
            served += 1
        return served

    _, served = await asyncio.gather(editors(), readers())
    assert served >= 3
    assert set(await placement(rclient)) == set(before)
