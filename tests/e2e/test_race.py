"""Two worker processes storing the same wire copy at the same moment make one entry.

Two sources (an RSS wire and an Atom wire) carry the same copy under their own ids and URLs.
Two real ``python -m workers.cli worker`` processes share one real Redis; each may run one
job at a time. The test makes the first source due; one worker claims it and its request is
held by the server. Then the second source is due; the busy worker cannot take it, so the other
one does. The server answers both requests only once both have arrived (a barrier), so the two
workers parse and store the same copy at the same moment. One entry must result, crediting
the other source as "also reported by". The race is repeated with fresh stories; in two rounds
the second wire lightly edits the copy (a near copy: no URL or word-for-word claim settles it,
only the near-copy index does).

The server also proves the two requests came from the two processes: it looks up which
process owns the client end of each connection (``/proc/net/tcp`` and ``/proc/PID/fd``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from ingest import keys
from ingest.fingerprint import DUPLICATE_THRESHOLD, lead, words
from ingest.model import Entry
from ingest.store.redis_store import RedisStore
from tests.support import (
    SESSION,
    LoopbackServer,
    Wire,
    atom,
    rss,
    start_worker,
    stop_worker,
    wait_for,
)

pytestmark = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux /proc to tell processes apart"
)

HARBOR, BAY = "/harbor.rss", "/bay.atom"
ROUNDS = [
    (
        "cable-car",
        "Cable car stalls above Lindqvist gorge; 40 riders lowered by rope",
        "Rescue teams lowered forty passengers from a stalled cable car above the Lindqvist "
        "gorge on Sunday after a drive motor overheated, the operator said. No injuries.",
    ),
    (
        "orchard",
        "Frost wipes out early apricot bloom across Vellmar valley",
        "Growers in the Vellmar valley lost most of the early apricot blossom to two nights of "
        "hard frost, the farmers cooperative reported, warning of scarce fruit this summer.",
    ),
    (
        "museum",
        "Stolen bronze owl returned anonymously to Ostrava museum",
        "A bronze owl statuette taken from the Ostrava city museum in March was left in a "
        "parcel at the front desk, curators said, with a note apologizing for the theft.",
    ),
    (
        "marathon",
        "Record field of 31,000 runners expected for Harmon marathon",
        "Organizers of the Harmon marathon expect thirty-one thousand runners on Saturday, a "
        "record, and will close the river bridges to traffic from dawn until mid-afternoon.",
    ),
]


NEAR = {
    "museum": "A bronze owl statuette stolen from the Ostrava city museum in March was left in "
    "a parcel at the front desk on Tuesday, curators said, with a note apologizing for the theft.",
    "marathon": "Organizers of the Harmon marathon expect 31,000 runners on Saturday, a record, "
    "and will close the river bridges to traffic from dawn until mid-afternoon, police said.",
}
"""Rounds in which Bay Press edits the copy lightly: slug -> Bay's text."""


# -- which process owns a connection ---------------------------------------------------------


def _socket_inode(client_port: int, server_port: int) -> str | None:
    """The inode of the client end of a loopback TCP connection, from /proc/net/tcp."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
            if int(local, 16) == client_port and int(remote, 16) == server_port:
                return fields[9]
    return None


def owner_of(client_port: int, server_port: int, pids: Sequence[int]) -> int | None:
    """The process among ``pids`` holding the client end of the connection, if any."""
    inode = _socket_inode(client_port, server_port)
    if inode is None:
        return None
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


# -- the wire server ---------------------------------------------------------------------------


class RaceServer(LoopbackServer):
    """Serves one document per path on 127.0.0.1. While a round is held, a request for a held
    path waits until every held path has been asked for, then all are answered together."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.requests: Counter[str] = Counter()
        self.askers: dict[str, list[int | None]] = {}
        self.pids: list[int] = []
        self.broken = 0
        self._held: set[str] = set()
        self._barrier: threading.Barrier | None = None
        self._lock = threading.Lock()
        super().__init__()

    def hold(self, paths: set[str]) -> None:
        with self._lock:
            self._held = set(paths)
            self._barrier = threading.Barrier(len(paths), timeout=20)

    def release(self) -> None:
        with self._lock:
            self._held, self._barrier = set(), None

    def _arrive(self, path: str, client_port: int) -> threading.Barrier | None:
        asker = owner_of(client_port, self.port, self.pids)
        with self._lock:
            self.requests[path] += 1
            self.askers.setdefault(path, []).append(asker)
            return self._barrier if path in self._held else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                barrier = server._arrive(self.path, self.client_address[1])
                if barrier is not None:
                    try:
                        barrier.wait()
                    except threading.BrokenBarrierError:
                        server.broken += 1
                body = server.bodies.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        return Handler

    def __enter__(self) -> RaceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- workers -----------------------------------------------------------------------------------


def write_sources(path: Path, server: RaceServer) -> Path:
    path.write_text(
        "sources:\n"
        f"  - {{id: harbor, title: Harbor Wire, url: '{server.url(HARBOR)}', kind: rss,"
        " interval: 3600}\n"
        f"  - {{id: bay, title: Bay Press, url: '{server.url(BAY)}', kind: atom,"
        " interval: 3600}\n"
    )
    return path


