"""Rendered feed documents, cached in Redis and in each web process, rendered once per change.

::

    request -> local copy fresh?            (no event touched its scopes since; a few s old)
            -> Redis copy at the current revisions?           one round trip
            -> render, once: one coroutine per process (a shared future) and one process
               across the fleet (a short Redis lock; the others wait for its result)

A document depends on revisions (``stories``: every story and tag feed, ``story:ID``,
``source:ID``, ``config``: the source list; read by
:meth:`ingest.store.rendered.RedisRendered.lookup`) that every write bumps, so a Redis copy
rendered at older revisions is simply not used; nothing has to delete it.
Local copies are dropped as soon as the story-changed event reaches this process (see
:mod:`feeds.push`), and are trusted only while that event tail runs.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ingest.store.base import Client
from ingest.store.rendered import RedisRendered, RenderedCopy

LOCK_MS = 10_000
WAIT_FOR_OTHERS = 2.0


@dataclass(frozen=True, slots=True)
class Rendered:
    """One document ready to serve in either encoding."""

    body: bytes
    gzip: bytes
    etag: str
    last_modified: str
    media_type: str
    revision: str = ""
    _headers: dict[tuple[bool, bool, int], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, body: bytes, media_type: str, last_modified: str) -> Rendered:
        """Compress and tag ``body``: the strong ETag is a hash of the identity bytes."""
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(
            body,
            gzip.compress(body, compresslevel=6, mtime=0),
            f'"{digest}"',
            last_modified,
            media_type,
        )

    def raw_headers(
        self, *, zipped: bool, not_modified: bool, max_age: int
    ) -> list[tuple[bytes, bytes]]:
        """The response headers (ASGI form) of one way of answering with this copy: built
        once per copy, as a busy feed is answered from it thousands of times. Shared: the
        caller must not change the list."""
        key = (zipped, not_modified, max_age)
        found = self._headers.get(key)
        if found is None:
            etag = self.etag[:-1] + '-gz"' if zipped else self.etag
            found = [
                (b"etag", etag.encode()),
                (b"last-modified", self.last_modified.encode()),
                (b"cache-control", f"public, max-age={max_age}".encode()),
                (b"vary", b"Accept-Encoding"),
            ]
            if not not_modified:
                found += [(b"content-encoding", b"gzip")] if zipped else []
                body = self.gzip if zipped else self.body
                found += [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", self.media_type.encode()),
                ]
            self._headers[key] = found
        return found


class RenderCache:
    """Two cache levels and single flight, over a binary-safe Redis client owned by the app
    (the shared copies and the render lock: :class:`ingest.store.rendered.RedisRendered`)."""

    def __init__(
        self,
        client: Client,
        *,
        local_size: int = 512,
        local_ttl: float = 5.0,
        redis_ttl_ms: int = 3_600_000,
    ) -> None:
        self._copies = RedisRendered(client)
        self.local_size = local_size
        self.local_ttl = local_ttl
        self.redis_ttl_ms = redis_ttl_ms
        self.tailing = False
        """Set by the event tail while it runs; without it local copies are not trusted."""
        self._local: OrderedDict[str, tuple[float, tuple[int, ...], Rendered]] = OrderedDict()
        self._epochs: dict[str, int] = {}
        self._inflight: dict[str, asyncio.Future[Rendered | None]] = {}
        self.counts = {"local": 0, "redis": 0, "render": 0}
        """Documents answered from the local copy, from Redis, and rendered (for metrics)."""

    def invalidate(self, scopes: Sequence[str]) -> None:
        """Something in ``scopes`` changed: local copies that depend on them are stale."""
        for scope in scopes:
            self._epochs[scope] = self._epochs.get(scope, 0) + 1

    async def get(
        self,
        name: str,
        scopes: Sequence[str],
        render: Callable[[], Awaitable[Rendered | None]],
    ) -> Rendered | None:
        """The document ``name``, rendered at the current revisions of ``scopes``; ``render``
        builds it when no cached copy is current. ``None`` when ``render`` says there is none.
        Redis errors come out as :class:`~ingest.errors.StoreError` (answered 503)."""
        epochs = tuple(self._epochs.get(s, 0) for s in scopes)
        local = self._local.get(name)
        if (
            local
            and self.tailing
            and local[1] == epochs
            and time.monotonic() - local[0] < (self.local_ttl)
        ):
            self._local.move_to_end(name)
            self.counts["local"] += 1
            return local[2]
        running = self._inflight.get(name)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Rendered | None] = asyncio.get_running_loop().create_future()
        self._inflight[name] = future
        try:
            result = await self._load(name, scopes, render)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._inflight[name]
        future.set_result(result)
        if result is not None:
            self._remember(name, epochs, result)
        return result

    async def _load(
        self, name: str, scopes: Sequence[str], render: Callable[[], Awaitable[Rendered | None]]
    ) -> Rendered | None:
        revision, cached = await self._lookup(name, scopes)
        if cached is not None and cached.revision == revision:
            self.counts["redis"] += 1
            return cached
        locked = await self._copies.lock(name, LOCK_MS)
        if not locked:
            waited = await self._wait_for_other(name, scopes, revision)
            if waited is not None:
                return waited
        try:
            if locked:  # the lock's last holder may have stored it since our first look
                revision, cached = await self._lookup(name, scopes)
                if cached is not None and cached.revision == revision:
                    return cached
            result = await render()
            self.counts["render"] += 1
            if result is not None:
                await self._store(name, _with_revision(result, revision))
        finally:
            if locked:
                await self._copies.unlock(name)
        return None if result is None else _with_revision(result, revision)

    async def _lookup(self, name: str, scopes: Sequence[str]) -> tuple[str, Rendered | None]:
        revision, copy = await self._copies.lookup(name, scopes)
        return revision, None if copy is None else _rendered(copy)

    async def _wait_for_other(
        self, name: str, scopes: Sequence[str], revision: str
    ) -> Rendered | None:
        """Another process is rendering this document: wait a little for its result."""
        deadline = time.monotonic() + WAIT_FOR_OTHERS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            current, cached = await self._lookup(name, scopes)
            if cached is not None and cached.revision == current:
                return cached
            if current != revision:
                return None  # it changed again meanwhile: render it ourselves
        return None

    async def _store(self, name: str, rendered: Rendered) -> None:
        copy = RenderedCopy(
            rendered.body,
            rendered.gzip,
            rendered.etag,
            rendered.last_modified,
            rendered.media_type,
            rendered.revision,
        )
        await self._copies.put(name, copy, self.redis_ttl_ms)

    def _remember(self, name: str, epochs: tuple[int, ...], rendered: Rendered) -> None:
        self._local[name] = (time.monotonic(), epochs, rendered)
        self._local.move_to_end(name)
        while len(self._local) > self.local_size:
            self._local.popitem(last=False)


def _with_revision(rendered: Rendered, revision: str) -> Rendered:
    return Rendered(
        rendered.body,
        rendered.gzip,
        rendered.etag,
        rendered.last_modified,
        rendered.media_type,
        revision,
    )


def _rendered(copy: RenderedCopy) -> Rendered:
    return Rendered(
        copy.body, copy.gzip, copy.etag, copy.last_modified, copy.media_type, copy.revision
    )
