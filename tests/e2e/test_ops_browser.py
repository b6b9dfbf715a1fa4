"""The ops dashboard in real headless Chromium (Debian's, driven by Playwright; no browser is
ever downloaded), over `wirefeed run` with the demo wire and one broken source.

The screenshot is kept as a test artifact: ``ops.png`` in the test's pytest temporary
directory (pytest keeps the last three runs under ``/tmp/pytest-of-$USER/``), and also in
``$WIREFEED_TEST_ARTIFACTS`` when that is set (CI collects it from there).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, child_env, free_port, wait_for
from tests.support.browser import CHROMIUM_ARGS, chromium, keep_artifact

pytestmark = pytest.mark.browser


SOURCES = """\
demo:
  port: {demo}
sources:
  - {{id: northwire, title: Northwire, url: "http://127.0.0.1:{demo}/wire/northwire.rss",
      kind: rss, interval: 2, timezone: America/Chicago}}
  - {{id: coastal, title: Coastal Press Agency, url: "http://127.0.0.1:{demo}/wire/coastal.atom",
      kind: atom, interval: 2, timezone: America/Chicago}}
  - {{id: broken, title: Broken Wire, url: "http://127.0.0.1:{demo}/no-such-wire.rss",
      kind: rss, interval: 2}}
"""


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_ops_dashboard_shows_the_demo_live_in_chromium(tmp_path: Path) -> None:
    executable = chromium()
    from playwright import async_api

    port, demo = free_port(), free_port()
    (tmp_path / "sources.yaml").write_text(SOURCES.format(demo=demo))
    env = child_env(
        WIREFEED_SOURCES=str(tmp_path / "sources.yaml"),
        WIREFEED_DATA_DIR=str(tmp_path / "var"),
        WIREFEED_HTTP_PORT=str(port),
        WIREFEED_LOG_LEVEL="WARNING",
        WIREFEED_HOST_PER_MINUTE="0",  # every source shares 127.0.0.1; politeness has its tests
        WIREFEED_HOST_CONCURRENCY="0",
    )
    web = f"http://127.0.0.1:{port}"
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(  # noqa: ASYNC220 - started once, before the browser
        [sys.executable, "-m", "workers.cli", "run"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    errors: list[str] = []
    try:
        wait_for(lambda: ready(web), timeout=60)
        async with async_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1200, "height": 900})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(web + "/ops")
                await page.evaluate("window.sameDocument = true")
                rows = page.locator("#sources tbody tr")
                broken = page.locator("#sources tr[data-source=broken]")
                await broken.locator("td.error").filter(has_text="404").wait_for(timeout=30_000)
                # troubled first: the failing source tops the table
                order = await rows.evaluate_all("rows => rows.map(r => r.dataset.source)")
                assert order[0] == "broken", order
                assert await broken.get_attribute("data-state") == "failing"
                for demo_source in ("northwire", "coastal"):
                    row = page.locator(f"#sources tr[data-source={demo_source}]")
                    await row.wait_for(timeout=30_000)
                    # the demo wire is up before the first poll: no error on the first screen
                    assert await row.get_attribute("data-state") in ("ok", "new")
                    assert await row.locator("td.error").inner_text() == ""
                worker = page.locator("#workers tbody tr").first
                await worker.wait_for(timeout=30_000)
                assert "alive" in await worker.inner_text()

                # live: the stream keeps updating the same document, no reload
                first = int(await page.evaluate("Number(document.body.dataset.updates)"))
                await page.wait_for_function(
                    f"Number(document.body.dataset.updates) >= {first + 2}", timeout=30_000
                )
                assert await page.evaluate("window.sameDocument") is True
                assert "live" in await page.locator("#status").inner_text()

                shot = tmp_path / "ops.png"
                await page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                keep_artifact(shot)
            finally:
                await browser.close()
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(timeout=60)
        log.close()
    assert errors == []
