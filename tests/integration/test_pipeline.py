"""The whole ingest path against a real Redis and a real HTTP server on loopback."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from config.sources import Source
from ingest import keys, pipeline
from ingest.fetch.http import HttpFetcher
from ingest.model import Item, RawEntry
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import FeedServer, Reply
from tests.support.clock import SESSION

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def rss(*items: tuple[str, str, str]) -> bytes:
    rows = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<description>{text}</description><pubDate>Sun, 29 Nov 2026 14:00:00 GMT</pubDate></item>"
        for guid, title, text in items
    )
    return f'<rss version="2.0"><channel><title>T</title>{rows}</channel></rss>'.encode()


async def snapshot(client: aioredis.Redis, *, ignore: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every key's serialized value, so tests can prove that nothing was written."""
    out = {}
    async for key in client.scan_iter("*"):
        if key not in ignore:
            out[key] = await client.dump(key)
    return out


async def test_unchanged_source_writes_nothing_but_its_status(
    server: FeedServer, store: RedisStore, rclient: aioredis.Redis, fetcher: HttpFetcher
) -> None:
    url = server.set("/wire.rss", Reply(rss(("a", "Alpha", "one"), ("b", "Beta", "two"))))
    source = Source(id="wire-a", url=url)
    first = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    assert (first.new, first.updated) == (2, 0)
    status_key = keys.source_status("wire-a")
    before = await snapshot(rclient, ignore=(status_key,))
    again = await ingest_source(
        source, fetcher=fetcher, store=store, now=NOW + timedelta(minutes=1)
    )
    assert again.status == "unchanged"
    assert await snapshot(rclient, ignore=(status_key,)) == before


async def test_server_ignoring_validators_still_writes_nothing(
    server: FeedServer, store: RedisStore, rclient: aioredis.Redis, fetcher: HttpFetcher
) -> None:
    url = server.set("/wire.rss", Reply(rss(("a", "Alpha", "one"))))
    source = Source(id="wire-a", url=url)
    await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    before = await snapshot(rclient, ignore=(keys.source_status("wire-a"),))
    # Same items, re-serialized: a different body, so parsing happens, but nothing is new.
    server.set("/wire.rss", Reply(rss(("a", "Alpha", "one")) + b"\n"))
    report = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    assert (report.new, report.updated, report.unchanged) == (0, 0, 1)
    assert await snapshot(rclient, ignore=(keys.source_status("wire-a"),)) == before


