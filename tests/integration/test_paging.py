"""Paging (RFC 5005) over real HTTP, with a page size of 3 (WIREFEED_FEED_PAGE_SIZE).

Lists of stories (all stories, a tag) are *paged feeds*: ``next`` (Atom ``link rel="next"``,
RSS ``atom:link rel="next"``, JSON Feed ``next_url``) leads to ``?page=2``. Entry streams (a
story's timeline, a source's items) are *archived feeds*: archive page k holds entries
(k-1)*P .. k*P-1 counted from the oldest, only complete pages exist, and the subscription
document points to the newest one with ``prev-archive``. Atom carries every RFC 5005 link and
``fh:archive``; RSS and JSON Feed carry the link to older entries as ``next``/``next_url``.

The Quiet wire of the Lakeshore newsroom (tests/support) runs a live page here: seven updates, one
story, so its story and its source each have two complete archive pages and one entry over.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from lxml import etree

from config.settings import Settings
from tests.support import serve_app, until
from tests.support.lakeshore import EXTS, ICE, A, Item, Newsroom, Parsed, get_feed

P = 3
QUIET_LIVE = "https://quiet.example/live/flood"


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    with serve_app(Settings(redis_url=clean_redis, feed_page_size=P)) as url:
        yield url


def update(room: Newsroom, n: int, minutes: int | None = None) -> Item:
    """The n-th update of the Quiet live page, ``minutes`` after t0 (by default 10 n)."""
    at = room.t0 + timedelta(minutes=10 * n if minutes is None else minutes)
    return Item(f"q-{n}", f"Flood update {n}", f"River level report {n}.", f"{QUIET_LIVE}#{n}", at)


async def live_page(room: Newsroom, count: int) -> str:
    """Quiet's live page with updates 1..count; returns the story id."""
    items = [update(room, n) for n in range(count, 0, -1)]
    report = await room.publish("quiet", items, room.now + timedelta(minutes=count))
    (story_id,) = set(report.stories) or {(await room.story_ids())["Flood update 1"]}
    return story_id


OTHER_NEWS = [
    ("Monsoon arrives early in Kerala", "Forecasters logged the first heavy rain on Tuesday."),
    ("Port workers in Kochi end strike", "Unions accepted a new wage offer after talks."),
    ("Tamil Nadu opens new metro line", "Commuters rode the driverless trains from dawn."),
]


async def more_stories(room: Newsroom, count: int) -> None:
    """``count`` more one-item stories, on unrelated news, from Coastal (tag asia)."""
    items = [
        Item(f"c-x{n}", title, text, f"https://coastal.example/x{n}", room.now)
        for n, (title, text) in enumerate(OTHER_NEWS[:count])
    ]
    await room.publish("coastal", [*items, *room.items["coastal"]])
    stories = await room.story_ids()
    assert all(title in stories for title, _ in OTHER_NEWS[:count]), stories


# -- paged feeds: lists of stories --------------------------------------------------------------

LISTS = [
    pytest.param("/feeds/stories", 6, id="all-stories"),
    pytest.param("/feeds/tags/asia", 5, id="tag"),
]


@pytest.mark.parametrize("ext", EXTS)
@pytest.mark.parametrize(("path", "total"), LISTS)
async def test_a_list_longer_than_a_page_has_next_and_page_two(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str, path: str, total: int, ext: str
) -> None:
    await more_stories(newsroom, 3)  # 6 stories in all, 5 of them Coastal's (asia)
    first = await get_feed(http, f"{path}.{ext}")
    assert len(first.items) == P
    assert first.link("next") == f"{app_url}{path}.{ext}?page=2"
    second = await get_feed(http, f"{path}.{ext}?page=2")
    assert second.link("self") == f"{app_url}{path}.{ext}?page=2"
    assert len(second.items) == total - P
    assert second.link("next") is None
    assert not set(first.ids) & set(second.ids)
    everything = {s.id for s in await newsroom.store.recent_stories(100)}
    if path == "/feeds/stories":
        assert set(first.stories + second.stories) == everything
    assert (await http.get(f"{path}.{ext}?page=3")).status_code == 404


