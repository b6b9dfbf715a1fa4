"""Story search for editors: words in headlines and text, source, tag, time range. Reads only.

A search reads the :data:`SCAN` most recently updated stories (with their newest
:data:`SCAN_ENTRIES` entries) and filters them here: editors look for what is current, and the
cost stays bounded however large the archive. Words match case-insensitively, every word
somewhere in the headline or in an entry's title or text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.model import Story
from ingest.store.editing import EditError
from ingest.store.reads import RedisReader

SCAN = 500
SCAN_ENTRIES = 50
PARAMS = ("q", "source", "tag", "since", "until", "limit")
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class StoryQuery:
    words: tuple[str, ...] = ()
    source: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> StoryQuery:
        """A query from URL parameters; an unknown one or a bad value is an ``invalid``."""
        for name in params:
            if name not in PARAMS:
                raise EditError(
                    "invalid", f"{name}: unknown parameter (expected {', '.join(PARAMS)})"
                )
        return cls(
            words=tuple(params.get("q", "").casefold().split()),
            source=params.get("source") or None,
            tag=params.get("tag") or None,
            since=when(params.get("since"), "since"),
            until=when(params.get("until"), "until"),
            limit=limit(params.get("limit"), 50),
        )


def when(raw: str | None, name: str) -> datetime | None:
    """An ISO 8601 time (UTC when it names no offset)."""
    if not raw:
        return None
    try:
        found = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise EditError("invalid", f"{name}: must be an ISO 8601 time, got {raw!r}") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def limit(raw: str | None, default: int) -> int:
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise EditError("invalid", f"limit: must be a whole number from 1 to 1000, got {raw!r}")
    return int(raw)


async def search_stories(reader: RedisReader, query: StoryQuery) -> list[Story]:
    """The stories ``query`` keeps, most recently updated first."""
    stories = await reader.recent_stories(SCAN, entries=SCAN_ENTRIES)
    tagged: set[str] | None = None
    if query.tag:
        tagged = {s.id for s in await reader.get_sources() if query.tag in s.tags}
    found = []
    for story in stories:
        if _keeps(story, query, tagged):
            found.append(story)
            if len(found) >= query.limit:
                break
    return found


def _keeps(story: Story, query: StoryQuery, tagged: set[str] | None) -> bool:
    if query.source and query.source not in story.sources:
        return False
    if tagged is not None and not tagged & set(story.sources):
        return False
    if query.since and story.updated < query.since:
        return False
    if query.until and story.updated >= query.until:
        return False
    if query.words:
        text = " ".join(
            [story.title, *(f"{e.title} {_TAGS.sub(' ', e.body_html)}" for e in story.entries)]
        ).casefold()
        return all(word in text for word in query.words)
    return True


def story_json(story: Story, *, entries: bool) -> dict[str, Any]:
    """A story as the admin API shows it; with ``entries``, every entry with its id."""
    found: dict[str, Any] = {
        "id": story.id,
        "title": story.title,
        "titled_by_editor": story.titled_by_editor,
        "updated": _iso(story.updated),
        "created": _iso(story.created),
        "entry_count": story.entry_count,
        "sources": list(story.sources),
        "pinned": story.pinned,
    }
    if entries:
        found["entries"] = [
            {
                "id": e.id,
                "title": e.title,
                "source": e.source_id,
                "published": _iso(e.published),
                "url": e.url,
                "corrected": e.corrected,
                "correction_note": e.correction_note,
            }
            for e in story.entries
        ]
    return found


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
