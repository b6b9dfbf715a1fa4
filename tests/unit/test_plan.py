"""The pure planning step of the pipeline: decisions for a whole document, in order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.dedupe import Evidence, entry_id
from ingest.model import Action, Item, Known
from ingest.pipeline import plan
from ingest.stories import story_id_for
from tests.support.items import make_item

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def item(identity: str, text: str = "t", page: str | None = None, copy: str = "") -> Item:
    return make_item(
        "w",
        identity,
        at=NOW,
        url=f"{page}#{identity}" if page else None,
        page_url=page,
        summary_html=text,
        content_hash=f"{identity}:{text}",
        copy_key=copy or f"copy:{identity}:{text}",
    )


def known(identity: str, text: str = "t", story: str = "old-story", version: int = 1) -> Known:
    return Known(entry_id("w", identity), story, version, f"{identity}:{text}", source_id="w")


def story_of(identity: str) -> str:
    return story_id_for(entry_id("w", identity))


@pytest.mark.parametrize(
    ("items", "evidence", "pages", "expected"),
    [
        pytest.param(
            [item("a")],
            [Evidence()],
            {},
            [("a", Action.NEW, 1, story_of("a"))],
            id="new-item-opens-a-story",
        ),
        pytest.param(
            [item("a")], [Evidence(known=known("a"))], {}, [], id="unchanged-item-plans-nothing"
        ),
        pytest.param(
            [item("a", "new words")],
            [Evidence(known=known("a", version=3))],
            {},
            [("a", Action.UPDATE, 4, "old-story")],
            id="changed-item-is-next-version",
        ),
        pytest.param(
            [item("a", page="https://x/live")],
            [Evidence()],
            {"https://x/live": "s9"},
            [("a", Action.NEW, 1, "s9")],
            id="known-page-joins-its-story",
        ),
        pytest.param(
            [item("a", page="https://x/live"), item("b", page="https://x/live")],
            [Evidence(), Evidence()],
            {},
            [("a", Action.NEW, 1, story_of("a")), ("b", Action.NEW, 1, story_of("a"))],
            id="page-shared-inside-one-document-shares-a-story",
        ),
        pytest.param(
            [item("a", "first"), item("a", "second")],
            [Evidence(), Evidence()],
            {},
            [("a", Action.NEW, 1, story_of("a"))],
            id="repeated-identity-in-a-document-taken-once",
        ),
        pytest.param(
            [item("a", copy="same"), item("b", copy="same")],
            [Evidence(), Evidence()],
            {},
            [("a", Action.NEW, 1, story_of("a")), ("b", Action.UNCHANGED, 0, "")][:1],
            id="same-copy-twice-in-a-document-is-one-entry",
        ),
    ],
)
def test_plan(
    items: list[Item],
    evidence: list[Evidence],
    pages: dict[str, str],
    expected: list[tuple[str, Action, int, str]],
) -> None:
    plans, _counts = plan(items, evidence, pages, now=NOW)
    got = [
        (p.item.identity, p.decision.action, p.decision.version, p.assignment.story_id)
        for p in plans
    ]
    assert got == expected


def test_plan_counts_every_item() -> None:
    items = [item("a"), item("b", "changed"), item("c"), item("a")]
    evidence = [Evidence(), Evidence(known=known("b")), Evidence(known=known("c")), Evidence()]
    _plans, counts = plan(items, evidence, {}, now=NOW)
    assert (counts[Action.NEW], counts[Action.UPDATE], counts[Action.UNCHANGED], counts[None]) == (
        1,
        1,
        1,
        1,
    )
