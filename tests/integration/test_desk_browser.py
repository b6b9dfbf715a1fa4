"""The web desk in real headless Chromium (Debian's, driven by Playwright; no browser is ever
downloaded): an editor signs in with a token, finds the live story, splits an entry out, kills
another with a reason, and the public feeds change accordingly; an item held under embargo is
listed as held (and is in no feed); every action is audited as the
desk's; a change without the session's CSRF token is refused.

The newsroom's items are dated from one instant read once (``room.clock``). A screenshot of the
desk is kept in the test's temporary directory and in ``$WIREFEED_TEST_ARTIFACTS`` when set.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from config.settings import Settings
from config.tokens import digest
from tests.support import serve_app
from tests.support.browser import CHROMIUM_ARGS, chromium, keep_artifact
from tests.support.desk import ACID_TITLE, LEAK_TITLE, Newsroom
from tests.support.feeds import ninjs, ninjs_item

pytestmark = pytest.mark.browser

EDITOR = "desk-editor-token-" + "d" * 30
HELD_TITLE = "Harbor board sets the winter ferry timetable"


@pytest.fixture
def app_url(clean_redis: str, tmp_path: Path) -> Iterator[str]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f"tokens:\n  - {{name: alma, role: editor, sha256: {digest(EDITOR)}}}\n",
        encoding="utf-8",
    )
    with serve_app(Settings(redis_url=clean_redis, tokens_file=tokens)) as url:
        yield url


def titles(feed: httpx.Response) -> list[str]:
    return [item["title"] for item in feed.json()["items"]]


async def test_an_editor_splits_and_kills_in_chromium_and_feeds_follow(
    room: Newsroom, app_url: str, tmp_path: Path
) -> None:
    executable = chromium()
    from playwright import async_api

    u1, u2 = room.eid("u1"), room.eid("u2")
    lifts = room.clock + timedelta(hours=1)
    embargoed = ninjs_item(
        "urn:agency:ferry-timetable",
        HELD_TITLE,
        "The harbor board will publish the winter ferry timetable at noon.",
        created=room.clock,
        embargoed=lifts.isoformat(),
    )
    assert (await room.desk.publish("agency", ninjs(embargoed), room.clock)).held == 1
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as http:
        before = titles(await http.get(f"/feeds/stories/{room.live}.json"))
        assert any(LEAK_TITLE in t for t in before) and any(ACID_TITLE in t for t in before)
        async with async_api.async_playwright() as pw:
            # Playwright gives each launch a fresh profile directory of its own.
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{app_url}/desk")
                assert page.url.endswith("/desk/login")
                await page.fill("#token", EDITOR)
                await page.click("button[type=submit]")
                await page.wait_for_selector("#who")
                assert await page.text_content("#who") == "alma"
                held = await page.wait_for_selector(f"#held tr:has-text('{HELD_TITLE}')")
                assert lifts.strftime("%Y-%m-%d %H:%M:%S") in (await held.text_content() or "")

                await page.fill("#q", "leaking tank")
                await page.click("#search-form button")
                await page.wait_for_selector("#stories li:only-child button")
                await page.click("#stories li button")
                await page.wait_for_selector(f"#entry-{u1}")
                assert await page.text_content("#story-id") == room.live

                await page.check(f"#entry-{u1} input[type=checkbox]")
                await page.fill("#split-title", "Leak found at the terminal")
                await page.click("#split-form button")
                await page.wait_for_selector("#status:has-text('split 1 into story')")
                new = (await page.text_content("#status") or "").rsplit(" ", 1)[1]
                assert await page.query_selector(f"#entry-{u1}") is None

                await page.fill(f"#entry-{u2} input[placeholder=reason]", "wrong tank")
                await page.click(f"#entry-{u2} button:has-text('Kill')")
                await page.wait_for_selector(f"#status:has-text('killed {u2}')")
                assert await page.query_selector(f"#entry-{u2}") is None

                forged = await page.evaluate(
                    """async (path) => (await fetch(path, {method: "POST",
                        headers: {"Content-Type": "application/json"},
                        body: JSON.stringify({title: "Forged"})})).status""",
                    f"/admin/stories/{room.live}/rename",
                )
                assert forged == 403
                shot = tmp_path / "desk.png"
                await page.screenshot(path=str(shot), full_page=True)
                keep_artifact(shot)
            finally:
                await browser.close()

        after = titles(await http.get(f"/feeds/stories/{room.live}.json"))
        assert not any(LEAK_TITLE in t or ACID_TITLE in t for t in after), after
        split = await http.get(f"/feeds/stories/{new}.json")
        assert any(LEAK_TITLE in t for t in titles(split)), titles(split)
        everything = (await http.get("/feeds/stories.json")).text
        assert ACID_TITLE not in everything
        assert HELD_TITLE not in everything
        audit = await http.get("/admin/audit", headers={"Authorization": f"Bearer {EDITOR}"})
        trail = [(r["who"], r["via"], r["action"], r["target"]) for r in audit.json()["audit"]]
        assert trail == [
            ("alma", "desk", "entry.kill", u2),
            ("alma", "desk", "story.split", room.live),
        ]


async def test_an_editor_unkills_and_edits_the_apis_sources_in_chromium(
    room: Newsroom, app_url: str
) -> None:
    executable = chromium()
    from playwright import async_api

    u2 = room.eid("u2")
    bearer = {"Authorization": f"Bearer {EDITOR}"}
    async with httpx.AsyncClient(base_url=app_url, timeout=10, headers=bearer) as http:
        killed = await http.post(f"/admin/entries/{u2}/kill", json={"reason": "wrong tank"})
        assert killed.status_code == 200, killed.text
        async with async_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                await page.goto(f"{app_url}/desk/login")
                await page.fill("#token", EDITOR)
                await page.click("button[type=submit]")
                row = await page.wait_for_selector(f"#killed-{u2}")
                text = await row.text_content() or ""
                assert ACID_TITLE in text and "wrong tank" in text and "alma" in text
                await page.fill(f"#killed-{u2} input", "the right tank after all")
                await page.click(f"#killed-{u2} button")
                await page.wait_for_selector(f"#status:has-text('unkilled {u2}')")
                assert await page.query_selector(f"#killed-{u2}") is None

                assert "edit it in the sources file" in (
                    await page.text_content("#source-harbor") or ""
                )
                await page.fill("#source-id", "ferry")
                await page.fill("#source-url", "https://ferry.example/feed.xml")
                await page.click("#source-submit")
                await page.wait_for_selector("#source-ferry")
                await page.click("#source-ferry button:has-text('Edit')")
                assert await page.input_value("#source-id") == "ferry"
                await page.fill("#source-title", "Ferry Desk")
                await page.click("#source-submit")
                await page.wait_for_selector("#source-ferry:has-text('Ferry Desk')")
                assert await page.text_content("#source-submit") == "Add source"
                await page.click("#source-ferry button:has-text('Delete')")
                await page.click("#source-ferry button:has-text('Really delete ferry?')")
                await page.wait_for_selector("#status:has-text('deleted ferry')")
                assert await page.query_selector("#source-ferry") is None
            finally:
                await browser.close()
        assert (await http.get("/admin/sources/ferry")).status_code == 404
        trail = [
            (r["via"], r["action"], r["target"], r["note"])
            for r in (await http.get("/admin/audit")).json()["audit"]
        ]
    assert trail == [
        ("desk", "source.delete", "ferry", ""),
        ("desk", "source.update", "ferry", ""),
        ("desk", "source.create", "ferry", ""),
        ("desk", "entry.unkill", u2, "the right tank after all"),
        ("api", "entry.kill", u2, "wrong tank"),
    ]
