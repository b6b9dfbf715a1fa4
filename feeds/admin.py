"""The admin API: sources, stories and the audit trail over HTTP, with roles. Documented as
OpenAPI 3.1 at ``/admin/openapi.json`` (:mod:`feeds.openapi`).

::

    GET    /admin/whoami                      viewer   who the token belongs to
    GET    /admin/sources                     viewer   every source: owner, state, conflicts
    POST   /admin/sources                     editor   create an API-owned source
    GET    /admin/sources/{id}                viewer
    PATCH  /admin/sources/{id}                editor   change fields (API-owned only)
    DELETE /admin/sources/{id}                editor   (API-owned only)
    POST   /admin/sources/{id}/pause|resume|fetch      editor
    GET    /admin/sources/export.opml         viewer   every source as OPML 2.0
    POST   /admin/sources/import              editor   an OPML body: its sources, all or none
    POST   /admin/sources/preview {"url": ...} editor  fetch and parse, store nothing: each
                                                       item and the story it would join
    GET    /admin/stories?q=&source=&tag=&since=&until=&limit=   viewer   search
    GET    /admin/stories/{id}                viewer   a story with its entry ids
    POST   /admin/stories/{id}/rename   {"title": "..."}            ("" hands it back)
    POST   /admin/stories/{id}/merge    {"from": "OTHER_ID"}         OTHER's entries move here
    POST   /admin/stories/{id}/split    {"entries": [...], "title": "..."}   -> {"story": NEW_ID}
    POST   /admin/stories/{id}/pin      {"entry": "ENTRY_ID"}        (null unpins)
    POST   /admin/stories/{id}/close, /reopen                   closed to similarity, or not
    POST   /admin/entries/{id}/kill     {"reason": "..."}
    POST   /admin/entries/{id}/unkill   {"reason": "..."}            back with the next poll
    POST   /admin/entries/{id}/correct  {"note": "..."}
    GET    /admin/audit?who=&action=&target=&since=&until=&limit=    editor

Every POST, PATCH and DELETE needs the editor role or above and is audited
(:mod:`ingest.desk`). Tokens and roles: :mod:`feeds.auth`. A body field the route does not take
is refused by name. Errors are JSON ``{"error": MESSAGE}`` naming the field at fault, with 400
(invalid), 401 (no or unknown token), 403 (role too low, or the API off), 404, 409 (conflict:
a merged story, a file-owned source), 413 (body too large).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.opml import export_opml, parse_opml
from config.settings import Settings
from config.sources import FIELDS, SourcesError, check_source, source_fields
from config.tokens import Principal
from feeds import auth, desk, openapi
from feeds.auth import error
from ingest import compose
from ingest.desk import EditorsDesk
from ingest.errors import FetchError, ParseError
from ingest.pipeline import preview_source
from ingest.search import StoryQuery, limit, search_stories, story_json, when
from ingest.store.audit import Actor, AuditFilter
from ingest.store.editing import EditError
from ingest.store.redis_store import RedisStore
from ingest.store.registry import OwnershipError
from ingest.text import xml_safe

MAX_BODY = 64 * 1024
MAX_OPML = 2 * 1024 * 1024
_STATUS = {"not_found": 404, "conflict": 409, "invalid": 400}
SOURCE_FIELDS = tuple(FIELDS)
AUDIT_PARAMS = ("who", "action", "target", "since", "until", "limit")


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request's context: who, the desk acting for them, and now."""

    who: Principal
    desk: EditorsDesk
    store: RedisStore
    now: datetime


Handler = Callable[[Request, dict[str, Any], Call], Awaitable[dict[str, Any]]]


