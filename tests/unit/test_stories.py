"""ingest.stories: which story an entry joins, with deterministic ids for new stories."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.model import Action, Assignment, Decision
from ingest.stories import assign, story_id_for

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
