"""The test session's clocks agree: the Redis server the suite starts (embedded valkey-server)
runs on the same clock as the test process, so under ``make test-clock`` Redis ``TIME``, the TTLs
it counts down and the times the product writes are all shifted alike. This compares two clocks
with each other, not either with the calendar."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from tests.support import SESSION


async def test_redis_keeps_the_clock_of_the_test_process(rclient: aioredis.Redis) -> None:
    before = time.time()
    seconds, micros = await rclient.time()
    after = time.time()
    assert before - 1 <= seconds + micros / 1e6 <= after + 1


async def test_the_session_instant_is_the_clock_of_this_session(rclient: aioredis.Redis) -> None:
    seconds, _micros = await rclient.time()
    server_now = datetime.fromtimestamp(seconds, UTC)
    assert SESSION - timedelta(seconds=1) <= server_now  # read once, before any test ran
