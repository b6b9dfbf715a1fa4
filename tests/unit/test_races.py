"""The verdicts on races between workers storing at the same moment (ingest.races). Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import fingerprint, races
from ingest.dedupe import DedupePolicy, Evidence, NearRecord, decide, entry_id, nearest, won_race
from ingest.model import Action, Assignment, Decision, Item, Known, Linking, Plan, to_ms
from ingest.similar import Opening, SimilarityPolicy
from tests.support.items import make_item

NOW = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)
POLICY = DedupePolicy()
WORDS = "tanker fire north quay crews foam hoses smoke school closed wind shift harbor"


def fresh(source: str = "wire-b", identity: str = "b1", words: str = WORDS) -> Plan:
    item = make_item(
        source,
        identity,
        at=NOW,
        url=f"https://{source}.example/{identity}",
        copy_key=f"copy-{identity}",
        terms=tuple(words.split()),
    )
    decision = Decision(Action.NEW, entry_id(source, identity), 1)
    return Plan(item, decision, Assignment(f"story-{identity}", new_story=True))


def owner(eid: str = "e-owner", source: str = "wire-a", story: str = "s-owner") -> Known:
    return Known(eid, story, 1, "h-owner", source_id=source)


def test_a_plan_whose_claims_found_nothing_stands() -> None:
    assert races.after_claims(fresh(), None, None, NOW, POLICY) is None


def test_another_sources_copy_claimed_first_makes_the_plan_a_duplicate() -> None:
    decision = races.after_claims(fresh(), None, owner(), NOW, POLICY)
    assert decision is not None
    assert (decision.action, decision.entry_id) == (Action.DUPLICATE, "e-owner")
    filed = races.lost(fresh(), decision, owner())
    assert filed.assignment == Assignment("s-owner", new_story=False)


def test_a_second_copy_counts_only_its_url() -> None:
    second = fresh()
    second = Plan(
        second.item, Decision(Action.NEW, second.decision.entry_id, 1, "s-owner"), second.assignment
    )
    assert races.after_claims(second, None, owner(), NOW, POLICY) is None


def test_a_near_copy_that_entered_first_wins_and_one_that_did_not_loses() -> None:
    plan = fresh()
    rival = NearRecord("e-owner", owner(), to_ms(NOW), tuple(WORDS.split()))
    bands = fingerprint.band_keys(fingerprint.signature(WORDS.split()))
    yielded = races.after_near(plan, {b: {"e-owner"} for b in bands}, [rival], NOW, POLICY)
    assert yielded is not None and yielded[0].action is Action.DUPLICATE
    # one that entered after this plan, with a larger id, is the one that yields
    later = NearRecord("z-later", owner("z-later"), to_ms(NOW), tuple(WORDS.split()))
    assert races.after_near(plan, {b: set() for b in bands}, [later], NOW, POLICY) is None


def _after_near_everyone(
    plan: Plan, before: dict[str, set[str]], candidates: list[NearRecord]
) -> tuple[Decision, Known] | None:
    """after_near as it was: the race worked out against every candidate."""
    won = [c for c in candidates if won_race(c, plan.decision.entry_id, before)]
    rival, score, size = nearest(plan.item, won)
    if rival is None:
        return None
    decision = decide(plan.item, Evidence(near=rival, near_score=score, near_terms=size), NOW)
    return None if decision.action is Action.NEW else (decision, rival)


_VOCABULARY = [*WORDS.split(), "ferry", "pier", "cargo", "storm", "dock", "crane", "tide", "gale"]


@settings(max_examples=300, deadline=None)
@given(
    mine=st.sets(st.sampled_from(_VOCABULARY), min_size=1),
    others=st.lists(
        st.tuples(
            st.sets(st.sampled_from(_VOCABULARY), min_size=1),
            st.sampled_from(["wire-a", "wire-b", "wire-c"]),
            st.integers(min_value=-4, max_value=4),  # days from the item's time
            st.booleans(),  # entered before the plan in the buckets they share
            st.sampled_from(["a", "z"]),  # id smaller or larger than the plan's
        ),
        max_size=6,
    ),
)
def test_leaving_out_unlike_candidates_changes_no_race(
    mine: set[str], others: list[tuple[set[str], str, int, bool, str]]
) -> None:
    plan = fresh(words=" ".join(sorted(mine)))
    my_bands = fingerprint.bands(plan.item.terms)
    candidates, before = [], {b: set() for b in my_bands}
    for n, (words, source, days, first, prefix) in enumerate(others):
        eid = f"{prefix}-{n}"
        at = to_ms(NOW + timedelta(days=days))
        candidates.append(NearRecord(eid, owner(eid, source), at, tuple(sorted(words))))
        if first:
            for band in set(my_bands) & set(fingerprint.bands(tuple(sorted(words)))):
                before[band].add(eid)
    expected = _after_near_everyone(plan, before, candidates)
    assert races.after_near(plan, before, candidates, NOW, POLICY) == expected


def duplicate(source: str, identity: str, url: str, of: str = "e-owner") -> Plan:
    item = make_item(source, identity, at=NOW, url=url)
    return Plan(item, Decision(Action.DUPLICATE, of, 1, "s-owner"), Assignment("s-owner", False))


def test_copies_settle_on_the_entry_they_name_or_become_entries_of_their_own() -> None:
    stored = duplicate("wire-c", "c1", "https://c.example/1")
    missing = duplicate("wire-d", "d1", "https://d.example/1")
    second = duplicate("wire-e", "e1", "https://e.example/other")
    moved = duplicate("wire-f", "f1", "https://f.example/1", of="e-yielded")
    plans = [stored, missing, second, moved]
    settled = {0: owner(), 2: owner(), 3: owner("e-final", story="s-final")}
    held = {("e-owner", "wire-e"): "https://e.example/first"}
    out = races.settle_copies(plans, settled, held)
    assert out[0] == stored
    assert out[1].decision.action is Action.NEW and out[1].assignment.new_story
    assert out[2].decision.action is Action.NEW and out[2].assignment.story_id == "s-owner"
    assert (out[3].decision.entry_id, out[3].assignment.story_id) == ("e-final", "s-final")


def test_two_copies_of_one_source_in_one_batch_credit_once() -> None:
    a = duplicate("wire-c", "c1", "https://c.example/1")
    b = duplicate("wire-c", "c2", "https://c.example/2")
    out = races.settle_copies([a, b], {0: owner(), 1: owner()}, {})
    assert [p.decision.action for p in out] == [Action.DUPLICATE, Action.NEW]


def opening_plan(story: str, vector: dict[str, float]) -> Plan:
    item: Item = make_item("wire-b", story, at=NOW, terms=tuple(vector))
    decision = Decision(Action.NEW, entry_id("wire-b", story), 1)
    linking = Linking(vector=tuple(sorted(vector.items())))
    return Plan(item, decision, Assignment(story, new_story=True), linking=linking)


def test_an_opening_that_fits_one_opened_a_moment_earlier_joins_it() -> None:
    vector = {t: 0.5 for t in ("tanker", "fire", "quay", "foam")}
    plan = opening_plan("s-late", vector)
    assert races.opening(plan)
    earlier = Opening("s-early", vector, to_ms(NOW))
    out, into = races.rejoined([plan], {0: [earlier]}, SimilarityPolicy())
    assert into == {"s-late": "s-early"}
    assert out[0].assignment == Assignment("s-early", new_story=False)
    alone, none = races.rejoined([plan], {0: []}, SimilarityPolicy())
    assert (alone, none) == ([plan], {})


def test_a_plan_follows_its_story_through_merges() -> None:
    copy = duplicate("wire-c", "c1", "https://c.example/1")
    assert races.names_story(copy)
    moved = races.followed(copy, {"s-owner": "s-mid", "s-mid": "s-last"})
    assert moved.assignment == Assignment("s-last", new_story=False)
    assert moved.decision.story_id == "s-last"
    assert races.followed(copy, {"elsewhere": "s-last"}) is copy
