"""The admin API over real HTTP: who may use it, and what it answers to every request, good or
bad. A bad request gets a status and a message naming the field at fault, changes nothing
stored, and leaves the app serving readers.

The newsroom and its helpers are those of :mod:`tests.integration.test_overrides`; what the
overrides look like to readers is tested there. Here: authentication, request validation and
each endpoint's answers.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from config.settings import Settings, SettingsError
from ingest import keys
from tests.support import child_env, serve_app
from tests.support.desk import (
    ACID_TITLE,
    LEAK_TITLE,
    REOPEN_TITLE,
    SHORT,
    SOURCES,
    TOKEN,
    Newsroom,
    client,
    get_valid,
    placement,
    story_titles,
)

OFF = "the admin API is off: set WIREFEED_TOKENS_FILE or WIREFEED_ADMIN_TOKEN to turn it on"
WRONG = "missing or wrong admin token (Authorization: Bearer TOKEN)"
CHALLENGE = 'Bearer realm="wirefeed admin"'
NO_STORY = "nosuchstory0"
NO_ENTRY = "0123456789abcdef0123"

Case = tuple[str, Any, int, str]
"""A request and its answer: (label, JSON body, status, error message)."""


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    env = {"WIREFEED_REDIS_URL": clean_redis, "WIREFEED_ADMIN_TOKEN": TOKEN}
    with serve_app(Settings.from_env(env)) as url:
        yield url


# -- helpers ----------------------------------------------------------------------------------


async def stored(rclient: aioredis.Redis) -> dict[str, Any]:
    """Everything an override could change: where each entry is, each story's meta, entries
    and credits, and the tombstones."""
    where = await placement(rclient)
    state: dict[str, Any] = {"placement": where}
    for sid in sorted(set(where.values())):
        state[sid] = (
            await rclient.hgetall(keys.story_meta(sid)),
            await rclient.hgetall(keys.story_entries(sid)),
            await rclient.hgetall(keys.story_also(sid)),
        )
    state["tombstones"] = sorted([k async for k in rclient.scan_iter(match=keys.tombstone("*"))])
    return state


async def expect(admin: httpx.AsyncClient, path: str, cases: list[Case]) -> None:
    """POST each case's body to ``path``: the status and the ``{"error": ...}`` it names."""
    for label, body, status, message in cases:
        response = await admin.post(path, json=body)
        assert (response.status_code, response.json()) == (status, {"error": message}), label
        assert response.headers["content-type"] == "application/json", label


