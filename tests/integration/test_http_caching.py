"""HTTP caching of feeds (RFC 9110 section 13, RFC 9111): strong ETags over the bytes,
Last-Modified, 304 answers, Cache-Control, gzip, and the render cache behind them (rendered
bytes in Redis, dropped when a story changes, rendered once however many requests miss).

The app runs for real (uvicorn on loopback, and once as a separate ``python -m feeds`` process);
Redis is real. The newsroom is the Lakeshore one (tests/support/lakeshore.py).
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

import feeds.app
from config.settings import Settings
from feeds.cache import RenderCache, Rendered
from ingest import keys
from ingest.store.connect import is_cluster, open_redis, open_sync
from tests.support import (
    app_process,
    serve_app,
    text_of,
    until,
)
from tests.support.lakeshore import (
    CHENNAI,
    EXTS,
    ICE,
    LIVE,
    PARSE,
    SCHOOLS,
    Item,
    Newsroom,
    check_feed,
    family_paths,
)

PUBLIC = "https://news.example"


async def all_paths(room: Newsroom) -> list[str]:
    """Every family in every format, plus the other stories' feeds."""
    ids = await room.story_ids()
    paths = [f"{path}.{ext}" for path in (await family_paths(room)).values() for ext in EXTS]
    paths += [f"/feeds/stories/{ids[t]}.{ext}" for t in (SCHOOLS, CHENNAI) for ext in EXTS]
    paths += [f"/feeds/sources/{s}.{ext}" for s in ("prairie", "coastal") for ext in EXTS]
    return paths


def drop_rendered(redis_url: str) -> int:
    """Forget every rendered document kept in Redis."""
    client = open_sync(redis_url)
    try:
        found = list(client.scan_iter(match=keys.rendered("*").rsplit(":", 1)[0] + ":*"))
        return int(client.delete(*found)) if found else 0
    finally:
        client.close()


# -- ETags --------------------------------------------------------------------------------------