def routes() -> list[Route]:
    s, e = "/admin/stories/{story_id:str}", "/admin/entries/{entry_id:str}"
    src = "/admin/sources/{source_id:str}"
    return [
        Route("/admin/openapi.json", _openapi, methods=["GET"]),
        Route("/admin/whoami", endpoint(_whoami, "viewer"), methods=["GET"]),
        Route("/admin/stories", endpoint(_stories, "viewer"), methods=["GET"]),
        Route(s, endpoint(_story, "viewer"), methods=["GET"]),
        Route(s + "/rename", endpoint(_rename, "editor", ("title",)), methods=["POST"]),
        Route(s + "/merge", endpoint(_merge, "editor", ("from",)), methods=["POST"]),
        Route(s + "/split", endpoint(_split, "editor", ("entries", "title")), methods=["POST"]),
        Route(s + "/pin", endpoint(_pin, "editor", ("entry",)), methods=["POST"]),
        Route(s + "/close", endpoint(_close, "editor", ()), methods=["POST"]),
        Route(s + "/reopen", endpoint(_reopen, "editor", ()), methods=["POST"]),
        Route(e + "/kill", endpoint(_kill, "editor", ("reason",)), methods=["POST"]),
        Route(e + "/unkill", endpoint(_unkill, "editor", ("reason",)), methods=["POST"]),
        Route(e + "/correct", endpoint(_correct, "editor", ("note",)), methods=["POST"]),
        _methods(
            "/admin/sources",
            GET=endpoint(_sources, "viewer"),
            POST=endpoint(_create, "editor", SOURCE_FIELDS),
        ),
        Route("/admin/sources/export.opml", _export, methods=["GET"]),
        Route("/admin/sources/import", _import, methods=["POST"]),
        Route(
            "/admin/sources/preview",
            endpoint(_preview, "editor", ("url", "kind", "timezone", "keep", "block")),
            methods=["POST"],
        ),
        _methods(
            src,
            GET=endpoint(_source, "viewer"),
            PATCH=endpoint(_update, "editor", SOURCE_FIELDS[1:]),
            DELETE=endpoint(_delete, "editor", ()),
        ),
        Route(src + "/pause", endpoint(_pause, "editor", ()), methods=["POST"]),
        Route(src + "/resume", endpoint(_resume, "editor", ()), methods=["POST"]),
        Route(src + "/fetch", endpoint(_fetch, "editor", ()), methods=["POST"]),
        Route("/admin/audit", endpoint(_audit, "editor"), methods=["GET"]),
        Route("/admin/held", endpoint(_held, "viewer"), methods=["GET"]),
    ]


def _methods(path: str, **by_method: Callable[[Request], Awaitable[Response]]) -> Route:
    """One route for several methods, so a 405 names every method the path allows."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await by_method[method](request)

    return Route(path, dispatch, methods=list(by_method))


def endpoint(
    handler: Handler, role: str, fields: tuple[str, ...] | None = None, *, via: str = "api"
) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate (``role`` or above), read the JSON body when the route takes one
    (``fields``: the names it takes; any other is refused), map desk errors to statuses."""

    async def run(request: Request) -> Response:
        refused = await desk.attach(request)  # a web desk session stands for a token
        if refused is not None:
            return refused
        who = auth.require(request, role)
        if isinstance(who, Response):
            return who
        data: dict[str, Any] = {}
        if fields is not None:
            parsed = await _json(request, fields)
            if isinstance(parsed, Response):
                return parsed
            data = parsed
        store: RedisStore = request.app.state.store
        way = getattr(request.state, "desk_via", via)
        acting = EditorsDesk(store, Actor(who.name, who.role, way))
        try:
            result = await handler(request, data, Call(who, acting, store, datetime.now(UTC)))
        except (EditError, OwnershipError) as exc:
            return error(_STATUS.get(exc.kind, 400), str(exc))
        return JSONResponse({"ok": True, **result})

    return run


async def _json(request: Request, fields: tuple[str, ...]) -> dict[str, Any] | Response:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return error(413, f"body over {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return error(400, f"body: not JSON: {exc}")
    if not isinstance(data, dict):
        return error(400, "body: must be a JSON object")
    for name in data:
        if name not in fields:
            expected = f"expected {', '.join(fields)}" if fields else "this route takes none"
            return error(400, f"{name}: unknown field ({expected})")
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


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi.document())


