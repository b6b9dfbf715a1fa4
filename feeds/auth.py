"""Who is asking: bearer tokens with roles over HTTP (see :mod:`config.tokens`).

A request names its token in ``Authorization: Bearer TOKEN``; the ops page and its stream may
also pass ``?token=`` (``EventSource`` cannot send headers), and the web desk sends its session
cookie (:mod:`feeds.desk`). :func:`require` answers 403 when no token is configured at all (the
admin API is off, never open), 401 with a challenge when the token is missing or unknown, and
403 when the role is too low.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.tokens import Principal, TokenFile

OFF = "the admin API is off: set WIREFEED_TOKENS_FILE or WIREFEED_ADMIN_TOKEN to turn it on"
WRONG = "missing or wrong admin token (Authorization: Bearer TOKEN)"


def tokens(request: Request) -> TokenFile:
    found: TokenFile = request.app.state.tokens
    return found


def bearer(request: Request, *, query: bool = False) -> str:
    """The token a request presents (header, or ``?token=`` where ``query``)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("token", "") if query else ""


def principal(request: Request, *, query: bool = False) -> Principal | None:
    """The principal behind the request's token or desk session, if any."""
    found = tokens(request).lookup(bearer(request, query=query))
    if found is None:
        session = getattr(request.state, "desk_principal", None)
        found = session if isinstance(session, Principal) else None
    return found


def require(request: Request, role: str) -> Principal | Response:
    """The request's principal if its role is at least ``role``, else the refusal."""
    if not tokens(request).configured:
        return error(403, OFF)
    who = principal(request)
    if who is None:
        response = error(401, WRONG)
        response.headers["WWW-Authenticate"] = 'Bearer realm="wirefeed admin"'
        return response
    if not who.can(role):
        return error(403, f"{who.name} is a {who.role}: this needs the {role} role or above")
    return who


def error(status: int, message: str) -> JSONResponse:
    """The one error shape of the admin API: ``{"error": MESSAGE}``."""
    return JSONResponse({"error": message}, status_code=status)