@pytest.mark.parametrize("ext", EXTS)
async def test_a_list_that_fits_one_page_has_no_next(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    feed = await get_feed(http, f"/feeds/stories.{ext}")
    assert len(feed.items) == P
    assert feed.link("next") is None
    assert (await http.get(f"/feeds/stories.{ext}?page=2")).status_code == 404


async def test_bad_page_numbers_are_400(newsroom: Newsroom, http: httpx.AsyncClient) -> None:
    for page in ("0", "-1", "abc", "1.5", "100001", "²", ""):
        response = await http.get("/feeds/stories.atom", params={"page": page})
        assert response.status_code == 400, page
        assert "page" in response.json()["error"]


# -- archived feeds: a story's timeline, a source's items ---------------------------------------


def archive_paths(room_path: str, ext: str) -> dict[str, str]:
    return {
        "current": f"{room_path}.{ext}",
        **{str(k): f"{room_path}/archive/{k}.{ext}" for k in (1, 2, 3)},
    }


async def entry_streams(room: Newsroom, count: int) -> dict[str, str]:
    story_id = await live_page(room, count)
    return {"story": f"/feeds/stories/{story_id}", "source": "/feeds/sources/quiet"}


@pytest.mark.parametrize("family", ["story", "source"])
async def test_atom_archives_follow_rfc_5005(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str, family: str
) -> None:
    path = (await entry_streams(newsroom, 7))[family]
    url = {k: app_url + v for k, v in archive_paths(path, "atom").items()}
    current = await get_feed(http, f"{path}.atom")
    assert current.titles == ["Flood update 7", "Flood update 6", "Flood update 5"]
    assert (current.link("prev-archive"), current.link("next-archive")) == (url["2"], None)
    assert current.link("current") is None and not current.archive
    assert current.link("self") == url["current"]

    newest = await get_feed(http, f"{path}/archive/2.atom")
    assert sorted(newest.titles) == ["Flood update 4", "Flood update 5", "Flood update 6"]
    assert newest.archive
    assert newest.link("self") == url["2"]
    assert newest.link("current") == url["current"]
    assert (newest.link("prev-archive"), newest.link("next-archive")) == (url["1"], None)
    assert newest.link("hub") is None

    oldest = await get_feed(http, f"{path}/archive/1.atom")
    assert sorted(oldest.titles) == ["Flood update 1", "Flood update 2", "Flood update 3"]
    assert oldest.archive and oldest.link("current") == url["current"]
    assert (oldest.link("prev-archive"), oldest.link("next-archive")) == (None, url["2"])


@pytest.mark.parametrize("ext", ["json", "rss"])
@pytest.mark.parametrize("family", ["story", "source"])
async def test_json_and_rss_archives_chain_to_older_entries(
    newsroom: Newsroom, http: httpx.AsyncClient, app_url: str, family: str, ext: str
) -> None:
    path = (await entry_streams(newsroom, 7))[family]
    pages: list[Parsed] = [await get_feed(http, f"{path}.{ext}")]
    while (older := pages[-1].link("next")) is not None:
        assert older.startswith(app_url)
        pages.append(await get_feed(http, older.removeprefix(app_url)))
        assert len(pages) < 5, "the chain must end"
    assert [p.link("self") for p in pages] == [
        app_url + archive_paths(path, ext)[k] for k in ("current", "2", "1")
    ]
    titles = [t for p in pages for t in p.titles]
    assert set(titles) == {f"Flood update {n}" for n in range(1, 8)}


@pytest.mark.parametrize(
    "family",
    [
        "story",
        "source",
    ],
)
@pytest.mark.parametrize("ext", EXTS)
async def test_archive_pages_list_entries_oldest_first(
    newsroom: Newsroom, http: httpx.AsyncClient, family: str, ext: str
) -> None:
    path = (await entry_streams(newsroom, 7))[family]
    for k, numbers in ((1, (1, 2, 3)), (2, (4, 5, 6))):
        feed = await get_feed(http, f"{path}/archive/{k}.{ext}")
        assert feed.titles == [f"Flood update {n}" for n in numbers], k


@pytest.mark.parametrize("family", ["story", "source"])
async def test_incomplete_and_missing_archive_pages_are_404(
    newsroom: Newsroom, http: httpx.AsyncClient, family: str
) -> None:
    path = (await entry_streams(newsroom, 7))[family]
    for ext in EXTS:
        for k in (3, 4, 999):  # 7 entries: page 3 would hold only one
            response = await http.get(f"{path}/archive/{k}.{ext}")
            assert response.status_code == 404, (k, ext)
            assert "etag" not in response.headers
        assert (await http.get(f"{path}/archive/0.{ext}")).status_code == 404


async def test_a_short_timeline_has_no_archives(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    # The ice storm has exactly P entries: its subscription document holds them all.
    sid = (await newsroom.story_ids())[ICE]
    for ext in EXTS:
        feed = await get_feed(http, f"/feeds/stories/{sid}.{ext}")
        assert feed.link("prev-archive") is None and feed.link("next") is None
        assert (await http.get(f"/feeds/sources/prairie/archive/1.{ext}")).status_code == 404


# -- archive pages do not change ------------------------------------------------------------------


def without_next_archive(body: bytes) -> bytes:
    """An Atom or RSS document less its next-archive link: what a newer archive page adds."""
    root = etree.fromstring(body)
    for link in list(root.iter(A + "link")):
        if link.get("rel") == "next-archive":
            link.getparent().remove(link)
    result: bytes = etree.tostring(root)
    return result


async def archive_bytes(http: httpx.AsyncClient, path: str, ext: str) -> dict[int, bytes]:
    found = {}
    for k in (1, 2):
        response = await http.get(f"{path}/archive/{k}.{ext}")
        assert response.status_code == 200, (path, k)
        found[k] = response.content
    return found


async def assert_archives_stable(
    room: Newsroom, http: httpx.AsyncClient, family: str, ext: str
) -> None:
    path = (await entry_streams(room, 7))[family]
    before = await archive_bytes(http, path, ext)
    tags = {k: (await http.get(f"{path}/archive/{k}.{ext}")).headers["etag"] for k in (1, 2)}

    await live_page(room, 8)  # an eighth update: still two complete pages

    async def grown() -> bool:
        feed = await get_feed(http, f"{path}.{ext}")
        return "Flood update 8" in feed.titles

    assert await until(grown)
    assert await archive_bytes(http, path, ext) == before
    for k in (1, 2):
        again = await http.get(f"{path}/archive/{k}.{ext}", headers={"If-None-Match": tags[k]})
        assert again.status_code == 304, k

    await live_page(room, 9)  # a ninth: page 3 is complete now

    async def third() -> bool:
        return (await http.get(f"{path}/archive/3.{ext}")).status_code == 200

    assert await until(third)
    after = await archive_bytes(http, path, ext)
    assert after[1] == before[1]
    if ext in ("atom", "rss"):  # page 2 now points to page 3, and that is all that changed
        assert without_next_archive(after[2]) == without_next_archive(before[2])
        assert after[2] != before[2]
    else:
        assert after[2] == before[2]


@pytest.mark.parametrize("ext", EXTS)
async def test_source_archive_pages_do_not_change_when_news_arrives(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    await assert_archives_stable(newsroom, http, "source", ext)


@pytest.mark.parametrize("ext", EXTS)
async def test_story_archive_pages_do_not_change_when_news_arrives(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    await assert_archives_stable(newsroom, http, "story", ext)


@pytest.mark.parametrize("family", ["story", "source"])
async def test_a_back_dated_item_leaves_archive_pages_alone(
    newsroom: Newsroom, http: httpx.AsyncClient, family: str
) -> None:
    path = (await entry_streams(newsroom, 7))[family]
    before = await archive_bytes(http, path, "json")
    listing = (await http.get("/feeds/stories.json")).headers["etag"]
    late = update(newsroom, 0, minutes=-30)  # dated before update 1, arriving last
    items = [update(newsroom, n) for n in range(7, 0, -1)]
    await newsroom.publish("quiet", [*items, late], newsroom.now + timedelta(minutes=30))

    async def seen() -> bool:  # the change reached this process: its story moved up
        return (await http.get("/feeds/stories.json")).headers["etag"] != listing

    assert await until(seen)
    assert await archive_bytes(http, path, "json") == before
