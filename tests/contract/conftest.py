"""The contract suite's back-ends: every test here runs once against one Redis server and once
against a local three-master Redis Cluster (started once per session from the pip-installed
``valkey-server``). With ``WIREFEED_REDIS_URL`` set, that server stands in for whichever kind
it is, and a local server of the other kind is started."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from ingest.store.connect import cluster_masters, flush_all, open_redis
from workers.embedded import EmbeddedRedis
from workers.local_cluster import LocalCluster


def _given(cluster: bool) -> str | None:
    url = os.environ.get("WIREFEED_REDIS_URL")
    if not url:
        return None
    is_cluster = len(cluster_masters(url)) > 1
    return url if is_cluster == cluster else None


@pytest.fixture(scope="session")
def single_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = _given(cluster=False)
    if given:
        yield given
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("single")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = _given(cluster=True)
    if given:
        yield given
        return
    with LocalCluster(Path(tmp_path_factory.mktemp("cluster"))) as cluster:
        yield cluster.url


@pytest.fixture(params=["single", "cluster"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """The URL of one back-end, emptied for this test."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    flush_all(url)
    return url


@pytest.fixture
async def client(backend_url: str) -> AsyncIterator[aioredis.Redis]:
    c = await open_redis(backend_url)
    try:
        yield c
    finally:
        await c.aclose()
