"""The HTTP app over real HTTP: uvicorn on loopback, a real Redis, stories from the real pipeline.

Three invented wires (RSS, Atom, JSON Feed) are served by a loopback HTTP server and ingested by
``ingest_source``; two of them report the same ice storm, so its story has updates from both.
Every document the app serves must validate; ETags must follow RFC 9110 13.1.2.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import lxml.html
import pytest

from config.settings import Settings
from config.sources import Source
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import (
    FIXED,
    LOOPBACK,
    FeedServer,
    Reply,
    serve_app,
    validate_atom,
    validate_jsonfeed,
)
from tests.support.lakeshore import Item, atom_wire, json_wire, rss

NOW = FIXED + timedelta(hours=7, minutes=30)  # 22:30 UTC, the day of FIXED
LIVE = "https://lakeshore.example/2026/11/29/ice-storm-live"

ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_TYPE = "application/feed+json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


# -- invented wires ---------------------------------------------------------------------------


LAKESHORE = [
    Item(
        "ls-1",
        "Governor declares disaster in 11 counties",
        "The declaration frees state money for shelters and road crews.",
        LIVE + "#update-1",
        datetime(2026, 11, 29, 18, 0, tzinfo=UTC),
    ),
    Item(
        "ls-2",
        "Utility expects most customers back on by Monday",
        "Crews from four states are working through the night.",
        LIVE + "#update-2",
        datetime(2026, 11, 29, 22, 10, tzinfo=UTC),
    ),
]
PRAIRIE = [
    Item(
        "urn:prairie:1",
        "Outages top 210,000 homes & businesses",
        "The outage map shows more than 210,000 customers without power.",
        LIVE,
        datetime(2026, 11, 29, 21, 0, tzinfo=UTC),
    ),
    Item(
        "urn:prairie:2",
        "Schools in DeKalb County closed Monday",
        "District officials cite downed lines and icy roads.",
        "https://prairie.example/schools-closed",
        datetime(2026, 11, 29, 20, 15, tzinfo=UTC),
    ),
]
COASTAL = [
    Item(
        "coastal-1",
        "Chennai airport reopens after cyclone",
        "Flights resumed at noon after runways were cleared of debris.",
        "https://coastal.example/chennai-airport",
        datetime(2026, 11, 29, 6, 30, tzinfo=UTC),
    ),
]
LATEST_ICE = "The Latest: Utility expects most customers back on by Monday"
"""The ice storm, as readers see it: a story of several updates carries the rolling prefix."""
HEADLINES = {
    "Utility expects most customers back on by Monday",  # the ice storm's newest update
    "Schools in DeKalb County closed Monday",
    "Chennai airport reopens after cyclone",
}


@dataclass
class Wires:
    server: FeedServer
    store: RedisStore
    fetcher: HttpFetcher
    sources: list[Source]

    async def ingest(self, now: datetime) -> None:
        for source in self.sources:
            report = await ingest_source(source, fetcher=self.fetcher, store=self.store, now=now)
            assert report.status in ("ok", "unchanged"), report

    async def story_ids(self) -> dict[str, str]:
        """Headline -> story id, for every stored story."""
        return {s.title: s.id for s in await self.store.recent_stories(50)}


@pytest.fixture
async def wires(server: FeedServer, store: RedisStore) -> AsyncIterator[Wires]:
    sources = [
        Source(
            id="lakeshore",
            url=server.set("/lakeshore.rss", Reply(rss(*LAKESHORE))),
            title="Lakeshore Wire",
            timezone="America/Chicago",
        ),
        Source(
            id="prairie",
            url=server.set("/prairie.atom", Reply(atom_wire(*PRAIRIE))),
            title="Prairie News & Wire",
            timezone="America/Chicago",
        ),
        Source(
            id="coastal",
            url=server.set("/coastal.json", Reply(json_wire(*COASTAL))),
            title="Coastal Desk",
            timezone="Asia/Kolkata",
        ),
    ]
    fetcher = HttpFetcher(
        FetchLimits(connect_timeout=2, read_timeout=5, total_timeout=10), policy=LOOPBACK
    )
    try:
        await store.put_sources(sources)
        result = Wires(server, store, fetcher, sources)
        await result.ingest(NOW)
        yield result
    finally:
        await fetcher.aclose()


def validate_document(path: str, body: bytes) -> None:
    (validate_atom if path.endswith(".atom") else validate_jsonfeed)(body)


async def all_feed_paths(wires: Wires) -> list[str]:
    ids = sorted((await wires.story_ids()).values())
    return ["/feeds/stories.atom", "/feeds/stories.json"] + [
        f"/feeds/stories/{sid}.{ext}" for sid in ids for ext in ("atom", "json")
    ]


# -- every document validates -----------------------------------------------------------------


async def test_pipeline_made_the_expected_stories(wires: Wires) -> None:
    ids = await wires.story_ids()
    assert set(ids) == HEADLINES
    ice = await wires.store.story(ids["Utility expects most customers back on by Monday"])
    assert ice is not None
    assert (ice.entry_count, ice.sources, ice.timezone) == (
        3,
        ("lakeshore", "prairie"),
        "America/Chicago",
    )


async def test_every_feed_the_app_serves_validates(
    wires: Wires, http: httpx.AsyncClient, app_url: str
) -> None:
    paths = await all_feed_paths(wires)
    assert len(paths) == 2 + 2 * len(HEADLINES)
    for path in paths:
        response = await http.get(path)
        assert response.status_code == 200, path
        if path.endswith(".atom"):
            assert response.headers["content-type"] == ATOM_TYPE, path
            validate_atom(response.content)
        else:
            assert response.headers["content-type"] == JSON_TYPE, path
            validate_jsonfeed(response.content)
            # absolute links follow the address the request came in on
            assert json.loads(response.content)["feed_url"] == app_url + path


async def test_stories_feed_lists_every_story_with_credits(
    wires: Wires, http: httpx.AsyncClient
) -> None:
    feed = (await http.get("/feeds/stories.json")).json()
    credits = {item["title"]: [a["name"] for a in item["authors"]] for item in feed["items"]}
    assert credits == {
        LATEST_ICE: [
            "Lakeshore Wire",
            "Prairie News & Wire",
        ],
        "Schools in DeKalb County closed Monday": ["Prairie News & Wire"],
        "Chennai airport reopens after cyclone": ["Coastal Desk"],
    }


async def test_story_feed_is_the_timeline_newest_first(
    wires: Wires, http: httpx.AsyncClient
) -> None:
    sid = (await wires.story_ids())["Utility expects most customers back on by Monday"]
    feed = (await http.get(f"/feeds/stories/{sid}.json")).json()
    assert [i["title"] for i in feed["items"]] == [
        "Utility expects most customers back on by Monday",
        "Outages top 210,000 homes & businesses",
        "Governor declares disaster in 11 counties",
    ]
    assert [i["date_published"] for i in feed["items"]] == [
        "2026-11-29T22:10:00Z",
        "2026-11-29T21:00:00Z",
        "2026-11-29T18:00:00Z",
    ]


CONTENT_TYPES = [
    pytest.param("/feeds/stories.atom", ATOM_TYPE, id="stories-atom"),
    pytest.param("/feeds/stories.json", JSON_TYPE, id="stories-json"),
    pytest.param("/", HTML_TYPE, id="index"),
    pytest.param("/healthz", "application/json", id="healthz"),
]


@pytest.mark.parametrize(("path", "expected"), CONTENT_TYPES)
async def test_content_types(
    wires: Wires, http: httpx.AsyncClient, path: str, expected: str
) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == expected


async def test_public_url_setting_wins_over_the_request_address(
    wires: Wires, clean_redis: str
) -> None:
    settings = Settings(redis_url=clean_redis, public_url="https://news.example")
    with serve_app(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            feed = (await client.get("/feeds/stories.json")).json()
            page = lxml.html.fromstring((await client.get("/")).text)
    assert feed["feed_url"] == "https://news.example/feeds/stories.json"
    assert {i["url"].rsplit("/", 1)[0] for i in feed["items"]} == {"https://news.example/stories"}
    assert all(h.startswith("https://news.example/") for h in page.xpath("//a/@href"))


# -- ETags and conditional requests -----------------------------------------------------------

MATCHING = [
    pytest.param(lambda tag: tag, id="exact"),
    pytest.param(lambda tag: f'"0000", {tag}, "ffff"', id="in-a-list"),
    pytest.param(lambda tag: f"W/{tag}", id="weak-form"),
    pytest.param(lambda tag: f'"other",W/{tag}', id="weak-in-a-list"),
    pytest.param(lambda tag: "*", id="star"),
]


@pytest.mark.parametrize("header", MATCHING)
@pytest.mark.parametrize("ext", ["atom", "json"])
async def test_if_none_match_answers_304(
    wires: Wires, http: httpx.AsyncClient, header: Callable[[str], str], ext: str
) -> None:
    sid = (await wires.story_ids())["Chennai airport reopens after cyclone"]
    for path in (f"/feeds/stories.{ext}", f"/feeds/stories/{sid}.{ext}"):
        first = await http.get(path)
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
        value = header(etag)
        again = await http.get(path, headers={"If-None-Match": value})
        assert again.status_code == 304, (path, value)
        assert again.content == b""
        assert again.headers["etag"] == etag


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('"not-the-tag"', id="other-tag"),
        pytest.param('W/"not-the-tag", "still-not"', id="other-list"),
        pytest.param("", id="empty"),
    ],
)
async def test_if_none_match_mismatch_answers_200(
    wires: Wires, http: httpx.AsyncClient, value: str
) -> None:
    response = await http.get("/feeds/stories.atom", headers={"If-None-Match": value})
    assert response.status_code == 200
    validate_atom(response.content)


async def test_same_stories_same_bytes_same_etag(wires: Wires, http: httpx.AsyncClient) -> None:
    for path in await all_feed_paths(wires):
        first, second = await http.get(path), await http.get(path)
        assert first.content == second.content, path
        assert first.headers["etag"] == second.headers["etag"], path


async def test_etag_changes_when_a_new_item_arrives(wires: Wires, http: httpx.AsyncClient) -> None:
    sid = (await wires.story_ids())["Utility expects most customers back on by Monday"]
    paths = ["/feeds/stories.atom", "/feeds/stories.json", f"/feeds/stories/{sid}.atom"]
    before = {p: (await http.get(p)).headers["etag"] for p in paths}

    later = Item(
        "ls-3",
        "Power restored to first 50,000 customers",
        "The utility says restoration is ahead of schedule.",
        LIVE + "#update-3",
        NOW + timedelta(minutes=5),
    )
    wires.server.set("/lakeshore.rss", Reply(rss(*LAKESHORE, later)))
    await wires.ingest(NOW + timedelta(minutes=10))

    for path in paths:
        response = await http.get(path, headers={"If-None-Match": before[path]})
        assert response.status_code == 200, path
        assert response.headers["etag"] != before[path], path
        assert b"Power restored to first 50,000 customers" in response.content, path
        validate_document(path, response.content)


async def test_head_answers_like_get_without_a_body(wires: Wires, http: httpx.AsyncClient) -> None:
    get = await http.get("/feeds/stories.atom")
    head = await http.head("/feeds/stories.atom")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == ATOM_TYPE


# -- pages, health, errors --------------------------------------------------------------------


async def test_index_page_links_every_story(
    wires: Wires, http: httpx.AsyncClient, app_url: str
) -> None:
    response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == HTML_TYPE
    page = lxml.html.fromstring(response.text)
    links = {a.text_content(): a.get("href") for a in page.xpath("//ol[@class='stories']//a")}
    ids = await wires.story_ids()
    shown = {
        (LATEST_ICE if title == LATEST_ICE.removeprefix("The Latest: ") else title): sid
        for title, sid in ids.items()
    }
    assert links == {title: f"{app_url}/stories/{sid}" for title, sid in shown.items()}


async def test_story_page_shows_headline_updates_and_credits(
    wires: Wires, http: httpx.AsyncClient
) -> None:
    sid = (await wires.story_ids())["Utility expects most customers back on by Monday"]
    response = await http.get(f"/stories/{sid}")
    assert response.status_code == 200
    assert response.headers["content-type"] == HTML_TYPE
    page = lxml.html.fromstring(response.text)
    assert page.xpath("string(//h1)") == LATEST_ICE
    updates = page.xpath("//section[@class='update']")
    assert [u.xpath("string(h2/time)") for u in updates] == ["4:10 p.m.", "3 p.m.", "noon"]
    assert [u.xpath("string(p[@class='credit'])") for u in updates] == [
        "Lakeshore Wire",
        "Prairie News & Wire",
        "Lakeshore Wire",
    ]


async def test_healthz(wires: Wires, http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # liveness: no Redis call (see /readyz)


NOT_FOUND = [
    pytest.param("/stories/no-such-story", "text/html", id="story-page"),
    pytest.param("/feeds/stories/no-such-story.atom", "application/json", id="story-atom"),
    pytest.param("/feeds/stories/no-such-story.json", "application/json", id="story-json"),
    pytest.param("/feeds/stories.html", "application/json", id="stories-bad-extension"),
    pytest.param("/feeds/stories/no-such-story.rss", "application/json", id="story-rss"),
    pytest.param("/feeds/sources/no-such-source.atom", "application/json", id="source-atom"),
    pytest.param("/feeds/tags/no-such-tag.json", "application/json", id="tag-json"),
    pytest.param("/feeds/stories/x/archive/9.atom", "application/json", id="archive-missing"),
    pytest.param("/feeds/tags/x/archive/1.atom", "application/json", id="tags-have-no-archive"),
    pytest.param("/feeds/stories.xml", "application/json", id="stories-xml"),
    pytest.param("/no/such/page", "text/plain", id="unknown-path"),
]


@pytest.mark.parametrize(("path", "media"), NOT_FOUND)
async def test_not_found(wires: Wires, http: httpx.AsyncClient, path: str, media: str) -> None:
    response = await http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(media)
    assert "etag" not in response.headers


async def test_a_missing_story_page_is_a_page_with_the_way_home(
    wires: Wires, http: httpx.AsyncClient
) -> None:
    response = await http.get("/stories/no-such-story")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = lxml.html.fromstring(response.text)
    assert page.xpath("string(//title)").startswith("No such story")
    home = page.xpath("//a/@href")
    assert home and home[0].rstrip("/") == str(http.base_url).rstrip("/"), home


async def test_bad_extension_on_a_real_story_is_404(wires: Wires, http: httpx.AsyncClient) -> None:
    sid = (await wires.story_ids())["Chennai airport reopens after cyclone"]
    for ext in ("xml", "html", "ATOM"):
        response = await http.get(f"/feeds/stories/{sid}.{ext}")
        assert response.status_code == 404, ext
        assert "feeds end in .atom, .json or .rss" in response.json()["error"]


async def test_empty_store_serves_valid_empty_feeds(http: httpx.AsyncClient) -> None:
    atom = await http.get("/feeds/stories.atom")
    feed = await http.get("/feeds/stories.json")
    validate_atom(atom.content)
    validate_jsonfeed(feed.content)
    assert feed.json()["items"] == []
    assert "No stories yet." in (await http.get("/")).text


async def test_control_characters_from_a_wire_do_not_break_the_feeds(
    wires: Wires, http: httpx.AsyncClient
) -> None:
    # JSON Feed can carry any code point; ingestion keeps U+0000 and U+0007, which XML cannot hold.
    dirty = Item(
        "coastal-2",
        "Port\u0000 of Chennai\u0007 reopens",
        "Ships\u0000 are moving again.",
        "https://coastal.example/port",
        NOW - timedelta(minutes=1),
    )
    wires.server.set("/coastal.json", Reply(json_wire(*COASTAL, dirty)))
    await wires.ingest(NOW)
    for path in await all_feed_paths(wires):
        response = await http.get(path)
        assert response.status_code == 200, path
        validate_document(path, response.content)
    assert b"Port of Chennai reopens" in (await http.get("/feeds/stories.atom")).content
