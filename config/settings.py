"""Process settings, read once from the environment (prefix ``WIREFEED_``) at the entry point.

Every variable is validated here and turned into a plain value; nothing below the entry point
reads the environment. A bad value raises :class:`SettingsError` naming the variable.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "WIREFEED_"
DEFAULT_SOURCES = Path("config/sources.yaml")
MAX_WAIT = 30 * 24 * 3600.0
"""The longest any timing cap may be (30 days): a source is never put off further than this,
and the schedule's millisecond scores stay far from overflow."""
MAX_STORY_WINDOW_HOURS = 365 * 24.0
"""A year: longer windows overflow Redis expiry times, and no story stays open that long."""
MAX_STORY_PREFIX = 40
_WHOLE = re.compile(r"[0-9]+")


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use."""


@dataclass(frozen=True, slots=True)
class HostLimit:
    """Politeness toward one host, shared by all workers: requests at once, requests a minute.

    Zero means no limit of that kind.
    """

    concurrency: int = 2
    per_minute: int = 60


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a wirefeed process needs to know about its surroundings."""

    redis_url: str | None = None
    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    sources_path: Path = DEFAULT_SOURCES
    public_url: str | None = None
    fetch_allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 30.0
    fetch_total_timeout: float = 60.0
    fetch_max_redirects: int = 5
    fetch_unconditional_every: int = 100
    fetch_max_floor: float = 3600.0
    fetch_max_backoff: float = 3600.0
    fetch_dead_after: int = 10
    fetch_dead_retry: float = 6 * 3600.0
    fetch_quiet_factor: float = 10.0
    fetch_redirect_confirmations: int = 3
    host_limit: HostLimit = HostLimit()
    host_limits: Mapping[str, HostLimit] = field(default_factory=dict)
    max_entries_per_fetch: int = 500
    retention_days: float = 30.0
    tombstone_days: float = 365.0
    hash_change_cap: int = 5
    worker_concurrency: int = 20
    parse_processes: int = 0
    """Processes a worker parses and normalizes documents in (0: a thread of its own)."""
    run_workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))
    """Worker processes ``wirefeed run`` starts: one per core (at most 8)."""
    lease_seconds: float = 120.0
    feed_page_size: int = 50
    feed_max_age: int = 60
    websub_hubs: tuple[str, ...] = ()
    story_prefix: str = "The Latest: "
    admin_token: str | None = None
    tokens_file: Path | None = None
    """Per-person tokens with roles (:mod:`config.tokens`); re-read whenever it changes."""
    story_window_hours: float = 48.0
    story_half_life_hours: float = 48.0
    story_auto_merge: bool = True
    """Merge two stories when an item fits both and they are alike (ingest.similar)."""
    log_level: str = "INFO"
    log_format: str = "auto"
    """``json`` (one object per line), ``console`` (for people), or ``auto``: JSON unless
    standard error is a terminal."""
    metrics: bool = True
    """``WIREFEED_METRICS=off`` turns instrumentation off: no counting, no ``/metrics``."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    """Where a worker serves its own ``/metrics``; 0: it serves none (the web app's
    ``/metrics`` is always on)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from ``environ``; raise :class:`SettingsError` on the first bad value."""
        env = _Env(environ)
        return cls(
            redis_url=env.text("REDIS_URL"),
            data_dir=Path(env.text("DATA_DIR") or "var"),
            http_host=env.text("HTTP_HOST") or "127.0.0.1",
            http_port=env.integer("HTTP_PORT", 8080, low=1, high=65535),
            sources_path=sources_path(environ),
            public_url=(env.text("PUBLIC_URL") or "").rstrip("/") or None,
            fetch_allow_networks=env.networks("FETCH_ALLOW_NETWORKS"),
            fetch_max_bytes=env.integer("FETCH_MAX_BYTES", 10 * 1024 * 1024, low=1024),
            fetch_connect_timeout=env.number("FETCH_CONNECT_TIMEOUT", 10.0),
            fetch_read_timeout=env.number("FETCH_READ_TIMEOUT", 30.0),
            fetch_total_timeout=env.number("FETCH_TOTAL_TIMEOUT", 60.0),
            fetch_max_redirects=env.integer("FETCH_MAX_REDIRECTS", 5, low=0, high=20),
            fetch_unconditional_every=env.integer("FETCH_UNCONDITIONAL_EVERY", 100, low=0),
            fetch_max_floor=env.number("FETCH_MAX_FLOOR", 3600.0, low=1, high=MAX_WAIT),
            fetch_max_backoff=env.number("FETCH_MAX_BACKOFF", 3600.0, low=1, high=MAX_WAIT),
            fetch_dead_after=env.integer("FETCH_DEAD_AFTER", 10, low=1),
            fetch_dead_retry=env.number("FETCH_DEAD_RETRY", 6 * 3600.0, low=1, high=MAX_WAIT),
            # Below 1, a source would turn quiet before its usual gap between items had passed.
            fetch_quiet_factor=env.number("FETCH_QUIET_FACTOR", 10.0, "", above=1),
            fetch_redirect_confirmations=env.integer(
                "FETCH_REDIRECT_CONFIRMATIONS", 3, low=1, high=100
            ),
            host_limit=HostLimit(
                concurrency=env.integer("HOST_CONCURRENCY", 2, low=0),
                per_minute=env.integer("HOST_PER_MINUTE", 60, low=0),
            ),
            host_limits=env.host_limits("HOST_LIMITS"),
            max_entries_per_fetch=env.integer("MAX_ENTRIES_PER_FETCH", 500, low=1),
            retention_days=env.number("RETENTION_DAYS", 30.0, "days"),
            tombstone_days=env.number("TOMBSTONE_DAYS", 365.0, "days"),
            hash_change_cap=env.integer("HASH_CHANGE_CAP", 5, low=1),
            worker_concurrency=env.integer("WORKER_CONCURRENCY", 20, low=1, high=1000),
            parse_processes=env.integer("PARSE_PROCESSES", 0, low=0, high=64),
            run_workers=env.integer("RUN_WORKERS", min(8, os.cpu_count() or 1), low=1, high=64),
            lease_seconds=env.number("LEASE_SECONDS", 120.0),
            feed_page_size=env.integer("FEED_PAGE_SIZE", 50, low=1, high=1000),
            feed_max_age=env.integer("FEED_MAX_AGE", 60, low=0),
            websub_hubs=env.urls("WEBSUB_HUBS"),
            story_prefix=env.headline_prefix("STORY_PREFIX", "The Latest: "),
            admin_token=env.secret("ADMIN_TOKEN"),
            tokens_file=Path(tokens) if (tokens := env.text("TOKENS_FILE")) else None,
            story_window_hours=env.number(
                "STORY_WINDOW_HOURS", 48.0, "hours", high=MAX_STORY_WINDOW_HOURS
            ),
            story_half_life_hours=env.number(
                "STORY_HALF_LIFE_HOURS", 48.0, "hours", high=MAX_STORY_WINDOW_HOURS
            ),
            story_auto_merge=env.choice("STORY_AUTO_MERGE", "ON", ("ON", "OFF")) == "ON",
            log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=env.choice("LOG_FORMAT", "AUTO", ("AUTO", "JSON", "CONSOLE")).lower(),
            metrics=env.choice("METRICS", "ON", ("ON", "OFF")) == "ON",
            metrics_host=env.text("METRICS_HOST") or "127.0.0.1",
            metrics_port=env.integer("METRICS_PORT", 0, low=0, high=65535),
        )

    def __post_init__(self) -> None:
        if self.tombstone_days < self.retention_days:
            raise SettingsError(
                f"{PREFIX}TOMBSTONE_DAYS: must be at least {PREFIX}RETENTION_DAYS "
                f"({self.retention_days:g}): tombstones outlive what they guard against, "
                f"got {self.tombstone_days:g}"
            )

    def redis_env(self) -> dict[str, str]:
        """The variables a child process needs to reach the same Redis."""
        return {PREFIX + "REDIS_URL": self.redis_url} if self.redis_url else {}


def sources_path(environ: Mapping[str, str]) -> Path:
    """The sources file ``environ`` names (``WIREFEED_SOURCES``), or the default.

    The one setting ``wirefeed sources check`` reads, so that checking a file never depends on
    the rest of the environment being valid.
    """
    return Path(_Env(environ).text("SOURCES") or DEFAULT_SOURCES)


class _Env:
    """Typed reads of ``WIREFEED_*`` variables with messages that name the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name, "").strip()
        return value or None

    def _fail(self, name: str, what: str, raw: str) -> SettingsError:
        return SettingsError(f"{PREFIX}{name}: {what}, got {raw!r}")

    def integer(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        try:
            value = int(raw)
        except ValueError:
            raise self._fail(name, f"must be a whole number {bounds}", raw) from None
        if value < low or (high is not None and value > high):
            raise self._fail(name, f"must be a whole number {bounds}", raw)
        return value

    def number(
        self,
        name: str,
        default: float,
        unit: str = "seconds",
        *,
        above: float = 0.0,
        low: float | None = None,
        high: float | None = None,
    ) -> float:
        """A finite number greater than ``above`` (or at least ``low``), at most ``high``."""
        raw = self.text(name)
        if raw is None:
            return default
        if low is not None:
            bounds = f"from {_num(low)} to {_num(high)}" if high is not None else f">= {_num(low)}"
        else:
            bounds = f"> {_num(above)}" + (f" and <= {_num(high)}" if high is not None else "")
        what = f"must be a number of {unit} {bounds}" if unit else f"must be a number {bounds}"
        try:
            value = float(raw)
        except ValueError:
            raise self._fail(name, what, raw) from None
        fits = value >= low if low is not None else value > above
        if not (fits and math.isfinite(value) and (high is None or value <= high)):
            raise self._fail(name, what, raw)  # rejects nan and inf too
        return value

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.upper() not in options:
            raise self._fail(name, "must be one of " + ", ".join(options), raw)
        return raw.upper()

    def secret(self, name: str) -> str | None:
        """A shared secret: unset means the feature it guards is off; too short is refused."""
        raw = self.text(name)
        if raw is not None and len(raw) < 16:
            raise SettingsError(
                f"{PREFIX}{name}: must be at least 16 characters (a random "
                "token, e.g. from `python -c 'import secrets; "
                "print(secrets.token_urlsafe())'`)"
            )
        return raw

    def urls(self, name: str) -> tuple[str, ...]:
        """A comma-separated list of absolute http(s) URLs."""
        raw = self.text(name)
        found = []
        for part in (p.strip() for p in (raw or "").split(",")):
            if not part:
                continue
            parts = urlsplit(part)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise self._fail(name, "must be a comma-separated list of http(s) URLs", part)
            found.append(part)
        return tuple(found)

    def host_limits(self, name: str) -> dict[str, HostLimit]:
        """``host=CONCURRENCY/PER_MINUTE`` pairs, comma-separated; 0 means unlimited.

        Hosts are spelled the way the politeness gate keys them (lowercase, ASCII, no trailing
        dot, IPv6 without brackets), or an override would silently never apply.
        """
        raw = self.text(name)
        limits: dict[str, HostLimit] = {}
        for part in (p.strip() for p in (raw or "").split(",")):
            if not part:
                continue
            host, equals, spec = (p.strip() for p in part.partition("="))
            concurrency, slash, per_minute = (p.strip() for p in spec.partition("/"))
            if not (equals and slash):
                raise self._fail(
                    name, "must be host=CONCURRENCY/PER_MINUTE pairs, comma-separated", part
                )
            key = _host_key(host)
            if key is None:
                raise self._fail(
                    name, f"in {part!r}: the host must be a bare name or IP address", host
                )
            for label, number in (("CONCURRENCY", concurrency), ("PER_MINUTE", per_minute)):
                if not _WHOLE.fullmatch(number):
                    raise self._fail(
                        name, f"in {part!r}: {label} must be a whole number >= 0", number
                    )
            if key in limits:
                raise self._fail(name, f"host {key!r} is given twice", part)
            limits[key] = HostLimit(int(concurrency), int(per_minute))
        return limits

    def headline_prefix(self, name: str, default: str) -> str:
        """Text put before a headline, kept as given (its trailing space matters); empty or
        blank means none. One short line: no control characters, at most 40 characters."""
        raw = self._environ.get(PREFIX + name)
        if raw is None:
            return default
        if not raw.strip():
            return ""
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in raw):
            raise self._fail(name, "must not contain control characters", raw)
        if len(raw) > MAX_STORY_PREFIX:
            raise self._fail(name, f"must be at most {MAX_STORY_PREFIX} characters", raw)
        return raw

    def networks(self, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        raw = self.text(name)
        if raw is None:
            return ()
        nets = []
        for part in (p.strip() for p in raw.split(",")):
            if not part:
                continue
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise self._fail(name, "must be a comma-separated list of CIDRs", part) from None
        return tuple(nets)


def _num(value: float) -> str:
    """A bound as people write it: 2592000, not 2.592e+06."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _host_key(text: str) -> str | None:
    """``text`` as :func:`ingest.fetch.politeness.host_of` spells a URL's host, or ``None`` if it is
    not a bare host name or IP address (it has a scheme, port, path or space)."""
    bracketed = text.startswith("[") and text.endswith("]")
    bare = text[1:-1] if bracketed else text
    if bracketed or ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            return None
        return bare.lower()  # as written, without brackets: how host_of gives IPv6 hosts
    name = bare.rstrip(".")
    if not name or any(c in name for c in "/@?#[] \t"):
        return None
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:  # an empty or over-long label
        return None
