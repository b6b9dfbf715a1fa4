"""Every misbehaviour of the hostile server (tests/support/hostile.py), through the real pipeline.

Each case runs ``ingest_source`` with a real ``HttpFetcher`` (small limits) against a real Redis
and pins what a poll of that route ends in: the saved state, HTTP status, failure count and
message, what (if anything) was stored, and when ``next_delay`` polls it again and why.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from config.sources import Source
from ingest import keys
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.health import HealthPolicy
from ingest.model import Entry, IngestReport, SourceStatus
from ingest.pipeline import IngestPolicy, ingest_source
from ingest.store.redis_store import RedisStore
from tests import hostile as h
from tests.support import LOOPBACK
from tests.support.hostile import HostileServer, hostile_server, watch_opens
from workers.timing import TimingPolicy, next_delay
from workers.worker import Worker

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
CAP = 1_000_000
LIMITS = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=3, max_bytes=CAP)
MEMORY_BOUND = 3 * CAP + 1_000_000
"""Peak traced memory one capped fetch may take: the cap, its copy, and the buffers around it."""
INTERVAL = 60.0
BACKOFF_1 = (INTERVAL, "backing off after 1 consecutive failure")
TIMING = TimingPolicy()


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 1.0


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, str]:
    """A local file that the XXE routes point at, holding a marker that must never leak."""
    marker = f"SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(marker + "\n")
    return path, marker


@pytest.fixture
def hostile(secret: tuple[Path, str]) -> Iterator[HostileServer]:
    with hostile_server(secret[0]) as server:
        yield server
    assert server.errors == []


@pytest.fixture
async def fetcher() -> AsyncIterator[HttpFetcher]:
    f = HttpFetcher(LIMITS, policy=LOOPBACK)
    try:
        yield f
    finally:
        await f.aclose()


def source_for(hostile: HostileServer, path: str) -> Source:
    sid = path.strip("/").replace("/", "-")
    return Source(id=sid, url=hostile.url(path), interval=INTERVAL)


async def poll(
    source: Source,
    fetcher: HttpFetcher,
    store: RedisStore,
    *,
    now: datetime = NOW,
    policy: IngestPolicy | None = None,
) -> IngestReport:
    report = await ingest_source(source, fetcher=fetcher, store=store, now=now, policy=policy)
    assert report.after is not None
    assert await store.source_status(source.id) == report.after  # what was saved is reported
    return report


def delay_of(source: Source, report: IngestReport) -> tuple[float | None, str]:
    assert report.after is not None
    delay = next_delay(source, report.after, report, TIMING, rng=NoJitter())
    return delay.seconds, delay.reason


async def everything(client: aioredis.Redis) -> dict[str, str]:
    """Every key and its whole value as text, whatever its type, to search for leaks."""
    out = {}
    async for key in client.scan_iter("*"):
        kind = await client.type(key)
        if kind == "string":
            value: object = await client.get(key)
        elif kind == "hash":
            value = await client.hgetall(key)
        elif kind == "zset":
            value = await client.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(await client.smembers(key))
        elif kind == "list":
            value = await client.lrange(key, 0, -1)
        elif kind == "stream":
            value = await client.xrange(key)
        else:
            raise AssertionError(f"{key}: unexpected type {kind}")
        out[key] = repr(value)
    return out


async def stored_entries(client: aioredis.Redis) -> list[Entry]:
    entries = []
    async for key in client.scan_iter(f"{keys.PREFIX}:{{story:*}}:entries"):
        entries += [Entry.unpack(raw) for raw in (await client.hgetall(key)).values()]
    return sorted(entries, key=lambda e: e.identity)


async def snapshot(client: aioredis.Redis, *, ignore: str) -> dict[str, bytes]:
    return {k: await client.dump(k) async for k in client.scan_iter("*") if k != ignore}


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of Python-traced memory above the starting level while the block runs."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result: list[int] = []
    try:
        yield result
    finally:
        result.append(tracemalloc.get_traced_memory()[1] - base)
        if not already:
            tracemalloc.stop()


# -- one poll of each failing route ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    path: str
    state: str
    http_status: int | None
    message: str
    """The exact last_error, with {url} for the server's base URL; or a prefix ending in '…'."""
    delay: tuple[float | None, str]
    failures: int = 1


