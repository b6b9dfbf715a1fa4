"""Fixtures shared by the integration tests: a loopback-only fetcher, the Westhaven desk
(tests/support/desk.py) over the test's Redis, the web app on a real port over that Redis, and
an HTTP client for it. A module that needs another app (an
admin token, a page size) defines its own ``app_url``; ``http`` follows it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from config.settings import Settings
from ingest.fetch import FetchLimits, HttpFetcher
from ingest.store import RedisStore
from tests.support import LOOPBACK, FeedServer, serve_app
from tests.support.desk import Desk


@pytest.fixture
async def fetcher() -> AsyncIterator[HttpFetcher]:
    f = HttpFetcher(
        FetchLimits(connect_timeout=2, read_timeout=5, total_timeout=10), policy=LOOPBACK
    )
    try:
        yield f
    finally:
        await f.aclose()


@pytest.fixture
async def desk(server: FeedServer, store: RedisStore, fetcher: HttpFetcher) -> Desk:
    """The Westhaven wires on ``server``, their sources stored, polled on demand."""
    return await Desk(server, store, fetcher).configure()


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    with serve_app(Settings(redis_url=clean_redis)) as url:
        yield url


@pytest.fixture
async def http(app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_url, timeout=10) as client:
        yield client
