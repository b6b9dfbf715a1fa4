"""Rendered feed documents kept in Redis for every web process, and the lock that lets one
process render a document while the others wait (:class:`feeds.cache.RenderCache` decides).

A copy is stored with the revisions it was rendered at (``revision``: the scopes' revision
counters joined with dots, see :meth:`RedisRendered.lookup`); every write bumps those
counters, so a copy at older revisions is simply not used and nothing has to delete it.
Copies expire after the caller's time to live. The client must be binary-safe
(``decode_responses=False``): bodies are bytes. Redis errors come out as
:class:`~ingest.errors.StoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest import keys
from ingest.store.base import RedisAdapter


@dataclass(frozen=True, slots=True)
class RenderedCopy:
    """One stored document, as :class:`feeds.cache.Rendered` wrote it."""

    body: bytes
    gzip: bytes
    etag: str
    last_modified: str
    media_type: str
    revision: str


class RedisRendered(RedisAdapter):
    """The shared copies of rendered documents and their render locks."""

    async def lookup(self, name: str, scopes: Sequence[str]) -> tuple[str, RenderedCopy | None]:
        """The current revision of ``scopes`` (``stories``, ``story:ID``, ``source:ID``,
        ``config``) and the stored copy of ``name`` if any: one round trip."""
        pipe = self._r.pipeline(transaction=False)
        for scope in scopes:
            kind, _, ident = scope.partition(":")
            if kind == "story":
                pipe.hget(keys.story_meta(ident), "rev")
            elif kind == "source":
                pipe.get(keys.source_revision(ident))
            elif kind == "config":
                pipe.get(keys.CONFIG_REVISION)
            else:
                pipe.get(keys.REVISION)
        pipe.hgetall(keys.rendered(name))
        *revisions, raw = await self._call(pipe.execute())
        revision = ".".join(str(int(r or 0)) for r in revisions)
        return revision, _decode(raw)

    async def lock(self, name: str, ms: int) -> bool:
        """Take the render lock of ``name`` for ``ms`` milliseconds; ``False`` if another
        holds it."""
        return bool(await self._call(self._r.set(keys.render_lock(name), b"1", nx=True, px=ms)))

    async def unlock(self, name: str) -> None:
        """Let go of the render lock of ``name`` (idempotent)."""
        await self._call(self._r.delete(keys.render_lock(name)))

    async def put(self, name: str, copy: RenderedCopy, ttl_ms: int) -> None:
        """Store ``copy`` as the shared copy of ``name`` for ``ttl_ms`` milliseconds: one
        transaction, so a reader never meets half a copy."""
        key = keys.rendered(name)
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(
            key,
            mapping={
                b"body": copy.body,
                b"gzip": copy.gzip,
                b"etag": copy.etag,
                b"last_modified": copy.last_modified,
                b"type": copy.media_type,
                b"revision": copy.revision,
            },
        )
        pipe.pexpire(key, ttl_ms)
        await self._call(pipe.execute())


def _decode(raw: dict[bytes, bytes] | None) -> RenderedCopy | None:
    if not raw or b"body" not in raw:
        return None
    return RenderedCopy(
        raw[b"body"],
        raw[b"gzip"],
        raw[b"etag"].decode(),
        raw[b"last_modified"].decode(),
        raw[b"type"].decode(),
        raw[b"revision"].decode(),
    )
