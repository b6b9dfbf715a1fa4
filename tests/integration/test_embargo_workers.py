"""An embargo lifts in real worker processes: an item embargoed a few seconds ahead is held
while two workers run, one of them stops, and the one still alive publishes it, stamped no
earlier than its embargo. The workers read the real clock, so the embargo time derives from
one reading of it, taken once here; nothing asserts on elapsed time.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from ingest import keys
from ingest.model import Entry
from ingest.store.connect import open_sync
from tests.support import FeedServer, Reply, child_env, wait_for


def start_worker(redis_url: str, sources: Path) -> subprocess.Popen[bytes]:
    env = child_env(
        WIREFEED_REDIS_URL=redis_url,
        WIREFEED_SOURCES=str(sources),
        WIREFEED_FETCH_ALLOW_NETWORKS="127.0.0.0/8",
        WIREFEED_LOG_LEVEL="WARNING",
        WIREFEED_HOST_CONCURRENCY="0",
        WIREFEED_HOST_PER_MINUTE="0",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    return process.returncode


def stored_entries(r: redis.Redis) -> list[Entry]:
    found = []
    for sid in r.zrange(keys.STORIES, 0, -1):
        found += [Entry.unpack(raw) for raw in r.hvals(keys.story_entries(sid))]
    return found


def test_the_worker_still_alive_publishes_the_item_when_its_embargo_lifts(
    clean_redis: str, server: FeedServer, tmp_path: Path
) -> None:
    # Far enough ahead for two worker processes to start on a loaded machine.
    lift = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)  # read once
    item = {
        "uri": "urn:agency:2026:budget",
        "type": "text",
        "version": "1",
        "versioncreated": (lift - timedelta(minutes=30)).isoformat(),
        "embargoed": lift.isoformat(),
        "headlines": [{"role": "main", "value": "City budget adds two ferry routes"}],
        "bodies": [{"role": "main", "contenttype": "text/plain", "value": "Two new routes."}],
    }
    url = server.set("/agency.json", Reply(json.dumps(item).encode()))
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - id: agency\n    url: {url}\n    interval: 1\n")
    r = open_sync(clean_redis, decode_responses=True)
    first, second = start_worker(clean_redis, sources), start_worker(clean_redis, sources)
    try:
        wait_for(lambda: r.hlen(keys.EMBARGO_HELD) == 1, timeout=19)
        assert stored_entries(r) == []  # held: in no story, so in no feed
        stop(first)  # the other worker is the one alive when the embargo lifts
        (entry,) = wait_for(lambda: stored_entries(r), timeout=30)  # type: ignore[misc]
        assert entry.title == "City budget adds two ferry routes"
        assert entry.first_seen >= lift  # stored by the release, not before the embargo
        wait_for(lambda: r.hlen(keys.EMBARGO_HELD) == 0, timeout=10)  # forgotten once stored
    finally:
        for process in (first, second):
            if process.poll() is None:
                stop(process)
        r.close()
