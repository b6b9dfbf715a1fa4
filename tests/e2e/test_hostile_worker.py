"""One real ``wirefeed worker`` process against the hostile server (tests/support/hostile.py).

The worker polls every hostile route and one good feed, each every second. The scenario runs
once for the module (:func:`scenario`) and records what it saw; each test checks one promise:
every source ends in its state with its message, the good source keeps being fetched while the
others misbehave, the worker stays up and stops cleanly on SIGTERM, and the XXE source never
leaks the local file into Redis.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from ingest import keys
from tests import hostile as h
from tests.support import child_env, start_worker, stop_worker, wait_for, write_sources
from tests.support.hostile import HostileServer, hostile_server

CAP = 8_000_000
"""The worker's body cap: over the 5.6 MB /huge feed, far under the bombs and the endless body."""

HOSTILE_ENV = {
    "WIREFEED_FETCH_CONNECT_TIMEOUT": "2",
    "WIREFEED_FETCH_READ_TIMEOUT": "2",
    "WIREFEED_FETCH_TOTAL_TIMEOUT": "3",
    "WIREFEED_FETCH_MAX_BYTES": str(CAP),
    "WIREFEED_HOST_CONCURRENCY": "0",  # every route shares the host 127.0.0.1: no budget
    "WIREFEED_HOST_PER_MINUTE": "0",
    "WIREFEED_WORKER_CONCURRENCY": "40",
    "WIREFEED_LOG_LEVEL": "WARNING",
}
OVER_CAP = f"body is over the {CAP}-byte cap (after decompression)"
PARSE_UTF16 = (
    "cannot parse the feed: SAXParseException: <unknown>:2:0: not well-formed (invalid token)"
)
SHORT_BODY = (
    "the server broke the HTTP protocol: peer closed connection without sending complete message"
    f" body (received {h.PARTIAL_SENT} bytes, expected {h.PARTIAL_LENGTH})"
)

EXPECTED: dict[str, tuple[str, str | None]] = {
    # path -> (state, last_error: exact, or a prefix ending in "…"; {url} is the server)
    "/good": ("ok", None),
    "/drip": ("failing", "no complete answer within 3 s"),
    "/endless": ("failing", OVER_CAP),
    "/declared-huge": ("failing", f"body of {h.DECLARED_HUGE} bytes is over the {CAP}-byte cap"),
    "/gzip-bomb": ("failing", OVER_CAP),
    "/deflate-bomb": ("failing", OVER_CAP),
    "/loop-a": ("failing", "redirect loop: {url}/loop-a -> {url}/loop-b -> {url}/loop-a"),
    "/chain/5/0": ("ok", None),
    "/chain/6/0": ("failing", "more than 5 redirects: {url}/chain/6/0 -> …"),
    "/found": ("ok", None),
    "/429-seconds": ("deferred", "HTTP 429 Too Many Requests"),
    "/429-date": ("deferred", "HTTP 429 Too Many Requests"),
    "/503": ("failing", "HTTP 503 Service Unavailable"),
    "/410": ("gone", "HTTP 410 Gone"),
    "/bad-utf8": ("ok", None),
    "/lying-charset": ("ok", None),
    "/lying-utf16": ("failing", PARSE_UTF16),
    "/lying-utf16-odd": ("ok", None),
    "/billion-laughs": ("failing", "cannot parse the feed: entity 'lol6' would expand to …"),
    "/small-laughs": ("failing", "cannot parse the feed: entity references would expand to …"),
    "/xxe": ("ok", None),
    "/xxe-param": ("ok", None),
    "/huge": ("ok", None),
    "/reset": ("failing", "the connection failed while reading: …"),
    "/short-body": ("failing", SHORT_BODY),
    "/ignores-validators": ("ok", None),
}
ONCE = ("/410", "/429-seconds", "/429-date", "/503")
"""Routes that ask for a long wait (Retry-After 120 or 300 s, 410 Gone): polled once here."""


def source_id(path: str) -> str:
    return path.strip("/").replace("/", "-")


def statuses(client: redis.Redis, ids: list[str]) -> dict[str, dict[str, str]]:
    pipe = client.pipeline(transaction=False)
    for sid in ids:
        pipe.hgetall(keys.source_status(sid))
    return dict(zip(ids, pipe.execute(), strict=True))


