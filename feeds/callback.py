"""The WebSub subscriber's callback (W3C WebSub sections 5.3 and 8): hubs verify our
subscriptions here and deliver content here. HTTP I/O; the verdicts are
:class:`ingest.fetch.subscriber.RedisSubscriber`'s.

``GET  /websub/callback/{source}/{token}``   verification of intent: the challenge, or 404
``POST /websub/callback/{source}/{token}``   content distribution: 403 without a valid
                                             X-Hub-Signature; else ingested at once through the
                                             same pipeline as a poll (202)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from config.settings import Settings
from ingest import compose
from ingest.errors import ParseError
from ingest.fetch.subscriber import RedisSubscriber
from ingest.pipeline import ingest_document
from ingest.store.redis_store import RedisStore

log = logging.getLogger("wirefeed.callback")


def routes() -> list[Route]:
    return [
        Route("/websub/callback/{source_id:str}/{token:str}", verify, methods=["GET"]),
        Route("/websub/callback/{source_id:str}/{token:str}", deliver, methods=["POST"]),
    ]


async def verify(request: Request) -> Response:
    subscriber = RedisSubscriber(request.app.state.redis)
    status, body = await subscriber.verify(
        request.path_params["source_id"],
        request.path_params["token"],
        dict(request.query_params),
        datetime.now(UTC),
    )
    return PlainTextResponse(body, status_code=status)


async def deliver(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    source_id, token = request.path_params["source_id"], request.path_params["token"]
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.fetch_max_bytes:
            return PlainTextResponse("body too large", status_code=413)
    subscriber = RedisSubscriber(request.app.state.redis)
    status, reason = await subscriber.accept(
        source_id, token, body, request.headers.get("x-hub-signature")
    )
    if status >= 300:
        log.warning("source %s: websub delivery refused: %s", source_id, reason)
        return PlainTextResponse(reason, status_code=status)
    store: RedisStore = request.app.state.store
    found = await store.get_sources([source_id])
    if not found:
        return PlainTextResponse("no such source", status_code=404)
    headers = {"content-type": request.headers.get("content-type", "")}
    try:
        report = await ingest_document(
            found[0],
            body,
            store=store,
            now=datetime.now(UTC),
            policy=compose.ingest_policy(settings),
            headers=headers,
        )
    except ParseError as exc:  # acknowledged: a hub cannot fix it by sending it again
        log.warning("source %s: websub delivery unreadable: %s", source_id, exc)
        return PlainTextResponse(f"unreadable: {exc}", status_code=202)
    return PlainTextResponse(f"{report.new} new, {report.updated} updated", status_code=202)
