"""config.settings: defaults, one row per variable, and messages that name the variable; the
fetch settings reach the policies the worker actually runs with."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import HostLimit, Settings, SettingsError, sources_path
from config.sources import Source
from ingest.errors import FetchHTTPError
from ingest.fetch.politeness import host_of
from ingest.health import failed, is_quiet, redirected, unconditional_due
from ingest.model import FetchResult, IngestReport, SourceStatus
from ingest.pipeline import IngestPolicy
from workers.timing import Delay, TimingPolicy, next_delay
from workers.worker import Worker, policies


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings == Settings(
        redis_url=None,
        data_dir=Path("var"),
        http_host="127.0.0.1",
        http_port=8080,
        sources_path=Path("config/sources.yaml"),
        public_url=None,
        fetch_allow_networks=(),
        fetch_max_bytes=10 * 1024 * 1024,
        fetch_connect_timeout=10.0,
        fetch_read_timeout=30.0,
        fetch_total_timeout=60.0,
        max_entries_per_fetch=500,
        worker_concurrency=20,
        lease_seconds=120.0,
        feed_page_size=50,
        feed_max_age=60,
        log_level="INFO",
    )


def test_other_variables_are_ignored() -> None:
    env = {"HTTP_PORT": "1", "wirefeed_http_port": "2", "REDIS_URL": "redis://x", "PATH": "/bin"}
    assert Settings.from_env(env) == Settings()


@pytest.mark.parametrize(
    ("name", "raw", "attribute", "value"),
    [
        pytest.param("REDIS_URL", "redis://r:6379/0", "redis_url", "redis://r:6379/0", id="redis"),
        pytest.param("DATA_DIR", "/srv/wf", "data_dir", Path("/srv/wf"), id="data-dir"),
        pytest.param("HTTP_HOST", "0.0.0.0", "http_host", "0.0.0.0", id="http-host"),
        pytest.param("HTTP_PORT", "1", "http_port", 1, id="http-port-low"),
        pytest.param("HTTP_PORT", "65535", "http_port", 65535, id="http-port-high"),
        pytest.param("SOURCES", "/etc/wf.yaml", "sources_path", Path("/etc/wf.yaml"), id="sources"),
        pytest.param(
            "PUBLIC_URL",
            "https://news.example/",
            "public_url",
            "https://news.example",
            id="public-url-slash-stripped",
        ),
        pytest.param("PUBLIC_URL", "/", "public_url", None, id="public-url-only-slash"),
        pytest.param(
            "FETCH_ALLOW_NETWORKS",
            "10.0.0.0/8, fd00::/8,,192.168.1.7",
            "fetch_allow_networks",
            (
                ipaddress.ip_network("10.0.0.0/8"),
                ipaddress.ip_network("fd00::/8"),
                ipaddress.ip_network("192.168.1.7/32"),
            ),
            id="allow-networks",
        ),
        pytest.param(
            "FETCH_ALLOW_NETWORKS",
            "10.1.2.3/8",
            "fetch_allow_networks",
            (ipaddress.ip_network("10.0.0.0/8"),),
            id="allow-networks-host-bits",
        ),
        pytest.param("FETCH_MAX_BYTES", "1024", "fetch_max_bytes", 1024, id="max-bytes-low"),
        pytest.param(
            "FETCH_CONNECT_TIMEOUT", "2.5", "fetch_connect_timeout", 2.5, id="connect-timeout"
        ),
        pytest.param("FETCH_READ_TIMEOUT", "7", "fetch_read_timeout", 7.0, id="read-timeout"),
        pytest.param("FETCH_TOTAL_TIMEOUT", "0.5", "fetch_total_timeout", 0.5, id="total-timeout"),
        pytest.param("MAX_ENTRIES_PER_FETCH", "1", "max_entries_per_fetch", 1, id="max-entries"),
        pytest.param(
            "WORKER_CONCURRENCY", "1000", "worker_concurrency", 1000, id="concurrency-high"
        ),
        pytest.param("PARSE_PROCESSES", "0", "parse_processes", 0, id="parse-in-a-thread"),
        pytest.param("PARSE_PROCESSES", "3", "parse_processes", 3, id="parse-processes"),
        pytest.param("RUN_WORKERS", "1", "run_workers", 1, id="run-one-worker"),
        pytest.param("LEASE_SECONDS", "30", "lease_seconds", 30.0, id="lease"),
        pytest.param("FEED_PAGE_SIZE", "1", "feed_page_size", 1, id="page-size"),
        pytest.param("FEED_MAX_AGE", "0", "feed_max_age", 0, id="max-age-zero"),
        pytest.param("LOG_LEVEL", "debug", "log_level", "DEBUG", id="log-level-lowercase"),
        pytest.param("LOG_LEVEL", "WARNING", "log_level", "WARNING", id="log-level"),
        pytest.param("HTTP_PORT", " 9000 ", "http_port", 9000, id="surrounding-space"),
    ],
)
def test_each_variable(name: str, raw: str, attribute: str, value: Any) -> None:
    settings = Settings.from_env({"WIREFEED_" + name: raw})
    assert getattr(settings, attribute) == value
    changed = {a for a in Settings.__slots__ if getattr(settings, a) != getattr(Settings(), a)}
    assert changed <= {attribute}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, id=name)
        for name in (
            "REDIS_URL",
            "DATA_DIR",
            "HTTP_HOST",
            "HTTP_PORT",
            "PUBLIC_URL",
            "LOG_LEVEL",
            "FETCH_ALLOW_NETWORKS",
            "LEASE_SECONDS",
            "SOURCES",
        )
    ],
)
def test_blank_means_unset(name: str) -> None:
    assert Settings.from_env({"WIREFEED_" + name: "  "}) == Settings()


WHOLE = "must be a whole number"
SECONDS = "must be a number of seconds > 0"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        pytest.param("HTTP_PORT", "http", f"{WHOLE} from 1 to 65535, got 'http'", id="port-text"),
        pytest.param("HTTP_PORT", "0", f"{WHOLE} from 1 to 65535, got '0'", id="port-zero"),
        pytest.param("HTTP_PORT", "65536", f"{WHOLE} from 1 to 65535, got '65536'", id="port-high"),
        pytest.param(
            "HTTP_PORT", "80.5", f"{WHOLE} from 1 to 65535, got '80.5'", id="port-fraction"
        ),
        pytest.param("FETCH_MAX_BYTES", "1023", f"{WHOLE} >= 1024, got '1023'", id="max-bytes-low"),
        pytest.param(
            "FETCH_MAX_BYTES", "10MB", f"{WHOLE} >= 1024, got '10MB'", id="max-bytes-unit"
        ),
        pytest.param("MAX_ENTRIES_PER_FETCH", "0", f"{WHOLE} >= 1, got '0'", id="entries-zero"),
        pytest.param(
            "WORKER_CONCURRENCY",
            "1001",
            f"{WHOLE} from 1 to 1000, got '1001'",
            id="concurrency-high",
        ),
        pytest.param("PARSE_PROCESSES", "-1", f"{WHOLE} from 0 to 64, got '-1'", id="parse-neg"),
        pytest.param("FEED_PAGE_SIZE", "0", f"{WHOLE} from 1 to 1000, got '0'", id="page-zero"),
        pytest.param("FEED_MAX_AGE", "-1", f"{WHOLE} >= 0, got '-1'", id="max-age-negative"),
        pytest.param("FETCH_CONNECT_TIMEOUT", "0", f"{SECONDS}, got '0'", id="connect-zero"),
        pytest.param("FETCH_READ_TIMEOUT", "-3", f"{SECONDS}, got '-3'", id="read-negative"),
        pytest.param("FETCH_TOTAL_TIMEOUT", "1m", f"{SECONDS}, got '1m'", id="total-unit"),
        pytest.param("FETCH_TOTAL_TIMEOUT", "nan", f"{SECONDS}, got 'nan'", id="total-nan"),
        pytest.param("LEASE_SECONDS", "inf", f"{SECONDS}, got 'inf'", id="lease-infinite"),
        pytest.param(
            "LOG_LEVEL",
            "verbose",
            "must be one of DEBUG, INFO, WARNING, ERROR, got 'verbose'",
            id="log-level",
        ),
        pytest.param(
            "FETCH_ALLOW_NETWORKS",
            "10.0.0.0/8,intranet",
            "must be a comma-separated list of CIDRs, got 'intranet'",
            id="networks-name",
        ),
        pytest.param(
            "FETCH_ALLOW_NETWORKS",
            "10.0.0.0/33",
            "must be a comma-separated list of CIDRs, got '10.0.0.0/33'",
            id="networks-prefix",
        ),
    ],
)
def test_bad_values_name_the_variable(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"WIREFEED_" + name: raw})
    assert str(caught.value) == f"WIREFEED_{name}: {message}"


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, {}, id="embedded"),
        pytest.param(
            {"WIREFEED_REDIS_URL": "redis://r:6379/0"},
            {"WIREFEED_REDIS_URL": "redis://r:6379/0"},
            id="given",
        ),
    ],
)
def test_redis_env(env: dict[str, str], expected: dict[str, str]) -> None:
    assert Settings.from_env(env).redis_env() == expected


@pytest.mark.parametrize(
    ("name", "raw", "attribute", "value"),
    [
        pytest.param("FETCH_DEAD_AFTER", "1", "fetch_dead_after", 1, id="dead-after-low"),
        pytest.param("FETCH_DEAD_AFTER", "25", "fetch_dead_after", 25, id="dead-after"),
        pytest.param("FETCH_QUIET_FACTOR", "1.5", "fetch_quiet_factor", 1.5, id="quiet-factor"),
        pytest.param(
            "FETCH_UNCONDITIONAL_EVERY", "0", "fetch_unconditional_every", 0, id="uncond-never"
        ),
        pytest.param(
            "FETCH_UNCONDITIONAL_EVERY", "1", "fetch_unconditional_every", 1, id="uncond-always"
        ),
        pytest.param(
            "FETCH_REDIRECT_CONFIRMATIONS", "1", "fetch_redirect_confirmations", 1, id="confirm-low"
        ),
        pytest.param(
            "FETCH_REDIRECT_CONFIRMATIONS",
            "100",
            "fetch_redirect_confirmations",
            100,
            id="confirm-high",
        ),
        pytest.param("FETCH_MAX_FLOOR", "1", "fetch_max_floor", 1.0, id="max-floor-low"),
        pytest.param(
            "FETCH_MAX_FLOOR", "2592000", "fetch_max_floor", 2592000.0, id="max-floor-high"
        ),
        pytest.param("FETCH_MAX_BACKOFF", "90.5", "fetch_max_backoff", 90.5, id="max-backoff"),
        pytest.param("FETCH_DEAD_RETRY", "600", "fetch_dead_retry", 600.0, id="dead-retry"),
        pytest.param("STORY_WINDOW_HOURS", "0.5", "story_window_hours", 0.5, id="window-short"),
        pytest.param("STORY_WINDOW_HOURS", "8760", "story_window_hours", 8760.0, id="window-year"),
        pytest.param(
            "STORY_PREFIX", "Live updates: ", "story_prefix", "Live updates: ", id="prefix"
        ),
        pytest.param("STORY_PREFIX", "  Live: ", "story_prefix", "  Live: ", id="prefix-as-given"),
        pytest.param("STORY_PREFIX", "", "story_prefix", "", id="prefix-empty-none"),
        pytest.param("STORY_PREFIX", "   ", "story_prefix", "", id="prefix-blank-none"),
        pytest.param("STORY_PREFIX", "x" * 40, "story_prefix", "x" * 40, id="prefix-40"),
        pytest.param(
            "STORY_PREFIX", "🔴 En direct : ", "story_prefix", "🔴 En direct : ", id="prefix-emoji"
        ),
    ],
)
def test_each_fetch_and_story_variable(name: str, raw: str, attribute: str, value: Any) -> None:
    test_each_variable(name, raw, attribute, value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("", {}, id="unset"),
        pytest.param("feeds.example=1/30", {"feeds.example": HostLimit(1, 30)}, id="one"),
        pytest.param(
            " Feeds.Example. = 4 / 0 ,, wire.example=0/0 ,",
            {"feeds.example": HostLimit(4, 0), "wire.example": HostLimit(0, 0)},
            id="spaces-case-trailing-dot-empty-pairs",
        ),
        pytest.param("bücher.example=1/10", {"xn--bcher-kva.example": HostLimit(1, 10)}, id="idna"),
        pytest.param("127.0.0.1=0/120", {"127.0.0.1": HostLimit(0, 120)}, id="ipv4"),
        pytest.param(
            "[2001:DB8::1]=1/5,::1=2/6",
            {"2001:db8::1": HostLimit(1, 5), "::1": HostLimit(2, 6)},
            id="ipv6",
        ),
    ],
)
def test_host_limits(raw: str, expected: dict[str, HostLimit]) -> None:
    assert Settings.from_env({"WIREFEED_HOST_LIMITS": raw}).host_limits == expected


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        pytest.param("Feeds.Example.=1/30", "http://feeds.EXAMPLE:8080/rss", id="case-port"),
        pytest.param("bücher.example=1/30", "https://BÜCHER.example./feed", id="idna"),
        pytest.param("[2001:DB8::1]=1/30", "http://[2001:db8::1]/feed", id="ipv6"),
    ],
)
def test_host_limits_are_keyed_as_the_politeness_gate_looks_them_up(raw: str, url: str) -> None:
    limits = Settings.from_env({"WIREFEED_HOST_LIMITS": raw}).host_limits
    assert limits.get(host_of(url)) == HostLimit(1, 30)


PAIRS = "must be host=CONCURRENCY/PER_MINUTE pairs, comma-separated"
BARE_HOST = "the host must be a bare name or IP address"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("feeds.example", f"{PAIRS}, got 'feeds.example'", id="no-spec"),
        pytest.param("feeds.example=2", f"{PAIRS}, got 'feeds.example=2'", id="no-per-minute"),
        pytest.param(
            "a.example=1/5, feeds.example=two/60",
            "in 'feeds.example=two/60': CONCURRENCY must be a whole number >= 0, got 'two'",
            id="concurrency-text",
        ),
        pytest.param(
            "feeds.example=²/60",
            "in 'feeds.example=²/60': CONCURRENCY must be a whole number >= 0, got '²'",
            id="concurrency-superscript",
        ),
        pytest.param(
            "feeds.example=/60",
            "in 'feeds.example=/60': CONCURRENCY must be a whole number >= 0, got ''",
            id="concurrency-empty",
        ),
        pytest.param(
            "feeds.example=2/-1",
            "in 'feeds.example=2/-1': PER_MINUTE must be a whole number >= 0, got '-1'",
            id="per-minute-negative",
        ),
        pytest.param(
            "feeds.example=2/1.5",
            "in 'feeds.example=2/1.5': PER_MINUTE must be a whole number >= 0, got '1.5'",
            id="per-minute-fraction",
        ),
        pytest.param(
            "feeds.example=2/60/5",
            "in 'feeds.example=2/60/5': PER_MINUTE must be a whole number >= 0, got '60/5'",
            id="per-minute-extra",
        ),
        pytest.param("=2/60", f"in '=2/60': {BARE_HOST}, got ''", id="no-host"),
        pytest.param(
            "https://feeds.example=2/60",
            f"in 'https://feeds.example=2/60': {BARE_HOST}, got 'https://feeds.example'",
            id="host-url",
        ),
        pytest.param(
            "feeds.example:8080=2/60",
            f"in 'feeds.example:8080=2/60': {BARE_HOST}, got 'feeds.example:8080'",
            id="host-port",
        ),
        pytest.param(
            "feeds.example/rss=2/60",
            f"in 'feeds.example/rss=2/60': {BARE_HOST}, got 'feeds.example/rss'",
            id="host-path",
        ),
        pytest.param(
            "feeds..example=2/60",
            f"in 'feeds..example=2/60': {BARE_HOST}, got 'feeds..example'",
            id="host-empty-label",
        ),
        pytest.param(
            "Feeds.Example=1/5,feeds.example.=2/60",
            "host 'feeds.example' is given twice, got 'feeds.example.=2/60'",
            id="host-twice",
        ),
    ],
)
def test_bad_host_limits_name_the_bad_part(raw: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"WIREFEED_HOST_LIMITS": raw})
    assert str(caught.value) == f"WIREFEED_HOST_LIMITS: {message}"


WAIT = "must be a number of seconds from 1 to 2592000"


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        pytest.param("FETCH_DEAD_AFTER", "0", f"{WHOLE} >= 1, got '0'", id="dead-after-zero"),
        pytest.param("FETCH_DEAD_AFTER", "2.5", f"{WHOLE} >= 1, got '2.5'", id="dead-after-frac"),
        pytest.param("FETCH_DEAD_AFTER", "ten", f"{WHOLE} >= 1, got 'ten'", id="dead-after-text"),
        pytest.param(
            "FETCH_UNCONDITIONAL_EVERY", "-1", f"{WHOLE} >= 0, got '-1'", id="uncond-negative"
        ),
        pytest.param(
            "FETCH_REDIRECT_CONFIRMATIONS",
            "0",
            f"{WHOLE} from 1 to 100, got '0'",
            id="confirm-zero",
        ),
        pytest.param(
            "FETCH_REDIRECT_CONFIRMATIONS",
            "101",
            f"{WHOLE} from 1 to 100, got '101'",
            id="confirm-high",
        ),
        pytest.param(
            "FETCH_QUIET_FACTOR", "1", "must be a number > 1, got '1'", id="quiet-factor-one"
        ),
        pytest.param(
            "FETCH_QUIET_FACTOR", "often", "must be a number > 1, got 'often'", id="quiet-text"
        ),
        pytest.param(
            "FETCH_QUIET_FACTOR", "inf", "must be a number > 1, got 'inf'", id="quiet-infinite"
        ),
        pytest.param("FETCH_MAX_FLOOR", "0.5", f"{WAIT}, got '0.5'", id="max-floor-low"),
        pytest.param("FETCH_MAX_FLOOR", "2592001", f"{WAIT}, got '2592001'", id="max-floor-high"),
        pytest.param("FETCH_MAX_BACKOFF", "0", f"{WAIT}, got '0'", id="max-backoff-zero"),
        pytest.param("FETCH_MAX_BACKOFF", "1h", f"{WAIT}, got '1h'", id="max-backoff-unit"),
        pytest.param("FETCH_DEAD_RETRY", "1e400", f"{WAIT}, got '1e400'", id="dead-retry-huge"),
        pytest.param("FETCH_DEAD_RETRY", "nan", f"{WAIT}, got 'nan'", id="dead-retry-nan"),
        pytest.param(
            "STORY_WINDOW_HOURS",
            "0",
            "must be a number of hours > 0 and <= 8760, got '0'",
            id="window-zero",
        ),
        pytest.param(
            "STORY_WINDOW_HOURS",
            "8761",
            "must be a number of hours > 0 and <= 8760, got '8761'",
            id="window-long",
        ),
        pytest.param(
            "STORY_WINDOW_HOURS",
            "2d",
            "must be a number of hours > 0 and <= 8760, got '2d'",
            id="window-unit",
        ),
        pytest.param(
            "STORY_PREFIX",
            "The Latest:\n",
            "must not contain control characters, got 'The Latest:\\n'",
            id="prefix-newline",
        ),
        pytest.param(
            "STORY_PREFIX",
            "Live\x00: ",
            "must not contain control characters, got 'Live\\x00: '",
            id="prefix-nul",
        ),
        pytest.param(
            "STORY_PREFIX",
            "x" * 41,
            f"must be at most 40 characters, got '{'x' * 41}'",
            id="prefix-long",
        ),
    ],
)
def test_bad_fetch_and_story_values_name_the_variable(name: str, raw: str, message: str) -> None:
    test_bad_values_name_the_variable(name, raw, message)


def test_sources_path_reads_only_its_variable() -> None:
    bad = {"WIREFEED_HTTP_PORT": "eighty", "WIREFEED_HOST_LIMITS": "nonsense"}
    assert sources_path(bad) == Path("config/sources.yaml")
    assert sources_path({**bad, "WIREFEED_SOURCES": " /etc/wf.yaml "}) == Path("/etc/wf.yaml")
    assert sources_path({"WIREFEED_SOURCES": " "}) == Settings().sources_path


# --- the fetch settings reach the policies the worker runs with ---------------------------


def _health(attribute: str) -> Callable[[IngestPolicy, TimingPolicy], object]:
    return lambda ingest, _timing: getattr(ingest.health, attribute)


def _timing(attribute: str) -> Callable[[IngestPolicy, TimingPolicy], object]:
    return lambda _ingest, timing: getattr(timing, attribute)


@pytest.mark.parametrize(
    ("name", "raw", "read", "value"),
    [
        pytest.param("FETCH_DEAD_AFTER", "3", _health("dead_after"), 3, id="dead-after"),
        pytest.param("FETCH_QUIET_FACTOR", "2.5", _health("quiet_factor"), 2.5, id="quiet"),
        pytest.param(
            "FETCH_UNCONDITIONAL_EVERY", "7", _health("unconditional_every"), 7, id="uncond"
        ),
        pytest.param(
            "FETCH_REDIRECT_CONFIRMATIONS",
            "5",
            _health("redirect_confirmations"),
            5,
            id="confirmations",
        ),
        pytest.param("FETCH_MAX_FLOOR", "120", _timing("max_floor"), 120.0, id="max-floor"),
        pytest.param("FETCH_MAX_BACKOFF", "90", _timing("max_backoff"), 90.0, id="max-backoff"),
        pytest.param("FETCH_DEAD_RETRY", "600", _timing("dead_retry"), 600.0, id="dead-retry"),
        pytest.param(
            "STORY_WINDOW_HOURS",
            "6",
            lambda ingest, _timing: ingest.similarity.window_hours,
            6.0,
            id="story-window",
        ),
        pytest.param(
            "RETENTION_DAYS",
            "2",
            lambda ingest, _timing: ingest.dedupe.max_age,
            2 * 86400.0,
            id="retention-window-bounds-item-age",
        ),
    ],
)
def test_the_worker_runs_with_the_policies_settings_give(
    name: str, raw: str, read: Callable[[IngestPolicy, TimingPolicy], object], value: object
) -> None:
    settings = Settings.from_env({"WIREFEED_" + name: raw})
    ingest, timing = policies(settings)
    assert read(ingest, timing) == value
    assert read(*policies(Settings())) != value  # the default differs: the setting did it
    worker = Worker(settings, "redis://127.0.0.1:1/0")  # connects only when it runs
    assert (worker.ingest_policy, worker.timing_policy) == (ingest, timing)


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 1.0


SOURCE = Source(id="w", url="https://wire.example/feed.xml", interval=60)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _worker_policies(**env: str) -> tuple[IngestPolicy, TimingPolicy]:
    worker = Worker(Settings.from_env({"WIREFEED_" + k: v for k, v in env.items()}), "redis://x")
    return worker.ingest_policy, worker.timing_policy


def test_dead_after_decides_when_failures_make_a_source_dead() -> None:
    ingest, _ = _worker_policies(FETCH_DEAD_AFTER="2")
    error = FetchHTTPError(404, "HTTP 404 Not Found")
    once = failed(SourceStatus("w"), error, NOW, ingest.health)
    assert (once.state, failed(once, error, NOW, ingest.health).state) == ("failing", "dead")


def test_timing_caps_decide_the_next_poll() -> None:
    _, timing = _worker_policies(
        FETCH_MAX_FLOOR="120", FETCH_MAX_BACKOFF="90", FETCH_DEAD_RETRY="600"
    )
    rng = NoJitter()
    floored = IngestReport("w", status="ok", floors=(("Retry-After", 3600.0),))
    failing = SourceStatus("w", state="failing", consecutive_failures=6)
    dead = SourceStatus("w", state="dead", consecutive_failures=10)
    error = IngestReport("w", status="error")
    assert next_delay(SOURCE, SourceStatus("w"), floored, timing, rng) == Delay(
        120.0, "Retry-After: 3600 s (capped at 120 s)"
    )
    assert next_delay(SOURCE, failing, error, timing, rng) == Delay(
        90.0, "backing off after 6 consecutive failures"
    )
    assert next_delay(SOURCE, dead, error, timing, rng) == Delay(
        600.0, "dead after 10 consecutive failures: retried every 10 min"
    )


def test_health_knobs_decide_quiet_unconditional_and_moves() -> None:
    ingest, _ = _worker_policies(
        FETCH_QUIET_FACTOR="2", FETCH_UNCONDITIONAL_EVERY="2", FETCH_REDIRECT_CONFIRMATIONS="1"
    )
    busy = SourceStatus(
        "w", new_items=50, mean_gap=60.0, last_new=NOW - timedelta(seconds=150), polls=1
    )
    assert is_quiet(busy, NOW, ingest.health)  # 150 s > 2 x 60 s; the default 10 x is not
    assert not is_quiet(busy, NOW, _worker_policies()[0].health)
    assert unconditional_due(busy, ingest.health)  # the 2nd poll goes without validators
    moved = FetchResult(SOURCE.url, 200, {}, redirects=((301, "https://wire.example/new.xml"),))
    after = redirected(SourceStatus("w"), SOURCE, SOURCE.url, moved, ingest.health)
    assert (after.url, after.aliases) == ("https://wire.example/new.xml", (SOURCE.url,))
