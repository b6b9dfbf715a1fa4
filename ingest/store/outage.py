"""Redis going away and coming back: one log line each way, never a traceback per attempt.

Every long-running process (worker, web) keeps one :class:`RedisWatch`. Code that meets an
error calls :func:`unreachable` to tell "Redis is not there" (refused, reset, timed out, still
loading its append-only file) from a bug, and reports the former to the watch, which logs the
first loss and the recovery and stays quiet in between. :func:`wait_until_up` is what a
process started while Redis is down does instead of exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, ConnectionError)

UNTRANSLATED: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
"""The Redis client's own "cannot reach" errors, for a last line of defence (the web app's
exception handlers) against one that escaped an adapter untranslated; what adapters raise
is a :class:`~ingest.errors.StoreError`."""


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was translated from) says Redis cannot be reached now."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, (*_UNREACHABLE, OSError)):
            return True
        seen = seen.__cause__
    return False


def reason(exc: BaseException) -> str:
    """A one-line reason, e.g. ``ConnectionError: Error 111 connecting to ...``."""
    text = " ".join(str(exc).split()) or "no answer"
    return f"{type(exc).__name__}: {text}"[:300]


def redact(url: str) -> str:
    """``url`` without its password, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    netloc = user + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisWatch:
    """Whether this process can reach Redis, with a log line on each change."""

    def __init__(
        self, url: str, log: logging.Logger, on_change: Callable[[bool], None] | None = None
    ) -> None:
        self.url = redact(url)
        self.log = log
        self.down = False
        self.losses = 0
        self.on_change = on_change
        """Called with True when Redis is back, False when it is lost (a metric's setter)."""

    def lost(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            self.losses += 1
            if self.on_change is not None:
                self.on_change(False)
            self.log.warning(
                "lost Redis at %s: %s; retrying quietly until it is back",
                self.url,
                reason(exc),
                extra={"event": "redis_lost", "redis": self.url},
            )

    def back(self) -> None:
        if self.down:
            self.down = False
            if self.on_change is not None:
                self.on_change(True)
            self.log.info(
                "Redis at %s is back", self.url, extra={"event": "redis_back", "redis": self.url}
            )

    async def guard(self, work: Callable[[], Awaitable[object]], what: str) -> None:
        """Run ``work``; an unreachable Redis is noted (once), any other error is logged."""
        try:
            await work()
        except Exception as exc:
            if not unreachable(exc):
                self.log.exception("%s failed", what)
                return
            self.lost(exc)
        else:
            self.back()


async def wait_until_up(
    ping: Callable[[], Awaitable[object]],
    watch: RedisWatch,
    *,
    stop: asyncio.Event | None = None,
    every: float = 0.5,
    most: float = 5.0,
) -> bool:
    """Ping until Redis answers (logging one line while it does not); ``False`` if ``stop``
    was set first. Backs off from ``every`` to ``most`` seconds between tries."""
    delay = every
    waiting = False
    while True:  # one try even when ``stop`` is already set
        try:
            await ping()
        except Exception as exc:
            if not unreachable(exc):
                raise
            if stop is not None and stop.is_set():
                return False
            if not waiting:
                waiting = True
                watch.log.warning(
                    "waiting for Redis at %s: %s",
                    watch.url,
                    reason(exc),
                    extra={"event": "redis_wait", "redis": watch.url},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_forever(stop), delay)
            delay = min(most, delay * 2)
            continue
        if waiting:
            watch.log.info(
                "Redis at %s answers", watch.url, extra={"event": "redis_up", "redis": watch.url}
            )
        watch.down = False
        return True


async def _forever(stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.Event().wait()
    else:
        await stop.wait()
