"""Worker processes sharing one real Redis, fetching from a real HTTP server on loopback."""

from __future__ import annotations

import time
from pathlib import Path

from ingest import keys
from ingest.store.connect import open_sync
from tests.support import (
    FeedServer,
    Reply,
    start_worker,
    stop_worker,
    wait_for,
    write_sources,
)
from workers.embedded import EmbeddedRedis

RSS = (
    b'<rss version="2.0"><channel><title>T</title><item><guid>{n}</guid><title>Item {n}</title>'
    b"<link>https://news.example/{n}</link></item></channel></rss>"
)


def test_two_workers_never_fetch_one_source_at_once(
    clean_redis: str, server: FeedServer, tmp_path: Path
) -> None:
    urls = {}
    for n in range(8):
        # Slow answers widen the window in which a double fetch would show.
        urls[f"src-{n}"] = server.set(
            f"/feed/{n}", Reply(RSS.replace(b"{n}", str(n).encode()), delay=0.3)
        )
    sources = write_sources(tmp_path / "sources.yaml", urls)
    workers = [start_worker(clean_redis, sources) for _ in range(2)]
    client = open_sync(clean_redis, decode_responses=True)
    try:
        wait_for(lambda: client.zcard(keys.WORKERS) == 2, timeout=30)
        wait_for(lambda: all(server.requests[f"/feed/{n}"] >= 4 for n in range(8)), timeout=60)
    finally:
        results = [stop_worker(w) for w in workers]
        client.close()
    for code, output in results:
        assert code == 0, output
    assert {path: server.max_in_flight[path] for path in server.max_in_flight} == {
        f"/feed/{n}": 1 for n in range(8)
    }


def test_a_bad_source_does_not_stop_the_worker(
    clean_redis: str, server: FeedServer, tmp_path: Path
) -> None:
    good = server.set("/good", Reply(RSS.replace(b"{n}", b"1")))
    urls = {
        "good": good,
        "broken": server.set("/broken", Reply(b"<html>not a feed</html>")),
        "missing": server.url("/missing"),
        "refused": "http://127.0.0.1:9/nothing-listens-here",
    }
    worker = start_worker(clean_redis, write_sources(tmp_path / "s.yaml", urls))
    client = open_sync(clean_redis, decode_responses=True)
    try:
        wait_for(lambda: server.requests["/good"] >= 3, timeout=60)
        wait_for(
            lambda: all(
                client.hget(keys.source_status(s), "last_error")
                for s in ("broken", "missing", "refused")
            ),
            timeout=60,
        )
        assert worker.poll() is None
        assert client.hget(keys.source_status("good"), "state") == "ok"
        assert client.hget(keys.source_status("missing"), "last_error") == "HTTP 404 Not Found"
        assert "cannot parse" in (client.hget(keys.source_status("broken"), "last_error") or "")
    finally:
        code, output = stop_worker(worker)
        client.close()
    assert code == 0, output


def test_a_poll_redis_missed_is_repeated_once_redis_is_back(
    server: FeedServer, tmp_path: Path
) -> None:
    """Redis stops (flushing its append-only file, lease included) while a fetch is on the
    wire and is back after the fetch ended: the worker makes the source due again at once
    rather than leaving it to its two-minute lease."""
    url = server.set("/slow", Reply(RSS.replace(b"{n}", b"1"), delay=3.0))
    sources = write_sources(tmp_path / "sources.yaml", {"slow": url}, interval=3600)
    with EmbeddedRedis(tmp_path / "data") as redis_server:
        worker = start_worker(
            redis_server.url,
            sources,
            log=tmp_path / "worker.log",
            WIREFEED_LEASE_SECONDS="120",
            WIREFEED_LOG_LEVEL="INFO",
        )
        try:
            wait_for(lambda: server.in_flight["/slow"] == 1, timeout=30)
            redis_server.stop()
            wait_for(lambda: server.in_flight["/slow"] == 0, timeout=30)
            time.sleep(1.0)  # the worker meets a refused socket saving the poll
            redis_server.start()
            wait_for(lambda: server.requests["/slow"] >= 2, timeout=30)
        finally:
            code, _ = stop_worker(worker)
    log = (tmp_path / "worker.log").read_text()
    assert code == 0, log
    assert "due again: slow" in log
    assert "Traceback" not in log