@contextmanager
def workers(
    redis_url: str, sources: Path, count: int = 2
) -> Iterator[list[subprocess.Popen[bytes]]]:
    # One job at a time: a worker busy with one source cannot claim the other.
    processes = [
        start_worker(redis_url, sources, WIREFEED_WORKER_CONCURRENCY="1") for _ in range(count)
    ]
    try:
        yield processes
    finally:
        outputs = [stop_worker(process) for process in processes]
    for code, out in outputs:
        assert code == 0, out


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def polls(client: redis.Redis, source_id: str) -> int:
    return int(client.hget(keys.source_status(source_id), "polls") or 0)


def idle(client: redis.Redis, done: dict[str, int]) -> bool:
    """Both sources polled ``done`` times, their statuses saved and their next polls an hour
    away: no worker holds or is about to claim them."""
    far = server_ms(client) + 600_000
    return all(
        polls(client, sid) >= count and (client.zscore(keys.SCHEDULE, sid) or 0) > far
        for sid, count in done.items()
    )


async def stored(redis_url: str, title: str) -> list[tuple[str, Entry]]:
    """(story id, entry) of every stored entry titled ``title``, credits attached."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        store = RedisStore(client)
        found = []
        for sid in await client.zrange(keys.STORIES, 0, -1):
            story = await store.story(sid)
            found += [(sid, e) for e in (story.entries if story else ()) if e.title == title]
        return found
    finally:
        await client.aclose()


def events_for(client: redis.Redis, entry_id: str) -> Counter[str]:
    return Counter(
        fields["kind"]
        for _id, fields in client.xrange(keys.EVENTS)
        if fields.get("entry") == entry_id
    )


# -- the race ----------------------------------------------------------------------------------


def test_two_workers_storing_one_wire_copy_at_once_make_one_entry(
    clean_redis: str, tmp_path: Path
) -> None:
    for n, (_slug, title, text) in enumerate(ROUNDS):  # fresh stories: no round meets another
        for _other_slug, other_title, other_text in ROUNDS[n + 1 :]:
            a, b = words(lead(title, text)), words(lead(other_title, other_text))
            assert len(a & b) / len(a | b) < DUPLICATE_THRESHOLD / 2
    for slug, title, text in ROUNDS:
        if slug in NEAR:  # a near copy, clearly: not the same words, well over the threshold
            a, b = words(lead(title, text)), words(lead(title, NEAR[slug]))
            assert a != b and len(a & b) / len(a | b) > DUPLICATE_THRESHOLD * 1.5, slug
    client = redis.Redis.from_url(clean_redis, decode_responses=True)
    with RaceServer() as server:
        server.bodies = {HARBOR: rss(), BAY: atom()}
        sources = write_sources(tmp_path / "sources.yaml", server)
        with workers(clean_redis, sources) as processes:
            server.pids = [p.pid for p in processes]
            wait_for(lambda: client.zcard(keys.WORKERS) == 2, timeout=30)
            wait_for(lambda: idle(client, {"harbor": 1, "bay": 1}), timeout=30)
            for n, (slug, title, text) in enumerate(ROUNDS):
                race(client, server, clean_redis, n, slug, title, text)
    client.close()


def race(
    client: redis.Redis,
    server: RaceServer,
    redis_url: str,
    n: int,
    slug: str,
    title: str,
    text: str,
) -> None:
    at = SESSION - timedelta(minutes=5)  # the workers take items of their retention window
    urls = {"harbor": f"https://harbor.example/{slug}", "bay": f"https://bay.example/{slug}"}
    server.bodies = {
        HARBOR: rss(Wire(f"harbor-{slug}", title, text, urls["harbor"] + "?utm_source=rss", at)),
        BAY: atom(
            Wire(f"tag:bay.example,2026:{slug}", title, NEAR.get(slug, text), urls["bay"], at)
        ),
    }
    done = {sid: polls(client, sid) + 1 for sid in ("harbor", "bay")}
    first, second = (HARBOR, BAY) if n % 2 == 0 else (BAY, HARBOR)
    asked = dict(server.requests)
    server.hold({HARBOR, BAY})
    try:
        client.zadd(keys.SCHEDULE, {first.strip("/").split(".")[0]: 0}, xx=True)
        wait_for(lambda: server.requests[first] > asked.get(first, 0), timeout=20)
        client.zadd(keys.SCHEDULE, {second.strip("/").split(".")[0]: 0}, xx=True)
        wait_for(lambda: idle(client, done), timeout=30)
    finally:
        server.release()
    assert server.broken == 0, "the two requests did not meet at the barrier"
    askers = {server.askers[HARBOR][-1], server.askers[BAY][-1]}
    assert askers == set(server.pids), f"round {n}: both requests came from {askers}"

    found = asyncio.run(stored(redis_url, title))
    assert len(found) == 1, f"round {n}: {len(found)} entries for one wire copy"
    ((sid, entry),) = found
    other = "bay" if entry.source_id == "harbor" else "harbor"
    assert entry.also == ((other, urls[other]),), f"round {n}"
    assert client.hgetall(keys.story_also(sid)) == {f"{entry.id}\x1f{other}": urls[other]}
    assert events_for(client, entry.id) == Counter({"new": 1, "also": 1}), f"round {n}"
