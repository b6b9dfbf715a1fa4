"""The admin API's OpenAPI 3.1 document, served at ``/admin/openapi.json``.

Written here by hand next to the routes it describes (:mod:`feeds.admin`) and checked in the
suite: openapi-spec-validator accepts it, and schemathesis sends generated requests to every
route and checks each answer against it.
"""

from __future__ import annotations

from typing import Any

from config.sources import FILTER_FIELDS, KINDS

_ERROR = {"$ref": "#/components/schemas/Error"}
_ID = {"type": "string", "minLength": 1, "maxLength": 200}


def _answer(schema: dict[str, Any], description: str = "done") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "invalid request: the message names the field",
        401: "no token, or an unknown one",
        403: "the role is too low, or the admin API is off",
        404: "no such story, entry or source",
        409: "conflict: a merged story, a file-owned source, a paused source",
        413: "body too large",
        503: "storage unavailable; try again",
    }
    return {str(c): _answer(_ERROR, words[c]) for c in (401, 403, 503, *codes)}


def _op(
    summary: str,
    role: str,
    result: dict[str, Any],
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Needs the {role} role or above.",
        "security": [{"bearer": []}],
        "responses": {"200": _answer(result), **_errors(*errors)},
    }
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": body}},
        }
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(required),
        "additionalProperties": False,
    }


def _ok(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"ok": {"const": True}, **props},
        "required": ["ok", *props],
    }


_TEXT = {"type": "string"}
_RULES = {
    "type": "object",
    "description": "field -> a word or regular expression, matched case-insensitively",
    "propertyNames": {"enum": list(FILTER_FIELDS)},
    "additionalProperties": _TEXT,
}
_TIME = {"type": "string", "format": "date-time"}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000}
_SOURCE_FIELDS: dict[str, Any] = {
    "url": {"type": "string", "format": "uri"},
    "title": _TEXT,
    "kind": {"enum": list(KINDS)},
    "interval": {"type": "number", "minimum": 1},
    "min_interval": {"type": ["number", "null"], "minimum": 1},
    "max_interval": {"type": ["number", "null"], "minimum": 1},
    "enabled": {"type": "boolean"},
    "timezone": _TEXT,
    "tags": {"type": "array", "items": _TEXT},
    "headers": {"type": "object", "additionalProperties": _TEXT},
    "keep": _RULES,
    "block": _RULES,
}
_SOURCE = {
    "type": "object",
    "properties": {
        "id": _TEXT,
        **_SOURCE_FIELDS,
        "owner": {"enum": ["file", "api"]},
        "paused": {"type": "boolean"},
    },
    "required": ["id", "url", "owner", "paused"],
}
_ENTRY = {
    "type": "object",
    "properties": {
        "id": _TEXT,
        "title": _TEXT,
        "source": _TEXT,
        "published": _TIME,
        "url": {"type": ["string", "null"]},
        "corrected": {"type": "boolean"},
        "correction_note": {"type": ["string", "null"]},
    },
    "required": ["id", "title", "source"],
}
_PREVIEW = {
    "type": "object",
    "properties": {
        "title": _TEXT,
        "url": {"type": ["string", "null"]},
        "published": _TIME,
        "action": _TEXT,
        "story": _TEXT,
        "new_story": {"type": "boolean"},
        "story_title": {"type": ["string", "null"]},
    },
    "required": ["title", "action", "story", "new_story"],
}
_STORY = {
    "type": "object",
    "properties": {
        "id": _TEXT,
        "title": _TEXT,
        "updated": _TIME,
        "entry_count": {"type": "integer"},
        "sources": {"type": "array", "items": _TEXT},
        "pinned": {"type": ["string", "null"]},
        "closed": {"type": "boolean"},
        "entries": {"type": "array", "items": _ENTRY},
    },
    "required": ["id", "title", "updated", "entry_count", "sources"],
}
_AUDIT = {
    "type": "object",
    "properties": {
        "id": _TEXT,
        "at": _TIME,
        "who": _TEXT,
        "role": {"enum": ["viewer", "editor", "admin"]},
        "via": _TEXT,
        "action": _TEXT,
        "target": _TEXT,
        "before": {},
        "after": {},
        "note": _TEXT,
    },
    "required": ["id", "at", "who", "action", "target", "before", "after"],
}


