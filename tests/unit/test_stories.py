"""ingest.stories: which story an entry joins, with deterministic ids for new stories."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.model import Action, Assignment, Decision
from ingest.similar import Profile, SimilarityPolicy, bridged
from ingest.stories import StoryEvidence, assign, judged, story_id_for

NEW = Decision(Action.NEW, "e-new", 1)
UPDATE = Decision(Action.UPDATE, "e-stored", 2, "s-stored")
DUPLICATE = Decision(Action.DUPLICATE, "e-stored", 1, "s-stored")


@pytest.mark.parametrize(
    ("decision", "page_story", "expected"),
    [
        pytest.param(
            NEW,
            None,
            Assignment(story_id_for("e-new"), new_story=True),
            id="new-item-opens-a-story",
        ),
        pytest.param(
            NEW, "s-page", Assignment("s-page", new_story=False), id="same-page-joins-its-story"
        ),
        pytest.param(UPDATE, None, Assignment("s-stored", new_story=False), id="known-entry-stays"),
        pytest.param(
            UPDATE, "s-page", Assignment("s-stored", new_story=False), id="known-entry-beats-page"
        ),
        pytest.param(
            DUPLICATE,
            None,
            Assignment("s-stored", new_story=False),
            id="duplicate-goes-to-the-original",
        ),
    ],
)
def test_assign(decision: Decision, page_story: str | None, expected: Assignment) -> None:
    assert assign(decision, page_story) == expected


def test_a_replayed_item_names_the_same_story() -> None:
    assert assign(NEW, None) == assign(NEW, None)
    assert assign(NEW, None).story_id != assign(Decision(Action.NEW, "e-2", 1), None).story_id


@pytest.mark.parametrize(
    "eid",
    [
        pytest.param("e-new", id="short"),
        pytest.param("0" * 20, id="entry-id-shape"),
        pytest.param("", id="empty"),
    ],
)
def test_story_id_shape(eid: str) -> None:
    sid = story_id_for(eid)
    assert re.fullmatch(r"[0-9a-f]{12}", sid)
    assert sid != eid


@settings(max_examples=200, deadline=None)
@given(a=st.text(max_size=40), b=st.text(max_size=40))
def test_story_id_is_deterministic_and_distinct(a: str, b: str) -> None:
    assert story_id_for(a) == story_id_for(a)
    assert (story_id_for(a) == story_id_for(b)) == (a == b)


# -- stories one item shows to be one (ingest.similar.bridged) ---------------------------------

BRIDGE_POLICY = SimilarityPolicy()
BAR = 0.1


def profile(terms: str, created: int, *, edited: bool = False) -> Profile:
    return Profile({t: 1.0 for t in terms.split()}, 0, 0, created, edited)


PROFILES = {
    "old": profile("dam breach valley flood", 1_000),
    "young": profile("dam breach evacuation river", 2_000),
    "apart": profile("budget vote senate tax", 500),
    "edited": profile("dam breach valley rescue", 100, edited=True),
    "unstored": profile("dam breach valley levee", 0),
}


@pytest.mark.parametrize(
    ("chosen", "scored", "expected"),
    [
        # the younger goes into the older, whichever the item joined
        ("young", [("young", 0.5), ("old", 0.4)], (("old", "young"),)),
        ("old", [("old", 0.5), ("young", 0.4)], (("old", "young"),)),
        # the runner-up must score at least MERGE_FACTOR times the bar
        ("young", [("young", 0.5), ("old", 0.14)], ()),
        # and the two centroids must be alike
        ("old", [("old", 0.5), ("apart", 0.4)], ()),
        # an editor's story, or one not stored yet, is never merged by the machine
        ("old", [("old", 0.5), ("edited", 0.4)], ()),
        ("edited", [("edited", 0.5), ("old", 0.4)], ()),
        ("old", [("old", 0.5), ("unstored", 0.4)], ()),
    ],
)
def test_an_item_that_fits_two_alike_stories_merges_them(
    chosen: str, scored: list[tuple[str, float]], expected: tuple[tuple[str, str], ...]
) -> None:
    assert bridged(chosen, scored, PROFILES, BAR, BRIDGE_POLICY) == expected


def test_automatic_merges_can_be_turned_off() -> None:
    off = SimilarityPolicy(merge_factor=0.0)
    assert bridged("young", [("young", 0.5), ("old", 0.4)], PROFILES, BAR, off) == ()


def test_the_stories_of_a_group_all_go_into_the_oldest() -> None:
    profiles = {**PROFILES, "third": profile("dam breach valley town", 1_500)}
    scored = [("young", 0.6), ("third", 0.5), ("old", 0.4)]
    assert bridged("young", scored, profiles, BAR, BRIDGE_POLICY) == (
        ("old", "third"),
        ("old", "young"),
    )


def test_a_bridging_item_carries_its_merges_only_when_it_joins_by_similarity() -> None:
    merges = (("old", "young"),)
    fresh = Decision(Action.NEW, "e1", 1)
    joined = assign(fresh, StoryEvidence(similar="young", score=0.5, bar=BAR, merges=merges))
    assert joined == Assignment("young", new_story=False, merges=merges)
    keyed = StoryEvidence(keyed="k", similar="young", score=0.5, bar=BAR, merges=merges)
    assert assign(fresh, keyed) == Assignment("k", new_story=False)


# -- the similarity verdict over the candidates the story index read (ingest.stories.judged) --

WEIGHTS = {"dam": 1.0, "breach": 1.0, "valley": 1.0, "flood": 1.0}


def test_judged_joins_the_best_candidate_and_finds_the_stories_it_bridges() -> None:
    read = StoryEvidence(candidates=(("young", PROFILES["young"]), ("old", PROFILES["old"])))
    found = judged(read, WEIGHTS, 0, len(WEIGHTS), BRIDGE_POLICY)
    assert found.similar == "old" and found.score > 0.9
    assert found.bar == BRIDGE_POLICY.threshold_for(len(WEIGHTS))
    assert found.merges == (("old", "young"),) and found.candidates is None


def test_judged_follows_every_story_named_to_where_it_was_merged() -> None:
    read = StoryEvidence(
        keyed="k1", candidates=(("old", PROFILES["old"]),), into={"old": "older", "k1": "k2"}
    )
    found = judged(read, WEIGHTS, 0, len(WEIGHTS), BRIDGE_POLICY)
    assert (found.keyed, found.similar) == ("k2", "older")


def test_judged_leaves_a_linked_item_alone_and_a_lonely_one_without_a_story() -> None:
    linked = StoryEvidence(linked="s9")
    assert judged(linked, WEIGHTS, 0, 4, BRIDGE_POLICY) == linked
    alone = judged(StoryEvidence(candidates=()), WEIGHTS, 0, 4, BRIDGE_POLICY)
    assert (alone.similar, alone.score, alone.bar) == (None, 0.0, BRIDGE_POLICY.threshold_for(4))
