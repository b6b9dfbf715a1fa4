"""The HTTP app: story pages and feeds, with ETags. Starlette; HTTP I/O.

::

    GET /                              the story list (HTML)
    GET /stories/{id}                  one story, laid out as a rolling story (HTML)
    GET /feeds/stories.{atom,json}     all stories, most recently updated first
    GET /feeds/stories/{id}.{atom,json}  one story's timeline, newest first
    GET /healthz                       200 when Redis answers, else 503

The Redis client is opened in the app's lifespan and closed there. Every feed answer carries a
strong ETag over its bytes and answers a matching ``If-None-Match`` with 304 (RFC 9110 13.1.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from config.settings import Settings
from feeds.render.context import Context
from feeds.render.doc import FeedDoc, stories_doc, story_doc
from feeds.render.jsonfeed import JSONFEED_TYPE, jsonfeed
from feeds.render.page import index_page, story_page
from feeds.render.xml import ATOM_TYPE, atom
from ingest.errors import StoreError
from ingest.store import RedisStore

_FORMATS: dict[str, tuple[Callable[[FeedDoc], bytes], str]] = {
    "atom": (atom, ATOM_TYPE + "; charset=utf-8"),
    "json": (jsonfeed, JSONFEED_TYPE + "; charset=utf-8"),
}


def create_app(settings: Settings) -> Starlette:
    """Build the app for ``settings``; Redis is reached at ``settings.redis_url``."""
    if not settings.redis_url:
        raise ValueError("the web app needs WIREFEED_REDIS_URL (wirefeed web sets it)")
    redis_url = settings.redis_url

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = aioredis.from_url(redis_url, decode_responses=True)
        app.state.redis = client
        app.state.store = RedisStore(client)
        try:
            yield
        finally:
            await client.aclose()

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/stories/{story_id:str}", story, methods=["GET", "HEAD"]),
            Route("/feeds/stories.{ext:str}", stories_feed, methods=["GET", "HEAD"]),
            Route("/feeds/stories/{story_id:str}.{ext:str}", story_feed, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
        ],
        lifespan=lifespan,
        exception_handlers={StoreError: _store_unavailable},
    )
    app.state.settings = settings
    return app


async def index(request: Request) -> Response:
    stories = await _store(request).recent_stories(request.app.state.settings.feed_page_size)
    return HTMLResponse(index_page(stories, await _context(request)))


async def story(request: Request) -> Response:
    found = await _store(request).story(request.path_params["story_id"])
    if found is None:
        return HTMLResponse(
            "<!doctype html><title>Not found</title><p>No such story.</p>", status_code=404
        )
    return HTMLResponse(story_page(found, await _context(request)))


async def stories_feed(request: Request) -> Response:
    ext = request.path_params["ext"]
    if ext not in _FORMATS:
        return _not_found(f"no feed format {ext!r}; use .atom or .json")
    stories = await _store(request).recent_stories(request.app.state.settings.feed_page_size)
    return _feed(request, stories_doc(stories, await _context(request), ext), ext)


async def story_feed(request: Request) -> Response:
    ext = request.path_params["ext"]
    if ext not in _FORMATS:
        return _not_found(f"no feed format {ext!r}; use .atom or .json")
    found = await _store(request).story(request.path_params["story_id"])
    if found is None:
        return _not_found("no such story")
    return _feed(request, story_doc(found, await _context(request), ext), ext)


async def healthz(request: Request) -> Response:
    try:
        await request.app.state.redis.ping()
    except Exception as exc:  # any failure to reach Redis means unhealthy, whatever its type
        return JSONResponse({"status": "error", "redis": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "redis": "ok"})


def _feed(request: Request, doc: FeedDoc, ext: str) -> Response:
    render, media_type = _FORMATS[ext]
    body = render(doc)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={request.app.state.settings.feed_max_age}",
        "Vary": "Accept-Encoding",
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: weak comparison, ``*`` matches any current representation."""
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _store(request: Request) -> RedisStore:
    store: RedisStore = request.app.state.store
    return store


async def _context(request: Request) -> Context:
    settings: Settings = request.app.state.settings
    base = settings.public_url or str(request.base_url).rstrip("/")
    sources = await _store(request).get_sources()
    return Context(base=base, source_names={s.id: s.title or s.id for s in sources})


def _not_found(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=404)


async def _store_unavailable(request: Request, exc: Any) -> Response:
    return JSONResponse({"error": f"storage unavailable: {exc}"}, status_code=503)
