"""Nothing lost, whatever the arrival order: a property test against a real Redis.

Four sources send a chain of near copies (A ~ B ~ C, but A and C too far apart to be copies of
each other), an exact copy, a source's second copy of the same report, and unrelated items. In
any order of arrival, with the sources that arrive together polled at the same moment (so
their near copies race for the near-copy index), afterwards:

* every item is in its own source's feed (by its own link), and in exactly one story;
* no story is listed without entries, and every "also reported by" credit sits on an entry
  that is stored (copies chained in any order settle on an entry that exists).

All times derive from one fixed instant.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from config.sources import Source
from ingest.model import FetchResult, Validators
from ingest.pipeline import ingest_source
from ingest.store.connect import flush_all, open_redis
from ingest.store.redis_store import RedisStore

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WORDS = tuple(
    """harbor crane operator union vote strike overtime night shift contract talk broke
    dock port authority container terminal ship cargo delay week manager wage offer
    member meeting hall ballot result picket gate""".split()  # noqa: SIM905
)


def text(swaps: Mapping[int, str]) -> str:
    return " ".join(swaps.get(n, w) for n, w in enumerate(WORDS))


A = text({})
B = text({n: f"bee{n}" for n in range(0, 16, 2)})  # 8 words off A: Jaccard 22/38
C = text({**{n: f"bee{n}" for n in range(0, 16, 2)}, **{n: f"cee{n}" for n in range(16, 32, 2)}})
B2 = text({**{n: f"bee{n}" for n in range(0, 16, 2)}, 1: "crew"})  # a second copy of B's kind


@dataclass(frozen=True)
class Wire:
    source: str
    ident: str
    title: str
    body: str


WIRES = (
    Wire("north", "n1", "Crane operators vote to strike", A),
    Wire("coast", "c1", "Crane operators back strike", B),
    Wire("metro", "m1", "Dock strike vote", C),
    Wire("bay", "b1", "Crane operators vote to strike", A),  # word for word the same as n1
    Wire("coast", "c2", "Operators back a strike", B2),  # coast's second copy
    Wire("north", "n2", "Library extends weekend hours", "branches open on sunday afternoons"),
    Wire("metro", "m2", "Orchestra names a conductor", "the regional orchestra named a director"),
)
SOURCES = sorted({w.source for w in WIRES})


def link(wire: Wire) -> str:
    return f"https://{wire.source}.example/{wire.ident}"


def rss(wires: list[Wire], at: datetime) -> bytes:
    rows = "".join(
        f"<item><guid isPermaLink='false'>{w.ident}</guid><title>{escape(w.title)}</title>"
        f"<link>{link(w)}</link><description>{escape(w.body)}</description>"
        f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate></item>"
        for w in reversed(wires)
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
        f"<link>https://wire.example/</link><description>d</description>{rows}</channel></rss>"
    ).encode()


class Fetcher:
    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}

    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        return FetchResult(url, 200, {"content-type": "application/rss+xml"}, self.documents[url])


async def replay(redis_url: str, rounds: list[list[int]]) -> None:
    flush_all(redis_url)
    client = await open_redis(redis_url)
    try:
        store = RedisStore(client)
        sources = {s: Source(id=s, url=f"https://{s}.example/feed", kind="rss") for s in SOURCES}
        await store.put_sources(list(sources.values()))
        fetcher = Fetcher()
        sent: dict[str, list[Wire]] = defaultdict(list)
        for step, batch in enumerate(rounds):
            at = T0 + timedelta(minutes=step)
            polled = set()
            for n in batch:
                wire = WIRES[n]
                sent[wire.source].append(wire)
                polled.add(wire.source)
            for s in polled:
                fetcher.documents[sources[s].url] = rss(sent[s], at)
            await asyncio.gather(
                *(
                    ingest_source(sources[s], fetcher=fetcher, store=store, now=at)
                    for s in sorted(polled)
                )
            )
        await check(store)
    finally:
        await client.aclose()


async def check(store: RedisStore) -> None:
    stories = await store.recent_stories(100, entries=100)
    assert len(stories) == await store.story_count(), "a story is listed without entries"
    found: dict[str, list[str]] = defaultdict(list)
    for story in stories:
        for entry in story.entries:
            found[entry.url or ""].append(story.id)
            for _source, url in entry.also:
                found[url or ""].append(story.id)
    for wire in WIRES:
        assert len(found[link(wire)]) == 1, (wire, dict(found))
    for source in SOURCES:
        listed = {e.url for e in await store.source_entries(source, 0, 100)}
        for wire in WIRES:
            if wire.source == source:
                assert link(wire) in listed, (wire, listed)


@st.composite
def arrivals(draw: st.DrawFn) -> list[list[int]]:
    """All wires in some order, cut into rounds of simultaneous arrivals."""
    seq = draw(st.permutations(range(len(WIRES))))  # a source sends its own in this order too
    cuts = draw(st.lists(st.booleans(), min_size=len(seq), max_size=len(seq)))
    rounds: list[list[int]] = [[]]
    for n, cut in zip(seq, cuts, strict=True):
        if cut and rounds[-1]:
            rounds.append([])
        rounds[-1].append(n)
    return rounds


@settings(max_examples=30, deadline=None)
@given(rounds=arrivals())
def test_any_arrival_order_loses_nothing(redis_url: str, rounds: list[list[int]]) -> None:
    asyncio.run(replay(redis_url, rounds))
