"""The admin API: editors' overrides over HTTP. Every request needs the admin token.

::

    POST /admin/stories/{id}/rename   {"title": "..."}            ("" hands it back)
    POST /admin/stories/{id}/merge    {"from": "OTHER_ID"}         OTHER's entries move here
    POST /admin/stories/{id}/split    {"entries": [...], "title": "..."}   -> {"story": NEW_ID}
    POST /admin/stories/{id}/pin      {"entry": "ENTRY_ID"}        (null unpins)
    POST /admin/entries/{id}/kill     {"reason": "..."}
    POST /admin/entries/{id}/correct  {"note": "..."}
    GET  /admin/sources               every source's health (as `wirefeed sources status`)

Authentication: ``Authorization: Bearer TOKEN`` with the token of ``WIREFEED_ADMIN_TOKEN``,
compared in constant time. Without a configured token the API answers 403 to everything: it is
off by default, never open. Errors are JSON ``{"error": ...}`` naming the field at fault.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.settings import Settings
from ingest.editing import EditError
from ingest.store import RedisStore
from ingest.text import xml_safe

MAX_BODY = 64 * 1024
_STATUS = {"not_found": 404, "conflict": 409, "invalid": 400}

Handler = Callable[[Request, dict[str, Any], RedisStore, datetime], Awaitable[dict[str, Any]]]


def routes() -> list[Route]:
    return [
        Route("/admin/stories/{story_id:str}/rename", _guard(_rename), methods=["POST"]),
        Route("/admin/stories/{story_id:str}/merge", _guard(_merge), methods=["POST"]),
        Route("/admin/stories/{story_id:str}/split", _guard(_split), methods=["POST"]),
        Route("/admin/stories/{story_id:str}/pin", _guard(_pin), methods=["POST"]),
        Route("/admin/entries/{entry_id:str}/kill", _guard(_kill), methods=["POST"]),
        Route("/admin/entries/{entry_id:str}/correct", _guard(_correct), methods=["POST"]),
        Route("/admin/sources", _guard(_sources, body=False), methods=["GET"]),
        Route("/admin/held", _guard(_held, body=False), methods=["GET"]),
    ]


def _guard(handler: Handler, *, body: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, read and check the JSON body, map editing errors to statuses."""

    async def endpoint(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        refused = _refuse(request, settings.admin_token)
        if refused is not None:
            return refused
        data: dict[str, Any] = {}
        if body:
            parsed = await _json(request)
            if isinstance(parsed, Response):
                return parsed
            data = parsed
        try:
            result = await handler(request, data, request.app.state.store, datetime.now(UTC))
        except EditError as exc:
            return _error(_STATUS.get(exc.kind, 400), str(exc))
        return JSONResponse({"ok": True, **result})

    return endpoint


def _refuse(request: Request, token: str | None) -> Response | None:
    if not token:
        return _error(403, "the admin API is off: set WIREFEED_ADMIN_TOKEN to turn it on")
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode(), token.encode()
    ):
        response = _error(401, "missing or wrong admin token (Authorization: Bearer TOKEN)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="wirefeed admin"'
        return response
    return None


async def _json(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return _error(413, f"body over {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(400, f"body: not JSON: {exc}")
    if not isinstance(data, dict):
        return _error(400, "body: must be a JSON object")
    return data


def _text(data: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise EditError(
            "invalid",
            f"{name}: must be {'non-empty ' if required else ''}text, got {json.dumps(value)}",
        )
    return _plain(name, value).strip()


def _plain(name: str, value: str) -> str:
    """``value`` if it is text a feed can carry; JSON can spell lone surrogates and control
    characters, which no XML feed (nor Redis's UTF-8) can hold."""
    if xml_safe(value) != value:
        bad = next(c for c in value if xml_safe(c) != c)
        raise EditError("invalid", f"{name}: holds a character no feed can carry: U+{ord(bad):04X}")
    return value


async def _rename(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    if "title" not in data:
        raise EditError("invalid", 'title: required ("" hands the headline back)')
    story = request.path_params["story_id"]
    await store.rename(story, _text(data, "title"), now=now)
    return {"story": story}


async def _merge(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    story = request.path_params["story_id"]
    moved = await store.merge(story, _text(data, "from", required=True), now=now)
    return {"story": story, "moved": moved}


async def _split(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    entries = data.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise EditError(
            "invalid", f"entries: must be a list of entry ids, got {json.dumps(entries)}"
        )
    story = request.path_params["story_id"]
    entries = [_plain("entries", e) for e in entries]
    new = await store.split(story, entries, title=_text(data, "title"), now=now)
    return {"story": new, "from": story}


async def _pin(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    if "entry" not in data:
        raise EditError("invalid", "entry: required (null unpins)")
    entry = data["entry"]
    if entry is not None and not isinstance(entry, str):
        raise EditError("invalid", f"entry: must be an entry id or null, got {json.dumps(entry)}")
    entry = entry if entry is None else _plain("entry", entry)
    story = request.path_params["story_id"]
    await store.pin(story, entry, now=now)
    return {"story": story, "pinned": entry}


async def _kill(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    entry = request.path_params["entry_id"]
    reason = _text(data, "reason") or "killed by an editor"
    if not await store.kill(entry, reason=reason, now=now):
        raise EditError("not_found", f"no live entry {entry!r}")
    return {"entry": entry, "killed": True}


async def _correct(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    entry = request.path_params["entry_id"]
    if not await store.correct(entry, note=_text(data, "note") or None, now=now):
        raise EditError("not_found", f"no live entry {entry!r}")
    return {"entry": entry, "corrected": True}


async def _sources(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    sources = await store.get_sources()
    statuses = await store.source_statuses([s.id for s in sources])
    return {
        "sources": [
            {
                "id": s.id,
                "title": s.title,
                "url": s.url,
                "enabled": s.enabled,
                "state": "paused" if not s.enabled else statuses[s.id].state,
                "http_status": statuses[s.id].http_status,
                "last_error": statuses[s.id].last_error,
                "consecutive_failures": statuses[s.id].consecutive_failures,
            }
            for s in sources
        ]
    }


async def _held(
    request: Request, data: dict[str, Any], store: RedisStore, now: datetime
) -> dict[str, Any]:
    """Items held under embargo (see ingest.embargo), soonest release first."""
    return {
        "held": [
            {
                "source": h.source_id,
                "identity": h.item.identity,
                "title": h.item.title,
                "url": h.item.url,
                "until": h.until.isoformat(),
                "state": "held",
            }
            for h in await store.embargoes.held()
        ]
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
