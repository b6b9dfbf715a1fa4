"""Drop folders over a real Redis and a real directory: every supported format ingests, files
being written are left alone, a processed file moves to done/, a bad one to failed/ with a
.error file, and two scanners (two workers, or one restarted) never take a file twice.

File times are set from the fixed instant NOW, which is also the ``now`` the scan is given.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from config.sources import Source
from ingest.fetch.folder import candidates, ingest_folder, scan
from ingest.store.redis_store import RedisStore

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)

NINJS = {
    "uri": "urn:agency:2026:quay",
    "type": "text",
    "versioncreated": "2026-11-29T14:40:00Z",
    "headlines": [{"role": "main", "value": "Quay wall repairs begin at the north berths"}],
    "bodies": [{"role": "main", "contenttype": "text/html", "value": "<p>Divers went down.</p>"}],
}
NEWSML = b"""<?xml version="1.0" encoding="UTF-8"?>
<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:newsml:bay.example:2026:ferry"
  version="2" standard="NewsML-G2" standardversion="2.35" conformance="power">
  <catalogRef href="http://www.iptc.org/std/catalog/catalog.IPTC-G2-Standards_32.xml"/>
  <itemMeta>
    <itemClass qcode="ninat:text"/>
    <provider qcode="nprov:BAY"/>
    <versionCreated>2026-11-29T14:45:00Z</versionCreated>
    <pubStatus qcode="stat:usable"/>
  </itemMeta>
  <contentMeta>
    <headline>Ferry service to the islands resumes after the storm</headline>
  </contentMeta>
  <contentSet>
    <inlineXML contenttype="application/xhtml+xml">
      <html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head>
      <body><p>The first ferry left at dawn.</p></body></html>
    </inlineXML>
  </contentSet>
</newsItem>
"""
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Bay Press</title>
<link>https://bay.example/</link><description>d</description>
<item><guid>bay-1</guid><title>Harbor pilots call off their strike</title>
<description>The pilots union accepted the offer.</description>
<pubDate>Sun, 29 Nov 2026 14:30:00 GMT</pubDate></item></channel></rss>"""


def drop(folder: Path, name: str, body: bytes, age: float = 10.0) -> Path:
    path = folder / name
    path.write_bytes(body)
    stamp = (NOW - timedelta(seconds=age)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def files(folder: Path) -> list[str]:
    """The regular files left in ``folder`` (not its done/ and failed/)."""
    return sorted(p.name for p in folder.iterdir() if p.is_file())


@pytest.fixture
async def drop_folder(tmp_path: Path, store: RedisStore) -> Source:
    source = Source(id="drop", url=tmp_path.as_uri(), kind="folder", path=str(tmp_path))
    await store.put_sources([source])
    return source


async def test_every_format_ingests_and_moves_to_done(
    drop_folder: Source, store: RedisStore, rclient: aioredis.Redis, tmp_path: Path
) -> None:
    drop(tmp_path, "quay.json", json.dumps(NINJS).encode())
    drop(tmp_path, "ferry.xml", NEWSML)
    drop(tmp_path, "pilots.rss", RSS)
    report = await scan(drop_folder, store=store, client=rclient, now=NOW)
    assert sorted(report.done) == ["ferry.xml", "pilots.rss", "quay.json"]
    assert report.totals is not None and report.totals.new == 3
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == sorted(report.done)
    assert files(tmp_path) == []
    titles = {e.title for s in await store.recent_stories(10) for e in s.entries}
    assert "Ferry service to the islands resumes after the storm" in titles
    assert "Quay wall repairs begin at the north berths" in titles


async def test_a_bad_file_moves_to_failed_with_the_reason(
    drop_folder: Source, store: RedisStore, rclient: aioredis.Redis, tmp_path: Path
) -> None:
    drop(tmp_path, "broken.json", b'{"uri": "urn:x", "headline": 7}')
    drop(tmp_path, "good.json", json.dumps(NINJS).encode())
    report = await ingest_folder(drop_folder, store=store, client=rclient, now=NOW)
    assert report.new == 1 and report.after is not None
    assert report.after.state == "ok"
    failed = tmp_path / "failed"
    assert (failed / "broken.json").exists()
    reason = (failed / "broken.json.error").read_text()
    assert reason.count("\n") == 1
    assert reason.startswith("broken.json: cannot parse:") and "headline" in reason
    assert report.error is not None and "broken.json" in report.error


async def test_files_being_written_are_left_alone(
    drop_folder: Source, store: RedisStore, rclient: aioredis.Redis, tmp_path: Path
) -> None:
    drop(tmp_path, ".quay.json", json.dumps(NINJS).encode())  # write-then-rename: not yet
    drop(tmp_path, "quay.json.tmp", json.dumps(NINJS).encode())
    drop(tmp_path, "ferry.xml", NEWSML, age=0.5)  # modified just now: maybe still growing
    assert candidates(tmp_path, NOW) == []
    assert (await scan(drop_folder, store=store, client=rclient, now=NOW)).done == ()
    os.replace(tmp_path / ".quay.json", tmp_path / "quay.json")  # the writer renames it
    later = await scan(drop_folder, store=store, client=rclient, now=NOW + timedelta(seconds=5))
    assert sorted(later.done) == ["ferry.xml", "quay.json"]
    assert (tmp_path / "quay.json.tmp").exists()


async def test_two_scanners_take_each_file_once_and_a_restart_finds_nothing(
    drop_folder: Source, store: RedisStore, rclient: aioredis.Redis, tmp_path: Path
) -> None:
    for n in range(6):
        item = dict(NINJS, uri=f"urn:agency:2026:quay-{n}")
        item["headlines"] = [{"role": "main", "value": f"Quay repairs, day {n} of the works"}]
        drop(tmp_path, f"quay-{n}.json", json.dumps(item).encode())
    first, second = await asyncio.gather(
        scan(drop_folder, store=store, client=rclient, now=NOW),
        scan(drop_folder, store=store, client=rclient, now=NOW),
    )
    assert sorted(first.done + second.done) == sorted(f"quay-{n}.json" for n in range(6))
    assert not set(first.done) & set(second.done)
    again = await scan(drop_folder, store=store, client=rclient, now=NOW + timedelta(minutes=1))
    assert (again.done, again.failed) == ((), ())
    entries = [e for s in await store.recent_stories(20) for e in s.entries]
    assert len(entries) == 6


async def test_a_missing_folder_fails_the_source_with_a_clear_message(
    store: RedisStore, rclient: aioredis.Redis, tmp_path: Path
) -> None:
    gone = tmp_path / "nowhere"
    source = Source(id="drop", url=gone.as_uri(), kind="folder", path=str(gone))
    report = await ingest_folder(source, store=store, client=rclient, now=NOW)
    assert report.status == "error"
    assert report.error == f"drop folder {gone} is not a directory"
