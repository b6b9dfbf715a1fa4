"""Per-host politeness in real Redis: RedisHostGate's concurrency and rate budgets, shared by
every client; then two real worker processes that must never exceed one request at a time
against one host."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from config.settings import HostLimit
from ingest import keys
from ingest.fetch.politeness import Permit, RedisHostGate, host_of
from ingest.store.connect import open_redis, open_sync
from tests.support import (
    FeedServer,
    Reply,
    start_worker,
    stop_worker,
    wait_for,
    write_sources,
)

URL = "https://wire.example/feed.xml"
HOST = "wire.example"


@pytest.fixture
async def second_client(clean_redis: str) -> AsyncIterator[aioredis.Redis]:
    """Another connection to the same server: what a second worker process would hold."""
    client = await open_redis(clean_redis)
    try:
        yield client
    finally:
        await client.aclose()


async def granted(gate: RedisHostGate, url: str = URL) -> Permit:
    permit = await gate.acquire(url)
    assert permit.granted, permit
    return permit


async def until_refused(gate: RedisHostGate, url: str = URL, tries: int = 1000) -> Permit:
    """Acquire until the gate says no: a rate budget only refuses when asked quickly enough."""
    for _ in range(tries):
        permit = await gate.acquire(url)
        if not permit.granted:
            return permit
    raise AssertionError(f"{tries} acquisitions in a row were granted")


# ---------------------------------------------------------------------------------------------
# concurrency: requests at once


async def test_concurrency_grants_up_to_the_limit_then_refuses(rclient: aioredis.Redis) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=2, per_minute=0))
    first, second = await granted(gate), await granted(gate)
    assert first.token and second.token and first.token != second.token
    assert await rclient.zcard(keys.host_in_flight(HOST)) == 2

    third = await gate.acquire(URL)
    assert third == Permit(
        HOST, granted=False, reason=f"host budget for {HOST} (2 requests at once) in use", wait=0.5
    )
    assert await rclient.zcard(keys.host_in_flight(HOST)) == 2  # a refusal takes nothing

    await gate.release(first)
    fourth = await granted(gate)
    assert not (await gate.acquire(URL)).granted
    for permit in (second, fourth):
        await gate.release(permit)
    assert await rclient.zcard(keys.host_in_flight(HOST)) == 0
    assert [(await gate.acquire(URL)).granted for _ in range(3)] == [True, True, False]


async def test_releasing_twice_or_a_refusal_frees_nothing_more(rclient: aioredis.Redis) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=1, per_minute=0))
    held = await granted(gate)
    refused = await gate.acquire(URL)
    await gate.release(refused)
    assert not (await gate.acquire(URL)).granted
    await gate.release(held)
    await gate.release(held)
    again = await granted(gate)
    assert not (await gate.acquire(URL)).granted
    await gate.release(again)


async def test_an_expired_lease_frees_its_slot_without_release(rclient: aioredis.Redis) -> None:
    """A worker that dies mid-fetch never releases; its lease runs out instead."""
    gate = RedisHostGate(rclient, HostLimit(concurrency=1, per_minute=0), lease_seconds=0.05)
    await granted(gate)
    assert not (await gate.acquire(URL)).granted
    await asyncio.sleep(0.15)  # well past the 50 ms lease, by Redis's clock too
    await granted(gate)


async def test_the_in_flight_set_expires_with_its_leases(rclient: aioredis.Redis) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=2, per_minute=0), lease_seconds=10)
    await granted(gate)
    ttl = await rclient.pttl(keys.host_in_flight(HOST))
    assert 10_000 < ttl <= 20_000  # twice the lease: never outlives a live token


# ---------------------------------------------------------------------------------------------
# rate: requests a minute, spaced evenly (GCRA)


async def test_sixty_a_minute_allows_one_then_asks_for_about_a_second(
    rclient: aioredis.Redis,
) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=0, per_minute=60))
    first = await granted(gate)
    assert first.token == ""  # no concurrency slot to give back
    second = await gate.acquire(URL)
    assert not second.granted
    assert second.reason == f"host budget for {HOST} (60 requests a minute) in use"
    assert 0.5 < second.wait <= 1.0
    assert await rclient.exists(keys.host_in_flight(HOST)) == 0


async def test_the_rate_allows_again_after_the_wait(rclient: aioredis.Redis) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=0, per_minute=6000))  # 10 ms apart
    await granted(gate)
    refused = await until_refused(gate)
    assert 0 < refused.wait <= 0.01
    assert refused.reason == f"host budget for {HOST} (6000 requests a minute) in use"
    await asyncio.sleep(refused.wait + 0.005)
    await granted(gate)


async def test_the_rate_key_expires_once_it_no_longer_matters(rclient: aioredis.Redis) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=0, per_minute=60))
    await granted(gate)
    ttl = await rclient.pttl(keys.host_rate(HOST))
    assert 1_000 < ttl <= 2_000  # one step (1 s) plus a second of slack


async def test_concurrency_is_checked_before_the_rate_and_neither_leaks(
    rclient: aioredis.Redis,
) -> None:
    gate = RedisHostGate(rclient, HostLimit(concurrency=1, per_minute=60))
    held = await granted(gate)
    assert held.token
    busy = await gate.acquire(URL)
    assert busy.reason == f"host budget for {HOST} (1 request at once) in use"
    await gate.release(held)
    spent = await gate.acquire(URL)
    assert spent.reason == f"host budget for {HOST} (60 requests a minute) in use"
    assert await rclient.zcard(keys.host_in_flight(HOST)) == 0  # the rate refusal took no slot


# ---------------------------------------------------------------------------------------------
# which limit applies to which host


async def test_per_host_overrides_and_the_default(rclient: aioredis.Redis) -> None:
    gate = RedisHostGate(
        rclient,
        default=HostLimit(concurrency=1, per_minute=0),
        limits={
            "busy.example": HostLimit(concurrency=3, per_minute=0),
            "free.example": HostLimit(concurrency=0, per_minute=0),
        },
    )
    assert gate.limit_for("busy.example") == HostLimit(3, 0)
    assert gate.limit_for("other.example") == HostLimit(1, 0)

    async def grants(url: str, n: int) -> list[bool]:
        return [(await gate.acquire(url)).granted for _ in range(n)]

    assert await grants("https://other.example/a", 2) == [True, False]
    assert await grants("https://busy.example/a", 4) == [True, True, True, False]
    assert await grants("https://free.example/a", 10) == [True] * 10
    # hosts do not share budgets; ports and case do not make a new host
    assert await grants("https://third.example/a", 2) == [True, False]
    assert await grants("http://BUSY.example:8080/b", 1) == [False]
    assert await rclient.exists(keys.host_in_flight("free.example")) == 0


async def test_unlimited_never_talks_to_redis(rclient: aioredis.Redis) -> None:
    # A client to a port where nothing listens: any command would fail.
    nowhere = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    try:
        gate = RedisHostGate(nowhere, HostLimit(concurrency=0, per_minute=0))
        permits = [await gate.acquire(URL) for _ in range(5)]
        assert permits == [Permit(HOST, granted=True)] * 5
        for permit in permits:
            await gate.release(permit)
    finally:
        await nowhere.aclose()
    real = RedisHostGate(rclient, HostLimit(concurrency=0, per_minute=0))
    await real.release(await real.acquire(URL))
    assert await rclient.dbsize() == 0


# ---------------------------------------------------------------------------------------------
# one budget across clients (workers)


async def test_two_clients_share_the_concurrency_budget(
    rclient: aioredis.Redis, second_client: aioredis.Redis
) -> None:
    limit = HostLimit(concurrency=2, per_minute=0)
    one, two = RedisHostGate(rclient, limit), RedisHostGate(second_client, limit)
    from_one = await granted(one)
    from_two = await granted(two)
    assert not (await one.acquire(URL)).granted
    assert not (await two.acquire(URL)).granted
    await two.release(from_two)
    await granted(one)
    await one.release(from_one)
    await granted(two)


async def test_two_clients_share_the_rate_budget(
    rclient: aioredis.Redis, second_client: aioredis.Redis
) -> None:
    limit = HostLimit(concurrency=0, per_minute=60)
    one, two = RedisHostGate(rclient, limit), RedisHostGate(second_client, limit)
    await granted(one)
    refused = await two.acquire(URL)
    assert not refused.granted and 0.5 < refused.wait <= 1.0


async def test_racing_acquisitions_never_overbook(
    rclient: aioredis.Redis, second_client: aioredis.Redis
) -> None:
    limit = HostLimit(concurrency=3, per_minute=0)
    gates = [RedisHostGate(rclient, limit), RedisHostGate(second_client, limit)]
    permits = await asyncio.gather(*(gates[n % 2].acquire(URL) for n in range(40)))
    assert sum(p.granted for p in permits) == 3
    assert await rclient.zcard(keys.host_in_flight(HOST)) == 3


# ---------------------------------------------------------------------------------------------
# host_of: the politeness key of a URL


@pytest.mark.parametrize(
    ("url", "host"),
    [
        pytest.param("https://wire.example/feed.xml", "wire.example", id="plain"),
        pytest.param("https://wire.example:8443/feed.xml", "wire.example", id="port-shares"),
        pytest.param("http://127.0.0.1:8080/feed", "127.0.0.1", id="ipv4-with-port"),
        pytest.param("https://WIRE.Example/Feed", "wire.example", id="uppercase"),
        pytest.param("http://[::1]:8080/feed", "::1", id="ipv6-with-port"),
        pytest.param("http://[2001:DB8::1]/feed", "2001:db8::1", id="ipv6-uppercase"),
        pytest.param("https://user:secret@wire.example/feed", "wire.example", id="userinfo"),
        pytest.param("http://[::1/feed", "unknown", id="broken-ipv6"),
        pytest.param("not a url", "unknown", id="no-scheme"),
        pytest.param("", "unknown", id="empty"),
        pytest.param("file:///etc/passwd", "unknown", id="no-host"),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


# ---------------------------------------------------------------------------------------------
# two real workers, one host, one request at a time


class HostWideServer(FeedServer):
    """A FeedServer that also tracks how many requests it serves at once across all paths."""

    def __init__(self) -> None:
        super().__init__()
        self.host_in_flight = 0
        self.host_max_in_flight = 0
        self._host_lock = threading.Lock()

    def _enter(self, path: str, headers: dict[str, str]) -> None:
        with self._host_lock:
            self.host_in_flight += 1
            self.host_max_in_flight = max(self.host_max_in_flight, self.host_in_flight)
        super()._enter(path, headers)

    def _leave(self, path: str) -> None:
        super()._leave(path)
        with self._host_lock:
            self.host_in_flight -= 1


RSS = (
    b'<rss version="2.0"><channel><title>T</title><item><guid>{n}</guid><title>Item {n}</title>'
    b"<link>https://news.example/{n}</link></item></channel></rss>"
)
SOURCES = 8


def test_two_workers_keep_one_request_at_a_time_against_one_host(
    clean_redis: str, tmp_path: Path
) -> None:
    server = HostWideServer()
    server.start()
    ids = [f"src-{n}" for n in range(SOURCES)]
    urls = {
        sid: server.set(f"/feed/{n}", Reply(RSS.replace(b"{n}", str(n).encode()), delay=0.3))
        for n, sid in enumerate(ids)
    }
    sources = write_sources(tmp_path / "sources.yaml", urls)
    client = open_sync(clean_redis, decode_responses=True)
    seen_states: set[str] = set()
    seen_failures: set[str] = set()
    deferral_reasons: set[str] = set()

    def sample() -> None:
        for sid in ids:
            stored: dict[str, str] = client.hgetall(keys.source_status(sid))  # type: ignore[assignment]
            seen_states.add(stored.get("state", "new"))
            seen_failures.add(stored.get("consecutive_failures", "0"))
            reason = stored.get("interval_reason", "")
            if reason.startswith("deferred"):
                deferral_reasons.add(reason)

    def every_source_polled_twice() -> bool:
        sample()
        return all(server.requests[f"/feed/{n}"] >= 2 for n in range(SOURCES))

    workers = [start_worker(clean_redis, sources, WIREFEED_HOST_CONCURRENCY="1") for _ in range(2)]
    try:
        wait_for(lambda: client.zcard(keys.WORKERS) == 2, timeout=30)
        wait_for(every_source_polled_twice, timeout=60, every=0.05)
    finally:
        results = [stop_worker(w) for w in workers]
        sample()
        client.close()
        server.stop()
    for code, output in results:
        assert code == 0, output
    assert server.host_max_in_flight == 1
    assert seen_failures == {"0"}, "politeness must never count as a failure"
    assert seen_states <= {"new", "ok", "deferred"}
    assert "deferred" in seen_states or deferral_reasons, "the gate never had to say no"
    assert all("(1 request at once)" in reason for reason in deferral_reasons)


def test_the_host_wide_server_counts_across_paths() -> None:
    """The instrument itself: two slow requests on two paths at once show as two in flight."""
    server = HostWideServer()
    server.start()
    try:
        urls = [server.set(f"/{n}", Reply(b"x", delay=0.3)) for n in range(2)]
        threads = [threading.Thread(target=_get, args=(url,)) for url in urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        server.stop()
    assert server.host_max_in_flight == 2
    assert dict(server.max_in_flight) == {"/0": 1, "/1": 1}


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=10) as answer:
        answer.read()
