"""Every feed family in every format, over real HTTP: uvicorn on loopback, a real Redis, stories
stored by the real pipeline from invented wires served on loopback.

::

    /feeds/stories.EXT            all stories; each entry is one story, its timeline as content
    /feeds/stories/ID.EXT         one story's timeline
    /feeds/sources/ID.EXT         what one source reported, each item once
    /feeds/tags/TAG.EXT           the stories of the sources tagged TAG (tags: the sources file)

EXT is atom, json or rss. The newsroom of this module (also used by test_http_caching,
test_paging and test_push) has four sources: Lakeshore (RSS; tags weather, midwest), Prairie
(Atom; midwest), Coastal (JSON Feed; asia), which also carries a copy of one Lakeshore item,
and Quiet (RSS; quiet), which reports nothing. Item times are set a few hours before the real
clock, so that an editor's command, which stamps the real time, comes after them.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from lxml import etree

from config.settings import Settings
from tests.support import (
    child_env,
    serve_app,
    text_of,
    until,
)
from tests.support.lakeshore import (
    CHENNAI,
    EXTS,
    GOVERNOR,
    ICE,
    LIVE,
    NON_ASCII,
    OUTAGES,
    SCHOOLS,
    WIRES,
    Item,
    MiniHub,
    Newsroom,
    Parsed,
    family_paths,
    get_feed,
)

# -- a WebSub hub on loopback ---------------------------------------------------------------------


# -- the newsroom: invented wires on loopback, ingested by the real pipeline ----------------------


@pytest.fixture
def app_url(clean_redis: str, hub: MiniHub) -> Iterator[str]:
    with serve_app(Settings(redis_url=clean_redis, websub_hubs=(hub.hub_url,))) as url:
        yield url


# -- reading what the app serves ------------------------------------------------------------------


def listed(feed: Parsed, story_id: str) -> dict[str, Any]:
    """The item of story ``story_id`` in a list of stories."""
    found = [i for i in feed.items if str(i["url"]).endswith(f"/stories/{story_id}")]
    assert len(found) == 1, (story_id, feed.stories)
    return found[0]


def story_entry(feed: Parsed, title: str) -> dict[str, Any]:
    found = [i for i in feed.items if i["title"] == title]
    assert len(found) == 1, (title, feed.titles)
    return found[0]


def sections(html: str) -> list[tuple[str | None, str | None]]:
    """The (id, headline) of each update of a timeline fragment, in order."""
    fragment = etree.fromstring(f"<div>{html}</div>", etree.XMLParser(recover=True))
    return [(s.get("id"), s.findtext("h3")) for s in fragment.iter("section")]


# -- every family, every format -------------------------------------------------------------------

FAMILIES = ("stories", "story", "source", "tag")


@pytest.mark.parametrize("family", FAMILIES)
async def test_every_family_is_served_valid_with_self_and_hub(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str, hub: MiniHub, family: str
) -> None:
    for ext in EXTS:
        path = (await family_paths(newsroom))[family] + "." + ext
        feed = await get_feed(http, path)
        assert feed.link("self") == app_url + path
        assert feed.links.get("hub") == [hub.hub_url]
        assert feed.items, path


@pytest.mark.parametrize("family", FAMILIES)
async def test_every_format_carries_the_same_items(
    newsroom: Newsroom, http: httpx.AsyncClient, family: str
) -> None:
    path = (await family_paths(newsroom))[family]
    feeds = {ext: await get_feed(http, f"{path}.{ext}") for ext in EXTS}
    assert feeds["atom"].ids == feeds["json"].ids == feeds["rss"].ids
    assert feeds["atom"].titles == feeds["json"].titles == feeds["rss"].titles
    assert len(set(feeds["atom"].ids)) == len(feeds["atom"].ids)
    assert feeds["atom"].title == feeds["json"].title == feeds["rss"].title


async def test_text_beyond_ascii_survives_every_format(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    for ext in EXTS:
        feed = await get_feed(http, f"/feeds/sources/coastal.{ext}")
        assert NON_ASCII in story_entry(feed, CHENNAI)["html"], ext


async def test_every_hub_is_linked_and_none_without_hubs(
    newsroom: Newsroom, clean_redis: str
) -> None:
    hubs = ("http://127.0.0.1:9/first-hub", "http://127.0.0.1:9/second-hub")
    paths = await family_paths(newsroom)
    for configured in (hubs, ()):
        settings = Settings(redis_url=clean_redis, websub_hubs=configured)
        with serve_app(settings) as url:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                for path in paths.values():
                    for ext in EXTS:
                        feed = await get_feed(client, f"{path}.{ext}")
                        assert tuple(feed.links.get("hub", ())) == configured, (path, ext)
                        assert feed.link("self") == f"{url}{path}.{ext}"
                json_feed = (await client.get("/feeds/stories.json")).json()
    assert "hubs" not in json_feed


async def test_json_feed_hubs_say_websub(newsroom: Newsroom, http: httpx.AsyncClient) -> None:
    data = (await http.get("/feeds/stories.json")).json()
    assert [h["type"] for h in data["hubs"]] == ["WebSub"]


# -- all stories: one entry per story, its timeline as content ------------------------------------


async def test_story_entry_content_is_the_timeline(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    entry_ids = await newsroom.entry_ids()
    for ext in EXTS:
        entry = listed(await get_feed(http, f"/feeds/stories.{ext}"), sid)
        timeline = await get_feed(http, f"/feeds/stories/{sid}.{ext}")
        assert sections(entry["html"]) == [
            (f"e-{entry_ids[title]}", title) for title in (ICE, OUTAGES, GOVERNOR)
        ], ext
        assert [title for _, title in sections(entry["html"])] == timeline.titles
        # the lede is the newest update's text: not shown twice (feeds.render.page)
        assert entry["html"].startswith('<section class="update"')
        assert "Lakeshore Wire · also reported by Coastal Desk" in text_of(entry["html"])
        assert entry["url"] == f"{app_url}/stories/{sid}"


async def test_stories_feed_is_most_recently_updated_first(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    ids = await newsroom.story_ids()
    feed = await get_feed(http, "/feeds/stories.atom")
    assert feed.stories == [ids[ICE], ids[SCHOOLS], ids[CHENNAI]]
    updated = [i["updated"] for i in feed.items]
    assert updated == sorted(updated, reverse=True)
    assert feed.updated == updated[0]


async def listing_entries(http: httpx.AsyncClient, story_id: str) -> dict[str, dict[str, Any]]:
    """The story's entry in the all-stories feed, per format."""
    return {ext: listed(await get_feed(http, f"/feeds/stories.{ext}"), story_id) for ext in EXTS}


