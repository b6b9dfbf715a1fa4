"""ingest.dedupe: identity decides the entry, the content hash decides the version."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.dedupe import decide, entry_id
from ingest.model import Action, Decision, Item, Known

NOW = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)


def item(identity: str = "nw-1", content_hash: str = "h1", source_id: str = "wire-a") -> Item:
    return Item(
        source_id=source_id,
        identity=identity,
        identity_kind="native",
        url=None,
        title="t",
        summary_html="",
        content_html="",
        published=NOW,
        updated=NOW,
        authors=(),
        content_hash=content_hash,
    )


def known(version: int = 1, content_hash: str = "h1", eid: str = "e-stored") -> Known:
    return Known(entry_id=eid, story_id="s-stored", version=version, content_hash=content_hash)


@pytest.mark.parametrize(
    ("new", "stored", "expected"),
    [
        pytest.param(item(), None, Decision(Action.NEW, entry_id("wire-a", "nw-1"), 1), id="new"),
        pytest.param(
            item(source_id="wire-b"),
            None,
            Decision(Action.NEW, entry_id("wire-b", "nw-1"), 1),
            id="new-other-source",
        ),
        pytest.param(item(), known(), Decision(Action.UNCHANGED, "e-stored", 1), id="unchanged"),
        pytest.param(
            item(),
            known(version=4),
            Decision(Action.UNCHANGED, "e-stored", 4),
            id="unchanged-keeps-version",
        ),
        pytest.param(
            item(content_hash="h2"),
            known(),
            Decision(Action.UPDATE, "e-stored", 2),
            id="update",
        ),
        pytest.param(
            item(content_hash="h2"),
            known(version=7),
            Decision(Action.UPDATE, "e-stored", 8),
            id="update-next-version",
        ),
        pytest.param(
            item(content_hash="h1"),
            known(version=3, content_hash="h1", eid="other-id"),
            Decision(Action.UNCHANGED, "other-id", 3),
            id="stored-entry-id-wins",
        ),
    ],
)
def test_decide(new: Item, stored: Known | None, expected: Decision) -> None:
    assert decide(new, stored) == expected


def test_update_keeps_the_same_entry() -> None:
    """A new version is never a second entry."""
    first = decide(item(), None)
    stored = Known(first.entry_id, "s", first.version, "h1")
    second = decide(item(content_hash="h2"), stored)
    assert (second.action, second.entry_id, second.version) == (Action.UPDATE, first.entry_id, 2)


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