def _chain(hops: int) -> str:
    return " -> ".join(f"{{url}}/chain/{hops}/{n}" for n in range(hops + 1))


FAILURES = [
    Case("/drip", "failing", None, "no complete answer within 3 s", BACKOFF_1),
    Case(
        "/endless",
        "failing",
        None,
        f"body is over the {CAP}-byte cap (after decompression)",
        BACKOFF_1,
    ),
    Case(
        "/declared-huge",
        "failing",
        None,
        f"body of {h.DECLARED_HUGE} bytes is over the {CAP}-byte cap",
        BACKOFF_1,
    ),
    Case(
        "/gzip-bomb",
        "failing",
        None,
        f"body is over the {CAP}-byte cap (after decompression)",
        BACKOFF_1,
    ),
    Case(
        "/deflate-bomb",
        "failing",
        None,
        f"body is over the {CAP}-byte cap (after decompression)",
        BACKOFF_1,
    ),
    Case(
        "/loop-a",
        "failing",
        None,
        "redirect loop: {url}/loop-a -> {url}/loop-b -> {url}/loop-a",
        BACKOFF_1,
    ),
    Case("/chain/6/0", "failing", None, "more than 5 redirects: " + _chain(6), BACKOFF_1),
    Case(
        "/429-seconds",
        "deferred",
        429,
        "HTTP 429 Too Many Requests",
        (120, "Retry-After: 120 s"),
        failures=0,
    ),
    Case(
        "/429-date",
        "deferred",
        429,
        "HTTP 429 Too Many Requests",
        (120, "Retry-After: 120 s"),
        failures=0,
    ),
    Case("/503", "failing", 503, "HTTP 503 Service Unavailable", (300, "Retry-After: 300 s")),
    Case(
        "/410",
        "gone",
        410,
        "HTTP 410 Gone",
        (None, "410 Gone: disabled until its configuration changes"),
    ),
    Case("/reset", "failing", None, "the connection failed while reading: …", BACKOFF_1),
    Case(
        "/short-body",
        "failing",
        None,
        "the server broke the HTTP protocol: peer closed connection without sending complete"
        f" message body (received {h.PARTIAL_SENT} bytes, expected {h.PARTIAL_LENGTH})",
        BACKOFF_1,
    ),
    Case(
        "/lying-utf16",
        "failing",
        200,
        "cannot parse the feed: SAXParseException: <unknown>:2:0: not well-formed (invalid token)",
        BACKOFF_1,
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.path.strip("/")) for c in FAILURES])
async def test_a_hostile_answer_ends_in_its_state_and_message(
    case: Case,
    hostile: HostileServer,
    fetcher: HttpFetcher,
    store: RedisStore,
    rclient: aioredis.Redis,
) -> None:
    hostile.clock = lambda: NOW  # /429-date: Retry-After is NOW + 120 s as an HTTP-date
    source = source_for(hostile, case.path)
    report = await poll(source, fetcher, store)
    after = report.after
    assert after is not None
    assert (after.state, after.http_status, after.consecutive_failures) == (
        case.state,
        case.http_status,
        case.failures,
    )
    message = case.message.format(url=hostile.url(""))
    if message.endswith("…"):
        assert after.last_error is not None and after.last_error.startswith(message[:-1])
    else:
        assert after.last_error == message
    assert report.error == after.last_error
    assert (after.last_attempt, after.last_success) == (NOW, None)
    assert delay_of(source, report) == case.delay
    # A failed poll stores nothing but the source's status.
    assert [k async for k in rclient.scan_iter("*")] == [keys.source_status(source.id)]


