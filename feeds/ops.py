"""The ops dashboard: ``/ops`` (a page), ``/ops.json`` (its data), ``/ops/stream`` (the same
data as server-sent events every few seconds, which the page applies without reloading).

It shows sources troubled first (state, last success, last error, next due and why, interval,
failures), workers (alive, what they are polling), items taken per minute over the last hour,
the schedule's lag and the last configuration reload; see :mod:`feeds.fleet`.

Who may look (:func:`viewer`): with tokens configured (``WIREFEED_TOKENS_FILE`` or
``WIREFEED_ADMIN_TOKEN``), whoever presents one of the viewer role or above
(``Authorization: Bearer``, or ``?token=`` for the page and its stream, as ``EventSource``
cannot send headers); without any, only clients on the loopback interface, which is the demo
of ``wirefeed run``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from feeds import auth
from feeds.fleet import snapshot
from ingest.store.outage import reason, unreachable

STREAM_EVERY = 2.0
_PAGE = (Path(__file__).parent / "ops.html").read_text(encoding="utf-8")


def routes() -> list[Route]:
    return [
        Route("/ops", page, methods=["GET"]),
        Route("/ops.json", data, methods=["GET"]),
        Route("/ops/stream", stream, methods=["GET"]),
    ]


def viewer(request: Request) -> bool:
    """Whether ``request`` may see the dashboard: a token of the viewer role or above
    (header or ``?token=``, see :mod:`feeds.auth`); with no token configured at all, only
    clients on the loopback interface (the demo of ``wirefeed run``)."""
    if not auth.tokens(request).configured:
        host = request.client.host if request.client else ""
        try:
            return ip_address(host).is_loopback
        except ValueError:
            return False
    who = auth.principal(request, query=True)
    return who is not None and who.can("viewer")


def _refused() -> Response:
    return JSONResponse(
        {"error": "the ops dashboard needs a viewer token (Authorization: Bearer, or ?token=)"},
        status_code=403,
    )


async def page(request: Request) -> Response:
    if not viewer(request):
        return _refused()
    return HTMLResponse(_PAGE, headers={"Cache-Control": "no-store"})


async def _json(request: Request) -> dict[str, object]:
    fleet = await snapshot(request.app.state.fleet, request.app.state.store, datetime.now(UTC))
    found = fleet.as_json()
    found["redis"] = "ok"
    found["now"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return found


async def data(request: Request) -> Response:
    if not viewer(request):
        return _refused()
    return JSONResponse(await _json(request), headers={"Cache-Control": "no-store"})


async def stream(request: Request) -> Response:
    if not viewer(request):
        return _refused()

    async def frames() -> AsyncIterator[bytes]:
        yield b"retry: 3000\n\n"
        while True:
            try:
                found: dict[str, object] = await _json(request)
            except Exception as exc:  # Redis away: say so on the page, keep streaming
                if not unreachable(exc):
                    raise
                found = {"redis": f"cannot reach Redis: {reason(exc)}"}
            body = json.dumps(found, separators=(",", ":"))
            yield f"event: fleet\ndata: {body}\n\n".encode()
            await asyncio.sleep(STREAM_EVERY)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
