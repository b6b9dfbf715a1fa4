"""Fixtures: one real Redis server per test session (embedded valkey-server, or the server at
``WIREFEED_REDIS_URL``), flushed before every test that uses it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from ingest.store.connect import flush_all, open_redis
from ingest.store.redis_store import RedisStore
from tests.support import FeedServer, feed_server
from workers.embedded import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server. With WIREFEED_REDIS_URL set, that server (its database is flushed!)."""
    given = os.environ.get("WIREFEED_REDIS_URL")
    if given:
        yield given
        return
    data_dir: Path = tmp_path_factory.mktemp("redis")
    server = EmbeddedRedis(data_dir)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The server's URL, with its database emptied for this test (on every master of a
    cluster)."""
    flush_all(redis_url)
    return redis_url


@pytest.fixture
async def rclient(clean_redis: str) -> AsyncIterator[aioredis.Redis]:
    client = await open_redis(clean_redis)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def store(rclient: aioredis.Redis) -> RedisStore:
    return RedisStore(rclient)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s