async def test_429_is_not_a_failure_and_keeps_the_failure_count(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    source = source_for(hostile, "/429-seconds")
    failing = SourceStatus(
        source.id,
        state="failing",
        consecutive_failures=2,
        last_error="HTTP 503 Service Unavailable",
    )
    await store.save_status(failing)
    report = await poll(source, fetcher, store)
    assert report.status == "deferred"
    assert report.after is not None
    assert (report.after.state, report.after.consecutive_failures) == ("deferred", 2)
    # Pinned: the 429 itself becomes the last error (ingest.health says a deferral keeps it).
    assert report.after.last_error == "HTTP 429 Too Many Requests"
    assert delay_of(source, report) == (120, "Retry-After: 120 s")


async def test_429_with_a_date_counts_from_now(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    hostile.clock = lambda: NOW
    source = source_for(hostile, "/429-date")
    report = await poll(source, fetcher, store, now=NOW + timedelta(seconds=30))
    assert report.floors == (("Retry-After", 90.0),)
    assert delay_of(source, report) == (90, "Retry-After: 90 s")
    late = await poll(source, fetcher, store, now=NOW + timedelta(minutes=5))
    assert late.floors == (("Retry-After", 0.0),)  # a date in the past asks for no wait


async def test_503_again_and_again_ends_dead(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    source = source_for(hostile, "/503")
    policy = IngestPolicy(health=HealthPolicy(dead_after=3))
    states = []
    for n in range(3):
        report = await poll(source, fetcher, store, now=NOW + timedelta(hours=n), policy=policy)
        assert report.after is not None
        states.append((report.after.state, report.after.consecutive_failures))
        if n == 1:  # backoff 120 s is still under the server's Retry-After
            assert delay_of(source, report) == (300, "Retry-After: 300 s")
    assert states == [("failing", 1), ("failing", 2), ("dead", 3)]
    assert delay_of(source, report) == (
        6 * 3600,
        "dead after 3 consecutive failures: retried every 6.0 h",
    )
    assert hostile.count("/503") == 3


async def test_a_gone_source_is_not_polled_again(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    source = source_for(hostile, "/410")
    report = await poll(source, fetcher, store)
    assert report.after is not None and report.after.state == "gone"
    assert delay_of(source, report)[0] is None
    assert hostile.count("/410") == 1


async def test_a_gone_source_stays_gone_while_disabled_and_when_enabled_again(
    hostile: HostileServer,
    fetcher: HttpFetcher,
    store: RedisStore,
    rclient: aioredis.Redis,
    clean_redis: str,
) -> None:
    """Only a new URL brings a source that answered 410 back onto the schedule; pausing it in
    between does not wipe out why it is off."""
    source = source_for(hostile, "/410")
    await poll(source, fetcher, store)
    settings = Settings(
        redis_url=clean_redis, fetch_allow_networks=(ipaddress.ip_network("127.0.0.0/8"),)
    )

    async def publish(configured: Source) -> tuple[str, bool]:
        stop = asyncio.Event()
        stop.set()  # publish the sources, then stop at once
        await Worker(settings, clean_redis).run(stop, [configured])
        scheduled = await rclient.zscore(keys.SCHEDULE, configured.id) is not None
        return (await store.source_status(configured.id)).state, scheduled

    assert await publish(replace(source, enabled=False)) == ("gone", False)
    assert await publish(source) == ("gone", False)
    assert (await publish(replace(source, url=hostile.url("/good"))))[1]  # on the schedule
    assert hostile.count("/410") == 1


async def test_reset_message_says_the_connection_was_reset(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    report = await poll(source_for(hostile, "/reset"), fetcher, store)
    assert report.after is not None
    message = report.after.last_error or ""
    assert message.startswith("the connection failed while reading: ")
    assert "reset" in message.lower(), message


# -- memory ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expanded"),
    [
        pytest.param("/gzip-bomb", h.BOMB_BYTES, id="gzip-bomb"),
        pytest.param("/deflate-bomb", h.BOMB_BYTES, id="deflate-bomb"),
        pytest.param("/endless", None, id="endless"),
        pytest.param("/declared-huge", h.DECLARED_HUGE, id="declared-huge"),
    ],
)
async def test_no_body_over_the_cap_is_held_in_memory(
    path: str,
    expanded: int | None,
    hostile: HostileServer,
    fetcher: HttpFetcher,
    store: RedisStore,
) -> None:
    h.bomb(16 + zlib.MAX_WBITS)  # the bombs are built before measuring
    h.bomb(zlib.MAX_WBITS)
    source = source_for(hostile, path)
    await store.source_status(source.id)  # connected first: a cluster client maps its slots
    with peak_memory() as peak:
        report = await poll(source, fetcher, store)
    assert report.after is not None and report.after.state == "failing"
    assert expanded is None or expanded > 30 * MEMORY_BOUND  # the bound would show a leak
    assert peak[0] < MEMORY_BOUND, f"peak {peak[0]} bytes for a {CAP}-byte cap"


# -- redirects ------------------------------------------------------------------------------------


async def test_301_chain_moves_the_source_after_three_polls(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    source = source_for(hostile, "/chain/5/0")
    final = hostile.url("/chain/5/5")
    seen = []
    for n in range(4):
        report = await poll(source, fetcher, store, now=NOW + timedelta(minutes=n))
        after = report.after
        assert after is not None and report.status in ("ok", "unchanged")
        assert after.state == "ok"
        seen.append((after.url, after.aliases, after.redirect_count, after.fetched_url))
    assert seen == [
        (None, (), 1, source.url),
        (None, (), 2, source.url),
        (final, (source.url,), 0, source.url),
        (final, (source.url,), 0, final),  # the fourth poll asks the new address directly
    ]
    assert after.moved_from == source.url
    assert (hostile.count("/chain/5/0"), hostile.count("/chain/5/5")) == (3, 4)


async def test_302_never_moves_the_source(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    source = source_for(hostile, "/found")
    for n in range(4):
        report = await poll(source, fetcher, store, now=NOW + timedelta(minutes=n))
        after = report.after
        assert after is not None
        assert (after.state, after.http_status, after.url, after.aliases) == ("ok", 200, None, ())
        assert after.redirect_target is None
    assert (hostile.count("/found"), hostile.count("/good")) == (4, 4)


# -- documents ------------------------------------------------------------------------------------


async def test_invalid_utf8_is_ingested_with_the_bad_bytes_as_windows_1252(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore, rclient: aioredis.Redis
) -> None:
    report = await poll(source_for(hostile, "/bad-utf8"), fetcher, store)
    assert (report.status, report.new, report.skipped) == ("ok", 2, 0)
    assert report.after is not None and report.after.state == "ok"
    assert report.after.last_error is None
    # feedparser falls back to windows-1252 for the document (its warning is not kept);
    # the valid UTF-8 of the other entry survives.
    titles = [e.title for e in await stored_entries(rclient)]
    assert sorted(titles) == ["Bad ÿþ here", "Café reopens"]


async def test_a_charset_header_that_lies_is_overruled_by_the_document(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore, rclient: aioredis.Redis
) -> None:
    # ISO-8859-1 in the header, UTF-8 in the body and its XML declaration: no mojibake.
    report = await poll(source_for(hostile, "/lying-charset"), fetcher, store)
    assert (report.status, report.new) == ("ok", 1)
    assert [e.title for e in await stored_entries(rclient)] == ["Café – naïve façade"]


async def test_a_utf16_label_on_an_odd_length_body_falls_back_to_utf8(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore, rclient: aioredis.Redis
) -> None:
    # The same lie on an even-length body is a parse error (the lying-utf16 case above):
    # feedparser trusts the header unless decoding with it fails outright.
    report = await poll(source_for(hostile, "/lying-utf16-odd"), fetcher, store)
    assert (report.status, report.new) == ("ok", 1)
    assert [e.title for e in await stored_entries(rclient)] == ["Café – naïve façade"]


async def test_billion_laughs_is_not_expanded(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore, rclient: aioredis.Redis
) -> None:
    report = await poll(source_for(hostile, "/billion-laughs"), fetcher, store)
    # Refused before any parser sees it: the declarations alone would expand too far.
    assert report.status == "error"
    assert report.after is not None and report.after.state == "failing"
    assert report.error == (
        "cannot parse the feed: entity 'lol6' would expand to more than 1000000 characters; refused"
    )
    assert await stored_entries(rclient) == []
    stored = "".join((await everything(rclient)).values())
    assert "lollol" not in stored


async def test_billion_laughs_parses_in_bounded_memory(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    with peak_memory() as peak:
        await poll(source_for(hostile, "/billion-laughs"), fetcher, store)
    assert peak[0] < MEMORY_BOUND, (
        f"peak {peak[0]} bytes for a {len(h.BILLION_LAUGHS_FEED)}-byte body"
    )


async def test_entity_expansion_under_the_guard_stores_nothing_over_the_cap(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore, rclient: aioredis.Redis
) -> None:
    with peak_memory() as peak:
        await poll(source_for(hostile, "/small-laughs"), fetcher, store)
    biggest = max(map(len, (await everything(rclient)).values()))
    assert (biggest < len(h.SMALL_LAUGHS_FEED) * 10, peak[0] < MEMORY_BOUND) == (True, True), (
        f"a {len(h.SMALL_LAUGHS_FEED)}-byte body stored a {biggest}-byte value, peak {peak[0]}"
    )


@pytest.mark.parametrize("path", ["/xxe", "/xxe-param"])
async def test_xxe_never_reads_the_local_file(
    path: str,
    secret: tuple[Path, str],
    hostile: HostileServer,
    fetcher: HttpFetcher,
    store: RedisStore,
    rclient: aioredis.Redis,
) -> None:
    secret_path, marker = secret
    with watch_opens(secret_path) as opened:
        report = await poll(source_for(hostile, path), fetcher, store)
    assert opened == []
    with watch_opens(secret_path) as control:  # the watch does see an open of the file
        secret_path.read_text()
    assert control == [f"open: {secret_path}"]
    assert (report.status, report.new) == ("ok", 1)
    assert marker not in repr(report)
    stored = await everything(rclient)
    assert stored and not [k for k, v in stored.items() if marker in v]
    if path == "/xxe":
        (entry,) = await stored_entries(rclient)
        assert (entry.title, entry.body_html) == ("Leak:", "Body:")  # the entity is dropped


async def test_5mb_feed_takes_max_entries_and_counts_the_rest(
    hostile: HostileServer, store: RedisStore, rclient: aioredis.Redis
) -> None:
    assert 5_000_000 < len(h.huge_feed()) < 6_000_000
    f = HttpFetcher(replace(LIMITS, max_bytes=8_000_000, total_timeout=30), policy=LOOPBACK)
    try:
        report = await poll(source_for(hostile, "/huge"), f, store)
    finally:
        await f.aclose()
    assert (report.status, report.entries, report.new) == ("ok", h.HUGE_ITEMS, 500)
    assert report.skipped == h.HUGE_ITEMS - 500
    assert report.after is not None
    assert (report.after.state, report.after.entries_seen) == ("ok", h.HUGE_ITEMS)
    stored = [k async for k in rclient.scan_iter(keys.story_entries("*"))]
    assert sum([await rclient.hlen(k) for k in stored]) == 500


async def test_server_ignoring_validators_is_unchanged_and_writes_only_status(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore, rclient: aioredis.Redis
) -> None:
    source = source_for(hostile, "/ignores-validators")
    first = await poll(source, fetcher, store)
    assert (first.status, first.new) == ("ok", 2)
    status_key = keys.source_status(source.id)
    before = await snapshot(rclient, ignore=status_key)
    again = await poll(source, fetcher, store, now=NOW + timedelta(minutes=1))
    sent = hostile.request_headers["/ignores-validators"][-1]
    assert sent["if-none-match"] == '"v1"'  # we asked conditionally; it answered 200 anyway
    assert (again.status, again.http_status, again.new) == ("unchanged", 200, 0)
    assert again.after is not None
    assert (again.after.state, again.after.etag, again.after.polls) == ("ok", '"v1"', 2)
    assert await snapshot(rclient, ignore=status_key) == before


async def test_good_feed_is_ok(
    hostile: HostileServer, fetcher: HttpFetcher, store: RedisStore
) -> None:
    source = source_for(hostile, "/good")
    report = await poll(source, fetcher, store)
    assert (report.status, report.http_status, report.new) == ("ok", 200, 2)
    assert delay_of(source, report) == (INTERVAL, "configured interval: 60 s")