def _story_routes() -> dict[str, Any]:
    story, entry = [_path("story_id")], [_path("entry_id")]
    story_ok = _ok({"story": _TEXT})
    return {
        "/admin/stories": {
            "get": _op(
                "Search stories: words in headlines and text, source, tag, time range",
                "viewer",
                _ok({"stories": {"type": "array", "items": _STORY}}),
                params=[
                    _query("q", _TEXT),
                    _query("source", _TEXT),
                    _query("tag", _TEXT),
                    _query("since", _TIME),
                    _query("until", _TIME),
                    _query("limit", _LIMIT),
                ],
                errors=(400,),
            )
        },
        "/admin/stories/{story_id}": {
            "get": _op(
                "A story with every entry and its id",
                "viewer",
                _ok({"story": _STORY}),
                params=story,
                errors=(404, 409),
            )
        },
        "/admin/stories/{story_id}/rename": {
            "post": _op(
                'Set the editor\'s headline ("" hands it back to the machine)',
                "editor",
                story_ok,
                body=_obj({"title": _TEXT}, ("title",)),
                params=story,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/stories/{story_id}/merge": {
            "post": _op(
                "Move every entry of another story here",
                "editor",
                _ok({"story": _TEXT, "moved": {"type": "integer"}}),
                body=_obj({"from": _TEXT}, ("from",)),
                params=story,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/stories/{story_id}/split": {
            "post": _op(
                "Move entries out into a new story",
                "editor",
                _ok({"story": _TEXT, "from": _TEXT}),
                body=_obj(
                    {"entries": {"type": "array", "items": _TEXT}, "title": _TEXT}, ("entries",)
                ),
                params=story,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/stories/{story_id}/pin": {
            "post": _op(
                "Pin an entry to the top of the story page (null unpins)",
                "editor",
                _ok({"story": _TEXT, "pinned": {"type": ["string", "null"]}}),
                body=_obj({"entry": {"type": ["string", "null"]}}, ("entry",)),
                params=story,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/stories/{story_id}/close": {
            "post": _op(
                "Close a story to similarity (explicit links still reach it)",
                "editor",
                _ok({"story": _TEXT, "closed": {"const": True}}),
                body=_obj({}),
                params=story,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/stories/{story_id}/reopen": {
            "post": _op(
                "Reopen a closed story to similarity",
                "editor",
                _ok({"story": _TEXT, "closed": {"const": False}}),
                body=_obj({}),
                params=story,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/entries/{entry_id}/kill": {
            "post": _op(
                "Withdraw an entry from every feed, for good",
                "editor",
                _ok({"entry": _TEXT, "killed": {"const": True}}),
                body=_obj({"reason": _TEXT}),
                params=entry,
                errors=(400, 404, 413),
            )
        },
        "/admin/entries/{entry_id}/unkill": {
            "post": _op(
                "Lift an editor's kill: the item comes back with its source's next poll",
                "editor",
                _ok({"entry": _TEXT, "killed": {"const": False}}),
                body=_obj({"reason": _TEXT}),
                params=entry,
                errors=(400, 404, 409, 413),
            )
        },
        "/admin/entries/{entry_id}/correct": {
            "post": _op(
                "Flag an entry as corrected, with a note",
                "editor",
                _ok({"entry": _TEXT, "corrected": {"const": True}}),
                body=_obj({"note": _TEXT}),
                params=entry,
                errors=(400, 404, 413),
            )
        },
    }


def _source_routes() -> dict[str, Any]:
    src = [_path("source_id")]
    one = _ok({"source": _SOURCE})

    def switch(summary: str, result: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": _op(
                summary, "editor", _ok(result), body=_obj({}), params=src, errors=(400, 404, 409)
            )
        }

    return {
        "/admin/sources": {
            "get": _op(
                "Every source: owner, state, last error; and owners' conflicts",
                "viewer",
                _ok(
                    {
                        "sources": {"type": "array", "items": {"type": "object"}},
                        "conflicts": {"type": "object", "additionalProperties": _TEXT},
                    }
                ),
            ),
            "post": _op(
                "Create a source owned by the API",
                "editor",
                one,
                body=_obj({"id": _TEXT, **_SOURCE_FIELDS}, ("id", "url")),
                errors=(400, 409, 413),
            ),
        },
        "/admin/sources/export.opml": {
            "get": {
                "summary": "Every source as OPML 2.0 (round trip with import)",
                "description": "Needs the viewer role or above.",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {
                        "description": "the OPML document",
                        "content": {"text/x-opml": {"schema": {"type": "string"}}},
                    },
                    **_errors(),
                },
            }
        },
        "/admin/sources/import": {
            "post": {
                "summary": "Create the sources an OPML document lists, all or none",
                "description": "Needs the editor role or above.",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {"text/x-opml": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "200": _answer(_ok({"imported": {"type": "array", "items": _TEXT}})),
                    **_errors(400, 409, 413),
                },
            }
        },
        "/admin/sources/preview": {
            "post": _op(
                "Fetch and parse a URL, storing nothing: each item and the story it would join",
                "editor",
                _ok(
                    {
                        "entries": {"type": "integer"},
                        "filtered": {"type": "integer"},
                        "items": {"type": "array", "items": _PREVIEW},
                    }
                ),
                body=_obj(
                    {
                        "url": _SOURCE_FIELDS["url"],
                        "kind": _SOURCE_FIELDS["kind"],
                        "timezone": _TEXT,
                        "keep": _SOURCE_FIELDS["keep"],
                        "block": _SOURCE_FIELDS["block"],
                    },
                    ("url",),
                ),
                errors=(400, 413),
            )
        },
        "/admin/sources/{source_id}": {
            "get": _op(
                "One source as its owner defines it, and its status",
                "viewer",
                _ok({"source": _SOURCE, "status": {"type": "object"}}),
                params=src,
                errors=(404,),
            ),
            "patch": _op(
                "Change fields of an API-owned source (file-owned ones are refused)",
                "editor",
                one,
                body=_obj(_SOURCE_FIELDS),
                params=src,
                errors=(400, 404, 409, 413),
            ),
            "delete": _op(
                "Delete an API-owned source (file-owned ones are refused)",
                "editor",
                _ok({"source": _TEXT, "deleted": {"const": True}}),
                params=src,
                errors=(400, 404, 409),
            ),
        },
        "/admin/sources/{source_id}/pause": switch(
            "Pause a source (either owner)", {"source": _TEXT, "paused": {"const": True}}
        ),
        "/admin/sources/{source_id}/resume": switch(
            "Resume a paused source", {"source": _TEXT, "paused": {"const": False}}
        ),
        "/admin/sources/{source_id}/fetch": switch(
            "Make a source due now", {"source": _TEXT, "due": {"const": "now"}}
        ),
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the admin API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wirefeed admin API",
            "version": "1",
            "description": (
                "Editors' overrides, sources and the audit trail. Bearer tokens with roles "
                "(viewer < editor < admin); every change is audited."
            ),
        },
        "paths": {
            "/admin/whoami": {
                "get": _op(
                    "Who the token belongs to",
                    "viewer",
                    _ok({"name": _TEXT, "role": {"enum": ["viewer", "editor", "admin"]}}),
                )
            },
            **_story_routes(),
            **_source_routes(),
            "/admin/audit": {
                "get": _op(
                    "The audit trail, newest first",
                    "editor",
                    _ok({"audit": {"type": "array", "items": _AUDIT}}),
                    params=[
                        _query("who", _TEXT),
                        _query("action", _TEXT),
                        _query("target", _TEXT),
                        _query("since", _TIME),
                        _query("until", _TIME),
                        _query("limit", _LIMIT),
                    ],
                    errors=(400,),
                )
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": _TEXT},
                    "required": ["error"],
                    "additionalProperties": False,
                }
            },
        },
    }
