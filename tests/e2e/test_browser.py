"""A real headless browser reads a rolling story from the running web service.

The service runs as its own process (``python -m feeds``) against the test Redis; a rolling story
from two invented wires is ingested through the real pipeline first. Chromium is the system's
(Debian package), driven by Playwright; browsers are never downloaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from config.sources import Source
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import (
    LOOPBACK,
    FeedServer,
    Reply,
    Wire,
    app_process,
    feeds,
)
from tests.support.browser import CHROMIUM_ARGS, chromium

pytestmark = pytest.mark.browser


NOW = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
LIVE = "https://lakeshore.example/2026/11/29/ice-storm-live"
HEADLINE = "Utility expects most customers back on by Monday"
LATEST = "The Latest: " + HEADLINE  # what readers see: a story of several updates is rolling
LEDE = "Crews from four states are working through the night to restore power."


def rss(title: str, *items: tuple[str, str, str, str, datetime]) -> bytes:
    return feeds.rss(*(Wire(*item) for item in items), title=title)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 29, hour, minute, tzinfo=UTC)


LAKESHORE = rss(
    "Lakeshore Wire",
    ("ls-1", "Governor declares disaster in 11 counties",
     "The declaration frees state money for shelters and road crews.", LIVE + "#1", at(18)),
    ("ls-2", HEADLINE, LEDE, LIVE + "#2", at(22, 10)),
)  # fmt: skip
PRAIRIE = rss(
    "Prairie News & Wire",
    ("pr-1", "Freezing rain glazes roads west of Chicago",
     "Plows and salt trucks are out on every interstate.", LIVE, at(19, 25)),
    ("pr-2", "Outages top 210,000 homes and businesses",
     "Most of the outages are in DeKalb and Kane counties.", LIVE, at(21)),
    ("pr-3", "Schools in DeKalb County closed Monday",
     "District officials cite downed lines and icy roads.",
     "https://prairie.example/schools-closed", at(20, 15)),
)  # fmt: skip


@pytest.fixture
async def rolling_story(server: FeedServer, store: RedisStore) -> AsyncIterator[str]:
    """Ingest two wires through the pipeline; yield the ice storm's story id."""
    sources = [
        Source(
            id="lakeshore",
            url=server.set("/lakeshore.rss", Reply(LAKESHORE)),
            title="Lakeshore Wire",
            timezone="America/Chicago",
        ),
        Source(
            id="prairie",
            url=server.set("/prairie.rss", Reply(PRAIRIE)),
            title="Prairie News & Wire",
            timezone="America/Chicago",
        ),
    ]
    await store.put_sources(sources)
    fetcher = HttpFetcher(
        FetchLimits(connect_timeout=2, read_timeout=5, total_timeout=10), policy=LOOPBACK
    )
    try:
        for source in sources:
            report = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
            assert report.status == "ok", report
    finally:
        await fetcher.aclose()
    ids = {s.title: s.id for s in await store.recent_stories(10)}
    yield ids[HEADLINE]


@pytest.fixture
def web(clean_redis: str) -> Iterator[str]:
    """The web service as its own process, ``python -m feeds``; yields its base URL."""
    with app_process(clean_redis) as url:
        yield url


async def test_reader_opens_a_rolling_story_from_the_front_page(
    rolling_story: str, web: str, tmp_path: Path
) -> None:
    executable = chromium()
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 1100})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(web + "/")
            assert await page.locator("h1").inner_text() == "Latest stories"
            assert await page.locator("ol.stories li").count() == 2

            await page.get_by_role("link", name=LATEST).click()
            await page.wait_for_url(f"{web}/stories/{rolling_story}")

            assert await page.title() == LATEST
            assert await page.locator("article h1").inner_text() == LATEST
            # The lede is the newest update's text: shown once, in the update, not repeated above.
            assert await page.locator("article .lede").count() == 0
            assert LEDE in await page.locator("article section.update").first.inner_text()
            updates = page.locator("article section.update")
            # AP style in the story's zone (Chicago), newest first
            assert await updates.locator("h2 time").all_inner_texts() == [
                "4:10 p.m.",
                "3 p.m.",
                "1:25 p.m.",
                "noon",
            ]
            stamps = [
                datetime.fromisoformat(s)
                for s in await updates.locator("h2 time").evaluate_all(
                    "nodes => nodes.map(n => n.getAttribute('datetime'))"
                )
            ]
            assert stamps == sorted(stamps, reverse=True)
            assert await updates.locator("h3").all_inner_texts() == [
                HEADLINE,
                "Outages top 210,000 homes and businesses",
                "Freezing rain glazes roads west of Chicago",
                "Governor declares disaster in 11 counties",
            ]
            assert await updates.locator(".credit").all_inner_texts() == [
                "Lakeshore Wire",
                "Prairie News & Wire",
                "Prairie News & Wire",
                "Lakeshore Wire",
            ]
            meta = await page.locator("p.meta").inner_text()
            assert meta.endswith("· 4 updates"), meta

            # As laid out on screen: headline, then the updates, top to bottom.
            boxes = [
                await page.locator(sel).first.bounding_box()
                for sel in (
                    "article h1",
                    "article section.update",
                    "article section.update >> nth=1",
                )
            ]
            tops = [box["y"] for box in boxes if box is not None]
            assert len(tops) == 3 and tops == sorted(tops), tops

            shot = tmp_path / "story.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            await browser.close()
    assert errors == []


async def test_follow_links_on_the_story_page_serve_its_feeds(rolling_story: str, web: str) -> None:
    executable = chromium()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{web}/stories/{rolling_story}")
            hrefs = await page.locator("p.feeds a").evaluate_all("links => links.map(a => a.href)")
            assert hrefs == [
                f"{web}/feeds/stories/{rolling_story}.atom",
                f"{web}/feeds/stories/{rolling_story}.json",
                f"{web}/feeds/stories/{rolling_story}.rss",
            ]
            media_types = ("application/atom+xml", "application/feed+json", "application/rss+xml")
            for href, media in zip(hrefs, media_types, strict=True):
                response = await page.request.get(href)
                assert response.ok, href
                assert response.headers["content-type"].startswith(media)
                assert HEADLINE in await response.text()
        finally:
            await browser.close()
