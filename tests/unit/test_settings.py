"""config.settings: defaults, one row per variable, and messages that name the variable."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings, SettingsError


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
