"""The base of every Redis adapter: the client types, and the one translation of Redis errors.

Code outside :mod:`ingest.store` never imports redis: where it needs to name a client it uses
:data:`Client` (or :data:`SyncClient`), and every Redis error that leaves an adapter is a
:class:`~ingest.errors.StoreError` whose ``__cause__`` is the Redis error, so outage handling
(:func:`ingest.store.outage.unreachable`) still sees what it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeAlias, TypeVar

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ingest.errors import StoreError

P = ParamSpec("P")
T = TypeVar("T")

Client: TypeAlias = aioredis.Redis
"""An async client of one server or of a cluster (:func:`ingest.store.connect.open_redis`)."""
SyncClient: TypeAlias = redis.Redis
"""A blocking client (:func:`ingest.store.connect.open_sync`), for one-off commands."""

__all__ = ["Client", "RedisAdapter", "SyncClient", "store_error", "translated", "translating"]


def store_error(exc: RedisError) -> StoreError:
    """The :class:`StoreError` a Redis error becomes (raise it ``from exc``)."""
    return StoreError(f"redis: {type(exc).__name__}: {exc}")


async def translated(awaitable: Any) -> Any:
    """Await ``awaitable`` (a redis-py command's reply, typed loosely by its stubs); a Redis
    error comes out as :class:`StoreError` (its cause kept)."""
    try:
        return await awaitable
    except RedisError as exc:
        raise store_error(exc) from exc


def translating(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorate an async method that talks to Redis: its Redis errors come out as
    :class:`StoreError` (cause kept, so outage handling still sees what it was)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except RedisError as exc:
            raise store_error(exc) from exc

    return wrapper


class RedisAdapter:
    """Holds the client (owned by the caller: opened and closed by the process that made it)
    and awaits every command through :meth:`_call`, which translates its errors."""

    def __init__(self, client: Client) -> None:
        self._r = client

    async def _call(self, awaitable: Any) -> Any:
        return await translated(awaitable)
