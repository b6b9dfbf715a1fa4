"""The web desk at ``/desk``: editors search stories, fix them and manage sources in a
browser, through the admin API itself (:mod:`feeds.admin`), so every action is checked and
audited exactly as over HTTP with a token.

::

    GET  /desk/login      a form asking for the person's token
    POST /desk/login      token -> a session (cookie ``wf_desk``), then to /desk
    POST /desk/logout     ends the session
    GET  /desk            the desk (a page whose script calls /admin/...)

Sessions live in Redis (:class:`ingest.store.sessions.RedisSessions`, 12 hours) and hold the token's
digest, never the token: a token rotated out of the tokens file ends its sessions at the next
request. The cookie is ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` when the request came
over HTTPS. CSRF: each session has a random token, written into the page; the admin API accepts
a cookie-authenticated change only with that token in ``X-CSRF-Token`` (a bearer token needs
none: a browser never sends one by itself).
"""

from __future__ import annotations

import hmac
import html
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from config.tokens import digest
from feeds import auth

COOKIE = "wf_desk"
SESSION_SECONDS = 12 * 3600
_PAGE = (Path(__file__).parent / "desk.html").read_text(encoding="utf-8")
_LOGIN = """<!doctype html><html lang="en"><meta charset="utf-8">
<title>wirefeed desk: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;padding:.4rem}input{width:100%;box-sizing:border-box}
.error{color:#a00}</style>
<h1>wirefeed desk</h1>
<form method="post" action="/desk/login">
<label for="token">Your token</label>
<p><input id="token" name="token" type="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button>
</form>
<p class="error" role="alert">{error}</p>
"""


def routes() -> list[Route]:
    return [
        Route("/desk", page, methods=["GET"]),
        Route("/desk/login", login_form, methods=["GET"]),
        Route("/desk/login", login, methods=["POST"]),
        Route("/desk/logout", logout, methods=["POST"]),
    ]


async def _session(request: Request) -> dict[str, str] | None:
    sid = request.cookies.get(COOKIE)
    if not sid:
        return None
    session: dict[str, str] | None = await request.app.state.sessions.get(sid)
    return session


async def attach(request: Request) -> Response | None:
    """Let a desk session stand for a token on an admin API request: who it is, by way of
    the desk; a change needs the session's CSRF token. ``None`` when the request may go on."""
    if auth.bearer(request) or COOKIE not in request.cookies:
        return None
    session = await _session(request)
    who = auth.tokens(request).by_digest(session["digest"]) if session else None
    if session is None or who is None:
        return None  # as without a session: the API answers 401
    if request.method not in ("GET", "HEAD"):
        given = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(given.encode(), session["csrf"].encode()):
            return auth.error(403, "CSRF token missing or wrong (X-CSRF-Token): reload the desk")
    request.state.desk_principal = who
    request.state.desk_via = "desk"
    return None


async def login_form(request: Request) -> Response:
    return HTMLResponse(_LOGIN.replace("{error}", ""), headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    raw = await request.body()
    token = (parse_qs(raw.decode("utf-8", "replace")[:4096]).get("token") or [""])[0].strip()
    who = auth.tokens(request).lookup(token) if token else None
    if who is None:
        message = "That token is not known here." if token else "Enter your token."
        return HTMLResponse(_LOGIN.replace("{error}", message), status_code=401)
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session = {"digest": digest(token), "csrf": csrf}
    await request.app.state.sessions.put(sid, session, SESSION_SECONDS)
    response = RedirectResponse("/desk", status_code=303)
    response.set_cookie(
        COOKIE,
        sid,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    sid = request.cookies.get(COOKIE)
    if sid:
        await request.app.state.sessions.drop(sid)
    response = RedirectResponse("/desk/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def page(request: Request) -> Response:
    session = await _session(request)
    who = auth.tokens(request).by_digest(session["digest"]) if session else None
    if session is None or who is None:
        return RedirectResponse("/desk/login", status_code=303)
    body = (
        _PAGE.replace("{{csrf}}", session["csrf"])
        .replace("{{role}}", who.role)
        .replace("{{name}}", html.escape(who.name))
    )
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})
