"""The list of recent story openings: a batch of openings reads what was there before each,
although the server sends only what changed since the opening before it."""

from __future__ import annotations

import redis.asyncio as aioredis

from ingest import keys, similar
from ingest.model import Linking
from ingest.store import scripts
from ingest.store.redis_store import RedisStore
from ingest.store.story_index import OPENINGS, OPENINGS_TTL_MS

AT = 1_796_000_000_000


def opening(n: int) -> tuple[str, Linking, int]:
    return (f"story-{n}", Linking(vector=((f"harbor{n}", 0.8), ("ferry", 0.6))), AT + n)


async def listed(rclient: aioredis.Redis) -> list[str]:
    return [
        similar.Opening.from_json(r).story_id
        for r in await rclient.lrange(keys.STORY_OPENINGS, 0, -1)
    ]


async def test_each_opening_of_a_batch_reads_the_list_as_it_was_before_it(
    rclient: aioredis.Redis, store: RedisStore
) -> None:
    index = store.story_index
    await index.open_stories([opening(n) for n in range(OPENINGS + 6)])  # more than the cap
    before = await listed(rclient)
    batch = [opening(100 + n) for n in range(5)]
    found = await index.open_stories(batch)
    for n, prior in enumerate(found):
        pushed = [f"story-{100 + k}" for k in reversed(range(n))]
        assert [o.story_id for o in prior] == (pushed + before)[:OPENINGS]
    assert found[2][0] == similar.Opening("story-101", {"harbor101": 0.8, "ferry": 0.6}, AT + 101)


async def test_an_opening_pushed_by_another_worker_in_between_is_seen(
    rclient: aioredis.Redis,
) -> None:
    """The script is told the caller's previous opening: it sends what others pushed since,
    and the whole list when that one is gone (trimmed away, or the list expired)."""

    async def push(record: str, after: str = "") -> list[str]:
        args = {"opening_json": record, "cap": 3, "ttl_ms": OPENINGS_TTL_MS, "after": after}
        return list(
            await scripts.run(rclient, scripts.OPEN_STORY, keys=[keys.STORY_OPENINGS], args=args)
        )

    assert await push("a") == [0]
    await push("x")  # another worker's
    assert await push("b", after="a") == [1, "x"]
    assert await push("c", after="b") == [1]
    for other in ("y", "z", "w"):  # "c" trimmed away: the whole list comes back
        await push(other)
    assert await push("d", after="c") == [0, "w", "z", "y"]
