"""Crash safety with real worker processes on a real Redis (or the cluster of
``make test-cluster``): many workers, kill -9 at random moments, and a Redis restart.

Each run serves a scripted stream (tests/support/fleet.py: new items, updates, copies across
sources, Atom tombstones) phase by phase from a loopback server that counts overlapping requests per
path, and ends with what readers see: per source the entries of the stories, and the stories
the explicit links (one live page) made. A run without kills is the reference; every other run
must end equal to it and to what the script says, with no source fetched by two at once and no
lease left further out than its time to live. The full 50-trial run is ``bench/crash.py``.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.store.connect import flush_all
from tests.support import FeedServer, child_env, feed_server, free_port, wait_for
from tests.support.fleet import Chaos, Fleet, Script, Snapshot, drive, overdue_leases, snapshot
from workers.embedded import EmbeddedRedis

LEASE = 3.0
TRIALS = 3


def run(
    url: str, script: Script, server: FeedServer, tmp: Path, *, workers: int, seed: int | None
) -> tuple[Snapshot, Fleet]:
    """One run of ``script`` from an empty database; with ``seed``, kill -9 workers meanwhile."""
    flush_all(url)
    server.max_in_flight.clear()
    script.serve(server, 0)
    sources = script.sources_file(server, tmp / "sources.yaml")
    fleet = Fleet(url, sources, workers, lease=LEASE, log=tmp / "workers.log")
    chaos = Chaos(fleet, seed, 2.5) if seed is not None else None
    try:
        drive(script, server, during=chaos)
    finally:
        codes = fleet.stop()
    # 0, or the default action of SIGTERM for a worker still starting (just restarted after
    # a kill, its handler not installed yet): nothing claimed, nothing to finish.
    assert set(codes) <= {0, -signal.SIGTERM}, (tmp / "workers.log").read_text()[-3000:]
    return snapshot(url, script), fleet


def check(found: Snapshot, reference: Snapshot, script: Script, server: FeedServer) -> None:
    assert found.entries == reference.entries  # nothing lost, doubled or stale
    assert found.linked == reference.linked  # the same explicit story links
    assert found.entries == script.expected and found.linked == script.linked
    assert set(server.max_in_flight.values()) == {1}  # never two fetches of one source at once


@pytest.fixture(scope="module")
def wire() -> Iterator[FeedServer]:
    with feed_server() as server:
        yield server


@pytest.mark.timeout(900)
def test_kill_9_at_random_moments_loses_and_doubles_nothing(
    redis_url: str, wire: FeedServer, tmp_path: Path
) -> None:
    script = Script(sources=6, phases=3, seed=12)
    reference, _ = run(redis_url, script, wire, tmp_path, workers=2, seed=None)
    check(reference, reference, script, wire)
    for trial in range(TRIALS):
        found, fleet = run(redis_url, script, wire, tmp_path, workers=2, seed=1000 + trial)
        assert fleet.kills > 0
        check(found, reference, script, wire)
        assert asyncio.run(overdue_leases(redis_url, LEASE)) == []


@pytest.mark.timeout(900)
def test_four_workers_share_a_thousand_sources(
    redis_url: str, wire: FeedServer, tmp_path: Path
) -> None:
    script = Script(sources=1000, phases=3, seed=4)
    flush_all(redis_url)
    wire.max_in_flight.clear()
    script.serve(wire, 0)
    sources = script.sources_file(wire, tmp_path / "sources.yaml", interval=2.0)
    fleet = Fleet(redis_url, sources, 4, lease=30.0, log=tmp_path / "workers.log")
    try:
        drive(script, wire, settle=1, timeout=600)
    finally:
        codes = fleet.stop()
    assert codes == [0, 0, 0, 0], (tmp_path / "workers.log").read_text()[-3000:]
    found = snapshot(redis_url, script)
    assert len(wire.max_in_flight) == 1000 and set(wire.max_in_flight.values()) == {1}
    assert found.entries == script.expected  # every item exactly once, in its last version
    assert found.linked == script.linked


def start_web(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = child_env(WIREFEED_REDIS_URL=url, WIREFEED_HTTP_PORT=str(port))
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "web"], env=env, stdout=out, stderr=out
        )


@pytest.mark.timeout(600)
def test_workers_and_web_ride_out_a_redis_restart(wire: FeedServer, tmp_path: Path) -> None:
    """Our own server (AOF, fsync every second), stopped and started again mid-stream."""
    script = Script(sources=8, phases=5, seed=6)
    with EmbeddedRedis(tmp_path / "data") as redis_server:
        url = redis_server.url
        reference, _ = run(url, script, wire, tmp_path, workers=2, seed=None)
        flush_all(url)
        wire.max_in_flight.clear()
        script.serve(wire, 0)
        sources = script.sources_file(wire, tmp_path / "sources.yaml")
        fleet = Fleet(url, sources, 2, lease=LEASE, log=tmp_path / "workers.log")
        port = free_port()
        web = start_web(url, port, tmp_path / "web.log")
        restarted = []

        def restart_once(phase: int) -> None:
            if phase == 2 and not restarted:
                redis_server.stop()
                time.sleep(2.0)  # workers and web meet a refused socket meanwhile
                redis_server.start()
                restarted.append(phase)

        try:
            wait_for(lambda: _answers(port), timeout=60)
            drive(script, wire, on_phase=restart_once, timeout=180)
            assert fleet.alive() and web.poll() is None
            wait_for(lambda: _answers(port), timeout=60)
        finally:
            codes = fleet.stop()
            web.terminate()
            web.wait(30)
        assert restarted == [2]
        assert codes == [0, 0], (tmp_path / "workers.log").read_text()[-3000:]
        found = snapshot(url, script)
    check(found, reference, script, wire)


def _answers(port: int) -> bool:
    try:
        return (
            httpx.get(f"http://127.0.0.1:{port}/feeds/stories.atom", timeout=5).status_code == 200
        )
    except httpx.HTTPError:
        return False