async def _whoami(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    return {"name": call.who.name, "role": call.who.role}


# -- stories ----------------------------------------------------------------------------------


async def _stories(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    query = StoryQuery.from_params(request.query_params)
    found = await search_stories(call.store, query)
    return {"stories": [story_json(s, entries=False) for s in found]}


async def _story(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    story_id = request.path_params["story_id"]
    found = await call.store.story(story_id)
    if found is None:
        into = await call.store.merged_into(story_id)
        why = f"story {story_id!r} was merged into {into!r}" if into else f"no story {story_id!r}"
        raise EditError("conflict" if into else "not_found", why)
    state = await call.desk.story_state(story_id)
    closed = bool(state and state["closed"])
    return {"story": {**story_json(found, entries=True), "closed": closed}}


async def _rename(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    if "title" not in data:
        raise EditError("invalid", 'title: required ("" hands the headline back)')
    story = request.path_params["story_id"]
    await call.desk.rename(story, _text(data, "title"), now=call.now)
    return {"story": story}


async def _merge(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    story = request.path_params["story_id"]
    moved = await call.desk.merge(story, _text(data, "from", required=True), now=call.now)
    return {"story": story, "moved": moved}


async def _split(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    entries = data.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise EditError(
            "invalid", f"entries: must be a list of entry ids, got {json.dumps(entries)}"
        )
    story = request.path_params["story_id"]
    entries = [_plain("entries", e) for e in entries]
    new = await call.desk.split(story, entries, title=_text(data, "title"), now=call.now)
    return {"story": new, "from": story}


async def _pin(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    if "entry" not in data:
        raise EditError("invalid", "entry: required (null unpins)")
    entry = data["entry"]
    if entry is not None and not isinstance(entry, str):
        raise EditError("invalid", f"entry: must be an entry id or null, got {json.dumps(entry)}")
    entry = entry if entry is None else _plain("entry", entry)
    story = request.path_params["story_id"]
    await call.desk.pin(story, entry, now=call.now)
    return {"story": story, "pinned": entry}


async def _close(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    story = request.path_params["story_id"]
    await call.desk.close(story, True, now=call.now)
    return {"story": story, "closed": True}


async def _reopen(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    story = request.path_params["story_id"]
    await call.desk.close(story, False, now=call.now)
    return {"story": story, "closed": False}


async def _kill(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    entry = request.path_params["entry_id"]
    reason = _text(data, "reason") or "killed by an editor"
    await call.desk.kill(entry, reason=reason, now=call.now)
    return {"entry": entry, "killed": True}


async def _unkill(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    entry = request.path_params["entry_id"]
    await call.desk.unkill(entry, reason=_text(data, "reason"), now=call.now)
    return {"entry": entry, "killed": False}


async def _correct(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    entry = request.path_params["entry_id"]
    await call.desk.correct(entry, note=_text(data, "note") or None, now=call.now)
    return {"entry": entry, "corrected": True}


# -- sources ----------------------------------------------------------------------------------


async def _sources(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    registry = call.desk.registry
    sources, conflicts = await registry.composed()
    statuses = await call.store.source_statuses([s.id for s in sources])
    owners = {s.id: await registry.owner(s.id) for s in sources}
    paused = await registry.paused()
    return {
        "sources": [
            {
                "id": s.id,
                "title": s.title,
                "url": s.url,
                "tags": list(s.tags),
                "owner": owners[s.id],
                "enabled": s.enabled,
                "paused": s.id in paused,
                "state": "paused" if not s.enabled else statuses[s.id].state,
                "http_status": statuses[s.id].http_status,
                "last_error": statuses[s.id].last_error,
                "consecutive_failures": statuses[s.id].consecutive_failures,
            }
            for s in sources
        ],
        "conflicts": conflicts,
    }


async def _source(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source_id = request.path_params["source_id"]
    state = await call.desk.source_state(source_id)
    if state is None:
        raise EditError("not_found", f"no source {source_id!r}")
    status = await call.store.source_status(source_id)
    return {
        "source": state,
        "status": {
            "state": "paused" if state["paused"] or not state["enabled"] else status.state,
            "http_status": status.http_status,
            "last_error": status.last_error,
            "consecutive_failures": status.consecutive_failures,
        },
    }


def _checked(raw: dict[str, Any]) -> Any:
    try:
        return check_source(raw, "body")
    except SourcesError as exc:
        problems = (p.removeprefix("body: ") for p in exc.problems)
        raise EditError("invalid", "; ".join(problems)) from None


async def _create(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source = _checked(data)
    await call.desk.create_source(source, now=call.now)
    return {"source": await call.desk.source_state(source.id)}


async def _update(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source_id = request.path_params["source_id"]
    current = await call.desk.registry.definition(source_id)
    if current is None:
        raise EditError("not_found", f"no source {source_id!r}")
    await call.desk.registry.check_api_owned(source_id, "change")
    source = _checked({**source_fields(current), **data})
    await call.desk.update_source(source, now=call.now)
    return {"source": await call.desk.source_state(source_id)}


async def _delete(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source_id = request.path_params["source_id"]
    await call.desk.delete_source(source_id, now=call.now)
    return {"source": source_id, "deleted": True}


async def _pause(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source_id = request.path_params["source_id"]
    await call.desk.pause_source(source_id, True, now=call.now)
    return {"source": source_id, "paused": True}


async def _resume(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source_id = request.path_params["source_id"]
    await call.desk.pause_source(source_id, False, now=call.now)
    return {"source": source_id, "paused": False}


async def _fetch(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    source_id = request.path_params["source_id"]
    await call.desk.fetch_source(source_id, now=call.now)
    return {"source": source_id, "due": "now"}


async def _authorized(request: Request, role: str) -> Principal | Response:
    refused = await desk.attach(request)
    return refused if refused is not None else auth.require(request, role)


async def _export(request: Request) -> Response:
    """Every source as OPML 2.0 (:mod:`config.opml`), as its owner defines it."""
    who = await _authorized(request, "viewer")
    if isinstance(who, Response):
        return who
    store: RedisStore = request.app.state.store
    acting = EditorsDesk(store, Actor(who.name, who.role, "api"))
    sources, _ = await acting.registry.composed()
    defined = [await acting.registry.definition(s.id) or s for s in sources]
    return Response(export_opml(defined), media_type="text/x-opml; charset=utf-8")


async def _import(request: Request) -> Response:
    """Create the sources of an OPML document (the body), all or none."""
    who = await _authorized(request, "editor")
    if isinstance(who, Response):
        return who
    raw = await request.body()
    if len(raw) > MAX_OPML:
        return error(413, f"body over {MAX_OPML} bytes")
    try:
        sources = parse_opml(raw, "body")
    except SourcesError as exc:
        return error(400, "; ".join(p.removeprefix("body: ") for p in exc.problems))
    store: RedisStore = request.app.state.store
    way = getattr(request.state, "desk_via", "api")
    acting = EditorsDesk(store, Actor(who.name, who.role, way))
    try:
        created = await acting.import_sources(sources, now=datetime.now(UTC))
    except (EditError, OwnershipError) as exc:
        return error(_STATUS.get(exc.kind, 400), str(exc))
    return JSONResponse({"ok": True, "imported": created})


async def _preview(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """Fetch and parse a URL as a source would be, storing nothing: each item, what a poll
    would do with it and the story it would join (``new_story``: one it would open)."""
    source = _checked({"id": "preview", **data})
    settings: Settings = request.app.state.settings
    fetcher = compose.fetcher(settings)
    policy = compose.ingest_policy(settings)
    try:
        plans, entries, filtered = await preview_source(
            source, fetcher=fetcher, store=call.store, now=call.now, policy=policy
        )
    except (FetchError, ParseError) as exc:
        raise EditError("invalid", f"url: {exc}") from None
    finally:
        await fetcher.aclose()
    known = {
        s.id: s.title for s in await call.store.stories([p.assignment.story_id for p in plans])
    }
    return {
        "entries": entries,
        "filtered": filtered,
        "items": [
            {
                "title": p.item.title,
                "url": p.item.url,
                "published": p.item.published.isoformat().replace("+00:00", "Z"),
                "action": p.decision.action.value,
                "story": p.assignment.story_id,
                "new_story": p.assignment.new_story,
                "story_title": known.get(p.assignment.story_id),
            }
            for p in plans
        ],
    }


# -- audit ------------------------------------------------------------------------------------


async def _audit(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    params = request.query_params
    for name in params:
        if name not in AUDIT_PARAMS:
            raise EditError(
                "invalid", f"{name}: unknown parameter (expected {', '.join(AUDIT_PARAMS)})"
            )
    wanted = AuditFilter(
        who=params.get("who") or None,
        action=params.get("action") or None,
        target=params.get("target") or None,
        since=when(params.get("since"), "since"),
        until=when(params.get("until"), "until"),
        limit=limit(params.get("limit"), 100),
    )
    found = await call.desk.audit.query(wanted)
    return {"audit": [r.as_json() for r in found]}


async def _held(request: Request, data: dict[str, Any], call: Call) -> dict[str, Any]:
    """Items held under embargo (see ingest.store.embargo), soonest release first."""
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
            for h in await call.store.embargoes.held()
        ]
    }