async def test_etag_is_strong_and_stable_across_requests(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    for path in await all_paths(newsroom):
        first, second = await http.get(path), await http.get(path)
        check_feed(first)
        etag = first.headers["etag"]
        assert not etag.startswith("W/") and etag.startswith('"') and etag.endswith('"'), path
        assert len(etag) > 2 and '"' not in etag[1:-1], path
        assert (second.content, second.headers["etag"]) == (first.content, etag), path


async def test_two_app_processes_render_identical_bytes_and_etags(
    newsroom: Newsroom, clean_redis: str
) -> None:
    # Both answer as the public address, so their documents name the same URLs; each renders
    # its own copy (the Redis copies are dropped in between), one in another process.
    paths = await all_paths(newsroom)
    seen: dict[str, tuple[bytes, str, str]] = {}
    with serve_app(Settings(redis_url=clean_redis, public_url=PUBLIC)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for path in paths:
                r = await client.get(path)
                check_feed(r)
                seen[path] = (r.content, r.headers["etag"], r.headers["last-modified"])
    assert drop_rendered(clean_redis) >= len(paths)
    with app_process(clean_redis, WIREFEED_PUBLIC_URL=PUBLIC) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for path in paths:
                r = await client.get(path)
                assert r.status_code == 200, path
                again = (r.content, r.headers["etag"], r.headers["last-modified"])
                assert again == seen[path], path
                # ...and the other process's tag is current here
                match = await client.get(path, headers={"If-None-Match": seen[path][1]})
                assert match.status_code == 304, path


async def test_an_unrelated_change_keeps_the_etags_of_unaffected_feeds(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    ids = await newsroom.story_ids()
    unaffected = [
        "/feeds/sources/lakeshore.atom",
        "/feeds/sources/prairie.json",
        f"/feeds/stories/{ids[ICE]}.rss",
        "/feeds/tags/midwest.atom",  # re-rendered (all story lists are), to the same bytes
    ]
    before = {p: (await http.get(p)).headers["etag"] for p in unaffected}
    listing = (await http.get("/feeds/stories.atom")).headers["etag"]
    later = Item(
        "c-3", "Cyclone weakens over land", "Winds drop.", "https://c.example/3", newsroom.now
    )
    await newsroom.add("coastal", later, newsroom.now + timedelta(minutes=1))

    async def moved() -> bool:
        return (await http.get("/feeds/stories.atom")).headers["etag"] != listing

    assert await until(moved)
    for path, etag in before.items():
        response = await http.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 304, path


# -- conditional requests ---------------------------------------------------------------------

MATCHING: dict[str, Callable[[str, str], str]] = {
    "exact": lambda tag, gz: tag,
    "in-a-list": lambda tag, gz: f'"0000", {tag}, "ffff"',
    "weak-form": lambda tag, gz: f"W/{tag}",
    "star": lambda tag, gz: "*",
    "gzip-variant": lambda tag, gz: gz,
    "weak-gzip-variant-in-a-list": lambda tag, gz: f'"x", W/{gz}',
}


@pytest.mark.parametrize("ext", EXTS)
async def test_if_none_match_answers_304(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    for path in (await family_paths(newsroom)).values():
        plain = await http.get(f"{path}.{ext}", headers={"Accept-Encoding": "identity"})
        zipped = await http.get(f"{path}.{ext}", headers={"Accept-Encoding": "gzip"})
        tag, gz = plain.headers["etag"], zipped.headers["etag"]
        assert gz != tag and gz.endswith('-gz"')
        for (form, header), (encoding, expected) in itertools.product(
            MATCHING.items(), (("identity", tag), ("gzip", gz))
        ):
            again = await http.get(
                f"{path}.{ext}",
                headers={"If-None-Match": header(tag, gz), "Accept-Encoding": encoding},
            )
            assert again.status_code == 304, (path, form, encoding)
            assert again.content == b""
            assert again.headers["etag"] == expected
            assert again.headers["last-modified"] == plain.headers["last-modified"]
            assert again.headers["cache-control"] == plain.headers["cache-control"]
            assert again.headers["vary"] == "Accept-Encoding"


async def test_if_none_match_that_does_not_match_wins_over_if_modified_since(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    first = await http.get("/feeds/stories.rss")
    for value in ('"not-the-tag"', 'W/"nope", "nope-gz"', ""):
        headers = {"If-None-Match": value, "If-Modified-Since": first.headers["last-modified"]}
        response = await http.get("/feeds/stories.rss", headers=headers)
        check_feed(response)
        assert response.content == first.content, value


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


SINCE: dict[str, tuple[timedelta, int]] = {
    "same": (timedelta(0), 304),
    "later": (timedelta(hours=1), 304),
    "stale": (timedelta(seconds=-1), 200),
    "long-stale": (timedelta(days=-400), 200),
}


@pytest.mark.parametrize("ext", EXTS)
async def test_if_modified_since_without_if_none_match(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    for path in (await family_paths(newsroom)).values():
        first = await http.get(f"{path}.{ext}")
        modified = parsedate_to_datetime(first.headers["last-modified"])
        for case, (shift, status) in SINCE.items():
            since = {"If-Modified-Since": http_date(modified + shift)}
            response = await http.get(f"{path}.{ext}", headers=since)
            assert response.status_code == status, (path, case)
            if status == 200:
                assert response.content == first.content


async def test_unreadable_if_modified_since_is_ignored(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    for value in ("yesterday", "Sun, 99 Foo 2026 25:00:00 GMT", "0"):
        response = await http.get("/feeds/stories.atom", headers={"If-Modified-Since": value})
        check_feed(response)


@pytest.mark.parametrize("ext", EXTS)
async def test_last_modified_is_the_documents_updated_time(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    for path in (await family_paths(newsroom)).values():
        atom = PARSE["atom"]((await http.get(f"{path}.atom")).content)
        response = await http.get(f"{path}.{ext}")
        modified = response.headers["last-modified"]
        assert modified.endswith(" GMT"), modified
        assert atom.updated is not None
        assert parsedate_to_datetime(modified) == atom.updated.replace(microsecond=0), path
        feed = check_feed(response)
        if ext == "rss":  # lastBuildDate is the same moment
            assert feed.updated == atom.updated.replace(microsecond=0)


def credits(response: httpx.Response) -> str:
    """What a reader sees of a JSON Feed's items (credit lines link sources' names)."""
    return "\n".join(text_of(item["content_html"]) for item in response.json()["items"])


async def test_if_modified_since_sees_a_change_that_leaves_updated_alone(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    path = f"/feeds/stories/{sid}.json"
    first = await http.get(path)
    assert "also reported by Prairie" not in credits(first)
    copy = Item("p-9", ICE, "Crews work through the night.", LIVE + "#u2", newsroom.now)
    report = await newsroom.add("prairie", copy, newsroom.now + timedelta(minutes=2))
    assert report.duplicates == 1

    async def changed() -> httpx.Response | None:
        response = await http.get(path)
        return response if "also reported by Prairie" in credits(response) else None

    assert (await until(changed)).content != first.content
    since = {"If-Modified-Since": first.headers["last-modified"]}
    assert (await http.get(path, headers=since)).status_code == 200


# -- Cache-Control ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "max_age"), [(None, 60), ("17", 17), ("0", 0)])
async def test_cache_control_max_age_follows_the_setting(
    newsroom: Newsroom, clean_redis: str, value: str | None, max_age: int
) -> None:
    env = {"WIREFEED_REDIS_URL": clean_redis}
    if value is not None:
        env["WIREFEED_FEED_MAX_AGE"] = value
    with serve_app(Settings.from_env(env)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for path in (await family_paths(newsroom)).values():
                for ext in EXTS:
                    response = await client.get(f"{path}.{ext}")
                    check_feed(response)
                    assert response.headers["cache-control"] == f"public, max-age={max_age}"


# -- gzip ---------------------------------------------------------------------------------------

ENCODINGS = {
    "gzip": True,
    "GZIP": True,
    "x-gzip": True,
    "*": True,
    "br, gzip;q=0.5": True,
    "deflate, gzip; q=1.0, br": True,
    "gzip;q=0": False,
    "gzip;q=0.000": False,
    "gzip;q=0, *": False,
    "identity": False,
    "br, deflate": False,
}


async def served(http: httpx.AsyncClient, accept: str) -> tuple[httpx.Response, bytes]:
    """The all-stories Atom feed for this Accept-Encoding, with the bytes as sent."""
    async with http.stream(
        "GET", "/feeds/stories.atom", headers={"Accept-Encoding": accept}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


async def test_gzip_is_served_when_accepted(newsroom: Newsroom, http: httpx.AsyncClient) -> None:
    plain = await http.get("/feeds/stories.atom", headers={"Accept-Encoding": "identity"})
    for accept, zipped in ENCODINGS.items():
        response, raw = await served(http, accept)
        assert response.status_code == 200
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-type"] == plain.headers["content-type"]
        if zipped:
            assert response.headers["content-encoding"] == "gzip", accept
            assert gzip.decompress(raw) == plain.content
            assert response.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
        else:
            assert "content-encoding" not in response.headers, accept
            assert raw == plain.content
            assert response.headers["etag"] == plain.headers["etag"]


async def test_gzip_refused_after_a_star_is_not_served(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    response, _raw = await served(http, "*, gzip;q=0")
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize("ext", EXTS)
async def test_every_format_is_compressed(
    newsroom: Newsroom, http: httpx.AsyncClient, ext: str
) -> None:
    response = await http.get(f"/feeds/stories.{ext}", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    check_feed(response)  # httpx inflated it: the inflated bytes are the valid document


# -- the render cache ---------------------------------------------------------------------------


async def test_a_new_item_invalidates_every_affected_rendering(
    newsroom: Newsroom, http: httpx.AsyncClient
) -> None:
    ids = await newsroom.story_ids()
    affected = [
        *[f"/feeds/stories.{ext}" for ext in EXTS],
        *[f"/feeds/stories/{ids[ICE]}.{ext}" for ext in EXTS],
        *[f"/feeds/sources/lakeshore.{ext}" for ext in EXTS],
        *[f"/feeds/tags/weather.{ext}" for ext in EXTS],
        *[f"/feeds/tags/midwest.{ext}" for ext in EXTS],
    ]
    before = {p: (await http.get(p)).headers["etag"] for p in affected}
    title = "Power restored to 50,000 customers"
    later = Item("ls-3", title, "Ahead of schedule.", LIVE + "#u3", newsroom.now)
    await newsroom.add("lakeshore", later, newsroom.now + timedelta(minutes=1))
    for path in affected:

        async def fresh(path: str = path) -> httpx.Response | None:
            response = await http.get(path, headers={"If-None-Match": before[path]})
            return response if response.status_code == 200 else None

        response = await until(fresh)
        assert title in response.text, path
        assert response.headers["etag"] != before[path]
        check_feed(response)


async def commandstat(client: aioredis.Redis, command: str) -> int:
    if not is_cluster(client):
        stats: dict[str, Any] = await client.info("commandstats")
        return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
    nodes: dict[str, Any] = await client.info("commandstats", target_nodes="all")  # type: ignore[call-arg]
    return sum(int(s.get(f"cmdstat_{command}", {}).get("calls", 0)) for s in nodes.values())


@pytest.fixture
def count_builds(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the documents the app builds (``feeds.queries.build``), by path-like name."""
    calls: dict[str, int] = {}
    real = feeds.app.build

    async def counting(spec: Any, *args: Any, **kwargs: Any) -> Any:
        calls[spec.name] = calls.get(spec.name, 0) + 1
        return await real(spec, *args, **kwargs)

    monkeypatch.setattr(feeds.app, "build", counting)
    return calls


@pytest.mark.parametrize("ext", EXTS)
async def test_many_requests_at_a_cold_feed_render_it_once(
    newsroom: Newsroom,
    http: httpx.AsyncClient,
    rclient: aioredis.Redis,
    count_builds: dict[str, int],
    ext: str,
) -> None:
    sid = (await newsroom.story_ids())[ICE]
    paths = [f"/feeds/stories.{ext}", f"/feeds/stories/{sid}.{ext}", f"/feeds/tags/asia.{ext}"]
    hsets = await commandstat(rclient, "hset")
    responses = await asyncio.gather(*(http.get(p) for p in paths for _ in range(50)))
    assert {r.status_code for r in responses} == {200}
    for path in paths:
        bodies = {r.content for r in responses if r.request.url.path == path.partition("?")[0]}
        assert len(bodies) == 1, path
    assert sorted(count_builds.values()) == [1, 1, 1], count_builds
    assert await commandstat(rclient, "hset") - hsets == len(paths)


async def test_rendered_bytes_are_shared_through_redis(
    newsroom: Newsroom, clean_redis: str, count_builds: dict[str, int]
) -> None:
    settings = Settings(redis_url=clean_redis, public_url=PUBLIC)
    path = "/feeds/tags/midwest.json"
    with serve_app(settings) as first, serve_app(settings) as second:
        async with httpx.AsyncClient(timeout=10) as client:
            a = await client.get(first + path)
            b = await client.get(second + path)
            assert (a.status_code, b.status_code) == (200, 200)
            assert (a.content, a.headers["etag"]) == (b.content, b.headers["etag"])
            assert sum(count_builds.values()) == 1, "the second process used the Redis copy"

            ice = Item("ls-3", "Power restored", "Ahead of schedule.", LIVE + "#u3", newsroom.now)
            await newsroom.add("lakeshore", ice, newsroom.now + timedelta(minutes=1))

            async def fresh(url: str) -> bool:
                return "Power restored" in (await client.get(url + path)).text

            assert await until(lambda: fresh(first))
            assert await until(lambda: fresh(second))
    assert sum(count_builds.values()) == 2, count_builds


class PausingCache(RenderCache):
    """A render cache whose first Redis lookup waits for the test: the moment a busy process
    is descheduled between looking for a copy and taking the render lock."""

    def __init__(self, client: aioredis.Redis) -> None:
        super().__init__(client)
        self.looked = asyncio.Event()
        self.resume = asyncio.Event()

    async def _lookup(self, name: str, scopes: Any) -> tuple[str, Rendered | None]:
        found = await super()._lookup(name, scopes)
        if not self.looked.is_set():
            self.looked.set()
            await self.resume.wait()
        return found


async def test_two_processes_render_a_cold_document_once(clean_redis: str) -> None:
    first = await open_redis(clean_redis, decode_responses=False)
    second = await open_redis(clean_redis, decode_responses=False)
    renders = 0

    async def render() -> Rendered:
        nonlocal renders
        renders += 1
        return Rendered.of(b"<feed/>", "application/atom+xml", "Sun, 29 Nov 2026 00:00:00 GMT")

    try:
        slow, quick = PausingCache(second), RenderCache(first)
        waiting = asyncio.create_task(slow.get("doc", ("stories",), render))
        await slow.looked.wait()  # it found no copy...
        assert await quick.get("doc", ("stories",), render) is not None  # ...one is made...
        slow.resume.set()
        assert (await waiting) is not None  # ...and it should be the one served
        assert renders == 1
    finally:
        await first.aclose()
        await second.aclose()
