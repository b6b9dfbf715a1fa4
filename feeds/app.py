"""The HTTP app: pages, feeds, push. Starlette; HTTP I/O.

::

    GET /                                 the story list (HTML)
    GET /stories/{id}                     one story, laid out as a rolling story (HTML)
    GET /feeds/...                        every feed family, see feeds.queries
    GET /events                           server-sent events: story changes as they happen
    GET /healthz                          200 while the process runs (no Redis call)
    GET /readyz                           200 when Redis answers and a worker is alive
    GET /metrics                          Prometheus exposition (feeds.metrics)
    GET /ops, /ops.json, /ops/stream      the ops dashboard, its data, its live updates

With Redis unreachable every route answers 503 with ``Retry-After`` (never 500): the storage
adapters translate Redis errors into :class:`~ingest.errors.StoreError`, and the raw connection
errors (:data:`ingest.store.outage.UNTRANSLATED`) are caught here too as a last line. The
process logs one line when it loses Redis and one when it is back
(:class:`ingest.store.outage.RedisWatch`).

Feed answers are cached (feeds.cache), carry a strong ETag over their bytes and
``Last-Modified``, answer ``If-None-Match`` and ``If-Modified-Since`` with 304
(RFC 9110 13.1), are compressed with gzip when the client accepts it, and say how long they may
be reused (``Cache-Control: public, max-age``). Clients are opened in the lifespan and closed
there; so are the event tail and the WebSub publisher.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from config.settings import Settings
from config.tokens import TokenFile
from feeds import admin, callback, desk, ops
from feeds.cache import RenderCache, Rendered
from feeds.fleet import alive_workers, snapshot
from feeds.metrics import CONTENT_TYPE, MetricsMiddleware, WebMetrics
from feeds.push import Event, EventHub, reraise_cancellation, sse_stream
from feeds.queries import FORMATS, FeedSpec, build
from feeds.render.context import Context
from feeds.render.doc import FeedDoc, urn
from feeds.render.jsonfeed import JSONFEED_TYPE, jsonfeed
from feeds.render.page import index_page, not_found_page, story_page
from feeds.render.xml import ATOM_TYPE, RSS_TYPE, atom, rss
from feeds.websub import WebSubPublisher, topics
from ingest import compose
from ingest.errors import StoreError
from ingest.fetch.hubs import open_hub_client
from ingest.store.connect import open_redis
from ingest.store.fleet import RedisFleet
from ingest.store.outage import UNTRANSLATED, RedisWatch, reason, unreachable
from ingest.store.reads import RedisReader
from ingest.store.sessions import RedisSessions

log = logging.getLogger("wirefeed.web")

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
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET"]),
            *ops.routes(),
            *admin.routes(),
            *desk.routes(),
            *callback.routes(),
        ],
        lifespan=_lifespan(settings),
        exception_handlers={
            StoreError: _store_unavailable,
            **dict.fromkeys(UNTRANSLATED, _store_unavailable),
            ConnectionError: _store_unavailable,
            HTTPException: _http_error,
        },
    )
    app.state.settings = settings
    app.state.tokens = TokenFile(settings.tokens_file, settings.admin_token)
    app.state.metrics = None
    if settings.metrics:
        app.add_middleware(MetricsMiddleware, metrics=lambda: app.state.metrics)
    return app


RETRY_AFTER = "5"
"""Seconds a client is asked to wait while Redis is unreachable."""
PROBE_SECONDS = 2.0


def _lifespan(settings: Settings) -> Callable[[Starlette], Any]:
    url = settings.redis_url or ""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = await open_redis(url, patience=math.inf)
        binary = await open_redis(
            url, decode_responses=False, patience=math.inf
        )  # rendered bytes are not text
        http = open_hub_client()  # hubs the operator configured: no address policy
        app.state.redis = client
        app.state.fleet = fleet = RedisFleet(client)
        app.state.sessions = RedisSessions(client)
        app.state.reader = RedisReader(client)
        app.state.store = compose.store(client, settings)
        app.state.cache = RenderCache(binary)
        app.state.watch = watch = RedisWatch(url, log)
        app.state.hub = EventHub(client, app.state.cache, watch)
        app.state.metrics = WebMetrics(lambda: _live(app)) if settings.metrics else None
        tasks = [
            asyncio.create_task(app.state.hub.run()),
            asyncio.create_task(_probe(fleet, watch)),
        ]
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


async def _probe(fleet: RedisFleet, watch: RedisWatch) -> None:
    """Ping Redis every few seconds so that its loss and return are logged (once each)
    even when no request comes; a web started while Redis is down says it is waiting."""
    first = True
    while True:
        try:
            await fleet.ping()
        except Exception as exc:
            reraise_cancellation()  # stopping: not an outage
            if not unreachable(exc):
                log.exception("probing Redis failed")
            elif first:
                log.warning(
                    "waiting for Redis at %s: %s; answering 503 meanwhile", watch.url, reason(exc)
                )
                watch.down = True
            else:
                watch.lost(exc)
        else:
            watch.back()
        first = False
        await asyncio.sleep(PROBE_SECONDS)


def _live(app: Starlette) -> dict[str, float]:
    counts: dict[str, float] = dict(app.state.cache.counts)
    counts["sse"] = app.state.hub.clients
    return counts


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
        return HTMLResponse(not_found_page(await _context(request)), status_code=404)
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
        described: dict[str, object] = {
            "story": event.story,
            "kind": "killed" if event.kind == "kill" else event.kind,
            "entry": event.entry,
            "page": ctx.story_page(event.story),
            "feeds": {ext: ctx.story_feed(event.story, ext) for ext in FORMATS},
            "sources": list(event.sources),
            "topics": topics(event, ctx, hub.tags),
        }
        if event.kind == "kill":  # what the tombstones in the feeds name (RFC 6721 ref)
            described["deleted"] = urn("entry", event.entry)
        return described

    stream = sse_stream(hub, describe, request.headers.get("last-event-id"))
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def healthz(request: Request) -> Response:
    """Liveness: the process runs and answers. No Redis call, so an outage of Redis does
    not get every web process restarted by its orchestrator."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: Redis answers and at least one worker's heartbeat is fresh (three ticks)."""
    try:
        await request.app.state.fleet.ping()
        workers = await alive_workers(request.app.state.fleet, datetime.now(UTC))
    except Exception as exc:  # any failure to reach Redis means not ready, whatever its type
        return _not_ready(f"cannot reach Redis: {reason(exc)}")
    if workers == 0:
        return _not_ready("no worker alive: no heartbeat in the last 30 s")
    return JSONResponse({"status": "ready", "redis": "ok", "workers": workers})


