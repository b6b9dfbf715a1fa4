"""Story assembly by similarity on a labelled stream, at the thresholds in ``ingest/similar.py``.

The stream (tests/fixtures/stories/stream.yaml, invented) runs through ``ingest_source`` into a
real Redis in time order (tests/support/stream.py). A quality guard: the bounds below are the
figures measured at JOIN_THRESHOLD 0.3 and a 48-hour half-life (pairwise F1 0.955, B-cubed F1
0.973; bench/calibrate_stories.py prints them for a whole grid) minus a small margin, so a change
that makes stories worse fails here, and a change that makes them better only needs the bounds
raised. Nothing here measures time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import combinations

import pytest
import redis.asyncio as aioredis

from ingest.similar import SimilarityPolicy
from tests.support.stream import StreamItem, bcubed, load_stream, mistakes, pairwise, run_stream

PAIRWISE_F1 = 0.92
BCUBED_F1 = 0.95
BCUBED_PRECISION = 0.95

LOOK_ALIKES = [
    pytest.param("brenton-warehouse-fire", "kelso-ridge-house-fire", id="two-fires-same-day"),
    pytest.param("brenton-warehouse-fire", "calder-brush-fire", id="fire-and-brush-fire"),
    pytest.param("brenton-warehouse-fire", "brenton-toy-drive", id="firefighters-same-town"),
    pytest.param("brenton-warehouse-fire", "halvorsen-bridge-collapse", id="same-town-next-day"),
    pytest.param("port-ellery-bus-strike", "port-ellery-mariners-title", id="sports-same-city"),
    pytest.param("port-ellery-bus-strike", "ellery-ferry-fares", id="transit-same-city"),
    pytest.param("port-ellery-mariners-title", "aurora-crest-norovirus", id="ship-same-city"),
    pytest.param("kelso-ridge-house-fire", "kelso-ridge-mayor-trial", id="same-town-other-news"),
    pytest.param("dunmore-recount", "dunmore-teachers-strike", id="same-county"),
    pytest.param("dunmore-recount", "dunmore-school-board", id="same-county-board"),
    pytest.param("port-ellery-bus-strike", "dunmore-teachers-strike", id="two-strikes"),
    pytest.param("pellham-power-breach", "pellham-power-rates", id="same-company"),
    pytest.param("ashby-river-flood", "marlow-river-walk", id="same-river"),
]


def by_story(items: list[StreamItem]) -> dict[str, list[StreamItem]]:
    stories: dict[str, list[StreamItem]] = defaultdict(list)
    for item in items:
        stories[item.story].append(item)
    return stories


def test_the_stream_is_what_it_claims() -> None:
    """Ten stories of four to eight items from three or four sources, interleaved over about
    two days, and distractors; every look-alike named above is in it."""
    names, items = load_stream()
    assert len(names) == 4 and len({i.id for i in items}) == len(items)
    stories = by_story(items)
    real = {s: v for s, v in stories.items() if len(v) >= 4}
    assert len(real) == 10
    assert all(4 <= len(v) <= 8 and len({i.source for i in v}) >= 3 for v in real.values())
    assert len(stories) - len(real) >= 6
    assert items[-1].at - items[0].at <= timedelta(days=2)
    spans = sorted((v[0].at, v[-1].at) for v in real.values())
    assert any(a[1] > b[0] for a, b in combinations(spans, 2))  # stories overlap in time
    assert {i.source for i in items} == set(names)
    for param in LOOK_ALIKES:
        assert set(param.values) <= set(stories), param.id


@pytest.fixture
async def made(rclient: aioredis.Redis) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and the stories made, at the thresholds in use."""
    stream = load_stream()
    found = await run_stream(rclient, SimilarityPolicy(), stream)
    return {i.id: i.story for i in stream[1]}, found


async def test_stories_are_assembled_as_labelled(
    made: tuple[dict[str, str], dict[str, str]],
) -> None:
    truth, found = made
    pairs, b3 = pairwise(truth, found), bcubed(truth, found)
    summary = (
        f"pairwise {pairs.rounded()}, B-cubed {b3.rounded()}; stories {mistakes(truth, found)}"
    )
    assert pairs.f1 >= PAIRWISE_F1, summary
    assert b3.f1 >= BCUBED_F1, summary
    assert b3.precision >= BCUBED_PRECISION, summary


async def test_look_alike_stories_stay_apart(made: tuple[dict[str, str], dict[str, str]]) -> None:
    truth, found = made
    stories: dict[str, set[str]] = defaultdict(set)
    for item, label in truth.items():
        stories[label].add(found[item])
    merged = [p.id for p in LOOK_ALIKES if stories[str(p.values[0])] & stories[str(p.values[1])]]
    assert merged == [], mistakes(truth, found)


async def test_a_replay_of_the_stream_changes_nothing(
    rclient: aioredis.Redis, made: tuple[dict[str, str], dict[str, str]]
) -> None:
    """Assignment is deterministic: the same stream into an empty store makes the same
    stories, named alike."""
    _truth, found = made
    await rclient.flushdb()
    assert await run_stream(rclient, SimilarityPolicy()) == found
