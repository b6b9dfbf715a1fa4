"""`wirefeed sources status`: real worker processes poll a loopback server whose sources sit in
the states a worker reaches, then the real CLI prints what they recorded in Redis, as a table
and as JSON.

Two worker runs, as an operator might make them: the first (dead after 2 failures) leaves a
503 source `dead`; the second (default settings) adds a 404 source and stops once it has failed
twice. Every other source is then settled: not due again for minutes, or off the schedule.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ingest import keys
from ingest.store.connect import open_sync
from tests.support import FeedServer, Reply, child_env, wait_for

RSS = (
    b'<rss version="2.0"><channel><title>T</title><item><guid>1</guid><title>Harbor closes'
    b"</title><link>https://news.example/1</link></item></channel></rss>"
)
COLUMNS = [
    "ID",
    "STATE",
    "HTTP",
    "FAILS",
    "LAST SUCCESS",
    "NEXT DUE",
    "WHY THAT INTERVAL",
    "LAST ERROR",
]
JSON_FIELDS = {
    "id",
    "state",
    "http_status",
    "last_error",
    "consecutive_failures",
    "next_due",
    "interval_reason",
}


@dataclass(frozen=True)
class Configured:
    id: str
    reply: Reply | None
    """None: the server has nothing there (404)."""
    interval: int = 3600
    enabled: bool = True


FIRST_RUN = [
    Configured("broken", Reply(b"down", status=503), interval=1),
    Configured("gone", Reply(b"", status=410)),
    Configured("good", Reply(RSS, headers={"Content-Type": "application/rss+xml"})),
    Configured("paused", Reply(RSS), enabled=False),
    Configured("throttled", Reply(b"", status=429, headers={"Retry-After": "120"}), interval=1),
]
SECOND_RUN = [*FIRST_RUN, Configured("missing", None, interval=1)]


def write_sources(path: Path, server: FeedServer, sources: list[Configured]) -> Path:
    lines = ["sources:"]
    for s in sources:
        if s.reply is not None:
            server.set(f"/{s.id}", s.reply)
        lines += [
            f"  - id: {s.id}",
            f"    url: {server.url('/' + s.id)}",
            f"    interval: {s.interval}",
            f"    enabled: {'true' if s.enabled else 'false'}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _env(redis_url: str, **extra: str) -> dict[str, str]:
    return child_env(
        WIREFEED_REDIS_URL=redis_url,
        WIREFEED_FETCH_ALLOW_NETWORKS="127.0.0.0/8",
        WIREFEED_LOG_LEVEL="WARNING",
        # Every test source lives on 127.0.0.1; host politeness has its own tests.
        WIREFEED_HOST_CONCURRENCY="0",
        WIREFEED_HOST_PER_MINUTE="0",
        **extra,
    )


@contextmanager
def worker(redis_url: str, sources: Path, **settings: str) -> Iterator[None]:
    """A `wirefeed worker` process for the length of the block; it must stop cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "worker"],
        env=_env(redis_url, WIREFEED_SOURCES=str(sources), **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out.decode(errors="replace")


def wirefeed(redis_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args],
        cwd=cwd,
        env=_env(redis_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def polled(clean_redis: str, server: FeedServer, tmp_path: Path) -> dict[str, int]:
    """Run both worker passes; the requests each source got."""
    client = open_sync(clean_redis, decode_responses=True)

    def state(source_id: str, field: str = "state") -> str | None:
        value: str | None = client.hget(keys.source_status(source_id), field)  # type: ignore[assignment]
        return value

    def settled() -> bool:
        return (
            state("broken") == "dead"
            and state("gone") == "gone"
            and state("good") == "ok"
            and state("paused") == "paused"
            and state("throttled") == "deferred"
            and state("throttled", "interval_reason") is not None
        )

    try:
        first = write_sources(tmp_path / "first.yaml", server, FIRST_RUN)
        with worker(
            clean_redis, first, WIREFEED_FETCH_DEAD_AFTER="2", WIREFEED_FETCH_DEAD_RETRY="7200"
        ):
            wait_for(settled, timeout=60)
        second = write_sources(tmp_path / "second.yaml", server, SECOND_RUN)
        with worker(clean_redis, second):
            wait_for(lambda: int(state("missing", "consecutive_failures") or 0) >= 2, timeout=60)
    finally:
        client.close()
    return {s.id: server.requests[f"/{s.id}"] for s in SECOND_RUN}


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _waits(record: dict[str, Any]) -> float:
    """Seconds from the source's last attempt to its next due time."""
    return (_at(record["next_due"]) - _at(record["last_attempt"])).total_seconds()


def test_status_json_gives_every_source_its_state_and_why(
    clean_redis: str, polled: dict[str, int], tmp_path: Path
) -> None:
    result = wirefeed(clean_redis, "sources", "status", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["id"] for r in records] == [
        "broken",
        "gone",
        "good",
        "missing",
        "paused",
        "throttled",
    ]
    assert all(r.keys() >= JSON_FIELDS for r in records)
    by_id = {r["id"]: {k: r[k] for k in JSON_FIELDS - {"id", "next_due"}} for r in records}
    failures = polled["missing"]
    assert failures >= 2
    assert by_id == {
        "broken": {
            "state": "dead",
            "http_status": 503,
            "last_error": "HTTP 503 Service Unavailable",
            "consecutive_failures": 2,
            "interval_reason": "dead after 2 consecutive failures: retried every 2.0 h",
        },
        "gone": {
            "state": "gone",
            "http_status": 410,
            "last_error": "HTTP 410 Gone",
            "consecutive_failures": 1,
            "interval_reason": "410 Gone: disabled until its configuration changes",
        },
        "good": {
            "state": "ok",
            "http_status": 200,
            "last_error": None,
            "consecutive_failures": 0,
            "interval_reason": "configured interval: 3600 s",
        },
        "missing": {
            "state": "failing",
            "http_status": 404,
            "last_error": "HTTP 404 Not Found",
            "consecutive_failures": failures,  # one per request the server saw
            "interval_reason": f"backing off after {failures} consecutive failures",
        },
        "paused": {
            "state": "paused",
            "http_status": None,
            "last_error": None,
            "consecutive_failures": 0,
            "interval_reason": None,
        },
        "throttled": {
            "state": "deferred",
            "http_status": 429,
            "last_error": "HTTP 429 Too Many Requests",
            "consecutive_failures": 0,  # a 429 is not a failure
            "interval_reason": "Retry-After: 120 s",
        },
    }
    assert polled["broken"] == 2 and polled["gone"] == 1 and polled["paused"] == 0
    records_by_id = {r["id"]: r for r in records}
    # Off the schedule: nothing is due.
    assert records_by_id["gone"]["next_due"] is None
    assert records_by_id["paused"]["next_due"] is None
    assert records_by_id["paused"]["enabled"] is False
    # Due after the interval the reason names, give or take the 10 % jitter (and a second).
    backoff = 2 ** (failures - 1)
    for source_id, seconds in (
        ("broken", 7200),
        ("good", 3600),
        ("missing", backoff),
        ("throttled", 120),
    ):
        assert 0.9 * seconds - 1 <= _waits(records_by_id[source_id]) <= 1.1 * seconds + 1, source_id
    assert records_by_id["good"]["last_success"] is not None
    assert records_by_id["missing"]["last_success"] is None


def _cells(table: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The header's column names and each row's cells by column, cut at the header's offsets."""
    header, *rows = table.splitlines()
    names = re.split(r" {2,}", header.strip())
    starts = [header.index(name) for name in names]
    ends = [*starts[1:], None]
    cells = {}
    for row in rows:
        values = [row[start:end].strip() for start, end in zip(starts, ends, strict=True)]
        cells[values[0]] = dict(zip(names, values, strict=True))
    return names, cells


def test_status_table_shows_each_state_in_its_columns(
    clean_redis: str, polled: dict[str, int], tmp_path: Path
) -> None:
    result = wirefeed(clean_redis, "sources", "status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names, rows = _cells(result.stdout.rstrip("\n"))
    assert names == COLUMNS
    assert list(rows) == ["broken", "gone", "good", "missing", "paused", "throttled"]
    failures = str(polled["missing"])
    fixed = {
        name: {
            column: cells[column]
            for column in COLUMNS
            if column not in ("NEXT DUE", "LAST SUCCESS")
        }
        for name, cells in rows.items()
    }
    assert fixed == {
        "broken": {
            "ID": "broken",
            "STATE": "dead",
            "HTTP": "503",
            "FAILS": "2",
            "WHY THAT INTERVAL": "dead after 2 consecutive failures: retried every 2.0 h",
            "LAST ERROR": "HTTP 503 Service Unavailable",
        },
        "gone": {
            "ID": "gone",
            "STATE": "gone",
            "HTTP": "410",
            "FAILS": "1",
            "WHY THAT INTERVAL": "410 Gone: disabled until its configuration changes",
            "LAST ERROR": "HTTP 410 Gone",
        },
        "good": {
            "ID": "good",
            "STATE": "ok",
            "HTTP": "200",
            "FAILS": "0",
            "WHY THAT INTERVAL": "configured interval: 3600 s",
            "LAST ERROR": "-",
        },
        "missing": {
            "ID": "missing",
            "STATE": "failing",
            "HTTP": "404",
            "FAILS": failures,
            "WHY THAT INTERVAL": f"backing off after {failures} consecutive failures",
            "LAST ERROR": "HTTP 404 Not Found",
        },
        "paused": {
            "ID": "paused",
            "STATE": "paused",
            "HTTP": "-",
            "FAILS": "0",
            "WHY THAT INTERVAL": "-",
            "LAST ERROR": "-",
        },
        "throttled": {
            "ID": "throttled",
            "STATE": "deferred",
            "HTTP": "429",
            "FAILS": "0",
            "WHY THAT INTERVAL": "Retry-After: 120 s",
            "LAST ERROR": "HTTP 429 Too Many Requests",
        },
    }
    # Times relative to now: only the good source ever succeeded; off-schedule ones are not due.
    assert {name: cells["LAST SUCCESS"] for name, cells in rows.items() if name != "good"} == {
        name: "-" for name in ("broken", "gone", "missing", "paused", "throttled")
    }
    assert re.fullmatch(r"\d+ s ago", rows["good"]["LAST SUCCESS"])
    assert rows["gone"]["NEXT DUE"] == rows["paused"]["NEXT DUE"] == "-"
    assert re.fullmatch(r"in 1[01][0-9] min|in 2\.[0-2] h", rows["broken"]["NEXT DUE"])
    assert re.fullmatch(r"in (5[0-9]|6[0-7]) min", rows["good"]["NEXT DUE"])
    assert re.fullmatch(r"in \d+ s|\d+ s ago", rows["missing"]["NEXT DUE"])
    assert re.fullmatch(r"in \d+ s|in 2 min", rows["throttled"]["NEXT DUE"])  # 120 s +/- 10 %


def test_status_with_no_sources(clean_redis: str, tmp_path: Path) -> None:
    table = wirefeed(clean_redis, "sources", "status", cwd=tmp_path)
    listing = wirefeed(clean_redis, "sources", "status", "--json", cwd=tmp_path)
    assert (table.returncode, table.stdout) == (0, "no sources configured\n")
    assert (listing.returncode, json.loads(listing.stdout)) == (0, [])