def _not_ready(why: str) -> Response:
    return JSONResponse(
        {"status": "not ready", "reason": why},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER},
    )


async def metrics(request: Request) -> Response:
    """Prometheus exposition: this process's counters and the fleet gauges. Answers while
    Redis is away (``wirefeed_redis_up 0``, fleet gauges as last read)."""
    recorder: WebMetrics | None = request.app.state.metrics
    if recorder is None:
        return _error(404, "metrics are off (WIREFEED_METRICS=off)")
    try:
        fleet = await snapshot(request.app.state.fleet, request.app.state.store, datetime.now(UTC))
    except Exception as exc:
        if not unreachable(exc):
            raise
        fleet = None
    recorder.fleet(fleet)
    return Response(recorder.exposition(), media_type=CONTENT_TYPE)


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


async def _http_error(request: Request, exc: Any) -> Response:
    """Routing's 404 and 405: JSON under /admin (the API's one error shape), plain text
    elsewhere as before."""
    headers = dict(getattr(exc, "headers", None) or {})
    if request.url.path.startswith("/admin"):
        what = "no such admin route" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse({"error": what}, status_code=exc.status_code, headers=headers)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=headers)


async def _store_unavailable(request: Request, exc: Any) -> Response:
    watch: RedisWatch | None = getattr(request.app.state, "watch", None)
    if watch is not None and unreachable(exc):
        watch.lost(exc)
    return JSONResponse(
        {"error": f"storage unavailable: {reason(exc)}; try again shortly"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"},
    )
