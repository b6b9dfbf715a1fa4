"""One suite over the store, run against one Redis server and against a Redis Cluster.

Each test states a property of the store that holds whatever is behind the URL: sources and
their statuses, the schedule's claims and leases, storing an item (twice), the dedupe index,
the story index's explicit links, the reads the feeds make, editors' changes and the per-host
gate. Under a cluster the same calls must neither fail with CROSSSLOT nor lose a write: the
sources, stories and hosts used here land in different slots on purpose (many ids).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from config.sources import Source
from ingest.fetch.politeness import HostLimit, RedisHostGate
from ingest.model import Item
from ingest.pipeline import IngestPolicy, plan, store_plans
from ingest.planner import Lookup
from ingest.similar import SimilarityPolicy
from ingest.store.audit import AuditFilter
from ingest.store.connect import open_redis
from ingest.store.redis_store import RedisStore
from ingest.store.schedule import RedisSchedule
from ingest.stories import StoryEvidence
from tests.support.items import make_item

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
"""The one instant every stored time of this suite is derived from."""


def item(
    source: str,
    identity: str,
    text: str = "words",
    *,
    links: tuple[str, ...] = (),
    published: datetime = NOW,
) -> Item:
    return make_item(
        source,
        identity,
        at=published,
        url=f"https://{source}.example/{identity}",
        page_url=f"https://{source}.example/{identity}",
        copy_key=f"copy-{text}",
        title=f"Title {identity} {text}",
        summary_html=f"<p>{text}</p>",
        content_hash=f"h-{identity}-{text}",
        links=links,
    )


async def ingest(store: RedisStore, it: Item, now: datetime = NOW) -> str | None:
    """The pipeline's store calls for one item (as ``ingest.pipeline`` makes them); the story
    it went to, or None when there was nothing to store."""
    evidence = await store.evidence(it.source_id, [it])
    stories: list[StoryEvidence] = [StoryEvidence()]
    lookups: list[Lookup] = [Lookup()]
    if evidence[0].known is None:
        stories, lookups = await store.story_evidence(it.source_id, [it], (), now)
    plans, _counts = plan(
        [it], evidence, stories, now=now, lookups=lookups, similarity=store.story_index.policy
    )
    policy = IngestPolicy(similarity=store.story_index.policy)
    done = await store_plans(store, plans, timezone="UTC", now=now, policy=policy)
    await store.merge_bridged([m for p in done for m in p.assignment.merges], now=now)
    return done[0].assignment.story_id if done else None


def sources(count: int) -> list[Source]:
    return [Source(id=f"s{n:03d}", url=f"https://s{n:03d}.example/feed") for n in range(count)]


async def test_sources_and_statuses_round_trip_over_many_slots(client: aioredis.Redis) -> None:
    store = RedisStore(client)
    configured = sources(40)
    await store.put_sources(configured)
    assert await store.get_sources() == configured
    assert await store.get_sources(["s007", "s031", "nope"]) == [configured[7], configured[31]]
    await store.put_sources(configured[:10])  # the other thirty are forgotten
    found, statuses = await store.sources_and_statuses([s.id for s in configured])
    assert sorted(found) == [s.id for s in configured[:10]]
    assert len(statuses) == 40 and all(st.consecutive_failures == 0 for st in statuses.values())


async def test_concurrent_claims_take_each_due_source_once(
    client: aioredis.Redis, backend_url: str
) -> None:
    await RedisSchedule(client).sync(sources(60))
    others = [await open_redis(backend_url) for _ in range(6)]
    try:
        claims = await asyncio.gather(
            *(RedisSchedule(c).claim(limit=20, lease_seconds=60) for c in others)
        )
    finally:
        for c in others:
            await c.aclose()
    taken = [claim.source_id for batch in claims for claim in batch]
    assert sorted(taken) == [s.id for s in sources(60)]  # every one, none twice


async def test_a_lease_is_renewed_settled_and_lost_only_by_its_holder(
    client: aioredis.Redis,
) -> None:
    schedule = RedisSchedule(client)
    await schedule.sync(sources(3))
    claims = await schedule.claim(limit=3, lease_seconds=60)
    assert len(claims) == 3 and await schedule.claim(limit=3, lease_seconds=60) == []
    renewed = await schedule.renew(claims[0], 120)
    assert renewed is not None
    assert await schedule.renew(claims[0], 120) is None  # the old lease is no longer ours
    assert await schedule.settle([(renewed, 0.0), (claims[1], None), (claims[2], 3600)]) == [
        True,
        True,
        True,
    ]
    due = await schedule.due_times()
    assert sorted(due) == [claims[0].source_id, claims[2].source_id]
    assert [c.source_id for c in await schedule.claim(limit=3, lease_seconds=60)] == [
        claims[0].source_id
    ]


async def test_storing_an_item_twice_stores_it_once(client: aioredis.Redis) -> None:
    store = RedisStore(client)
    first = await ingest(store, item("wire", "a"))
    again = await ingest(store, item("wire", "a"), now=NOW + timedelta(minutes=1))
    assert first is not None and again is None  # unchanged: nothing to do
    story = await store.story(first)
    assert story is not None and story.entry_count == 1
    assert len(await store.source_entries("wire", 0, -1)) == 1


async def test_a_new_version_replaces_the_entry_in_place(client: aioredis.Redis) -> None:
    store = RedisStore(client)
    sid = await ingest(store, item("wire", "a", "first"))
    await ingest(store, item("wire", "a", "second"), now=NOW + timedelta(minutes=3))
    story = await store.story(sid or "")
    assert story is not None
    (entry,) = story.entries
    assert entry.version == 2 and [v[0] for v in entry.versions] == [1, 2]


async def test_the_same_copy_from_another_source_is_credited_not_doubled(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client)
    sid = await ingest(store, item("alpha", "a", "identical wire copy"))
    assert await ingest(store, item("beta", "b", "identical wire copy")) == sid
    story = await store.story(sid or "")
    assert story is not None and story.entry_count == 1
    assert {s for s in story.sources} >= {"alpha", "beta"}
    assert len(await store.source_entries("beta", 0, -1)) == 1  # beta's feed lists the copy


async def test_an_explicit_link_joins_the_linked_story(client: aioredis.Redis) -> None:
    store = RedisStore(client)
    sid = await ingest(store, item("wire", "first", "harbor closes"))
    linked = await ingest(
        store,
        item("wire", "later", "cranes stop", links=("first",), published=NOW + timedelta(hours=1)),
        now=NOW + timedelta(hours=1),
    )
    assert linked == sid
    story = await store.story(sid or "")
    assert story is not None and [e.identity for e in story.entries] == ["later", "first"]


async def test_reads_span_stories_in_many_slots(client: aioredis.Redis) -> None:
    store = RedisStore(client)
    made = [
        await ingest(
            store, item(f"src{n}", f"i{n}", f"topic {n}", published=NOW + timedelta(minutes=n))
        )
        for n in range(12)
    ]
    recent = await store.recent_stories(20)
    assert [s.id for s in recent] == list(reversed(made))
    assert [s.id for s in await store.stories([made[3], made[9]])] == [made[3], made[9]]
    assert await store.story_count() == 12


async def test_editors_rename_merge_and_kill(client: aioredis.Redis) -> None:
    store = RedisStore(client)
    one = await ingest(store, item("wire", "a", "port strike"))
    two = await ingest(store, item("wire", "b", "ferry delays"), now=NOW + timedelta(minutes=1))
    assert one and two and one != two
    later = NOW + timedelta(minutes=5)
    await store.rename(one, "Port strike", now=later)
    assert await store.merge(one, two, now=later) == 1
    story = await store.story(one)
    assert story is not None and story.title == "Port strike" and story.entry_count == 2
    assert await store.merged_into(two) == one
    victim = story.entries[0]
    assert await store.kill(victim.id, reason="withdrawn", now=later)
    after = await store.story(one)
    assert after is not None and victim.id not in {e.id for e in after.entries}
    assert await ingest(store, item("wire", victim.identity, "ferry delays")) in (None, one)
    final = await store.story(one)
    assert final is not None and victim.id not in {e.id for e in final.entries}


async def test_an_item_decided_before_a_merge_is_stored_in_the_story_merged_into(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client)
    one = await ingest(store, item("wire", "a", "port strike"))
    two = await ingest(store, item("wire", "b", "ferry delays"), now=NOW + timedelta(minutes=1))
    late = item(
        "wire", "c", "ferry delays worsen", links=("b",), published=NOW + timedelta(minutes=2)
    )
    evidence = await store.evidence("wire", [late])
    stories, lookups = await store.story_evidence("wire", [late], (), late.published)
    plans, _counts = plan([late], evidence, stories, now=late.published, lookups=lookups)
    assert [p.assignment.story_id for p in plans] == [two]  # decided while two was a story
    later = NOW + timedelta(minutes=3)
    assert await store.merge(one, two, now=later) == 1  # an editor, meanwhile
    (done,) = await store_plans(store, plans, timezone="UTC", now=later)
    assert done.assignment.story_id == one
    story = await store.story(one)
    assert story is not None and {e.identity for e in story.entries} == {"a", "b", "c"}


BRIDGING = SimilarityPolicy(threshold=0.25, short_threshold=0.25, merge_alike=0.05)
"""A bar high enough that two reports sharing one word of six open two stories, which an
item sharing half its words with each (not a copy of either) then bridges."""
OLD = "dam breach valley flood levee farms"
YOUNG = "dam evacuation river town shelter buses"
BOTH = "dam breach valley evacuation river crews"


def termed(source: str, identity: str, words: str, minutes: int) -> Item:
    return make_item(
        source,
        identity,
        at=NOW + timedelta(minutes=minutes),
        url=f"https://{source}.example/{identity}",
        terms=tuple(words.split()),
        content_hash=f"h-{identity}",
    )


async def two_stories(store: RedisStore) -> tuple[str, str]:
    """The older and the younger story, which BOTH will bridge."""
    old = await ingest(store, termed("a", "1", OLD, 0))
    young = await ingest(store, termed("b", "2", YOUNG, 1), NOW + timedelta(minutes=1))
    assert old is not None and young is not None and old != young
    return old, young


async def test_an_item_that_bridges_two_stories_merges_the_younger_into_the_older(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client, similarity=BRIDGING)
    old, young = await two_stories(store)
    joined = await ingest(store, termed("c", "3", BOTH, 2), NOW + timedelta(minutes=2))
    assert joined in (old, young)
    story = await store.story(old)
    assert story is not None and {e.identity for e in story.entries} == {"1", "2", "3"}
    assert await store.merged_into(young) == old
    (record,) = await store.audit.query(AuditFilter(limit=5))
    assert (record.who, record.action, record.target) == ("wirefeed", "story.merge", old)


async def test_a_story_an_editor_changed_is_never_merged_automatically(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client, similarity=BRIDGING)
    old, young = await two_stories(store)
    await store.rename(young, "Evacuations downriver", now=NOW + timedelta(minutes=1))
    await ingest(store, termed("c", "3", BOTH, 2), NOW + timedelta(minutes=2))
    assert await store.merged_into(young) is None
    stories = [await store.story(s) for s in (old, young)]
    assert sum(len(s.entries) for s in stories if s is not None) == 3


async def store_as_a_merge_lands(store: RedisStore, late: Item, into: str, other: str) -> None:
    """Decide ``late`` (for ``other``), then store it with a merge of ``other`` into ``into``
    landing after the store's last look and before its writes: the window that look cannot
    close. The write's script sees the merge mark, and the writer finishes the merge."""
    evidence = await store.evidence(late.source_id, [late])
    stories, lookups = await store.story_evidence(late.source_id, [late], (), late.published)
    plans, _counts = plan([late], evidence, stories, now=late.published, lookups=lookups)
    assert [p.assignment.story_id for p in plans] == [other]
    later = late.published + timedelta(minutes=1)

    last_look = store.merges

    async def too_late(stories: Iterable[str]) -> dict[str, str]:
        found = await last_look(stories)
        assert await store.merge(into, other, now=later) >= 1  # marked, listed, moved
        return found

    store.merges = too_late  # type: ignore[method-assign]
    await store_plans(store, plans, timezone="UTC", now=later)
    gone = await store.story(other)
    assert gone is None or not gone.entries


