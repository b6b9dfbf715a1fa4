"""The demo wire's stories, as ``wirefeed run`` shows them on its first screen: each rolling
story one story, and each unrelated brief a story of its own ("Library system extends weekend
hours" shares a county, a town and "Sunday afternoon" with the dam story, and is not in it).

The demo's own renderers (workers.demo) serve its documents as of each moment of its script,
from one fixed start instant; every source is polled at every item's time, in time order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from config.sources import Source
from ingest.model import FetchResult, Validators
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from workers.demo import _RENDERERS, SOURCES, Wire

STARTED = datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp()
BASE = "http://127.0.0.1:8181"
KINDS = {"rss": "rss", "atom": "atom", "json": "jsonfeed"}


class DemoFetcher:
    """Answers each source's URL with the demo's document as of ``now``."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.now = STARTED

    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        kind = url.rsplit("/", 1)[1]
        render, media = _RENDERERS[kind]
        return FetchResult(url, 200, {"content-type": media}, render(self.wire, self.now))


def _identity(source: int, guid: str) -> str:
    return {0: guid, 1: f"urn:demo:coastal:{guid}", 2: f"metrodesk:{guid}"}[source]


async def test_the_demo_stories_keep_unrelated_briefs_out(store: RedisStore) -> None:
    wire = Wire(BASE, started=STARTED)
    fetcher = DemoFetcher(wire)
    sources = [
        Source(id=ident, url=f"{BASE}/wire/{kind}", title=title, kind=KINDS[kind])
        for ident, title, kind in SOURCES
    ]
    await store.put_sources(sources)
    for at in sorted({item.at for item in wire.items}):
        fetcher.now = STARTED + at + 1
        now = datetime.fromtimestamp(fetcher.now, UTC)
        for source in sources:
            report = await ingest_source(source, fetcher=fetcher, store=store, now=now)
            assert report.status in ("ok", "unchanged"), report
    story_of: dict[str, str] = {}
    for item in wire.items:
        source = sources[item.source]
        known = await store.known(source.id, _identity(item.source, item.guid))
        assert known is not None, item.guid
        story_of[item.guid] = known.story_id
    briefs = [i.guid for i in wire.items if i.guid.startswith("brief-")]
    slugs = {i.guid.rsplit("-", 1)[0] for i in wire.items if not i.guid.startswith("brief-")}
    for brief in briefs:  # each unrelated item alone
        assert [g for g, s in story_of.items() if s == story_of[brief]] == [brief], brief
    for slug in slugs:  # each rolling story one story
        assert len({s for g, s in story_of.items() if g.rsplit("-", 1)[0] == slug}) == 1, slug
