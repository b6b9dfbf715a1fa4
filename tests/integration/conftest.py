"""Fixtures shared by the integration tests: a loopback-only fetcher, the Westhaven desk
(tests/support/desk.py) over the test's Redis and its editors' newsroom, the Lakeshore newsroom
and a WebSub hub (tests/support/lakeshore.py), the web app on a real port over that Redis, and
HTTP clients for it (a reader's, an editor's). A module that needs another app (an admin token,
a page size) defines its own ``app_url``; the clients follow it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from config.settings import Settings
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.store.redis_store import RedisStore
from tests.support import LOOPBACK, FeedServer, serve_app
from tests.support.desk import POLLED, TOKEN, Desk, Newsroom, client, open_newsroom
from tests.support.lakeshore import MiniHub, mini_hub
from tests.support.lakeshore import Newsroom as LakeshoreNewsroom
from tests.support.lakeshore import open_newsroom as open_lakeshore


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
async def newsroom(server: FeedServer, store: RedisStore) -> AsyncIterator[LakeshoreNewsroom]:
    """The Lakeshore newsroom (tests/support/lakeshore.py): every wire configured, polled once."""
    async for room in open_lakeshore(server, store):
        yield room


@pytest.fixture
def hub() -> Iterator[MiniHub]:
    """A WebSub hub on loopback that records the pings it gets."""
    with mini_hub() as h:
        yield h


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    with serve_app(Settings(redis_url=clean_redis)) as url:
        yield url


@pytest.fixture
async def room(desk: Desk) -> Newsroom:
    """The editors' newsroom (tests/support/desk.py), polled at ``POLLED``."""
    return await open_newsroom(desk, POLLED)


@pytest.fixture
async def http(app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A reader of the app: no token."""
    async with client(app_url) as reader:
        yield reader


@pytest.fixture
async def admin(app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An editor: the desk's admin token on every request (the module's app must know it)."""
    async with client(app_url, TOKEN) as editor:
        yield editor
