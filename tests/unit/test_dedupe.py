"""ingest.dedupe: identity decides the entry, the content hash decides the version."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.dedupe import (
    NEAR_WINDOW_MS,
    DedupePolicy,
    Evidence,
    NearRecord,
    decide,
    entry_id,
    nearest,
    repair_identities,
)
from ingest.model import Action, Decision, Item, Known, to_ms
from tests.support.items import make_item

NOW = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)


def item(identity: str = "nw-1", content_hash: str = "h1", source_id: str = "wire-a") -> Item:
    return make_item(source_id, identity, at=NOW, title="t", content_hash=content_hash)


def known(
    version: int = 1,
    content_hash: str = "h1",
    eid: str = "e-stored",
    *,
    source: str = "wire-a",
    explicit: int | None = None,
    updated: datetime = NOW,
    alias: bool = False,
    killed: bool = False,
    changes: tuple[int, ...] = (),
) -> Known:
    return Known(
        entry_id=eid,
        story_id="s-stored",
        version=version,
        content_hash=content_hash,
        explicit_version=explicit,
        updated_ms=to_ms(updated),
        source_id=source,
        alias=alias,
        killed=killed,
        hash_changes=changes,
    )


def later(item_: Item, minutes: int = 5, **kw: object) -> Item:
    return replace(item_, updated=item_.updated + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


NEW_A = Decision(Action.NEW, entry_id("wire-a", "nw-1"), 1)
HOUR_MS = 3_600_000


@pytest.mark.parametrize(
    ("new", "evidence", "expected"),
    [
        pytest.param(item(), Evidence(), NEW_A, id="new"),
        pytest.param(
            item(source_id="wire-b"),
            Evidence(),
            Decision(Action.NEW, entry_id("wire-b", "nw-1"), 1),
            id="new-other-source",
        ),
        pytest.param(
            item(),
            Evidence(known=known()),
            Decision(Action.UNCHANGED, "e-stored", 1, "s-stored"),
            id="unchanged",
        ),
        pytest.param(
            later(item(), content_hash="h2"),
            Evidence(known=known()),
            Decision(Action.UPDATE, "e-stored", 2, "s-stored"),
            id="update",
        ),
        pytest.param(
            later(item(), content_hash="h2"),
            Evidence(known=known(version=4)),
            Decision(Action.UPDATE, "e-stored", 5, "s-stored"),
            id="update-next-version",
        ),
        pytest.param(
            replace(item(), content_hash="h2", version=1),
            Evidence(known=known(explicit=2)),
            Decision(Action.UNCHANGED, "e-stored", 1, "s-stored", "stale version"),
            id="older-explicit-version-is-stale",
        ),
        pytest.param(
            replace(item(), content_hash="h2", updated=NOW - timedelta(hours=1)),
            Evidence(known=known()),
            Decision(Action.UNCHANGED, "e-stored", 1, "s-stored", "stale version"),
            id="older-updated-is-stale",
        ),
        pytest.param(
            replace(item(), content_hash="h2", version=3, updated=NOW - timedelta(hours=1)),
            Evidence(known=known(explicit=2)),
            Decision(Action.UPDATE, "e-stored", 2, "s-stored"),
            id="explicit-version-beats-dates",
        ),
        pytest.param(
            later(item(), content_hash="h9"),
            Evidence(known=known(changes=tuple(to_ms(NOW) - n for n in range(5)))),
            Decision(
                Action.UNCHANGED, "e-stored", 1, "s-stored", "too many changes without a version"
            ),
            id="hash-changes-capped",
        ),
        pytest.param(
            later(item(), content_hash="h9"),
            Evidence(known=known(changes=tuple(to_ms(NOW) - 25 * HOUR_MS - n for n in range(5)))),
            Decision(Action.UPDATE, "e-stored", 2, "s-stored"),
            id="cap-window-passed",
        ),
        pytest.param(
            later(item(), content_hash="h9", correction=True),
            Evidence(known=known(changes=tuple(to_ms(NOW) - n for n in range(5)))),
            Decision(Action.UPDATE, "e-stored", 2, "s-stored"),
            id="corrections-pass-the-cap",
        ),
        pytest.param(
            later(item(), content_hash="h9", version=7),
            Evidence(known=known(explicit=6, changes=tuple(to_ms(NOW) - n for n in range(5)))),
            Decision(Action.UPDATE, "e-stored", 2, "s-stored"),
            id="explicit-versions-pass-the-cap",
        ),
        pytest.param(
            replace(item(), status="canceled"),
            Evidence(known=known()),
            Decision(Action.KILL, "e-stored", 1, "s-stored", "withdrawn"),
            id="kill",
        ),
        pytest.param(
            replace(item(), status="canceled"),
            Evidence(),
            Decision(
                Action.KILL, entry_id("wire-a", "nw-1"), 0, reason="withdrawn before we saw it"
            ),
            id="kill-of-unknown",
        ),
        pytest.param(
            item(),
            Evidence(known=known(killed=True)),
            Decision(Action.BLOCKED, "e-stored", 1, "s-stored", "killed"),
            id="killed-never-returns",
        ),
        pytest.param(
            item(),
            Evidence(by_url=known(source="wire-b")),
            Decision(Action.DUPLICATE, "e-stored", 1, "s-stored", "same URL"),
            id="same-url-other-source",
        ),
        pytest.param(
            item(),
            Evidence(by_copy=known(source="wire-b")),
            Decision(Action.DUPLICATE, "e-stored", 1, "s-stored", "same copy"),
            id="same-copy-other-source",
        ),
        pytest.param(
            item(content_hash="h2"),
            Evidence(by_url=known(source="wire-a")),
            NEW_A,
            id="same-url-same-source-distinct-ids-are-distinct",
        ),
        pytest.param(
            item(content_hash="h2"),
            Evidence(by_copy=known(source="wire-a")),
            Decision(Action.UNCHANGED, "e-stored", 1, "s-stored", "re-sent under a new id"),
            id="same-copy-same-source-resent",
        ),
        pytest.param(
            item(),
            Evidence(by_copy=known(eid=entry_id("wire-a", "nw-1"))),
            NEW_A,
            id="own-claim-from-an-interrupted-store-replays",
        ),
        pytest.param(
            item(),
            Evidence(by_url=known(source="wire-b", killed=True)),
            Decision(Action.BLOCKED, "e-stored", 1, "s-stored", "same URL as a killed entry"),
            id="copy-of-killed",
        ),
        pytest.param(
            item(),
            Evidence(near=known(source="wire-b"), near_score=0.6),
            Decision(Action.DUPLICATE, "e-stored", 1, "s-stored", "near copy (0.60)"),
            id="near-copy",
        ),
        pytest.param(
            item(),
            Evidence(near=known(source="wire-b"), near_score=0.2),
            NEW_A,
            id="not-near-enough",
        ),
        pytest.param(
            item(),
            Evidence(near=known(source="wire-a"), near_score=0.9),
            NEW_A,
            id="near-copies-of-one-source-are-separate-items",
        ),
        pytest.param(
            later(item(), content_hash="h2"),
            Evidence(known=known(alias=True)),
            Decision(
                Action.UNCHANGED, "e-stored", 1, "s-stored", "a duplicate of another source's entry"
            ),
            id="duplicate-versions-leave-the-original",
        ),
        pytest.param(
            replace(item(), status="canceled"),
            Evidence(by_url=known(source="wire-b")),
            Decision(Action.UNCHANGED, "e-stored", 1, "s-stored", "a duplicate withdrawn"),
            id="duplicate-withdrawn-original-stands",
        ),
    ],
)
def test_decide(new: Item, evidence: Evidence, expected: Decision) -> None:
    assert decide(new, evidence, NOW, DedupePolicy(hash_change_cap=5)) == expected


DAY = 24 * 3600.0
A_MONTH = DedupePolicy(max_age=30 * DAY)


def dated(days_ago: float, *, updated_days_ago: float | None = None, undated: bool = False) -> Item:
    published = NOW - timedelta(days=days_ago)
    updated = NOW - timedelta(days=days_ago if updated_days_ago is None else updated_days_ago)
    return replace(item(), published=published, updated=updated, dated=not undated)


@pytest.mark.parametrize(
    ("new", "evidence", "action"),
    [
        pytest.param(dated(29), Evidence(), Action.NEW, id="inside-the-window"),
        pytest.param(dated(31), Evidence(), Action.EXPIRED, id="before-the-window"),
        pytest.param(
            dated(400, updated_days_ago=1), Evidence(), Action.NEW, id="old-but-updated-lately"
        ),
        pytest.param(dated(31, undated=True), Evidence(), Action.NEW, id="undated-is-taken"),
        pytest.param(
            dated(31),
            Evidence(known=known(content_hash="h0", updated=NOW - timedelta(days=40))),
            Action.UPDATE,
            id="known-item-goes-on-as-before",
        ),
        pytest.param(
            dated(31),
            Evidence(by_url=known(killed=True)),
            Action.EXPIRED,
            id="old-copy-of-a-killed-item-is-not-taken-either",
        ),
    ],
)
def test_items_dated_before_the_retention_window_are_not_taken(
    new: Item, evidence: Evidence, action: Action
) -> None:
    decision = decide(new, evidence, NOW, A_MONTH)
    assert decision.action is action
    if action is Action.EXPIRED:
        assert decision.reason == "dated before the retention window"


def test_without_a_window_any_date_is_taken() -> None:
    assert decide(dated(4000), Evidence(), NOW, DedupePolicy()).action is Action.NEW


@pytest.mark.parametrize(
    ("source_id", "identity"),
    [
        pytest.param("wire-a", "nw-1", id="native"),
        pytest.param("wire-a", "https://w.example/a", id="url"),
        pytest.param("wire-a", "hash:" + "0" * 32, id="hash"),
        pytest.param("wire-a", "é ü 漢字", id="unicode"),
    ],
)
def test_entry_id_shape(source_id: str, identity: str) -> None:
    eid = entry_id(source_id, identity)
    assert re.fullmatch(r"[0-9a-f]{20}", eid)
    assert entry_id(source_id, identity) == eid


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(("wire-a", "1"), ("wire-b", "1"), id="same-identity-other-source"),
        pytest.param(("wire-a", "1"), ("wire-a", "2"), id="other-identity"),
        pytest.param(("wire-a", "b1"), ("wire-ab", "1"), id="no-concatenation-clash"),
    ],
)
def test_entry_ids_differ(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert entry_id(*a) != entry_id(*b)


SOURCE_IDS = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}", fullmatch=True)
IDENTITIES = st.text(min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(a=st.tuples(SOURCE_IDS, IDENTITIES), b=st.tuples(SOURCE_IDS, IDENTITIES))
def test_entry_id_is_deterministic_and_distinct(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert entry_id(*a) == entry_id(*a)
    assert (entry_id(*a) == entry_id(*b)) == (a == b)


def test_repair_identities_when_a_feed_reuses_one_guid() -> None:
    items = [
        replace(item(identity="same", content_hash=f"h{n}"), url=f"https://x.example/{n}")
        for n in range(3)
    ]
    repaired, collided = repair_identities(items)
    assert collided
    assert [i.identity for i in repaired] == [f"https://x.example/{n}" for n in range(3)]
    assert {i.identity_kind for i in repaired} == {"url"}


def test_repair_falls_back_to_the_content_hash_without_urls() -> None:
    items = [item(identity="same", content_hash="h1"), item(identity="same", content_hash="h2")]
    repaired, _ = repair_identities(items)
    assert [i.identity for i in repaired] == ["hash:h1", "hash:h2"]


def test_a_repeated_item_is_not_a_collision() -> None:
    items = [item(identity="same"), item(identity="same")]
    assert repair_identities(items) == (items, False)


def test_distrusted_sources_set_every_native_id_aside() -> None:
    repaired, collided = repair_identities(
        [replace(item(), url="https://x.example/a")], distrust=True
    )
    assert not collided
    assert repaired[0].identity == "https://x.example/a"


# -- near copies: the verdict over the candidates the index read ------------------------------

SHIP = "cargo ship ran aground harbor mouth tugs refloat tide crew safe oil boom"


def near_record(eid: str, source: str, words: str, at: datetime = NOW) -> NearRecord:
    return NearRecord(
        eid, Known(eid, "s1", 1, "h", source_id=source), to_ms(at), tuple(words.split())
    )


def termed(words: str, source: str = "wire-a") -> Item:
    return make_item(source, "probe", at=NOW, terms=tuple(words.split()))


def test_nearest_picks_the_most_similar_candidate_of_another_source() -> None:
    probe = termed(SHIP + " tuesday")
    candidates = (
        near_record("e-own", "wire-a", SHIP + " tuesday"),  # the item's own source: not a copy
        near_record("e-far", "wire-b", "budget vote council harbor"),
        near_record("e-close", "wire-c", SHIP),
    )
    known, score, size = nearest(probe, candidates)
    assert known is not None and known.entry_id == "e-close"
    assert score == pytest.approx(len(SHIP.split()) / (len(SHIP.split()) + 1))
    assert size == len(SHIP.split())  # the shorter side's words


def test_nearest_ignores_candidates_outside_the_window() -> None:
    old = near_record("e-old", "wire-b", SHIP, at=NOW - timedelta(milliseconds=NEAR_WINDOW_MS + 1))
    assert nearest(termed(SHIP), (old,)) == (None, 0.0, None)


def test_decide_weighs_the_candidates_when_no_near_copy_is_given() -> None:
    probe = termed(SHIP)
    copy = near_record("e-copy", "wire-b", SHIP)
    decided = decide(probe, Evidence(candidates=(copy,)), NOW)
    assert (decided.action, decided.entry_id) == (Action.DUPLICATE, "e-copy")
    assert decide(probe, Evidence(), NOW).action is Action.NEW
