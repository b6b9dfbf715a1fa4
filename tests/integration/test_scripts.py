"""ingest.store.scripts against a real server (or cluster: ``make test-cluster``): a script
the server forgot (restart, ``SCRIPT FLUSH``, a new node) is loaded again, run or queued."""

from __future__ import annotations

import random
from collections import Counter

import pytest
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


# -- the many-key scripts do on one server what their one-key commands do -------------------------


def _one_slot(name: str, count: int) -> list[str]:
    """Keys in one slot, so these scripts run on a cluster too (there wirefeed sends them
    one command per key, as their keys live in many slots)."""
    return [f"{keys.PREFIX}:{{many-keys}}:{name}{n}" for n in range(count)]


async def _lists(client: aioredis.Redis, names: list[str]) -> list[list[str]]:
    return [await client.lrange(name, 0, -1) for name in names]


async def test_the_many_key_bucket_scripts_match_the_one_key_commands(
    rclient: aioredis.Redis,
) -> None:
    mine, theirs = _one_slot("m", 6), _one_slot("t", 6)
    for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):  # buckets of 0..5 entries
        for e in range(n):
            await rclient.rpush(a, f"e{e}")
            await rclient.rpush(b, f"e{e}")
    await rclient.rpush(mine[5], "new")  # already in one bucket: entered once, at the head
    await rclient.rpush(theirs[5], "new")
    read = [await rclient.lrange(name, 0, 2) for name in theirs]
    most = [e for e, _ in Counter(e for ids in read for e in ids).most_common(3)]
    args = {"cap": 3, "top": 3}
    assert await scripts.run(rclient, scripts.MOST_SHARED, keys=mine, args=args) == most
    args = {"entry_id": "new", "cap": 4, "ttl_ms": 60_000}
    prior = await scripts.run(rclient, scripts.ENTER_BUCKETS, keys=mine, args=args)
    one_by_one = [
        await scripts.run(rclient, scripts.ENTER_BUCKET, keys=[name], args=args) for name in theirs
    ]
    assert prior == one_by_one
    assert await _lists(rclient, mine) == await _lists(rclient, theirs)
    ttls = [await rclient.pttl(name) for name in mine]
    assert all(0 < ttl <= 60_000 for ttl in ttls), ttls


async def test_the_most_shared_entries_are_counted_as_the_client_counts_them(
    rclient: aioredis.Redis,
) -> None:
    """Ties are many (a few entries over many small buckets): they go in the order first
    read, as Counter.most_common orders them."""
    rng = random.Random(7)
    for case in range(40):
        names = _one_slot(f"c{case}:", rng.randint(1, 8))
        for name in names:
            entries = rng.sample([f"e{n}" for n in range(10)], rng.randint(0, 6))
            if entries:
                await rclient.rpush(name, *entries)
        cap, top = rng.randint(1, 6), rng.randint(1, 8)
        read = [await rclient.lrange(name, 0, cap - 1) for name in names]
        most = [e for e, _ in Counter(e for ids in read for e in ids).most_common(top)]
        args = {"cap": cap, "top": top}
        assert await scripts.run(rclient, scripts.MOST_SHARED, keys=names, args=args) == most


async def test_the_many_key_term_scripts_match_the_one_key_commands(
    rclient: aioredis.Redis,
) -> None:
    mine, theirs = _one_slot("m", 4), _one_slot("t", 4)
    for at, story in ((1_000, "s1"), (5_000, "s2"), (3_000, "s3"), (9_000, "s1")):
        index = {"story_id": story, "item_ms": at, "cap": 2, "ttl_ms": 60_000}
        await scripts.run(rclient, scripts.INDEX_TERMS, keys=mine, args=index)
        for name in theirs:
            await scripts.run(rclient, scripts.INDEX_TERM, keys=[name], args=index)
    for a, b in zip(mine, theirs, strict=True):
        assert await rclient.zrange(a, 0, -1, withscores=True) == await rclient.zrange(
            b, 0, -1, withscores=True
        )
        assert 0 < await rclient.pttl(a) <= 60_000
    depths = [1, 2, 1, 2]
    found = await scripts.run(
        rclient,
        scripts.READ_TERMS,
        keys=mine,
        args={"max_ms": 9_000, "min_ms": 2_000},
        rest=depths,
    )
    assert found == [
        await rclient.zrevrangebyscore(name, 9_000, 2_000, start=0, num=depth)
        for name, depth in zip(theirs, depths, strict=True)
    ]
    with pytest.raises(ValueError, match="read_terms: no keys given"):
        await scripts.run(rclient, scripts.READ_TERMS, keys=[], args={"max_ms": 1, "min_ms": 0})


async def test_a_profile_keeps_six_significant_digits_of_its_weights(
    rclient: aioredis.Redis,
) -> None:
    story = "harbor-story"
    names = [keys.story_profile(story), keys.story_meta(story), keys.story_contributed(story)]
    exact: dict[str, float] = {}
    for n, weights in enumerate(({"harbor": 3**-0.5, "ferry": 2**-0.5}, {"harbor": 0.1234567891})):
        args = {"entry_id": f"e{n}", "item_ms": 1_000, "half_life_ms": 3_600_000}
        await scripts.run(
            rclient,
            scripts.ADD_PROFILE,
            keys=names,
            args={**args, "cap": 64, "ttl_ms": 60_000},
            rest=[x for tw in weights.items() for x in (tw[0], repr(tw[1]))],
        )
        for term, weight in weights.items():
            exact[term] = exact.get(term, 0.0) + weight
    stored = dict(await rclient.zrange(names[0], 0, -1, withscores=True))
    assert stored.keys() == exact.keys()
    for term, weight in exact.items():
        assert stored[term] == pytest.approx(weight, rel=1e-6)
        assert stored[term] == float(f"{stored[term]:.6g}")  # no more digits than six


async def test_entering_a_bucket_does_what_lrem_lpush_ltrim_do(rclient: aioredis.Redis) -> None:
    """The script skips the LREM and LTRIM where they would change nothing; every shape of
    bucket ends as the plain commands leave it (the cluster path queues those)."""
    cap = 4
    shapes = [[f"e{e}" for e in range(n)] for n in range(7)]  # empty to longer than cap
    shapes += [[*s[:k], "new", *s[k:]] for s in shapes for k in range(len(s) + 1)]
    mine, theirs = _one_slot("enter-m", len(shapes)), _one_slot("enter-t", len(shapes))
    for shape, a, b in zip(shapes, mine, theirs, strict=True):
        for entry in shape:
            await rclient.rpush(a, entry)
            await rclient.rpush(b, entry)
        args = {"entry_id": "new", "cap": cap, "ttl_ms": 60_000}
        prior = await scripts.run(rclient, scripts.ENTER_BUCKET, keys=[a], args=args)
        assert prior == shape[:cap]
        pipe = rclient.pipeline(transaction=False)
        pipe.lrem(b, 0, "new").lpush(b, "new").ltrim(b, 0, cap - 1).pexpire(b, 60_000)
        await pipe.execute()
        assert await rclient.lrange(a, 0, -1) == await rclient.lrange(b, 0, -1), shape
        assert 0 < await rclient.pttl(a) <= 60_000
