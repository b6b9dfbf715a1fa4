"""ingest.store.scripts against a real server (or cluster: ``make test-cluster``): a script
the server forgot (restart, ``SCRIPT FLUSH``, a new node) is loaded again, run or queued."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from ingest import keys
from ingest.store import scripts


async def test_run_loads_a_script_the_server_forgot(rclient: aioredis.Redis) -> None:
    await rclient.script_flush()
    reply = await scripts.run(rclient, scripts.SYNC, keys=[keys.SCHEDULE], rest=["a", "b"])
    assert int(reply) > 0
    assert sorted(await rclient.zrange(keys.SCHEDULE, 0, -1)) == ["a", "b"]


async def test_a_queued_script_the_server_forgot_is_loaded_before_the_pipeline_runs(
    rclient: aioredis.Redis,
) -> None:
    await scripts.run(rclient, scripts.SYNC, keys=[keys.SCHEDULE], rest=["a"])  # loaded once
    await rclient.script_flush()
    pipe = rclient.pipeline(transaction=False)
    for term, story in (("harbor", "s1"), ("ferry", "s2"), ("harbor", "s3")):
        scripts.queue(
            pipe,
            scripts.INDEX_TERM,
            keys=[keys.term_stories(term)],
            args={"story_id": story, "item_ms": 1_000, "cap": 2, "ttl_ms": 60_000},
        )
    scripts.queue(pipe, scripts.SYNC, keys=[keys.SCHEDULE], rest=["b"])
    replies = await pipe.execute()
    assert replies[:3] == [1, 1, 1]
    assert await rclient.zrange(keys.term_stories("harbor"), 0, -1) == ["s1", "s3"]
    assert sorted(await rclient.zrange(keys.SCHEDULE, 0, -1)) == ["a", "b"]


async def test_an_unchecked_script_the_server_forgot_answers_noscript(
    rclient: aioredis.Redis,
) -> None:
    await rclient.script_flush()
    pipe = rclient.pipeline(transaction=False)
    scripts.queue(pipe, scripts.SYNC, keys=[keys.SCHEDULE], rest=["a"], check=False)
    (reply,) = await pipe.execute(raise_on_error=False)
    assert isinstance(reply, NoScriptError)  # the caller reruns it (the schedule's settle does)
    assert await rclient.zrange(keys.SCHEDULE, 0, -1) == []
