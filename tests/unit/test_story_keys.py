"""Which story an entry belongs to (ingest.stories, ingest.similar): explicit story keys, rolling
headlines and their lookalikes, editors' rules, the order the evidence is weighed in, and the
similarity score that decides last. Pure; table-driven."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from config.sources import StoryRule
from ingest.dedupe import entry_id
from ingest.model import Action, Assignment, Decision, Item, RawEntry
from ingest.normalize import normalize
from ingest.similar import (
    JOIN_THRESHOLD,
    NAME_BOOST,
    PROFILE_TERMS,
    Profile,
    SimilarityPolicy,
    capped,
    choose,
    contribution,
    names,
    score,
    top_terms,
    weights,
)
from ingest.stories import (
    StoryEvidence,
    assign,
    normalize_key,
    rolling_headline,
    rule_for,
    story_id_for,
    story_keys,
)
from tests.support.items import make_item

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def item(
    title: str = "Harbor closes terminal",
    *,
    source: str = "wire-a",
    identity: str = "urn:wire-a:1",
    slugline: str | None = None,
    rolling: bool = False,
) -> Item:
    return make_item(
        source,
        identity,
        at=NOW,
        title=title,
        content_hash=f"hash:{identity}",
        slugline=slugline,
        rolling=rolling,
    )


def article_key(source: str, parent: str) -> str:
    return f"article:{source}:{hashlib.sha1(parent.encode()).hexdigest()}"


# -- rolling headlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "rest"),
    [
        pytest.param("The Latest: Harbor closes terminal", "Harbor closes terminal", id="latest"),
        pytest.param("the latest: harbor closes", "harbor closes", id="lower-case"),
        pytest.param("THE LATEST : Harbor closes", "Harbor closes", id="upper-space-colon"),
        pytest.param("Live updates: Tram strike", "Tram strike", id="live-updates"),
        pytest.param("Live update: Tram strike", "Tram strike", id="live-update"),
        pytest.param("Live blog: Ports summit", "Ports summit", id="live-blog"),
        pytest.param("LIVE: Ports summit", "Ports summit", id="live"),
        pytest.param("Latest updates: Ice storm", "Ice storm", id="latest-updates"),
        pytest.param("  The Latest:   Ice storm  ", "Ice storm", id="spaces"),
        pytest.param("The Latest Trend in Sneakers", None, id="lookalike-no-colon"),
        pytest.param("The Latest Trend in Sneakers: Soles", None, id="lookalike-colon-later"),
        pytest.param("Latest iPhone sells out in hours", None, id="lookalike-latest-word"),
        pytest.param("Live music returns to Fairbank", None, id="lookalike-live-word"),
        pytest.param("Live Nation: ticket sales up", None, id="lookalike-live-name"),
        pytest.param("Delivery updates: parcels late", None, id="lookalike-inside-a-word"),
        pytest.param("Harbor closes. The Latest: more", None, id="prefix-not-at-the-start"),
        pytest.param("The Latest:", None, id="prefix-alone"),
        pytest.param("Live:   ", None, id="prefix-and-spaces"),
        pytest.param("", None, id="empty"),
    ],
)
def test_rolling_headline(title: str, rest: str | None) -> None:
    assert rolling_headline(title) == rest


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("Westhaven spill", "westhaven-spill", id="words"),
        pytest.param("WESTHAVEN-SPILL", "westhaven-spill", id="slug-style"),
        pytest.param("  Westhaven  --  Spill!! ", "westhaven-spill", id="punctuation"),
        pytest.param("Storm 2026/11", "storm-2026-11", id="digits"),
        pytest.param("---", "", id="no-words"),
        pytest.param("x" * 200, "x" * 120, id="capped"),
    ],
)
def test_normalize_key(text: str, key: str) -> None:
    assert normalize_key(text) == key


# -- story keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "keys"),
    [
        pytest.param(item(), [], id="plain-item-has-none"),
        pytest.param(item(slugline="WESTHAVEN-SPILL"), ["slug:westhaven-spill"], id="slugline"),
        pytest.param(
            item(slugline="Westhaven spill"), ["slug:westhaven-spill"], id="slugline-spelled-out"
        ),
        pytest.param(item(slugline="--"), [], id="slugline-without-words"),
        pytest.param(
            item("The Latest: Harbor closes terminal"),
            ["latest:harbor-closes-terminal"],
            id="the-latest",
        ),
        pytest.param(
            item("Live updates: Harbor closes terminal!"),
            ["latest:harbor-closes-terminal"],
            id="live-updates-same-key",
        ),
        pytest.param(item("The Latest Trend in Sneakers"), [], id="lookalike"),
        pytest.param(
            item(identity="urn:spill#2026-11-29T12:00", rolling=True),
            [article_key("wire-a", "urn:spill")],
            id="rolling-section",
        ),
        pytest.param(
            item(identity="https://live.example/blog#update-3"),
            [],
            id="fragment-identity-is-not-a-section",
        ),
        pytest.param(
            item(
                "The Latest: Harbor closes terminal",
                identity="urn:spill#2026-11-29T12:00",
                rolling=True,
                slugline="Westhaven spill",
            ),
            [
                article_key("wire-a", "urn:spill"),
                "slug:westhaven-spill",
                "latest:harbor-closes-terminal",
            ],
            id="strongest-first",
        ),
    ],
)
def test_story_keys(given: Item, keys: list[str]) -> None:
    assert story_keys(given) == keys


def test_sections_of_one_article_share_its_key_and_no_other_source_does() -> None:
    one = item(identity="urn:spill#2026-11-29T12:00", rolling=True)
    two = replace(one, identity="urn:spill#2026-11-29T16:10")
    other_article = replace(one, identity="urn:storm#2026-11-29T12:00")
    other_source = replace(one, source_id="wire-b")
    assert story_keys(one) == story_keys(two)
    assert story_keys(one) != story_keys(other_article)
    assert story_keys(one) != story_keys(other_source)


# -- editors' rules -------------------------------------------------------------------------------

RULES = (
    StoryRule("harbor-spill", r"(?i)harbor.*(spill|leak)", "Harbor chemical spill", ("wire-a",)),
    StoryRule("ice-storm", r"(?i)\bice storm\b", "Ice storm"),
    StoryRule("any-storm", r"(?i)storm"),
    StoryRule("exact-case", r"Westhaven"),
)


@pytest.mark.parametrize(
    ("title", "source", "key"),
    [
        pytest.param("Harbor leak grows", "wire-a", "harbor-spill", id="pattern-and-source"),
        pytest.param("Update: harbor spill spreads", "wire-a", "harbor-spill", id="not-anchored"),
        pytest.param("Harbor leak grows", "wire-b", None, id="other-source-not-claimed"),
        pytest.param("Ice storm cuts power", "wire-b", "ice-storm", id="first-rule-wins"),
        pytest.param("Storm warning for the coast", "wire-b", "any-storm", id="later-rule"),
        pytest.param("Westhaven mayor speaks", "wire-c", "exact-case", id="case-sensitive-hit"),
        pytest.param("westhaven mayor speaks", "wire-c", None, id="case-sensitive-miss"),
        pytest.param("Sunny weekend ahead", "wire-a", None, id="no-rule"),
    ],
)
def test_rule_for(title: str, source: str, key: str | None) -> None:
    found = rule_for(item(title, source=source), RULES)
    assert (found.key if found else None) == key


def test_no_rules_claim_nothing() -> None:
    assert rule_for(item("Harbor leak grows"), ()) is None


# -- assignment: explicit links first, similarity last ---------------------------------------------

ENTRY = entry_id("wire-a", "urn:wire-a:1")
NEW = Decision(Action.NEW, ENTRY, 1)
OWN = story_id_for(ENTRY)
EVERYTHING = StoryEvidence(
    rule="by-rule",
    linked="by-link",
    keyed="by-key",
    page="by-page",
    similar="by-similarity",
    score=0.99,
)


@pytest.mark.parametrize(
    ("decision", "evidence", "expected"),
    [
        pytest.param(
            Decision(Action.UPDATE, ENTRY, 2, "held"),
            EVERYTHING,
            Assignment("held", False),
            id="an-entry-we-hold-stays-in-its-story",
        ),
        pytest.param(
            Decision(Action.DUPLICATE, "other-entry", 1, "theirs"),
            EVERYTHING,
            Assignment("theirs", False),
            id="a-duplicate-goes-where-its-original-is",
        ),
        pytest.param(NEW, EVERYTHING, Assignment("by-rule", False), id="rule-before-link"),
        pytest.param(
            NEW, replace(EVERYTHING, rule=None), Assignment("by-link", False), id="link-before-key"
        ),
        pytest.param(
            NEW,
            replace(EVERYTHING, rule=None, linked=None),
            Assignment("by-key", False),
            id="key-before-page",
        ),
        pytest.param(
            NEW,
            StoryEvidence(page="by-page", similar="by-similarity", score=0.99),
            Assignment("by-page", False),
            id="page-before-similarity",
        ),
        pytest.param(
            NEW,
            StoryEvidence(similar="by-similarity", score=JOIN_THRESHOLD),
            Assignment("by-similarity", False),
            id="similar-at-the-threshold-joins",
        ),
        pytest.param(
            NEW,
            StoryEvidence(similar="by-similarity", score=math.nextafter(JOIN_THRESHOLD, 0)),
            Assignment(OWN, True),
            id="similar-just-below-opens-a-new-story",
        ),
        pytest.param(NEW, StoryEvidence(), Assignment(OWN, True), id="nothing-opens-a-new-story"),
        pytest.param(NEW, None, Assignment(OWN, True), id="no-evidence"),
        pytest.param(NEW, "page-story", Assignment("page-story", False), id="a-string-is-a-page"),
    ],
)
def test_assign_precedence(
    decision: Decision, evidence: StoryEvidence | str | None, expected: Assignment
) -> None:
    assert assign(decision, evidence) == expected


@pytest.mark.parametrize(
    ("threshold", "joins"),
    [pytest.param(0.5, True, id="policy-below-score"), pytest.param(0.7, False, id="above")],
)
def test_assign_uses_the_policy_threshold(threshold: float, joins: bool) -> None:
    evidence = StoryEvidence(similar="near", score=0.6)
    found = assign(NEW, evidence, SimilarityPolicy(threshold=threshold))
    assert found == (Assignment("near", False) if joins else Assignment(OWN, True))


def test_a_new_story_is_named_by_its_first_entry_alone() -> None:
    assert story_id_for(ENTRY) == story_id_for(ENTRY)
    assert story_id_for(ENTRY) != story_id_for(entry_id("wire-b", "urn:wire-a:1"))
    assert len(story_id_for(ENTRY)) == 12 and story_id_for(ENTRY).isalnum()


# -- similarity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Crews in Kellerton say Mayor Ruth Calloway left.",
            {"kellerton", "mayor", "ruth", "calloway"},
            id="names-mid-sentence",
        ),
        pytest.param("Firefighters arrived. Smoke rose.", set(), id="sentence-openers-are-not"),
        pytest.param("Police said: Officers left.", set(), id="after-a-colon"),
        pytest.param("The UN met in Oslo.", {"oslo"}, id="acronyms-are-not"),
        pytest.param("Warehouses in Brenton burned.", {"brenton"}, id="stemmed-like-terms"),
    ],
)
def test_names(text: str, expected: set[str]) -> None:
    assert names(text) == expected


def test_a_paragraph_opening_word_is_not_a_name() -> None:
    raw = RawEntry(
        native_id="x",
        title="Officials meet",
        content="<p>Officials met in Brenton.</p><p>Crews worked late.</p>",
        published=NOW,
    )
    assert normalize(raw, "wire-a", now=NOW).names == ("brenton",)


def test_weekdays_and_months_are_not_names() -> None:
    assert names("Crews worked through Saturday and will return in January.") == set()


def test_a_title_case_headline_is_not_a_list_of_names() -> None:
    raw = RawEntry(
        native_id="x",
        title="Calder Lumber Warehouse Fire Was Accidental, Chief Says",
        content="<p>Sparks from a saw started the fire, chief Owen Pratt said.</p>",
        published=NOW,
    )
    assert normalize(raw, "wire-a", now=NOW).names == ("owen", "pratt")


def test_weights_favour_rare_terms_and_names() -> None:
    df = {"fire": 90, "warehouse": 9, "brenton": 9}
    found = weights(["fire", "warehouse", "brenton", "unseen"], frozenset({"brenton"}), df, 99)
    assert found["fire"] < found["warehouse"] < found["unseen"]
    assert found["brenton"] == pytest.approx(found["warehouse"] * NAME_BOOST)
    assert weights(["fire"], frozenset(), {}, 0) == {"fire": 1.0}


def test_top_terms_are_the_heaviest_ties_by_name() -> None:
    assert top_terms({"b": 2.0, "a": 2.0, "c": 5.0, "d": 1.0}, 3) == ["c", "a", "b"]


POLICY = SimilarityPolicy(threshold=0.3, half_life_hours=24, window_hours=48)
ITEM = {"brenton": 4.0, "warehouse": 2.0, "fire": 1.0, "smoke": 1.0}
HOUR = 3_600_000
T = 1_000 * HOUR  # the item's own time; stories are placed around it


def story(centroid: dict[str, float], first_h: float = 0.0, last_h: float | None = None) -> Profile:
    last = first_h if last_h is None else last_h
    return Profile(centroid, T + int(first_h * HOUR), T + int(last * HOUR))


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(story(ITEM), 1.0, id="the-same-words"),
        pytest.param(story({"fire": 1.0, "smoke": 1.0}), 2 / 22**0.5 / 2**0.5, id="common-words"),
        pytest.param(story({"brenton": 1.0}), 4 / 22**0.5, id="a-name-weighs-much"),
        pytest.param(story(ITEM, -24.0), 0.5, id="one-half-life-after-its-last-entry"),
        pytest.param(story(ITEM, 24.0), 0.5, id="one-half-life-before-its-first-entry"),
        pytest.param(story(ITEM, -10.0, 10.0), 1.0, id="within-its-span"),
        pytest.param(story(ITEM, -48.0), 0.25, id="end-of-window"),
        pytest.param(story(ITEM, -48.5), 0.0, id="closed-after-the-window"),
        pytest.param(story({}), 0.0, id="empty-profile"),
    ],
)
def test_score(profile: Profile, expected: float) -> None:
    assert score(ITEM, profile, T, POLICY) == pytest.approx(expected)


def test_the_score_is_symmetric() -> None:
    a, b = {"dam": 2.0, "spillway": 1.0, "kellerton": 3.0}, {"dam": 1.0, "library": 2.0}
    assert score(a, story(b), T, POLICY) == pytest.approx(score(b, story(a), T, POLICY))


def test_a_story_does_not_pull_harder_as_it_grows() -> None:
    """The old profile (every entry's terms) covered more of any item the more entries it
    had; a centroid is about what its entries keep saying, capped at PROFILE_TERMS terms."""
    dam = {"kellerton": 3.0, "dam": 2.0, "spillway": 1.0}
    library = {"library": 3.0, "weekend": 2.0, "hour": 1.0, "kellerton": 0.5}
    centroid: dict[str, float] = {}
    scores = []
    for n in range(200):
        extra = {f"detail{n}": 1.0, f"witness{n}": 1.0}
        for term, weight in contribution({**dam, **extra}, T, T, 48.0).items():
            centroid[term] = centroid.get(term, 0.0) + weight
        centroid = capped(centroid)
        scores.append(score(library, story(centroid), T, POLICY))
    assert len(centroid) <= PROFILE_TERMS
    # However many entries, no more than the pull of what they all say (the dam story's core).
    assert max(scores) <= score(library, story(dam), T, POLICY) + 1e-9 < POLICY.threshold


def test_recent_entries_outweigh_old_ones() -> None:
    assert contribution({"a": 1.0}, T + 48 * HOUR, T, 48.0)["a"] == pytest.approx(2.0)
    assert contribution({"a": 3.0, "b": 4.0}, T, T, 48.0) == pytest.approx({"a": 0.6, "b": 0.8})


@pytest.mark.parametrize(
    ("scored", "expected"),
    [
        pytest.param([("a", 0.5), ("b", 0.2)], ("a", 0.5), id="best"),
        pytest.param([("a", 0.2)], (None, 0.2), id="below-the-bar"),
        pytest.param([("b", 0.5), ("a", 0.5)], ("a", 0.5), id="ties-by-id"),
        pytest.param([], (None, 0.0), id="nothing"),
    ],
)
def test_choose(scored: list[tuple[str, float]], expected: tuple[str | None, float]) -> None:
    assert choose(scored, POLICY) == expected


def test_choose_wants_a_margin_over_the_runner_up() -> None:
    policy = SimilarityPolicy(threshold=0.3, margin=0.1)
    assert choose([("a", 0.5), ("b", 0.45)], policy) == (None, 0.5)
    assert choose([("a", 0.5), ("b", 0.35)], policy) == ("a", 0.5)


def test_a_headline_alone_has_a_lower_bar() -> None:
    policy = SimilarityPolicy(threshold=0.3, short_threshold=0.1)
    assert policy.threshold_for(6) == pytest.approx(0.1)
    assert policy.threshold_for(15) == pytest.approx(0.2)
    assert policy.threshold_for(40) == pytest.approx(0.3)


def test_an_item_without_terms_scores_nothing() -> None:
    assert score({}, story({"fire": 1.0}), T, POLICY) == 0.0
