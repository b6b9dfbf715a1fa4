"""The pure planning step of the pipeline: decisions for a whole document, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.dedupe import entry_id
from ingest.model import Action, Item, Known
from ingest.pipeline import plan
from ingest.stories import story_id_for

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def item(identity: str, text: str = "t", url: str | None = None) -> Item:
    return Item(
        source_id="w",
        identity=identity,
        identity_kind="native",
        url=url,
        title=identity,
        summary_html=text,
        content_html="",
        published=NOW,
        updated=NOW,
        authors=(),
        content_hash=f"{identity}:{text}",
    )


def known(identity: str, text: str = "t", story: str = "old-story", version: int = 1) -> Known:
    return Known(entry_id("w", identity), story, version, f"{identity}:{text}")


@pytest.mark.parametrize(
    ("items", "knowns", "url_stories", "expected"),
    [
        pytest.param(
            [item("a")],
            {},
            {},
            [("a", Action.NEW, 1, story_id_for(entry_id("w", "a")))],
            id="new-item-opens-a-story",
        ),
        pytest.param([item("a")], {"a": known("a")}, {}, [], id="unchanged-item-plans-nothing"),
        pytest.param(
            [item("a", "new words")],
            {"a": known("a", version=3)},
            {},
            [("a", Action.UPDATE, 4, "old-story")],
            id="changed-item-is-next-version",
        ),
        pytest.param(
            [item("a", url="https://x/1")],
            {},
            {"https://x/1": "s9"},
            [("a", Action.NEW, 1, "s9")],
            id="known-url-joins-its-story",
        ),
        pytest.param(
            [item("a", url="https://x/1"), item("b", url="https://x/1")],
            {},
            {},
            [
                ("a", Action.NEW, 1, story_id_for(entry_id("w", "a"))),
                ("b", Action.NEW, 1, story_id_for(entry_id("w", "a"))),
            ],
            id="url-shared-inside-one-document-shares-a-story",
        ),
        pytest.param(
            [item("a", "first"), item("a", "second")],
            {},
            {},
            [("a", Action.NEW, 1, story_id_for(entry_id("w", "a")))],
            id="repeated-identity-in-a-document-taken-once",
        ),
    ],
)
def test_plan(
    items: list[Item],
    knowns: dict[str, Known],
    url_stories: dict[str, str],
    expected: list[tuple[str, Action, int, str]],
) -> None:
    plans, _counts = plan(items, knowns, url_stories)
    got = [
        (p.item.identity, p.decision.action, p.decision.version, p.assignment.story_id)
        for p in plans
    ]
    assert got == expected


def test_plan_counts_every_item() -> None:
    items = [item("a"), item("b", "changed"), item("c"), item("a")]
    _plans, counts = plan(items, {"b": known("b"), "c": known("c")}, {})
    assert (counts[Action.NEW], counts[Action.UPDATE], counts[Action.UNCHANGED], counts[None]) == (
        1,
        1,
        1,
        1,
    )