def matches(status: dict[str, str], expected: tuple[str, str | None], url: str) -> bool:
    state, message = expected
    if status.get("state") != state:
        return False
    error = status.get("last_error")
    if message is None:
        return error is None
    message = message.format(url=url)
    if message.endswith("…"):
        return error is not None and error.startswith(message[:-1])
    return error == message


def all_values(client: redis.Redis) -> str:
    """Every value in the database as text, whatever its type (to search for a leak)."""
    readers: dict[str, Callable[[str], object]] = {
        "string": client.get,
        "hash": client.hgetall,
        "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
        "set": client.smembers,
        "list": lambda k: client.lrange(k, 0, -1),
        "stream": client.xrange,
    }
    return "\n".join(f"{k} {readers[client.type(k)](k)!r}" for k in client.scan_iter("*"))


@dataclass
class Observed:
    """What the scenario saw, for the tests to check."""

    url: str = ""
    reached: bool = False
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    good_before: int = 0
    good_after: int = 0
    good_during: dict[str, int] = field(default_factory=dict)
    alive_throughout: bool = True
    exit_code: int | None = None
    log: str = ""
    stored: str = ""
    marker: str = ""
    status_cli: subprocess.CompletedProcess[str] | None = None
    """``wirefeed sources status --json`` (``None`` only if the scenario failed before it)."""
    server_errors: list[str] = field(default_factory=list)


def _wait(
    check: Callable[[], bool], process: subprocess.Popen[bytes], seen: Observed, s: float
) -> bool:
    """Poll ``check`` for up to ``s`` seconds, noting whether the worker stayed alive."""
    deadline = time.monotonic() + s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            seen.alive_throughout = False
            return False
        if check():
            return True
        time.sleep(0.2)
    return False


