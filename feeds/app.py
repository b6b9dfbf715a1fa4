"""The HTTP app: pages, feeds, push. Starlette; HTTP I/O.

::

    GET /                                 the story list (HTML)
    GET /stories/{id}                     one story, laid out as a rolling story (HTML)
    GET /feeds/...                        every feed family, see feeds.queries
    GET /events                           server-sent events: story changes as they happen
    GET /healthz                          200 when Redis answers, else 503

Feed answers are cached (feeds.cache), carry a strong ETag over their bytes and
``Last-Modified``, answer ``If-None-Match`` and ``If-Modified-Since`` with 304
(RFC 9110 13.1), are compressed with gzip when the client accepts it, and say how long they may
be reused (``Cache-Control: public, max-age``). Clients are opened in the lifespan and closed
there; so are the event tail and the WebSub publisher.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from config.settings import Settings
from feeds import admin
from feeds.cache import RenderCache, Rendered
from feeds.push import Event, EventHub, sse_stream
from feeds.queries import FORMATS, FeedSpec, build
from feeds.render.context import Context
from feeds.render.doc import FeedDoc
from feeds.render.jsonfeed import JSONFEED_TYPE, jsonfeed
from feeds.render.page import index_page, story_page
from feeds.render.xml import ATOM_TYPE, RSS_TYPE, atom, rss
from feeds.websub import WebSubPublisher, topics
from ingest.connect import open_redis
from ingest.errors import StoreError
from ingest.reader import RedisReader
from ingest.store import RedisStore

_FORMATS: dict[str, tuple[Callable[[FeedDoc], bytes], str]] = {
    "atom": (atom, ATOM_TYPE + "; charset=utf-8"),
    "json": (jsonfeed, JSONFEED_TYPE + "; charset=utf-8"),
    "rss": (rss, RSS_TYPE + "; charset=utf-8"),
}


def create_app(settings: Settings) -> Starlette:
    """Build the app for ``settings``; Redis is reached at ``settings.redis_url``."""
    if not settings.redis_url:
        raise ValueError("the web app needs WIREFEED_REDIS_URL (wirefeed web sets it)")
    app = Starlette(
        routes=[
            Route("/feeds/{rest:path}", feed, methods=["GET", "HEAD"]),  # the busiest first
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/stories/{story_id:str}", story, methods=["GET", "HEAD"]),
            Route("/events", events, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            *admin.routes(),
        ],
        lifespan=_lifespan(settings),
        exception_handlers={StoreError: _store_unavailable},
    )
    app.state.settings = settings
    return app


def _lifespan(settings: Settings) -> Callable[[Starlette], Any]:
    url = settings.redis_url or ""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = await open_redis(url)
        binary = await open_redis(url, decode_responses=False)  # rendered bytes are not text
        http = httpx.AsyncClient(timeout=10.0, trust_env=False)
        app.state.redis = client
        app.state.reader = RedisReader(client)
        app.state.store = RedisStore.from_settings(client, settings)
        app.state.cache = RenderCache(binary)
        app.state.hub = EventHub(client, app.state.cache)
        tasks = [asyncio.create_task(app.state.hub.run())]
        if settings.websub_hubs:
            consumer = f"{socket.gethostname()}:{os.getpid()}"
            publisher = WebSubPublisher(
                client, settings.websub_hubs, _public_base(settings), consumer, http
            )
            tasks.append(asyncio.create_task(publisher.run()))
        try:
            yield
        finally:
            await _stop(tasks)
            await http.aclose()
            await binary.aclose()
            await client.aclose()

    return lifespan


async def _stop(tasks: list[asyncio.Task[None]], grace: float = 5.0) -> None:
    """Cancel background tasks and wait for them, asking again if one swallowed the request."""
    deadline = asyncio.get_running_loop().time() + grace
    while tasks and asyncio.get_running_loop().time() < deadline:
        for task in tasks:
            task.cancel()
        _done, pending = await asyncio.wait(tasks, timeout=0.5)
        tasks = list(pending)


def _public_base(settings: Settings) -> str:
    return settings.public_url or f"http://{settings.http_host}:{settings.http_port}"


async def index(request: Request) -> Response:
    reader = _reader(request)
    stories = await reader.recent_stories(request.app.state.settings.feed_page_size)
    return HTMLResponse(index_page(stories, await _context(request)))


async def story(request: Request) -> Response:
    story_id = request.path_params["story_id"]
    found = await _reader(request).story(story_id)
    if found is None:
        into = await _reader(request).merged_into(story_id)
        if into:  # an editor merged it: send readers to where its entries went
            return RedirectResponse(f"{_base(request)}/stories/{into}", status_code=301)
        return HTMLResponse(
            "<!doctype html><title>Not found</title><p>No such story.</p>", status_code=404
        )
    return HTMLResponse(story_page(found, await _context(request)))


async def feed(request: Request) -> Response:
    # Read from the ASGI scope: feeds are the hot path, and Request's URL and query objects
    # cost more than the rest of answering from a cached copy.
    page = request.query_params.get("page", "1") if request.scope["query_string"] else "1"
    if not page.isascii() or not page.isdigit() or not 1 <= int(page) <= 100_000:
        return _error(400, f"page must be a whole number from 1, got {page!r}")
    spec = FeedSpec.from_path(request.scope["path"], page=int(page))
    if spec is None:
        return _error(404, "no such feed; feeds end in .atom, .json or .rss, see /")
    settings: Settings = request.app.state.settings
    base = _base(request)
    cache: RenderCache = request.app.state.cache

    async def render() -> Rendered | None:
        ctx = await _context(request)
        doc = await build(spec, _reader(request), ctx, settings.feed_page_size)
        if doc is None:
            return None
        renderer, media_type = _FORMATS[spec.ext]
        return Rendered.of(renderer(doc), media_type, format_datetime(doc.updated, usegmt=True))

    rendered = await cache.get(f"{base}|{spec.name}", spec.scopes, render)
    if rendered is None:
        into = await _reader(request).merged_into(spec.ident) if spec.family == "story" else None
        if into:
            path = request.scope["path"].replace(f"/stories/{spec.ident}", f"/stories/{into}", 1)
            return RedirectResponse(f"{base}{path}", status_code=301)
        return _error(404, f"no such {spec.family} feed or page")
    return _conditional(request, rendered, settings.feed_max_age)


class _Prepared(Response):
    """A response whose status, body and ASGI headers are ready (a cached feed's)."""

    def __init__(self, status: int, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = raw_headers


_CONDITIONAL = (b"accept-encoding", b"if-none-match", b"if-modified-since")


def _conditional(request: Request, rendered: Rendered, max_age: int) -> Response:
    """200 with the bytes, or 304 when the client's copy is current (RFC 9110 13.1)."""
    asked: dict[bytes, str] = {}
    for name, value in request.scope["headers"]:  # one pass; repeated fields are one list
        if name in _CONDITIONAL:
            text = value.decode("latin-1")
            asked[name] = f"{asked[name]}, {text}" if name in asked else text
    zipped = _accepts_gzip(asked.get(b"accept-encoding", ""))
    unchanged = _not_modified(
        asked.get(b"if-none-match"), asked.get(b"if-modified-since"), rendered
    )
    headers = rendered.raw_headers(zipped=zipped, not_modified=unchanged, max_age=max_age)
    if unchanged:
        return _Prepared(304, b"", headers)
    return _Prepared(200, rendered.gzip if zipped else rendered.body, headers)


def _not_modified(match: str | None, since: str | None, rendered: Rendered) -> bool:
    if match is not None:  # 13.1.2: weak comparison; the gzip variant has the same content
        tags = [t.strip().removeprefix("W/").replace('-gz"', '"') for t in match.split(",")]
        return "*" in tags or rendered.etag in tags
    if since:
        try:
            return parsedate_to_datetime(rendered.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip (RFC 9110 12.5.3): gzip listed with q > 0, or not
    listed and ``*`` with q > 0 (a ``*`` stands only for codings not named)."""
    named: float | None = None
    star: float | None = None
    for part in header.lower().split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding in ("gzip", "x-gzip"):
            named = max(named or 0.0, _quality(params))
        elif coding == "*":
            star = _quality(params)
    chosen = named if named is not None else star
    return chosen is not None and chosen > 0


def _quality(params: list[str]) -> float:
    """The ``q`` weight among a coding's parameters (1 when absent, 0 when unreadable)."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


async def events(request: Request) -> Response:
    """Server-sent events: one ``data:`` JSON per story change, with the feeds it touched:
    ``feeds`` the story's own, ``topics`` every feed URL the change touched (the ones WebSub
    hubs are pinged with, :func:`feeds.websub.topics`)."""
    hub: EventHub = request.app.state.hub
    ctx = Context(base=_base(request))

    def describe(event: Event) -> dict[str, object]:
        if event.kind == "config":
            return {"kind": "config"}
        return {
            "story": event.story,
            "kind": event.kind,
            "entry": event.entry,
            "page": ctx.story_page(event.story),
            "feeds": {ext: ctx.story_feed(event.story, ext) for ext in FORMATS},
            "sources": list(event.sources),
            "topics": topics(event, ctx, hub.tags),
        }

    stream = sse_stream(hub, describe, request.headers.get("last-event-id"))
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def healthz(request: Request) -> Response:
    try:
        await request.app.state.redis.ping()
    except Exception as exc:  # any failure to reach Redis means unhealthy, whatever its type
        return JSONResponse({"status": "error", "redis": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "redis": "ok"})


def _reader(request: Request) -> RedisReader:
    reader: RedisReader = request.app.state.reader
    return reader


def _base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_url or str(request.base_url).rstrip("/")


async def _context(request: Request) -> Context:
    settings: Settings = request.app.state.settings
    sources = await _reader(request).get_sources()
    return Context(
        base=_base(request),
        source_names={s.id: s.title or s.id for s in sources},
        hubs=settings.websub_hubs,
        prefix=settings.story_prefix,
    )


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _store_unavailable(request: Request, exc: Any) -> Response:
    return JSONResponse({"error": f"storage unavailable: {exc}"}, status_code=503)
