"""The editors' desk over real HTTP and a real Redis: per-person tokens and roles (rotated
without a restart), the audit trail, one model of where sources live, story search, and the
CLI covering the same operations, audited the same way.

Times: the newsroom's items are dated from one instant read once (``room.clock``); the app
stamps audit records with the real clock, so filters here are built from the records' own
``at``, never from a date of the test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from config.sources import Source
from config.tokens import digest
from ingest import keys
from ingest.store.redis_store import RedisStore
from ingest.store.registry import RedisRegistry
from tests.support import Reply, Wire, atom, child_env, serve_app
from tests.support.desk import LEAK_TITLE, SOURCES, Newsroom, client

VIEWER, EDITOR, ADMIN = "viewer-token-" + "v" * 32, "editor-token-" + "e" * 32, "a" * 40
LEGACY = "legacy-admin-token-0123456789"


def write_tokens(path: Path, tokens: dict[str, tuple[str, str]]) -> None:
    """The tokens file: token -> (name, role), stored as digests."""
    lines = ["tokens:"]
    for token, (name, role) in tokens.items():
        lines += [f"  - name: {name}", f"    role: {role}", f"    sha256: {digest(token)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_raw(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yaml"
    write_tokens(
        path,
        {VIEWER: ("vera", "viewer"), EDITOR: ("alma", "editor"), ADMIN: ("root", "admin")},
    )
    return path


@pytest.fixture
def app_url(clean_redis: str, tokens_file: Path) -> Iterator[str]:
    env = {
        "WIREFEED_REDIS_URL": clean_redis,
        "WIREFEED_TOKENS_FILE": str(tokens_file),
        "WIREFEED_ADMIN_TOKEN": LEGACY,
        "WIREFEED_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",  # previews of the test's feed server
    }
    with serve_app(Settings.from_env(env)) as url:
        yield url


@pytest.fixture
async def as_viewer(app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app_url, VIEWER) as c:
        yield c


@pytest.fixture
async def as_editor(app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app_url, EDITOR) as c:
        yield c


def cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = child_env(WIREFEED_REDIS_URL=redis_url, WIREFEED_FETCH_ALLOW_NETWORKS="127.0.0.0/8")
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["ok"] is True
    return body


# -- roles and tokens -------------------------------------------------------------------------


async def test_a_viewer_reads_but_cannot_change(
    room: Newsroom, as_viewer: httpx.AsyncClient
) -> None:
    assert (await ok(await as_viewer.get("/admin/whoami"))) == {
        "ok": True,
        "name": "vera",
        "role": "viewer",
    }
    await ok(await as_viewer.get("/admin/sources"))
    await ok(await as_viewer.get(f"/admin/stories/{room.live}"))
    assert (await as_viewer.get("/ops.json")).status_code == 200
    for method, path, body in [
        ("POST", f"/admin/stories/{room.live}/rename", {"title": "Hijacked"}),
        ("POST", f"/admin/entries/{room.eid('u1')}/kill", {}),
        ("POST", "/admin/sources", {"id": "x", "url": "http://127.0.0.1:9/x"}),
        ("POST", "/admin/sources/harbor/pause", {}),
        ("GET", "/admin/audit", None),
    ]:
        response = await as_viewer.request(method, path, json=body)
        assert response.status_code == 403, path
        assert "vera is a viewer: this needs the editor role" in response.json()["error"]
    story = (await ok(await as_viewer.get(f"/admin/stories/{room.live}")))["story"]
    assert story["title"] != "Hijacked"


async def test_missing_or_unknown_tokens_are_401_and_ops_needs_a_viewer(
    room: Newsroom, app_url: str
) -> None:
    for token in (None, "not-a-token-of-anyone-0123456789"):
        async with client(app_url, token) as anyone:
            response = await anyone.post(f"/admin/stories/{room.live}/rename", json={"title": "x"})
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert (await anyone.get("/ops.json")).status_code == 403
    async with client(app_url, LEGACY) as legacy:  # the old shared token: an admin
        assert (await ok(await legacy.get("/admin/whoami")))["role"] == "admin"
    async with client(app_url) as anyone:
        assert (await anyone.get(f"/ops.json?token={VIEWER}")).status_code == 200


async def test_tokens_rotate_without_a_restart(
    room: Newsroom, app_url: str, tokens_file: Path
) -> None:
    fresh = "rotated-editor-token-" + "r" * 30
    async with client(app_url, EDITOR) as old, client(app_url, fresh) as new:
        await ok(await old.get("/admin/whoami"))
        assert (await new.get("/admin/whoami")).status_code == 401
        write_tokens(tokens_file, {fresh: ("alma", "editor")})
        os.utime(tokens_file, ns=(1, 1))  # a change of mtime even within one clock tick
        assert (await old.get("/admin/whoami")).status_code == 401
        assert (await ok(await new.get("/admin/whoami")))["name"] == "alma"
        write_raw(tokens_file, "tokens: [{name: alma, role: chief}]\n")
        # A broken file is refused; the tokens read last stay in force.
        assert (await ok(await new.get("/admin/whoami")))["name"] == "alma"


# -- audit ------------------------------------------------------------------------------------


async def test_every_change_is_audited_with_before_and_after(
    room: Newsroom, as_editor: httpx.AsyncClient, clean_redis: str
) -> None:
    u1 = room.eid("u1")
    await ok(await as_editor.post(f"/admin/stories/{room.live}/rename", json={"title": "Spill"}))
    await ok(await as_editor.post(f"/admin/entries/{u1}/kill", json={"reason": "wrong town"}))
    done = cli(clean_redis, "stories", "rename", room.strike, "Strike vote")
    assert done.returncode == 0, done.stderr
    trail = (await ok(await as_editor.get("/admin/audit")))["audit"]
    assert [(r["who"], r["via"], r["action"]) for r in trail] == [
        (trail[0]["who"], "cli", "story.rename"),
        ("alma", "api", "entry.kill"),
        ("alma", "api", "story.rename"),
    ]
    assert trail[0]["who"].startswith("cli:")
    kill, rename = trail[1], trail[2]
    assert (kill["target"], kill["note"]) == (u1, "wrong town")
    assert (kill["before"]["killed"], kill["after"]["killed"]) == (False, True)
    assert kill["before"]["title"] == LEAK_TITLE
    assert (rename["before"]["title"], rename["after"]["title"]) == ("", "Spill")
    assert u1 in rename["before"]["entries"]
    only = (await ok(await as_editor.get("/admin/audit?who=alma&action=entry.kill")))["audit"]
    assert [r["id"] for r in only] == [kill["id"]]
    since = kill["at"]
    later = (await ok(await as_editor.get("/admin/audit", params={"since": since})))["audit"]
    assert rename["id"] not in [r["id"] for r in later]
    bad = await as_editor.get("/admin/audit?whom=alma")
    assert (bad.status_code, bad.json()["error"]) == (
        400,
        "whom: unknown parameter (expected who, action, target, since, until, limit)",
    )
    listed = cli(clean_redis, "audit", "--action", "entry.kill", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [kill["id"]]
    table = cli(clean_redis, "audit")
    assert "entry.kill" in table.stdout and "alma" in table.stdout


# -- sources ----------------------------------------------------------------------------------


async def test_sources_created_through_the_api_survive_a_reload_of_the_file(
    room: Newsroom, as_editor: httpx.AsyncClient, rclient: aioredis.Redis, store: RedisStore
) -> None:
    url = room.desk.server.url("/extra.json")
    body = {"id": "extra", "url": url, "title": "Extra Wire", "tags": ["harbor"]}
    created = (await ok(await as_editor.post("/admin/sources", json=body)))["source"]
    assert (created["owner"], created["paused"], created["title"]) == ("api", False, "Extra Wire")
    assert await rclient.zscore(keys.SCHEDULE, "extra") is not None
    changed = await as_editor.patch("/admin/sources/extra", json={"interval": 300})
    assert (await ok(changed))["source"]["interval"] == 300
    await ok(await as_editor.post("/admin/sources/harbor/pause"))
    # A worker reloads the file (which names the newsroom's sources, not "extra").
    registry = RedisRegistry(rclient, store)
    file_sources = [room.desk.source(s) for s in SOURCES]
    composed = await registry.publish_file(file_sources)
    by_id = {s.id: s for s in composed}
    assert by_id["extra"].interval == 300 and by_id["extra"].title == "Extra Wire"
    assert by_id["harbor"].enabled is False  # the editor's pause outlives the reload
    listed = (await ok(await as_editor.get("/admin/sources")))["sources"]
    owners = {s["id"]: (s["owner"], s["state"]) for s in listed}
    assert owners["extra"] == ("api", "new") and owners["harbor"] == ("file", "paused")
    await ok(await as_editor.post("/admin/sources/harbor/resume"))
    assert await rclient.zscore(keys.SCHEDULE, "harbor") is not None
    await ok(await as_editor.post("/admin/sources/extra/fetch"))
    await ok(await as_editor.delete("/admin/sources/extra"))
    assert "extra" not in {s.id for s in await store.get_sources()}
    assert await rclient.zscore(keys.SCHEDULE, "extra") is None


async def test_file_owned_sources_refuse_api_edits_and_conflicts_are_reported(
    room: Newsroom, as_editor: httpx.AsyncClient, rclient: aioredis.Redis, store: RedisStore
) -> None:
    registry = RedisRegistry(rclient, store)
    await registry.publish_file([room.desk.source(s) for s in SOURCES])
    refused = "source 'harbor' is owned by the sources file: {} it there"
    for method, verb, body in (("PATCH", "change", {"title": "X"}), ("DELETE", "delete", None)):
        response = await as_editor.request(method, "/admin/sources/harbor", json=body)
        assert response.status_code == 409
        assert response.json()["error"].startswith(refused.format(verb))
    taken = await as_editor.post("/admin/sources", json={"id": "harbor", "url": "http://x.test/"})
    assert taken.status_code == 409
    body = {"id": "later", "url": "http://127.0.0.1:9/later.xml"}
    await ok(await as_editor.post("/admin/sources", json=body))
    # Then the file comes to name "later" too: the file's definition wins, and it is said.
    named = Source(id="later", url="http://127.0.0.1:9/file.xml")
    await registry.publish_file([*(room.desk.source(s) for s in SOURCES), named])
    answer = await ok(await as_editor.get("/admin/sources"))
    assert "later" in answer["conflicts"]
    assert "the file's definition is in force" in answer["conflicts"]["later"]
    later = next(s for s in answer["sources"] if s["id"] == "later")
    assert (later["owner"], later["url"]) == ("file", "http://127.0.0.1:9/file.xml")


async def test_bad_source_bodies_are_refused_by_field(as_editor: httpx.AsyncClient) -> None:
    for body, message in [
        ({"id": "a", "url": "http://a.test/", "intervall": 5}, "intervall: unknown field"),
        ({"id": "a", "url": "ftp://a.test/"}, 'source "a": url: must be an absolute http://'),
        ({"id": "a", "url": "http://a.test/", "interval": 0}, "interval: must be a number"),
        ({"url": "http://a.test/"}, "id: required"),
    ]:
        response = await as_editor.post("/admin/sources", json=body)
        assert response.status_code == 400, body
        assert message in response.json()["error"], (body, response.json())
    missing = await as_editor.post("/admin/sources/nosuch/pause")
    assert (missing.status_code, missing.json()) == (404, {"error": "no source 'nosuch'"})


async def test_cli_sources_commands_are_the_api_s(room: Newsroom, clean_redis: str) -> None:
    url = room.desk.server.url("/cli.json")
    added = cli(clean_redis, "sources", "add", "cli-wire", url, "--tag", "harbor", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["owner"] == "api"
    assert cli(clean_redis, "sources", "edit", "cli-wire", "--interval", "90").returncode == 0
    assert cli(clean_redis, "sources", "pause", "cli-wire").returncode == 0
    refused = cli(clean_redis, "sources", "rm", "harbor")
    assert refused.returncode == 1
    assert refused.stderr.startswith("wirefeed: source 'harbor' is owned by the sources file")
    assert len(refused.stderr.splitlines()) == 1
    assert cli(clean_redis, "sources", "rm", "cli-wire").returncode == 0
    trail = json.loads(cli(clean_redis, "audit", "--target", "cli-wire", "--json").stdout)
    assert [r["action"] for r in trail] == [
        "source.delete",
        "source.pause",
        "source.update",
        "source.create",
    ]


# -- stories ----------------------------------------------------------------------------------


async def test_story_search_by_words_source_and_time(
    room: Newsroom, as_viewer: httpx.AsyncClient, clean_redis: str
) -> None:
    async def ids(**params: str) -> list[str]:
        answer = await ok(await as_viewer.get("/admin/stories", params=params))
        return [s["id"] for s in answer["stories"]]

    assert set(await ids()) == {room.live, room.strike}
    assert await ids(q="LEAKING tank") == [room.live]
    assert await ids(q="strike") == [room.strike]
    assert await ids(source="coast") == [room.live]
    assert await ids(q="nothing-like-this") == []
    after = (room.clock + timedelta(days=400)).isoformat()
    assert await ids(since=after) == []
    bad = await as_viewer.get("/admin/stories?qq=x")
    assert bad.status_code == 400 and bad.json()["error"].startswith("qq: unknown parameter")
    story = (await ok(await as_viewer.get(f"/admin/stories/{room.live}")))["story"]
    assert room.eid("u1") in [e["id"] for e in story["entries"]]
    found = cli(clean_redis, "stories", "search", "leaking", "--json")
    assert found.returncode == 0, found.stderr
    assert [s["id"] for s in json.loads(found.stdout)] == [room.live]
    table = cli(clean_redis, "stories", "list")
    assert room.live in table.stdout and room.strike in table.stdout


# -- OPML -------------------------------------------------------------------------------------


async def test_opml_import_and_export_through_the_api_and_the_cli(
    room: Newsroom, as_editor: httpx.AsyncClient, clean_redis: str, tmp_path: Path
) -> None:
    exported = await as_editor.get("/admin/sources/export.opml")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/x-opml")
    assert b'xmlUrl="' + room.desk.server.url("/harbor.atom").encode() in exported.content or (
        b"Harbor Wire" in exported.content
    )
    opml = (
        b'<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Weather">'
        b'<outline type="rss" text="Rain Desk" xmlUrl="http://127.0.0.1:9/rain.xml"/>'
        b'<outline type="rss" text="Wind Desk" xmlUrl="http://127.0.0.1:9/wind.xml"/>'
        b"</outline></body></opml>"
    )
    answer = await ok(await as_editor.post("/admin/sources/import", content=opml))
    assert answer["imported"] == ["rain-desk", "wind-desk"]
    again = await as_editor.post("/admin/sources/import", content=opml)
    assert again.status_code == 409
    assert again.json()["error"] == "id: sources exist already: rain-desk, wind-desk"
    broken = await as_editor.post("/admin/sources/import", content=opml.replace(b"ftp", b"")[:-20])
    assert broken.status_code == 400
    assert broken.json()["error"].startswith("line 1: not well-formed XML")
    listed = {s["id"]: s for s in (await ok(await as_editor.get("/admin/sources")))["sources"]}
    assert (listed["rain-desk"]["owner"], listed["rain-desk"]["tags"]) == ("api", ["weather"])
    # The CLI's export and import: a round trip through a file, into a fresh store.
    path = tmp_path / "out.opml"
    assert cli(clean_redis, "sources", "export", str(path)).returncode == 0
    assert cli(clean_redis, "sources", "rm", "rain-desk").returncode == 0
    assert cli(clean_redis, "sources", "rm", "wind-desk").returncode == 0
    api_only = tmp_path / "api.opml"
    write_raw(api_only, opml.decode())
    imported = cli(clean_redis, "sources", "import", str(api_only))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported 2 sources")
    bad = tmp_path / "bad.opml"
    write_raw(bad, '<opml version="2.0"><body><outline xmlUrl="nope" text="N"/></body></opml>')
    refused = cli(clean_redis, "sources", "import", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f'wirefeed: {bad}: line 1: source "n": url: must be an absolute http:// or https:// URL, '
        'got "nope"',
        "wirefeed: nothing imported",
    ]


# -- preview ----------------------------------------------------------------------------------


async def test_preview_shows_each_item_and_its_story_and_stores_nothing(
    room: Newsroom, as_editor: httpx.AsyncClient, store: RedisStore, clean_redis: str
) -> None:
    u2 = room.wires["u2"]
    copy = Wire("pv-1", u2.title, u2.text, "https://preview.example/acid", u2.at)
    fresh = Wire("pv-2", "Lighthouse keeper retires", "After forty years.", at=room.clock)
    room.desk.server.set("/preview.atom", Reply(atom(copy, fresh, title="Preview Wire")))
    url = room.desk.server.url("/preview.atom")
    before = await store.story_count()
    answer = await ok(await as_editor.post("/admin/sources/preview", json={"url": url}))
    items = {i["title"]: i for i in answer["items"]}
    assert answer["entries"] == 2
    assert (items[u2.title]["action"], items[u2.title]["story"]) == ("duplicate", room.live)
    assert items[u2.title]["story_title"]
    assert (items[fresh.title]["action"], items[fresh.title]["new_story"]) == ("new", True)
    assert await store.story_count() == before
    assert "preview" not in {s.id for s in await store.get_sources()}
    bad = await as_editor.post("/admin/sources/preview", json={"url": url + ".missing"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("url: ")
    shown = cli(clean_redis, "sources", "preview", url, "--json")
    assert shown.returncode == 0, shown.stderr
    assert {i["title"] for i in json.loads(shown.stdout)["items"]} == set(items)


async def test_close_and_reopen_a_story_audited(
    room: Newsroom, as_editor: httpx.AsyncClient, clean_redis: str, rclient: aioredis.Redis
) -> None:
    await ok(await as_editor.post(f"/admin/stories/{room.live}/close"))
    story = (await ok(await as_editor.get(f"/admin/stories/{room.live}")))["story"]
    assert story["closed"] is True
    assert await rclient.hget(keys.story_meta(room.live), "closed")
    reopened = cli(clean_redis, "stories", "reopen", room.live)
    assert (reopened.returncode, reopened.stdout.strip()) == (0, f"story {room.live} reopened")
    story = (await ok(await as_editor.get(f"/admin/stories/{room.live}")))["story"]
    assert story["closed"] is False
    trail = (await ok(await as_editor.get(f"/admin/audit?target={room.live}")))["audit"]
    assert [(r["action"], r["before"]["closed"], r["after"]["closed"]) for r in trail] == [
        ("story.reopen", True, False),
        ("story.close", False, True),
    ]
    missing = await as_editor.post("/admin/stories/nosuchstory0/close")
    assert (missing.status_code, missing.json()) == (404, {"error": "no story 'nosuchstory0'"})


async def test_an_unkilled_entry_comes_back_with_the_next_poll(
    room: Newsroom, as_editor: httpx.AsyncClient, clean_redis: str, store: RedisStore
) -> None:
    u1 = room.eid("u1")
    await ok(await as_editor.post(f"/admin/entries/{u1}/kill", json={"reason": "wrong town"}))
    assert (await room.reserve(1)).new == 0  # killed: the next poll does not bring it back
    titles = {e.title for s in await store.recent_stories(10, entries=50) for e in s.entries}
    assert LEAK_TITLE not in titles
    back = cli(clean_redis, "entries", "unkill", u1, "--reason", "right town after all")
    assert back.returncode == 0, back.stderr
    assert (await room.reserve(2)).new == 1
    titles = {e.title for s in await store.recent_stories(10, entries=50) for e in s.entries}
    assert LEAK_TITLE in titles
    again = await as_editor.post(f"/admin/entries/{u1}/unkill", json={})
    assert (again.status_code, again.json()) == (404, {"error": f"no killed entry {u1!r}"})
    trail = (await ok(await as_editor.get(f"/admin/audit?target={u1}")))["audit"]
    assert [(r["action"], r["via"], r["note"]) for r in trail] == [
        ("entry.unkill", "cli", "right town after all"),
        ("entry.kill", "api", "wrong town"),
    ]
