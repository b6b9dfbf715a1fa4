"""Order independence against a real Redis: any arrival order of the same set of item versions
leaves the same stored timeline, and that timeline holds the newest version of every item.

Versions are ordered either by an explicit number (ninjs ``version``, with ``versioncreated``
moving along) or, without one, by strictly increasing updated times; every version of an item
keeps its published time. Each version arrives alone, is decided by the pure ``plan`` against
the evidence read from the store, and is stored with ``store_plans``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.model import Item, RawEntry
from ingest.normalize import normalize
from ingest.pipeline import plan, store_plans
from ingest.store.connect import open_redis
from ingest.store.redis_store import RedisStore

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
BASE = NOW - timedelta(days=1)
LIVE = "https://prop.example/live/harbor"
SUBJECTS = (  # distinct words, so no item is another's copy
    ("Ferry", "service across the bay resumes after gales", "boats"),
    ("Crane", "operators walk out over night shifts", "unions"),
    ("Bridge", "reopens to trucks once winds drop", "engineers"),
)
LAYOUTS = ("own pages", "one live page", "no links")


@dataclass(frozen=True)
class History:
    """1-3 items with 1-4 versions each, and two arrival orders of all those versions."""

    explicit: bool
    layout: str
    published: tuple[int, ...]
    first: tuple[tuple[int, int], ...]
    second: tuple[tuple[int, int], ...]

    def item(self, n: int, version: int) -> Item:
        """Version ``version`` (from 1) of item ``n``, normalized as the pipeline would."""
        noun, text, extra = SUBJECTS[n]
        published = BASE + timedelta(minutes=self.published[n])
        link = {
            "own pages": f"https://prop.example/{noun.lower()}",
            "one live page": f"{LIVE}#update-{n}",
            "no links": None,
        }[self.layout]
        raw = RawEntry(
            native_id=f"urn:prop:{n}",
            title=f"{noun} {text}: take {version}",
            link=link,
            summary=f"<p>{noun} {text}; {extra} say take {version} of {version * 7} words.</p>",
            published=published,
            updated=published + timedelta(minutes=7 * version),
            version=version if self.explicit else None,
        )
        return normalize(raw, "wire", now=NOW)

    def newest(self) -> set[str]:
        last = {n: max(v for m, v in self.first if m == n) for n, _ in self.first}
        return {self.item(n, v).title for n, v in last.items()}


@st.composite
def histories(draw: st.DrawFn) -> History:
    counts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=len(SUBJECTS)))
    versions = [(n, v) for n, count in enumerate(counts) for v in range(1, count + 1)]
    return History(
        explicit=draw(st.booleans()),
        layout=draw(st.sampled_from(LAYOUTS)),
        published=tuple(draw(st.integers(0, 600)) for _ in counts),
        first=tuple(draw(st.permutations(versions))),
        second=tuple(draw(st.permutations(versions))),
    )


class Shown(NamedTuple):
    """An entry as readers see it: no version counters, no first-seen time."""

    id: str
    identity: str
    title: str
    summary_html: str
    content_html: str
    url: str | None
    published: datetime
    updated: datetime


Timeline = list[tuple[str, tuple[Shown, ...]]]


async def stored_timeline(
    redis_url: str, history: History, order: tuple[tuple[int, int], ...]
) -> Timeline:
    """Flush the database, store the versions of ``history`` one by one in ``order``, and read
    back every story: its headline and its entries (what readers see, not our counters)."""
    client = await open_redis(redis_url)
    try:
        await client.flushdb()
        store = RedisStore(client)
        for step, (n, version) in enumerate(order):
            item = history.item(n, version)
            now = NOW + timedelta(minutes=step)
            evidence = await store.evidence(item.source_id, [item])
            pages = await store.page_stories([item.page_url] if item.page_url else [])
            plans, _counts = plan([item], evidence, pages, now=now)
            await store_plans(store, plans, timezone="UTC", now=now)
        stories = await store.recent_stories(10, entries=10)
    finally:
        await client.aclose()
    timeline: Timeline = [
        (
            story.title,
            tuple(
                Shown(
                    e.id,
                    e.identity,
                    e.title,
                    e.summary_html,
                    e.content_html,
                    e.url,
                    e.published,
                    e.updated,
                )
                for e in story.entries
            ),
        )
        for story in stories
    ]
    return sorted(timeline, key=lambda story: story[1][0].id)


@settings(max_examples=25, deadline=None)
@given(history=histories())
def test_any_order_of_the_same_versions_stores_the_same_timeline(
    redis_url: str, history: History
) -> None:
    first = asyncio.run(stored_timeline(redis_url, history, history.first))
    second = asyncio.run(stored_timeline(redis_url, history, history.second))
    assert first == second
    # ... and it is the newest version of every item, with its own dates.
    expected_stories = 1 if history.layout == "one live page" else len(history.published)
    assert len(first) == expected_stories
    entries = [entry for _headline, timeline in first for entry in timeline]
    assert {entry.title for entry in entries} == history.newest()
    for entry in entries:
        n = int(entry.identity.rsplit(":", 1)[1])
        latest = max(v for m, v in history.first if m == n)
        published = BASE + timedelta(minutes=history.published[n])
        assert (entry.published, entry.updated) == (
            published,
            published + timedelta(minutes=7 * latest),
        )
    for headline, timeline in first:  # the headline states the newest development
        assert headline == max(timeline, key=lambda e: (e.published, e.id)).title
