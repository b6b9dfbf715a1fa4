"""`wirefeed run` end to end: embedded Redis, demo wire, worker and web, as a newcomer runs it."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import child_env, free_port, wait_for

DEMO_SOURCES = """\
demo:
  port: {demo}
sources:
  - {{id: northwire, title: Northwire, url: "http://127.0.0.1:{demo}/wire/northwire.rss",
      kind: rss, interval: 1, timezone: America/Chicago}}
  - {{id: coastal, title: Coastal Press Agency, url: "http://127.0.0.1:{demo}/wire/coastal.atom",
      kind: atom, interval: 1, timezone: America/Chicago}}
  - {{id: metrodesk, title: Metro Desk, url: "http://127.0.0.1:{demo}/wire/metrodesk.json",
      kind: jsonfeed, interval: 1, timezone: America/Chicago}}
"""


@contextmanager
def running(tmp: Path, sources: str, port: int) -> Iterator[subprocess.Popen[str]]:
    (tmp / "sources.yaml").write_text(sources)
    env = child_env(
        WIREFEED_SOURCES=str(tmp / "sources.yaml"),
        WIREFEED_DATA_DIR=str(tmp / "var"),
        WIREFEED_HTTP_PORT=str(port),
        WIREFEED_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "run"],
        cwd=tmp,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()


def get_json(url: str) -> object:
    try:
        response = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def story_entries(port: int) -> int:
    feed = get_json(f"http://127.0.0.1:{port}/feeds/stories.json")
    if not isinstance(feed, dict):
        return 0
    for item in feed["items"]:
        if "Kellerton" in item["title"]:
            story = get_json(item["url"].replace("/stories/", "/feeds/stories/") + ".json")
            return len(story["items"]) if isinstance(story, dict) else 0
    return 0


def test_run_serves_the_demo_story_growing_and_survives_a_restart(tmp_path: Path) -> None:
    port, demo = free_port(), free_port()
    with running(tmp_path, DEMO_SOURCES.format(demo=demo), port) as process:
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        wait_for(lambda: story_entries(port) >= 1, timeout=60)
        first = story_entries(port)
        wait_for(lambda: story_entries(port) > first, timeout=60)  # the story grows
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
        assert "Kellerton" in page
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        output = process.stdout.read() if process.stdout else ""
        assert "wirefeed is running" in output
    assert not (tmp_path / "var" / "redis" / "redis.sock").exists()  # Redis stopped too
    seen = story_entries_after_restart(tmp_path, port)
    assert seen >= first + 1


def story_entries_after_restart(tmp_path: Path, port: int) -> int:
    """Start again with no sources at all: the stories must come back from the AOF."""
    with running(tmp_path, "sources: []\n", port):
        wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        return story_entries(port)


def test_run_stops_everything_when_a_part_dies(tmp_path: Path) -> None:
    port = free_port()
    blocker = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: get_json_status(port), timeout=20)
        with running(tmp_path, "sources: []\n", port) as process:
            code = process.wait(timeout=60)  # the web app cannot bind: the service stops
            output = process.stdout.read() if process.stdout else ""
        assert code == 1
        assert "the web process exited" in output
        assert not (tmp_path / "var" / "redis" / "redis.sock").exists()
    finally:
        blocker.terminate()
        blocker.wait()


def get_json_status(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