def routes(room: Newsroom) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every admin route, with a body that would be accepted."""
    return [
        ("POST", f"/admin/stories/{room.live}/rename", {"title": "Hijacked"}),
        ("POST", f"/admin/stories/{room.strike}/merge", {"from": room.live}),
        ("POST", f"/admin/stories/{room.live}/split", {"entries": [room.eid("u1")]}),
        ("POST", f"/admin/stories/{room.live}/pin", {"entry": room.eid("u1")}),
        ("POST", f"/admin/entries/{room.eid('u2')}/kill", {}),
        ("POST", f"/admin/entries/{room.eid('u2')}/correct", {"note": "Hijacked"}),
        ("GET", "/admin/sources", None),
    ]


# -- authentication ---------------------------------------------------------------------------


async def test_without_a_configured_token_the_api_is_off(
    room: Newsroom, clean_redis: str, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    with serve_app(Settings.from_env({"WIREFEED_REDIS_URL": clean_redis})) as url:
        for token in (None, TOKEN):
            async with client(url, token) as anyone:
                for method, path, body in routes(room):
                    response = await anyone.request(method, path, json=body)
                    assert response.status_code == 403, (token, path)
                    assert response.json() == {"error": OFF}, (token, path)
        async with client(url) as reader:
            assert (await reader.get(f"/stories/{room.live}")).status_code == 200
    assert await stored(rclient) == before


REFUSED_AUTHORIZATIONS = [  # (label, Authorization header or None for none)
    ("no-header", None),
    ("empty", ""),
    ("scheme-alone", "Bearer"),
    ("one-character-short", f"Bearer {TOKEN[:-1]}"),
    ("one-character-long", f"Bearer {TOKEN}x"),
    ("other-case", f"Bearer {TOKEN.upper()}"),
    ("wrong", "Bearer another-token-of-the-same-size"),
    ("no-scheme", TOKEN),
    ("other-scheme", f"Token {TOKEN}"),
    ("basic-auth", "Basic " + base64.b64encode(f"admin:{TOKEN}".encode()).decode()),
]


async def test_a_missing_or_wrong_token_is_refused_with_a_challenge(
    room: Newsroom, app_url: str, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    async with client(app_url) as stranger:
        for label, authorization in REFUSED_AUTHORIZATIONS:
            headers = {"Authorization": authorization} if authorization is not None else {}
            for method, path, body in routes(room):
                response = await stranger.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (label, path)
                assert response.json() == {"error": WRONG}, (label, path)
                assert response.headers["www-authenticate"] == CHALLENGE, (label, path)
        # Authentication comes first: a stranger's body is never read.
        path = f"/admin/stories/{room.live}/rename"
        for raw in (b"x" * (70 * 1024), b"{oops", b"[]"):
            response = await stranger.post(path, content=raw)
            assert (response.status_code, response.json()) == (401, {"error": WRONG})
    assert await stored(rclient) == before


async def test_the_token_is_compared_in_constant_time_in_any_spelling_of_the_scheme(
    room: Newsroom, admin: httpx.AsyncClient, app_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every comparison, right or wrong, of any length, goes through hmac.compare_digest
    (timing is not measured: see its documentation)."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert (await admin.get("/admin/sources")).status_code == 200
    async with client(app_url, "x" * 40) as stranger:
        assert (await stranger.get("/admin/sources")).status_code == 401
    async with client(app_url, TOKEN[:-1] + "?") as stranger:
        assert (await stranger.get("/admin/sources")).status_code == 401
    assert compared == [
        (TOKEN.encode(), TOKEN.encode()),
        (b"x" * 40, TOKEN.encode()),
        ((TOKEN[:-1] + "?").encode(), TOKEN.encode()),
    ]

    # The scheme is matched in any case, and the space after it may be wider.
    async with client(app_url) as editor:
        for authorization in (f"bearer {TOKEN}", f"BEARER   {TOKEN}"):
            headers = {"Authorization": authorization}
            response = await editor.get("/admin/sources", headers=headers)
            assert response.status_code == 200, (authorization, response.text)
            assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        pytest.param(None, None, id="unset-is-off"),
        pytest.param("   ", None, id="blank-is-off"),
        pytest.param("s" * 16, "s" * 16, id="16-characters"),
        pytest.param(f"  {TOKEN}\n", TOKEN, id="surrounding-space-is-trimmed"),
        pytest.param("s" * 15, SHORT, id="15-characters"),
        pytest.param("hunter2", SHORT, id="short"),
    ],
)
def test_the_token_setting_is_validated(raw: str | None, token: str | None) -> None:
    env = {"WIREFEED_ADMIN_TOKEN": raw} if raw is not None else {}
    if token == SHORT:
        with pytest.raises(SettingsError) as refused:
            Settings.from_env(env)
        assert str(refused.value) == SHORT
    else:
        assert Settings.from_env(env).admin_token == token


def test_the_web_app_refuses_to_start_with_a_short_token(clean_redis: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "feeds"],
        env=child_env(
            WIREFEED_REDIS_URL=clean_redis,
            WIREFEED_ADMIN_TOKEN="s" * 15,
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"wirefeed web: {SHORT}\n")


# -- request bodies and methods ---------------------------------------------------------------


def _not_json(raw: bytes) -> str:
    try:
        json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"body: not JSON: {exc}"
    raise AssertionError(f"{raw!r} is JSON")


async def test_a_body_that_is_not_one_json_object_is_refused(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    path = f"/admin/stories/{room.live}/rename"
    just_too_big = json.dumps({"title": "x" * (64 * 1024)})[: 64 * 1024 + 1].encode()
    fits = json.dumps({"title": "x" * (64 * 1024 - 13)}).encode()
    assert (len(just_too_big), len(fits)) == (64 * 1024 + 1, 64 * 1024)
    cases = [
        ("not-json", b"{oops", 400, _not_json(b"{oops")),
        ("truncated", b'{"title": "Westhaven', 400, _not_json(b'{"title": "Westhaven')),
        ("not-utf-8", b'{"title": "\xff"}', 400, _not_json(b'{"title": "\xff"}')),
        ("list", b'["title"]', 400, "body: must be a JSON object"),
        ("string", b'"title"', 400, "body: must be a JSON object"),
        ("number", b"42", 400, "body: must be a JSON object"),
        ("null", b"null", 400, "body: must be a JSON object"),
        ("empty", b"", 400, 'title: required ("" hands the headline back)'),
        ("blank", b" \r\n", 400, 'title: required ("" hands the headline back)'),
        ("over-64-KiB", just_too_big, 413, "body over 65536 bytes"),
        ("64-KiB", fits, 400, f"title: at most 300 characters, got {64 * 1024 - 13}"),
    ]
    for label, raw, status, message in cases:
        response = await admin.post(path, content=raw)
        assert (response.status_code, response.json()) == (status, {"error": message}), label
    assert await stored(rclient) == before


async def test_a_wrong_method_is_405(room: Newsroom, admin: httpx.AsyncClient) -> None:
    live, u2 = room.live, room.eid("u2")
    for method, path, allowed in [
        ("GET", f"/admin/stories/{live}/rename", "POST"),
        ("PUT", f"/admin/stories/{live}/merge", "POST"),
        ("PATCH", f"/admin/stories/{live}/split", "POST"),
        ("DELETE", f"/admin/stories/{live}/pin", "POST"),
        ("DELETE", f"/admin/entries/{u2}/kill", "POST"),
        ("GET", f"/admin/entries/{u2}/correct", "POST"),
        ("PUT", "/admin/sources", "GET, HEAD, POST"),
    ]:
        response = await admin.request(method, path, json={"title": "x", "entries": ["x"]})
        assert response.status_code == 405, path
        allow = {m.strip() for m in response.headers["allow"].split(",")}
        assert allow == set(allowed.split(", ")), path
    assert await story_titles(admin, live) == [REOPEN_TITLE, ACID_TITLE, LEAK_TITLE]


# -- rename -----------------------------------------------------------------------------------


async def test_rename_answers(
    room: Newsroom, admin: httpx.AsyncClient, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    path = f"/admin/stories/{room.live}/rename"
    await expect(
        admin,
        path,
        [
            ("no-title", {}, 400, 'title: required ("" hands the headline back)'),
            ("other-field", {"headline": "x"}, 400, "headline: unknown field (expected title)"),
            ("number", {"title": 5}, 400, "title: must be text, got 5"),
            ("list", {"title": ["a"]}, 400, 'title: must be text, got ["a"]'),
            ("object", {"title": {"a": 1}}, 400, 'title: must be text, got {"a": 1}'),
            ("true", {"title": True}, 400, "title: must be text, got true"),
            ("301", {"title": "x" * 301}, 400, "title: at most 300 characters, got 301"),
            (
                "302",
                {"title": " ".join(["ab"] * 101)},
                400,
                "title: at most 300 characters, got 302",
            ),
        ],
    )
    await expect(
        admin,
        f"/admin/stories/{NO_STORY}/rename",
        [("unknown-story", {"title": "x"}, 404, f"no story {NO_STORY!r}")],
    )
    assert await stored(rclient) == before

    # 300 characters once the white space is collapsed: accepted.
    title = "x" * 150 + " \t\n " + "y" * 149
    response = await admin.post(path, json={"title": title})
    assert (response.status_code, response.json()) == (200, {"ok": True, "story": room.live})
    assert await rclient.hget(keys.story_meta(room.live), "title") == "x" * 150 + " " + "y" * 149
    # null hands the headline back, as "" does.
    response = await admin.post(path, json={"title": None})
    assert (response.status_code, response.json()) == (200, {"ok": True, "story": room.live})
    assert (await get_valid(http, f"/feeds/stories/{room.live}.json")).json()["title"] == (
        f"The Latest: {REOPEN_TITLE}"
    )

    # A story merged away can no longer be renamed.
    await admin.post(f"/admin/stories/{room.strike}/merge", json={"from": room.live})
    await expect(
        admin,
        path,
        [("merged", {"title": "x"}, 409, f"story {room.live!r} was merged into {room.strike!r}")],
    )


async def test_rename_refuses_a_title_that_is_not_unicode_text(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    response = await admin.post(
        f"/admin/stories/{room.live}/rename", content=b'{"title": "Leak \\ud800 update"}'
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("title: ")
    assert await stored(rclient) == before


async def test_a_story_whose_entries_were_all_killed_cannot_be_renamed(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    await admin.post(f"/admin/entries/{room.eid('strike')}/kill", json={})
    assert await rclient.zscore(keys.STORIES, room.strike) is None
    response = await admin.post(f"/admin/stories/{room.strike}/rename", json={"title": "Ghost"})
    assert (response.status_code, response.json()) == (
        404,
        {"error": f"no story {room.strike!r}"},
    )
    assert await rclient.zscore(keys.STORIES, room.strike) is None


# -- merge ------------------------------------------------------------------------------------


async def test_merge_answers(
    room: Newsroom, admin: httpx.AsyncClient, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    path = f"/admin/stories/{room.strike}/merge"
    await expect(
        admin,
        path,
        [
            ("no-from", {}, 400, "from: must be non-empty text, got null"),
            ("null", {"from": None}, 400, "from: must be non-empty text, got null"),
            ("empty", {"from": ""}, 400, 'from: must be non-empty text, got ""'),
            ("blank", {"from": "  "}, 400, 'from: must be non-empty text, got "  "'),
            ("number", {"from": 7}, 400, "from: must be non-empty text, got 7"),
            (
                "list",
                {"from": [room.live]},
                400,
                f'from: must be non-empty text, got ["{room.live}"]',
            ),
            ("itself", {"from": room.strike}, 400, "from: a story cannot be merged into itself"),
            (
                "itself-padded",
                {"from": f" {room.strike} "},
                400,
                "from: a story cannot be merged into itself",
            ),
            ("unknown-from", {"from": NO_STORY}, 404, f"no story {NO_STORY!r}"),
        ],
    )
    await expect(
        admin,
        f"/admin/stories/{NO_STORY}/merge",
        [("unknown-target", {"from": room.live}, 404, f"no story {NO_STORY!r}")],
    )
    assert await stored(rclient) == before

    response = await admin.post(path, json={"from": room.live})
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "story": room.strike, "moved": 3},
    )
    after = await stored(rclient)
    assert after["placement"] == dict.fromkeys(before["placement"], room.strike)

    merged = f"story {room.live!r} was merged into {room.strike!r}"
    await expect(admin, path, [("again", {"from": room.live}, 409, merged)])
    await expect(
        admin,
        f"/admin/stories/{room.live}/merge",
        [("into-the-merged", {"from": room.strike}, 409, merged)],
    )
    assert await stored(rclient) == after
    assert await story_titles(http, room.strike) == [
        REOPEN_TITLE,
        "Westhaven dockworkers vote to authorize strike over overtime pay",
        ACID_TITLE,
        LEAK_TITLE,
    ]


async def test_merges_follow_a_chain_of_merged_stories(
    room: Newsroom, admin: httpx.AsyncClient, http: httpx.AsyncClient, app_url: str
) -> None:
    split = {"entries": [room.eid("u1")]}
    third = (await admin.post(f"/admin/stories/{room.live}/split", json=split)).json()["story"]
    for target, other in ((room.live, third), (room.strike, room.live)):
        response = await admin.post(f"/admin/stories/{target}/merge", json={"from": other})
        assert response.status_code == 200, response.text
    page = await http.get(f"/stories/{third}")
    assert (page.status_code, page.headers["location"]) == (301, f"{app_url}/stories/{room.strike}")
    await expect(
        admin,
        f"/admin/stories/{third}/rename",
        [("merged", {"title": "x"}, 409, f"story {third!r} was merged into {room.live!r}")],
    )


async def test_merging_a_story_whose_entries_were_all_killed_is_not_a_storage_failure(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    await admin.post(f"/admin/entries/{room.eid('strike')}/kill", json={})
    before = await stored(rclient)
    response = await admin.post(f"/admin/stories/{room.live}/merge", json={"from": room.strike})
    assert response.status_code in (200, 404), response.text
    assert (await stored(rclient))["placement"] == before["placement"]


# -- split ------------------------------------------------------------------------------------


async def test_split_answers(
    room: Newsroom, admin: httpx.AsyncClient, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    path = f"/admin/stories/{room.live}/split"
    e1, e2, e3 = room.eid("u1"), room.eid("u2"), room.eid("u3")
    not_in = f"entries: not in story {room.live!r}: "
    await expect(
        admin,
        path,
        [
            ("no-entries", {}, 400, "entries: must be a list of entry ids, got null"),
            ("text", {"entries": e1}, 400, f'entries: must be a list of entry ids, got "{e1}"'),
            ("numbers", {"entries": [1]}, 400, "entries: must be a list of entry ids, got [1]"),
            (
                "a-null",
                {"entries": [e1, None]},
                400,
                f'entries: must be a list of entry ids, got ["{e1}", null]',
            ),
            ("empty", {"entries": []}, 400, "entries: name at least one entry to split out"),
            ("unknown", {"entries": ["nope"]}, 404, not_in + "nope"),
            ("some-unknown", {"entries": [e1, "nope", "nada"]}, 404, not_in + "nope, nada"),
            (
                "of-another-story",
                {"entries": [room.eid("strike")]},
                404,
                not_in + room.eid("strike"),
            ),
            (
                "all",
                {"entries": [e3, e2, e1]},
                400,
                "entries: a split must leave at least one entry behind",
            ),
            (
                "all-repeated",
                {"entries": [e1, e2, e1, e3]},
                400,
                "entries: a split must leave at least one entry behind",
            ),
            ("title-number", {"entries": [e1], "title": 5}, 400, "title: must be text, got 5"),
        ],
    )
    await expect(
        admin,
        f"/admin/stories/{NO_STORY}/split",
        [("unknown-story", {"entries": [e1]}, 404, f"no story {NO_STORY!r}")],
    )
    assert await stored(rclient) == before

    response = await admin.post(path, json={"entries": [e1, e1, e2], "title": "First hours"})
    assert response.status_code == 200, response.text
    new = response.json()["story"]
    assert response.json() == {"ok": True, "story": new, "from": room.live}
    assert (await stored(rclient))["placement"] == {
        e: new if e in (e1, e2) else s for e, s in before["placement"].items()
    }
    assert await story_titles(http, new) == [ACID_TITLE, LEAK_TITLE]
    await expect(admin, path, [("again", {"entries": [e1, e2]}, 404, not_in + f"{e1}, {e2}")])


async def test_a_split_refused_for_its_title_moves_nothing(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    body = {"entries": [room.eid("u1")], "title": "x" * 301}
    response = await admin.post(f"/admin/stories/{room.live}/split", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "title: at most 300 characters, got 301"},
    )
    assert await stored(rclient) == before


# -- pin --------------------------------------------------------------------------------------


async def test_pin_answers(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    path = f"/admin/stories/{room.live}/pin"
    await expect(
        admin,
        path,
        [
            ("number", {"entry": 5}, 400, "entry: must be an entry id or null, got 5"),
            ("list", {"entry": ["e"]}, 400, 'entry: must be an entry id or null, got ["e"]'),
            ("false", {"entry": False}, 400, "entry: must be an entry id or null, got false"),
        ],
    )
    await expect(
        admin,
        f"/admin/stories/{NO_STORY}/pin",
        [("unknown-story", {"entry": room.eid("u1")}, 404, f"no story {NO_STORY!r}")],
    )
    for entry in ("nope", room.eid("strike")):  # unknown, and another story's
        response = await admin.post(path, json={"entry": entry})
        assert response.status_code == 404, entry
        assert response.json()["error"].endswith(f"not in story {room.live!r}: {entry}"), entry
    assert await stored(rclient) == before

    response = await admin.post(path, json={"entry": room.eid("u1")})
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "story": room.live, "pinned": room.eid("u1")},
    )
    assert await rclient.hget(keys.story_meta(room.live), "pinned") == room.eid("u1")
    response = await admin.post(path, json={"entry": None})
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "story": room.live, "pinned": None},
    )
    assert await rclient.hget(keys.story_meta(room.live), "pinned") is None
    assert (await stored(rclient))["placement"] == before["placement"]


async def test_pinning_an_unknown_entry_names_the_entry_field(
    room: Newsroom, admin: httpx.AsyncClient
) -> None:
    await expect(
        admin,
        f"/admin/stories/{room.live}/pin",
        [("unknown", {"entry": "nope"}, 404, f"entry: not in story {room.live!r}: nope")],
    )


# -- kill and correct -------------------------------------------------------------------------


async def test_kill_answers(
    room: Newsroom, admin: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    u2 = room.eid("u2")
    await expect(
        admin,
        f"/admin/entries/{u2}/kill",
        [
            ("reason-number", {"reason": 5}, 400, "reason: must be text, got 5"),
            ("reason-list", {"reason": ["legal"]}, 400, 'reason: must be text, got ["legal"]'),
        ],
    )
    await expect(
        admin,
        f"/admin/entries/{NO_ENTRY}/kill",
        [("unknown", {}, 404, f"no live entry {NO_ENTRY!r}")],
    )
    assert await stored(rclient) == before

    response = await admin.post(f"/admin/entries/{u2}/kill", json={"reason": "Legal request"})
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "entry": u2, "killed": True},
    )
    assert json.loads(await rclient.get(keys.tombstone(u2)) or "{}")["reason"] == "Legal request"
    await expect(admin, f"/admin/entries/{u2}/kill", [("twice", {}, 404, f"no live entry {u2!r}")])
    # No body at all: the default reason.
    u1 = room.eid("u1")
    response = await admin.post(f"/admin/entries/{u1}/kill")
    assert response.status_code == 200, response.text
    assert json.loads(await rclient.get(keys.tombstone(u1)) or "{}")["reason"] == (
        "killed by an editor"
    )
    assert (await stored(rclient))["placement"] == {
        e: s for e, s in before["placement"].items() if e not in (u1, u2)
    }


async def test_correct_answers(
    room: Newsroom, admin: httpx.AsyncClient, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    u3 = room.eid("u3")
    await expect(
        admin,
        f"/admin/entries/{u3}/correct",
        [("note-number", {"note": 5}, 400, "note: must be text, got 5")],
    )
    await expect(
        admin,
        f"/admin/entries/{NO_ENTRY}/correct",
        [("unknown", {"note": "x"}, 404, f"no live entry {NO_ENTRY!r}")],
    )
    assert await stored(rclient) == before

    note = "Reyes is the port director, not its chair."
    response = await admin.post(f"/admin/entries/{u3}/correct", json={"note": note})
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "entry": u3, "corrected": True},
    )
    item = (await get_valid(http, f"/feeds/stories/{room.live}.json")).json()["items"][0]
    assert (item["title"], note in item["content_html"]) == (REOPEN_TITLE, True)

    await admin.post(f"/admin/entries/{u3}/kill", json={})
    await expect(
        admin,
        f"/admin/entries/{u3}/correct",
        [("killed", {"note": "x"}, 404, f"no live entry {u3!r}")],
    )


# -- sources ----------------------------------------------------------------------------------


async def test_sources_lists_every_sources_health(room: Newsroom, admin: httpx.AsyncClient) -> None:
    response = await admin.get("/admin/sources")
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    by_id = {s["id"]: s for s in answer["sources"]}
    assert list(by_id) == sorted(SOURCES)
    assert (by_id["harbor"]["title"], by_id["harbor"]["state"]) == ("Harbor Wire", "ok")
    assert (by_id["harbor"]["http_status"], by_id["harbor"]["consecutive_failures"]) == (200, 0)
    assert by_id["harbor"]["url"] == room.desk.source("harbor").url
    assert all(s["enabled"] and s["last_error"] is None for s in by_id.values())


# -- bad requests in bulk ---------------------------------------------------------------------


async def test_a_storm_of_bad_requests_changes_nothing_and_readers_are_served(
    room: Newsroom, admin: httpx.AsyncClient, http: httpx.AsyncClient, rclient: aioredis.Redis
) -> None:
    before = await stored(rclient)
    live, strike = room.live, room.strike
    bad: list[tuple[str, bytes]] = [
        (f"/admin/stories/{live}/rename", b'{"title": 5}'),
        (f"/admin/stories/{live}/rename", b"{oops"),
        (f"/admin/stories/{live}/rename", json.dumps({"title": "x" * 400}).encode()),
        (f"/admin/stories/{strike}/merge", json.dumps({"from": strike}).encode()),
        (f"/admin/stories/{strike}/merge", json.dumps({"from": NO_STORY}).encode()),
        (f"/admin/stories/{live}/split", json.dumps({"entries": []}).encode()),
        (f"/admin/stories/{live}/split", json.dumps({"entries": ["nope"]}).encode()),
        (f"/admin/stories/{live}/pin", json.dumps({"entry": "nope"}).encode()),
        (f"/admin/entries/{NO_ENTRY}/kill", b"{}"),
        (f"/admin/entries/{NO_ENTRY}/correct", b"{}"),
        (f"/admin/stories/{live}/rename", b"[" * 100_000),
    ]

    async def reader() -> None:
        for _ in range(3):
            await story_titles(http, live)
            await get_valid(http, "/feeds/stories.atom")
            assert (await http.get("/healthz")).status_code == 200

    answers, *_ = await asyncio.gather(
        asyncio.gather(*(admin.post(p, content=b) for _ in range(3) for p, b in bad)),
        reader(),
        reader(),
    )
    statuses = sorted({r.status_code for r in answers})
    assert statuses == [400, 404, 413], [r.text for r in answers if r.status_code >= 500]
    assert all(set(r.json()) == {"error"} for r in answers)
    assert await stored(rclient) == before
    assert await story_titles(http, live) == [REOPEN_TITLE, ACID_TITLE, LEAK_TITLE]