async def wait_for_listing(
    http: httpx.AsyncClient, story_id: str, changed: Callable[[dict[str, Any]], bool]
) -> dict[str, dict[str, Any]]:
    async def check() -> dict[str, dict[str, Any]] | None:
        found = await listing_entries(http, story_id)
        return found if all(changed(found[ext]) for ext in EXTS) else None

    return await until(check)


async def test_story_entry_updated_moves_when_an_entry_is_added(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    before = await listing_entries(http, sid)
    assert before["atom"]["updated"] == before["json"]["updated"]
    later = Item(
        "ls-3", "Power restored to 50,000", "Ahead of schedule.", LIVE + "#u3", newsroom.now
    )
    await newsroom.add("lakeshore", later, newsroom.now + timedelta(minutes=5))
    after = await wait_for_listing(http, sid, lambda e: later.title in e["html"])
    for ext in ("atom", "json"):
        assert after[ext]["updated"] > before[ext]["updated"], ext
        assert after[ext]["id"] == before[ext]["id"], "the story keeps its entry"
    assert sections(after["rss"]["html"])[0][1] == later.title


@pytest.mark.parametrize(
    ("title", "text", "note"),
    [
        pytest.param(
            GOVERNOR,
            "CORRECTS the number of counties to 11. The declaration frees state money.",
            "CORRECTS the number of counties to 11.",
            id="corrects-sentence",
        ),
        pytest.param(
            "CORRECTION: " + GOVERNOR,
            "The declaration frees state money.",
            "This update has been corrected.",
            id="correction-marker",
        ),
    ],
)
async def test_story_entry_updated_moves_when_a_wire_corrects_an_entry(
    newsroom: Newsroom, http: httpx.AsyncClient, title: str, text: str, note: str
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    before = await listing_entries(http, sid)
    fixed = replace(newsroom.items["lakeshore"][1], title=title, text=text)
    assert fixed.id == "ls-1"
    fixed_at = newsroom.now + timedelta(minutes=7)
    report = await newsroom.publish("lakeshore", [newsroom.items["lakeshore"][0], fixed], fixed_at)
    assert (report.new, report.updated) == (0, 1)

    after = await wait_for_listing(http, sid, lambda e: "<strong>Correction</strong>" in e["html"])
    for ext in ("atom", "json"):
        assert after[ext]["updated"] == fixed_at > before[ext]["updated"], ext
    for ext in EXTS:
        assert note in after[ext]["html"], ext
    # the corrected entry itself is republished with the new time in the story's feed
    story = await get_feed(http, f"/feeds/stories/{sid}.atom")
    assert story_entry(story, title)["updated"] == fixed_at


async def test_story_entry_updated_moves_when_an_editor_corrects_an_entry(
    newsroom: Newsroom, http: httpx.AsyncClient, clean_redis: str
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    before = await listing_entries(http, sid)
    eid = (await newsroom.entry_ids())[OUTAGES]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "workers.cli", "entries", "correct", eid, "--note", "Not 201,000."],
        env=child_env(WIREFEED_REDIS_URL=clean_redis, WIREFEED_LOG_LEVEL="WARNING"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    after = await wait_for_listing(http, sid, lambda e: "Not 201,000." in e["html"])
    for ext in ("atom", "json"):
        assert after[ext]["updated"] > before[ext]["updated"], ext
    story = await get_feed(http, f"/feeds/stories/{sid}.json")
    assert story_entry(story, OUTAGES)["updated"] == after["json"]["updated"]


# -- one story ------------------------------------------------------------------------------------


async def test_story_feed_is_its_timeline_newest_first(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    ids = await newsroom.entry_ids()
    for ext in EXTS:
        feed = await get_feed(http, f"/feeds/stories/{sid}.{ext}")
        assert feed.titles == [ICE, OUTAGES, GOVERNOR]
        published = [i["published"] for i in feed.items]
        assert published == sorted(published, reverse=True)
        assert [i["url"] for i in feed.items] == [
            f"{app_url}/stories/{sid}#e-{ids[t]}" for t in feed.titles
        ]


async def test_unknown_story_source_or_tag_is_404(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    for path in ("/feeds/stories/nope", "/feeds/sources/nope", "/feeds/tags/nope"):
        for ext in EXTS:
            response = await http.get(f"{path}.{ext}")
            assert response.status_code == 404, path
            assert "etag" not in response.headers


@pytest.mark.parametrize("ext", EXTS)
async def test_a_story_of_untitled_items_is_served(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    bare = Item("q-1", "", "", "https://quiet.example/photo/1", newsroom.now)
    report = await newsroom.publish("quiet", [bare])
    assert report.new == 1
    (story_id,) = report.stories
    await get_feed(http, f"/feeds/stories/{story_id}.{ext}")


# -- per source: each item once -------------------------------------------------------------------


SOURCE_TITLES = [
    pytest.param("lakeshore", [ICE, GOVERNOR], id="lakeshore"),
    pytest.param("prairie", [OUTAGES, SCHOOLS], id="prairie"),
    # Coastal's copy of the governor item is filed as a duplicate of Lakeshore's entry; its
    # feed shows that entry, once, where Coastal reported it.
    pytest.param("coastal", [GOVERNOR, CHENNAI], id="coastal-with-a-duplicate"),
    pytest.param("quiet", [], id="quiet"),
]


@pytest.mark.parametrize(("source_id", "titles"), SOURCE_TITLES)
async def test_source_feed_lists_what_the_source_reported(
    newsroom: Newsroom, http: httpx.AsyncClient, source_id: str, titles: list[str]
) -> None:
    for ext in EXTS:
        feed = await get_feed(http, f"/feeds/sources/{source_id}.{ext}")
        assert feed.titles == titles, ext
        assert feed.title == f"{WIRES[source_id].title} (via wirefeed)"


async def test_source_feed_shows_each_item_once_however_often_it_arrives(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    later = newsroom.now + timedelta(minutes=10)
    # Lakeshore re-sends its items, one with new text (a new version of the same item)...
    ls2, ls1 = newsroom.items["lakeshore"]
    changed = replace(ls2, text=ls2.text + " Most should have power by Monday.")
    assert (await newsroom.publish("lakeshore", [changed, ls1], later)).updated == 1
    assert (await newsroom.publish("lakeshore", [changed, ls1], later)).new == 0
    # ...Coastal re-sends its copy, and Prairie sends Lakeshore's item under its own id.
    assert (await newsroom.publish("coastal", now=later)).new == 0
    copy = replace(ls1, id="p-9", text="The declaration frees state money.")
    report = await newsroom.add("prairie", copy, later)
    assert (report.new, report.duplicates) == (0, 1)

    async def settled() -> dict[str, Parsed] | None:
        feeds = {s: await get_feed(http, f"/feeds/sources/{s}.json") for s in WIRES}
        fresh = "Most should have power" in feeds["lakeshore"].items[0]["html"]
        return feeds if fresh and GOVERNOR in feeds["prairie"].titles else None

    feeds = await until(settled)
    assert feeds["lakeshore"].titles == [ICE, GOVERNOR]
    assert feeds["coastal"].titles == [GOVERNOR, CHENNAI]
    assert feeds["prairie"].titles == [OUTAGES, SCHOOLS, GOVERNOR]
    for source_id, feed in feeds.items():
        assert len(set(feed.ids)) == len(feed.ids), source_id
    # every source's copy of the governor item is the one entry Lakeshore opened
    (governor,) = {i["id"] for feed in feeds.values() for i in feed.items if i["title"] == GOVERNOR}
    lakeshore = await get_feed(http, "/feeds/sources/lakeshore.atom")
    assert governor == story_entry(lakeshore, GOVERNOR)["id"]


async def test_duplicate_reporters_feed_follows_a_correction_of_the_original(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    before = await get_feed(http, "/feeds/sources/coastal.json")
    assert "Correction" not in story_entry(before, GOVERNOR)["html"]
    ls2, ls1 = newsroom.items["lakeshore"]
    fixed = replace(ls1, text="CORRECTS the number of counties. " + ls1.text)
    report = await newsroom.publish("lakeshore", [ls2, fixed], newsroom.now + timedelta(minutes=3))
    assert report.updated == 1
    lakeshore = await until(
        lambda: _with_correction(http, "/feeds/sources/lakeshore.json", GOVERNOR)
    )
    assert lakeshore
    # Coastal's feed lists the same entry; past the local cache's lifetime it must be fresh too.
    assert await until(
        lambda: _with_correction(http, "/feeds/sources/coastal.json", GOVERNOR), within=6.5
    )


async def _with_correction(http: httpx.AsyncClient, path: str, title: str) -> bool:
    return "<strong>Correction</strong>" in story_entry(await get_feed(http, path), title)["html"]


# -- per tag --------------------------------------------------------------------------------------

TAGS = [
    pytest.param("weather", [ICE], id="weather-one-source"),
    pytest.param("midwest", [ICE, SCHOOLS], id="midwest-two-sources"),
    # Coastal reported the ice storm too (its copy of the governor item), so the story is one
    # of Coastal's stories.
    pytest.param("asia", [ICE, CHENNAI], id="asia-with-a-duplicate"),
    pytest.param("quiet", [], id="tag-of-a-silent-source"),
]


@pytest.mark.parametrize(("tag", "titles"), TAGS)
async def test_tag_feed_lists_exactly_the_stories_of_tagged_sources(
    newsroom: Newsroom, http: httpx.AsyncClient, tag: str, titles: list[str]
) -> None:
    ids = await newsroom.story_ids()
    stories = await newsroom.store.recent_stories(100)
    tagged = {s for s, w in WIRES.items() if tag in w.tags}
    for ext in EXTS:
        feed = await get_feed(http, f"/feeds/tags/{tag}.{ext}")
        assert feed.stories == [ids[t] for t in titles], ext
        assert {s.id for s in stories if tagged & set(s.sources)} == set(feed.stories)
        assert feed.title == f"wirefeed: stories tagged {tag}"


async def test_tag_feed_follows_the_sources_file(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    ids = await newsroom.story_ids()
    assert (await get_feed(http, "/feeds/tags/asia.atom")).stories == [ids[ICE], ids[CHENNAI]]
    sources = [newsroom.source(s) for s in WIRES if s != "prairie"]
    sources.append(newsroom.source("prairie", tags=("midwest", "asia")))
    await newsroom.store.put_sources(sources)

    async def retagged() -> Parsed | None:
        feed = await get_feed(http, "/feeds/tags/asia.atom")
        return feed if ids[SCHOOLS] in feed.stories else None

    assert (await until(retagged)).stories == [ids[ICE], ids[SCHOOLS], ids[CHENNAI]]
    assert (await http.get("/feeds/tags/weather.rss")).status_code == 200
    await newsroom.store.put_sources([s for s in sources if s.id != "lakeshore"])

    async def untagged() -> bool:
        return (await http.get("/feeds/tags/weather.rss")).status_code == 404

    assert await until(untagged)
