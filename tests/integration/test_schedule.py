"""The shared schedule: atomic claims with leases, against a real Redis."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from config.sources import Source
from ingest import keys
from ingest.store.connect import open_redis
from ingest.store.schedule import Claim, RedisSchedule


def sources(n: int, **kw: object) -> list[Source]:
    return [Source(id=f"s{i}", url=f"https://example.org/{i}", **kw) for i in range(n)]  # type: ignore[arg-type]


async def test_sync_schedules_enabled_sources_and_drops_the_rest(rclient: aioredis.Redis) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync([*sources(3), Source(id="off", url="https://x.org/", enabled=False)])
    assert sorted(await schedule.due_times()) == ["s0", "s1", "s2"]
    await schedule.sync(sources(2))
    assert sorted(await schedule.due_times()) == ["s0", "s1"]


async def test_sync_keeps_existing_due_times(rclient: aioredis.Redis) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync(sources(1))
    await rclient.zadd(keys.SCHEDULE, {"s0": 42})
    await schedule.sync(sources(1))
    assert (await schedule.due_times())["s0"] == 42


async def test_concurrent_claims_never_hand_out_a_source_twice(clean_redis: str) -> None:
    clients = [await open_redis(clean_redis) for _ in range(8)]
    try:
        await RedisSchedule(clients[0]).sync(sources(50))
        results = await asyncio.gather(
            *(RedisSchedule(c).claim(10, 60) for c in clients for _ in range(3))
        )
        claimed = [claim.source_id for batch in results for claim in batch]
        assert sorted(claimed) == sorted(f"s{i}" for i in range(50))
    finally:
        for c in clients:
            await c.aclose()


async def test_claimed_source_is_not_due_until_rescheduled(rclient: aioredis.Redis) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync(sources(1))
    (claim,) = await schedule.claim(10, 60)
    assert await schedule.claim(10, 60) == []
    assert await schedule.reschedule(claim, 0)
    assert [c.source_id for c in await schedule.claim(10, 60)] == ["s0"]


async def test_expired_lease_is_claimable_and_the_old_holder_cannot_reschedule(
    rclient: aioredis.Redis,
) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync(sources(1))
    (old,) = await schedule.claim(1, 0.05)
    await asyncio.sleep(0.1)
    (new,) = await schedule.claim(1, 60)
    assert new.source_id == old.source_id and new.lease != old.lease
    assert not await schedule.reschedule(old, 0)
    assert await schedule.renew(old, 60) is None
    renewed = await schedule.renew(new, 120)
    assert renewed is not None and renewed.lease > new.lease
    assert await schedule.reschedule(renewed, 30)


async def test_claim_respects_the_limit(rclient: aioredis.Redis) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync(sources(5))
    assert len(await schedule.claim(2, 60)) == 2
    assert len(await schedule.claim(0, 60)) == 0
    assert len(await schedule.claim(10, 60)) == 3


async def test_settle_moves_and_drops_held_claims_and_leaves_lost_ones(
    rclient: aioredis.Redis,
) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync(sources(4))
    s0, s1, s2, s3 = sorted(await schedule.claim(10, 60), key=lambda c: c.source_id)
    stale = Claim(s3.source_id, s3.lease - 1)  # a lease that expired and was claimed again
    assert await schedule.settle([(s0, 0), (s1, None), (s2, 3600), (stale, None)]) == [
        True,
        True,
        True,
        False,
    ]
    due = await schedule.due_times()
    assert sorted(due) == ["s0", "s2", "s3"]  # s1 dropped; s3 still held by its newer claim
    assert due["s3"] == s3.lease and due["s2"] > s2.lease
    assert [c.source_id for c in await schedule.claim(10, 60)] == ["s0"]


async def test_settle_runs_again_when_the_server_forgot_the_script(
    rclient: aioredis.Redis,
) -> None:
    schedule = RedisSchedule(rclient)
    await schedule.sync(sources(1))
    (claim,) = await schedule.claim(10, 60)
    await rclient.script_flush()
    assert await schedule.settle([(claim, 0)]) == [True]
    assert [c.source_id for c in await schedule.claim(10, 60)] == ["s0"]


async def test_settle_of_nothing_sends_nothing(rclient: aioredis.Redis) -> None:
    assert await RedisSchedule(rclient).settle([]) == []
