"""Opening a Redis client: one server or a Redis Cluster, from the same URL.

``WIREFEED_REDIS_URL`` names one server, or any one node of a cluster. :func:`open_redis` asks
that server ``INFO cluster``; with ``cluster_enabled:1`` it opens a cluster client (which reads
the slot map from the node and follows it), otherwise a plain client. Every process that talks
to Redis opens its clients here, so worker, web and the one-off commands agree.

The cluster client is typed as :class:`redis.asyncio.Redis` for the code that uses it: the two
share every command wirefeed sends, and the few things a cluster refuses (``MGET`` over several
slots, ``MGET`` or ``ECHO`` inside a pipeline, a pipeline's shared script cache) are avoided by
the helpers below rather than by a second code path per call site.

Errors: a server that cannot be reached or answers nonsense while we probe it is a
:class:`~ingest.errors.StoreError` naming the (password-free) address.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline as AsyncClusterPipeline
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.exceptions import RedisError

from ingest.errors import StoreError
from ingest.store.base import Client, SyncClient, translated, translating

__all__ = [
    "Client",
    "SyncClient",
    "answers",
    "cluster_masters",
    "flush_all",
    "is_cluster",
    "open_redis",
    "open_sync",
    "queue_gets",
    "server_command",
    "translated",
    "translating",
]


class _ScriptedCluster(AsyncRedisCluster):
    """A cluster client whose pipelines make sure every node has the scripts queued on them.

    On one server a pipeline sends ``SCRIPT EXISTS`` for the scripts queued on it and loads the
    missing ones (redis-py's ``Pipeline.scripts``, which :func:`ingest.store.scripts.queue`
    fills); a cluster pipeline has no such thing, and a node that restarted (or a node a script
    never ran on) answers ``NOSCRIPT``. So each pipeline of this client keeps the same
    ``scripts`` and checks them on every master before it runs (one ``SCRIPT EXISTS`` per
    master), loading what is missing.
    """

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        """A pipeline; ``transaction=True`` is a MULTI/EXEC on one node, whose keys must all
        be in one slot (redis-py refuses it otherwise, before sending anything)."""
        return _ScriptedPipeline(self, bool(transaction))  # type: ignore[abstract]


class _ScriptedPipeline(AsyncClusterPipeline):
    """See :class:`_ScriptedCluster`. ``scripts``: what was queued by SHA to be checked (each
    with the ``sha`` and ``script`` of redis-py's script objects)."""

    def __init__(self, client: _ScriptedCluster, transaction: bool) -> None:
        super().__init__(client, transaction or None)
        self.scripts: set[Any] = set()

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        if len(self) and self.scripts:
            await self._load_scripts(list(self.scripts))
        return await super().execute(raise_on_error, allow_redirections)

    async def _load_scripts(self, scripts: list[Any]) -> None:
        client = self.cluster_client  # SCRIPT EXISTS and SCRIPT LOAD go to every master
        present = await client.script_exists(*(s.sha for s in scripts))
        for script, there in zip(scripts, present, strict=True):
            if not there:
                await client.script_load(script.script)


log = logging.getLogger("wirefeed.redis")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _cluster_enabled(info: dict[str, Any]) -> bool:
    return str(info.get("cluster_enabled", "0")) == "1"


async def open_redis(
    url: str, *, decode_responses: bool = True, patience: float = 5.0, **options: Any
) -> aioredis.Redis:
    """A client for the server or cluster at ``url``, opened in the running loop; the caller
    closes it (``aclose``). Waits up to ``patience`` seconds for a server that does not answer
    yet (one starting, or loading its append-only file), logging one line while it waits, then
    raises :class:`StoreError`. Services pass ``math.inf``: they wait for Redis however long;
    commands keep the short default, so a person hears at once that Redis is not there."""
    probe = aioredis.from_url(url, decode_responses=True, socket_timeout=5.0)
    try:
        info = await _probe(probe, url, patience)
    finally:
        await probe.aclose()
    if _cluster_enabled(info):
        client = _ScriptedCluster.from_url(url, decode_responses=decode_responses, **options)
        return cast(aioredis.Redis, client)
    return aioredis.from_url(url, decode_responses=decode_responses, **options)


async def _probe(probe: aioredis.Redis, url: str, patience: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    delay = 0.1
    while True:
        try:
            info: dict[str, Any] = await probe.info("cluster")
            return info
        except (RedisError, OSError) as exc:
            if loop.time() + delay > deadline:
                raise StoreError(
                    f"redis at {_redact(url)} does not answer: {type(exc).__name__}: {exc}"
                ) from exc
            if delay == 0.1 and patience == math.inf:  # a service's wait: one line for all of it
                log.warning(
                    "waiting for Redis at %s: %s",
                    _redact(url),
                    type(exc).__name__,
                    extra={"event": "redis_wait"},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def open_sync(url: str, *, decode_responses: bool = False, **options: Any) -> redis.Redis:
    """The blocking twin of :func:`open_redis` (for one-off commands and tests); no waiting."""
    probe = redis.Redis.from_url(url, socket_timeout=5.0)
    try:
        info = probe.info("cluster")
    except (RedisError, OSError) as exc:
        raise StoreError(f"redis at {_redact(url)} does not answer: {exc}") from exc
    finally:
        probe.close()
    if _cluster_enabled(info):
        return cast(redis.Redis, RedisCluster.from_url(url, decode_responses=decode_responses))
    return redis.Redis.from_url(url, decode_responses=decode_responses, **options)


def is_cluster(client: Any) -> bool:
    """Whether ``client`` (or pipeline) speaks to a cluster."""
    return isinstance(client, AsyncRedisCluster | AsyncClusterPipeline | RedisCluster)


def cluster_masters(url: str) -> list[str]:
    """The URLs of every master behind ``url`` (just ``url`` for one server)."""
    client = open_sync(url)
    try:
        if not isinstance(client, RedisCluster):
            return [url]
        return [f"redis://{n.host}:{n.port}/0" for n in client.get_primaries()]
    finally:
        client.close()


def flush_all(url: str) -> None:
    """Empty the database of the server at ``url``, or of every master of its cluster."""
    for master in cluster_masters(url):
        client = redis.Redis.from_url(master)
        try:
            client.flushdb()
        finally:
            client.close()


def queue_gets(pipe: Any, names: Sequence[str]) -> int:
    """Queue one ``GET`` per key on ``pipe``; returns how many replies to read.

    Instead of one ``MGET``: keys of different sources or stories live in different slots, and
    a cluster refuses an ``MGET`` over several slots (and any ``MGET`` in a pipeline), while a
    pipeline of ``GET``s is still one round trip per server.
    """
    for name in names:
        pipe.get(name)
    return len(names)


async def get_many(client: Any, names: Sequence[str]) -> list[Any]:
    """The values of ``names`` (None where absent), in one round trip per server: the
    :func:`queue_gets` pipeline for keys that may live in several slots."""
    if not names:
        return []
    pipe = client.pipeline(transaction=False)
    queue_gets(pipe, names)
    return list(await pipe.execute())


def answers(
    *,
    unix_socket: str | None = None,
    host: str = "127.0.0.1",
    port: int = 6379,
    timeout: float = 1.0,
) -> bool:
    """Whether the server on ``unix_socket`` (or at ``host:port``) answers ``PING`` within
    ``timeout`` seconds: a blocking probe for the processes that start servers, never raises."""
    client = (
        redis.Redis(unix_socket_path=unix_socket, socket_timeout=timeout)
        if unix_socket is not None
        else redis.Redis(host=host, port=port, socket_timeout=timeout)
    )
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


def server_command(host: str, port: int, *args: str | int, timeout: float = 5.0) -> str:
    """Send one command to the server at ``host:port`` (blocking) and return its reply as text:
    what the local cluster is assembled with (``CLUSTER ADDSLOTSRANGE``, ``MEET``, ``INFO``).
    A server that cannot be reached or refuses is a :class:`StoreError`."""
    with redis.Redis(host=host, port=port, socket_timeout=timeout) as client:
        try:
            reply = client.execute_command(*args)
        except (RedisError, OSError) as exc:
            raise StoreError(
                f"redis at {host}:{port}: {' '.join(map(str, args[:2]))}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return reply.decode() if isinstance(reply, bytes) else str(reply)