def _status_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``wirefeed sources status --json``, run while the worker is still up."""
    command = [sys.executable, "-m", "workers.cli", "sources", "status", "--json"]
    return subprocess.run(command, env=child_env(**env), capture_output=True, text=True, timeout=30)


def _run(server: HostileServer, redis_url: str, tmp: Path, seen: Observed) -> None:
    ids = [source_id(p) for p in EXPECTED]
    sources = write_sources(tmp / "sources.yaml", {source_id(p): server.url(p) for p in EXPECTED})
    env = {"WIREFEED_REDIS_URL": redis_url, "WIREFEED_SOURCES": str(sources)}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    worker = start_worker(redis_url, sources, log=tmp / "worker.log", **HOSTILE_ENV)
    try:
        chain = keys.source_status(source_id("/chain/5/0"))

        def settled() -> bool:
            found = statuses(client, ids).values()
            return all(
                matches(st, EXPECTED[p], seen.url) for p, st in zip(EXPECTED, found, strict=True)
            ) and bool(client.hget(chain, "url"))  # the 301 chain moved after three polls

        seen.reached = _wait(settled, worker, seen, 60)
        # From here on the failing sources keep failing; the good one must keep being served.
        seen.good_before = server.count("/good")
        _wait(lambda: server.count("/good") >= seen.good_before + 3, worker, seen, 20)
        seen.good_after = server.count("/good")
        seen.statuses = statuses(client, ids)
        seen.status_cli = _status_cli(env)
        seen.alive_throughout = seen.alive_throughout and worker.poll() is None
    finally:
        seen.exit_code, _ = stop_worker(worker)
        seen.log = (tmp / "worker.log").read_text(errors="replace")
        seen.stored = all_values(client)
        client.close()


@pytest.fixture(scope="module")
def scenario(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    tmp = tmp_path_factory.mktemp("hostile-worker")
    seen = Observed(marker=f"SECRET-{uuid.uuid4().hex}")
    secret = tmp / "secret.txt"
    secret.write_text(seen.marker + "\n")
    flush = redis.Redis.from_url(redis_url)
    flush.flushdb()
    flush.close()
    with hostile_server(secret) as server:
        seen.url = server.url("")
        try:
            _run(server, redis_url, tmp, seen)
        finally:
            seen.requests = dict(server.requests)
            seen.good_during = dict(server.during["/good"])
            seen.server_errors = list(server.errors)
    yield seen


@pytest.mark.parametrize("path", list(EXPECTED))
def test_every_source_ends_in_its_state(scenario: Observed, path: str) -> None:
    status = scenario.statuses[source_id(path)]
    state = EXPECTED[path][0]
    shown = {k: status.get(k) for k in ("state", "last_error", "consecutive_failures")}
    assert matches(status, EXPECTED[path], scenario.url), shown
    failures = int(status.get("consecutive_failures", "0"))
    assert failures >= 1 if state in ("failing", "gone") else failures == 0
    assert scenario.requests.get(path, 0) >= 1


def test_the_scenario_reached_every_state_at_once(scenario: Observed) -> None:
    assert scenario.reached
    assert scenario.server_errors == []


def test_the_good_source_keeps_being_fetched_while_others_misbehave(scenario: Observed) -> None:
    assert scenario.good_after >= scenario.good_before + 3
    # Some good fetches arrived while a dripping answer was still being served.
    assert scenario.good_during.get("/drip", 0) >= 1, scenario.good_during
    good = scenario.statuses["good"]
    assert (good["state"], good.get("last_error")) == ("ok", None)
    assert int(good.get("consecutive_failures", "0")) == 0


def test_sources_that_ask_for_a_long_wait_are_not_polled_again(scenario: Observed) -> None:
    assert {p: scenario.requests.get(p) for p in ONCE} == dict.fromkeys(ONCE, 1)
    assert scenario.statuses["410"].get("interval_reason") == (
        "410 Gone: disabled until its configuration changes"
    )
    assert scenario.statuses["429-seconds"].get("interval_reason") == "Retry-After: 120 s"
    assert scenario.statuses["503"].get("interval_reason") == "Retry-After: 300 s"


def test_the_301_chain_moves_and_the_302_does_not(scenario: Observed) -> None:
    chain = scenario.statuses["chain-5-0"]
    assert chain.get("url") == scenario.url + "/chain/5/5"
    assert json.loads(chain["aliases"]) == [scenario.url + "/chain/5/0"]
    assert scenario.requests["/chain/5/0"] == 3  # then it went to the new address directly
    found = scenario.statuses["found"]
    assert (found.get("url"), json.loads(found.get("aliases", "[]"))) == (None, [])


def test_the_worker_stays_up_and_exits_cleanly(scenario: Observed) -> None:
    assert scenario.alive_throughout, scenario.log[-3000:]
    assert scenario.exit_code == 0, scenario.log[-3000:]
    assert "Traceback" not in scenario.log, scenario.log[-3000:]
    assert "job failed" not in scenario.log


def test_the_xxe_sources_never_leak_the_local_file(scenario: Observed) -> None:
    assert scenario.statuses["xxe"]["state"] == "ok"
    assert scenario.stored and scenario.marker not in scenario.stored
    assert scenario.marker not in scenario.log


def test_sources_status_lists_every_source(scenario: Observed) -> None:
    result = scenario.status_cli
    assert result is not None, "the scenario ended before `wirefeed sources status` ran"
    assert result.returncode == 0, result.stderr
    records = {r["id"]: r for r in json.loads(result.stdout)}
    assert {sid: r["state"] for sid, r in records.items()} == {
        source_id(p): state for p, (state, _) in EXPECTED.items()
    }
    for path, expected in EXPECTED.items():
        record = records[source_id(path)]
        assert matches(record, expected, scenario.url), record
    assert records["chain-5-0"]["moved_to"] == scenario.url + "/chain/5/5"
    assert records["410"]["next_due"] is None


def test_without_allowed_networks_loopback_is_refused(clean_redis: str, tmp_path: Path) -> None:
    with hostile_server() as server:
        sources = write_sources(tmp_path / "sources.yaml", {"good": server.url("/good")})
        client = redis.Redis.from_url(clean_redis, decode_responses=True)
        log = tmp_path / "worker.log"
        worker = start_worker(
            clean_redis, sources, log=log, WIREFEED_FETCH_ALLOW_NETWORKS=None, **HOSTILE_ENV
        )
        try:
            wait_for(lambda: client.hget(keys.source_status("good"), "last_error"), timeout=30)
            status = client.hgetall(keys.source_status("good"))
            assert worker.poll() is None
        finally:
            code, _ = stop_worker(worker)
            client.close()
        assert code == 0, (tmp_path / "worker.log").read_text()
        assert (status["state"], status["last_error"]) == (
            "failing",
            "refused to connect: 127.0.0.1 is a loopback address; fetches to private networks"
            " are blocked (allow a network with WIREFEED_FETCH_ALLOW_NETWORKS)",
        )
        assert server.total_requests == 0