async def port_and_ferry(store: RedisStore) -> tuple[str, str]:
    """Two stories of the wire: the port strike, then the ferry delays (entry "b")."""
    one = await ingest(store, item("wire", "a", "port strike"))
    two = await ingest(store, item("wire", "b", "ferry delays"), now=NOW + timedelta(minutes=1))
    assert one is not None and two is not None
    return one, two


async def test_an_entry_written_after_a_merge_listed_its_story_follows_the_merge(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client)
    one, two = await port_and_ferry(store)
    late = item(
        "wire", "c", "ferry delays worsen", links=("b",), published=NOW + timedelta(minutes=2)
    )
    await store_as_a_merge_lands(store, late, one, two)
    story = await store.story(one)
    assert story is not None and {e.identity for e in story.entries} == {"a", "b", "c"}
    listed = await store.source_entries("wire", 0, 9)
    assert {e.identity for e in listed} == {"a", "b", "c"}


async def test_a_copy_credited_after_a_merge_listed_its_story_follows_the_merge(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client)
    one, two = await port_and_ferry(store)
    copy = item("other", "x", "ferry delays", published=NOW + timedelta(minutes=2))
    await store_as_a_merge_lands(store, copy, one, two)
    story = await store.story(one)
    assert story is not None and story.entry_count == 2
    (entry,) = [e for e in story.entries if e.identity == "b"]
    assert [a[0] for a in entry.also] == ["other"]
    listed = await store.source_entries("other", 0, 9)
    assert [(e.identity, e.story_id) for e in listed] == [("b", one)]


async def test_the_host_gate_counts_fetches_per_host(client: aioredis.Redis) -> None:
    gate = RedisHostGate(client, HostLimit(concurrency=2, per_minute=0))
    permits = [await gate.acquire(f"https://h{n % 5}.example/feed") for n in range(15)]
    assert sum(p.granted for p in permits) == 10  # two per host, five hosts
    for permit in permits:
        await gate.release(permit)
    assert (await gate.acquire("https://h0.example/feed")).granted