async def test_conditional_get_sends_validators_and_handles_304(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    # The server's Date is its clock's, so the document's Last-Modified is an hour before the
    # session's clock: a date in the second of Date or after is not kept (it is weak).
    modified = format_datetime(SESSION - timedelta(hours=1), usegmt=True)
    url = server.set(
        "/wire.rss", Reply(rss(("a", "Alpha", "one")), etag='"v1"', last_modified=modified)
    )
    source = Source(id="wire-a", url=url)
    await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    report = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    assert report.http_status == 304
    sent = server.request_headers["/wire.rss"][-1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == modified
    status = await store.source_status("wire-a")
    assert status.last_modified == modified


async def test_changed_item_is_a_new_version_of_one_entry(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    url = server.set("/wire.rss", Reply(rss(("a", "Alpha", "first words"))))
    source = Source(id="wire-a", url=url)
    first = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    server.set("/wire.rss", Reply(rss(("a", "Alpha", "corrected words"))))
    second = await ingest_source(
        source, fetcher=fetcher, store=store, now=NOW + timedelta(minutes=5)
    )
    assert (second.new, second.updated) == (0, 1)
    assert second.stories == first.stories
    story = await store.story(first.stories[0])
    assert story is not None
    assert story.entry_count == 1
    (entry,) = story.entries
    assert entry.version == 2
    assert "corrected words" in entry.body_html
    assert [v for v, _h, _at in entry.versions] == [1, 2]
    assert entry.updated == NOW + timedelta(minutes=5)


async def test_unusable_feed_becomes_a_recorded_error(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    url = server.set(
        "/broken",
        Reply(b"<html><body>Not a feed</body></html>", headers={"Content-Type": "text/html"}),
    )
    report = await ingest_source(Source(id="bad", url=url), fetcher=fetcher, store=store, now=NOW)
    assert report.status == "error"
    status = await store.source_status("bad")
    assert status.state == "failing"
    assert status.consecutive_failures == 1
    assert status.last_error is not None and status.last_error.startswith("cannot parse the feed")


async def test_http_error_is_recorded_with_its_status(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    url = server.url("/missing")
    await ingest_source(Source(id="gone", url=url), fetcher=fetcher, store=store, now=NOW)
    await ingest_source(Source(id="gone", url=url), fetcher=fetcher, store=store, now=NOW)
    status = await store.source_status("gone")
    assert (status.http_status, status.consecutive_failures) == (404, 2)
    assert status.last_error == "HTTP 404 Not Found"


async def test_items_sharing_a_url_share_a_story(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><guid>u1</guid><title>One</title><link>https://n.example/live?utm_source=x#u1</link></item>"
        b"<item><guid>u2</guid><title>Two</title><link>https://n.example/live#u2</link></item>"
        b"</channel></rss>"
    )
    url = server.set("/live.rss", Reply(body))
    report = await ingest_source(Source(id="w", url=url), fetcher=fetcher, store=store, now=NOW)
    assert report.new == 2
    assert len(report.stories) == 1
    story = await store.story(report.stories[0])
    assert story is not None and story.entry_count == 2


async def test_a_repoll_normalizes_only_the_entries_the_source_did_not_send_before(
    server: FeedServer,
    store: RedisStore,
    rclient: aioredis.Redis,
    fetcher: HttpFetcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = (("a", "Alpha", "one"), ("b", "Beta", "two"), ("c", "Gamma", "three"))
    url = server.set("/wire.rss", Reply(rss(*first)))
    source = Source(id="wire-a", url=url)
    assert (await ingest_source(source, fetcher=fetcher, store=store, now=NOW)).new == 3
    taken: list[str | None] = []
    real = pipeline.normalize

    def counting(raw: RawEntry, *args: Any, **kwargs: Any) -> Item:
        taken.append(raw.native_id)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(pipeline, "normalize", counting)
    server.set("/wire.rss", Reply(rss(("d", "Delta", "four"), *first[:2], ("c", "Gamma", "3"))))
    later = NOW + timedelta(minutes=5)
    report = await ingest_source(source, fetcher=fetcher, store=store, now=later)
    # a and b were known by their raw digest (the parser resolves the guids as links)
    assert sorted((t or "")[-2:] for t in taken) == ["/c", "/d"]
    assert (report.new, report.updated, report.unchanged) == (1, 1, 2)
    seen = await rclient.zrange(keys.source_seen("wire-a"), 0, -1, withscores=True)
    assert (
        sorted(score for _d, score in seen)
        == [NOW.timestamp() * 1000] * 3 + [later.timestamp() * 1000] * 2
    )  # scored when first taken
    assert await rclient.pttl(keys.source_seen("wire-a")) > 0


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of items in each document the pipeline hands the parser."""
    parsed: list[int] = []
    real = pipeline._parse

    def counting(source: Source, result: Any) -> Any:
        parsed.append(result.body.count(b"<item>"))
        return real(source, result)

    monkeypatch.setattr(pipeline, "_parse", counting)
    return parsed


async def test_a_repoll_parses_only_the_entries_it_has_not_seen(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = (("a", "Alpha", "one"), ("b", "Beta", "two"), ("c", "Gamma", "three"))
    url = server.set("/wire.rss", Reply(rss(*first)))
    source = Source(id="wire-a", url=url)
    parsed = counting_parses(monkeypatch)
    assert (await ingest_source(source, fetcher=fetcher, store=store, now=NOW)).new == 3
    assert parsed == [3]
    # the channel's own fields changed too: they are not part of an item's digest
    body = rss(("d", "Delta", "four"), *first).replace(b"<title>T</title>", b"<title>T2</title>")
    server.set("/wire.rss", Reply(body))
    later = NOW + timedelta(minutes=5)
    report = await ingest_source(source, fetcher=fetcher, store=store, now=later)
    assert parsed == [3, 1]
    assert (report.entries, report.new, report.unchanged) == (4, 1, 3)
    server.set("/wire.rss", Reply(body + b"\n"))
    again = await ingest_source(source, fetcher=fetcher, store=store, now=later)
    assert parsed == [3, 1, 0]  # the channel alone
    assert (again.entries, again.new, again.unchanged) == (4, 0, 4)


async def test_an_id_reused_beside_the_entry_it_named_has_the_whole_document_parsed(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guid given to a second item while the first is still in the feed: the ids of the
    source collide, which only a parse of both items can see (then it distrusts them)."""
    first = (("a", "Alpha", "one"), ("b", "Beta", "two"))
    url = server.set("/wire.rss", Reply(rss(*first)))
    source = Source(id="wire-a", url=url)
    assert (await ingest_source(source, fetcher=fetcher, store=store, now=NOW)).new == 2
    parsed = counting_parses(monkeypatch)
    reused = rss(*first).replace(
        b"</channel>",
        b"<item><guid>a</guid><title>Other</title><link>https://news.example/other</link>"
        b"<description>else</description></item></channel>",
    )
    server.set("/wire.rss", Reply(reused))
    report = await ingest_source(
        source, fetcher=fetcher, store=store, now=NOW + timedelta(minutes=5)
    )
    assert parsed == [1, 3]  # the new item alone, then (its id cut out with a) all of them
    assert report.new == 1
    assert (await store.source_status("wire-a")).ids_unreliable == 1


async def test_a_changed_source_config_takes_every_entry_again(
    server: FeedServer, store: RedisStore, fetcher: HttpFetcher
) -> None:
    url = server.set("/wire.rss", Reply(rss(("a", "Alpha", "one"), ("b", "Beta", "two"))))
    blocking = Source(id="wire-a", url=url, block={"title": "beta"})
    first = await ingest_source(blocking, fetcher=fetcher, store=store, now=NOW)
    assert (first.new, first.filtered) == (1, 1)
    server.set("/wire.rss", Reply(rss(("a", "Alpha", "one"), ("b", "Beta", "two")) + b"\n"))
    again = await ingest_source(blocking, fetcher=fetcher, store=store, now=NOW)
    assert (again.new, again.unchanged, again.filtered) == (0, 2, 0)  # both known, unread
    server.set("/wire.rss", Reply(rss(("a", "Alpha", "one"), ("b", "Beta", "two"))))
    opened = replace(blocking, block={})
    report = await ingest_source(opened, fetcher=fetcher, store=store, now=NOW)
    assert (report.new, report.unchanged, report.filtered) == (1, 1, 0)
