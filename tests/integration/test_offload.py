"""Parsing and normalizing in a pool of processes (ingest.offload): the same items as in a
thread, parse errors that say what was wrong, and a pool process killed mid-poll."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from config.sources import Source
from ingest import pipeline
from ingest.fetch.http import HttpFetcher
from ingest.model import FetchResult
from ingest.offload import ProcessPool, in_thread
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import FeedServer, Reply

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def rss(*items: tuple[str, str, str]) -> bytes:
    rows = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><description>{text}</description>"
        "<pubDate>Sun, 29 Nov 2026 14:00:00 GMT</pubDate></item>"
        for guid, title, text in items
    )
    return f'<rss version="2.0"><channel><title>Bay</title>{rows}</channel></rss>'.encode()


ITEMS = [
    (f"w-{n}", f"Dam crews report {n} new cracks", f"Engineers counted {n}.") for n in range(5)
]


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPool]:
    started = ProcessPool(1)
    yield started
    started.close()


async def test_a_pool_process_reads_a_document_as_a_thread_does(pool: ProcessPool) -> None:
    source = Source(id="bay", url="https://bay.example/wire.rss", timezone="America/New_York")
    result = FetchResult(url=source.url, status=200, headers={}, body=rss(*ITEMS))
    there = await pool(pipeline._parse, source, result)
    here = await in_thread(pipeline._parse, source, result)
    assert there == here
    todo = [(e, f"d{n}") for n, e in enumerate(here.entries)]
    assert await pool(pipeline._normalize_all, todo, source, source.url, NOW) == (
        await in_thread(pipeline._normalize_all, todo, source, source.url, NOW)
    )
    assert pool.pids() and os.getpid() not in pool.pids()


async def test_polls_through_the_pool_store_what_a_thread_stores(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, pool: ProcessPool
) -> None:
    url = server.set("/wire.rss", Reply(rss(*ITEMS)))
    report = await ingest_source(
        Source(id="bay", url=url), fetcher=fetcher, store=store, now=NOW, offload=pool
    )
    assert (report.status, report.new) == ("ok", 5)
    (story, *_rest) = await store.recent_stories(10)
    assert story.entries[0].title.startswith("Dam crews report")


async def test_a_document_the_pool_cannot_parse_is_a_clear_error(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, pool: ProcessPool
) -> None:
    page = Reply(b"<html><body>Not a feed</body></html>", headers={"Content-Type": "text/html"})
    url = server.set("/broken", page)
    report = await ingest_source(
        Source(id="bay", url=url), fetcher=fetcher, store=store, now=NOW, offload=pool
    )
    assert report.status == "error"
    assert (report.error or "").startswith("cannot parse the feed: ")
    assert report.error_class == "ParseError"


async def test_a_killed_pool_process_loses_nothing_and_the_pool_starts_again(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    pool = ProcessPool(1)
    try:
        url = server.set("/wire.rss", Reply(rss(*ITEMS[:2])))
        source = Source(id="bay", url=url)
        assert (
            await ingest_source(source, fetcher=fetcher, store=store, now=NOW, offload=pool)
        ).new == 2
        for pid in pool.pids():
            os.kill(pid, signal.SIGKILL)
        server.set("/wire.rss", Reply(rss(*ITEMS)))
        later = NOW + timedelta(minutes=1)
        report = await ingest_source(source, fetcher=fetcher, store=store, now=later, offload=pool)
        assert (report.status, report.new, report.unchanged) == ("ok", 3, 2)
        assert pool.restarts == 1
        server.set("/wire.rss", Reply(rss(*ITEMS) + b"\n"))
        again = await ingest_source(source, fetcher=fetcher, store=store, now=later, offload=pool)
        assert (again.status, again.new, again.unchanged) == ("ok", 0, 5)
        assert pool.restarts == 1 and pool.pids()
    finally:
        pool.close()
