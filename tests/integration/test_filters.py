"""Per-source keep and block rules through the real pipeline and Redis: a blocked item is
counted and never stored; keep rules let in only what matches; rules are case-insensitive
words or regular expressions on title, text, author and category (in Atom, RSS and JSON Feed
alike); a bad rule is refused by name.

Times: every poll is dated from one fixed instant (``NOW``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.sources import Source, SourcesError, check_source
from ingest.fetch.http import HttpFetcher
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import FIXED as NOW
from tests.support import FeedServer, Reply, Wire, atom, json_feed, rss

WIRES = [
    Wire(
        "w1",
        "Harbor reopens after spill",
        "Ships return to the north berths.",
        at=NOW,
        categories=("Port News", "Harbor"),
    ),
    Wire(
        "w2",
        "Your horoscope for Tuesday",
        "The stars favour patience.",
        at=NOW,
        categories=("Horoscopes",),
    ),
    Wire(
        "w3",
        "Port strike vote set",
        "Dockworkers vote on HOROSCOPE day.",
        at=NOW,
        categories=("Labor", "Port News"),
    ),
    Wire("w4", "Weather: rain all week", "Bring an umbrella.", at=NOW),
]
DOCUMENTS = {"atom": atom, "rss": rss, "json": json_feed}


@pytest.mark.parametrize(
    ("keep", "block", "titles", "filtered"),
    [
        pytest.param({}, {"title": "horoscope"}, {"w1", "w3", "w4"}, 1, id="block-title-word"),
        pytest.param({}, {"text": "(?:horoscope|umbrella)"}, {"w1", "w2"}, 2, id="block-text"),
        pytest.param({"title": "^(harbor|port)"}, {}, {"w1", "w3"}, 2, id="keep-regex"),
        pytest.param({"title": "PORT|harbor"}, {"text": "horoscope"}, {"w1"}, 3, id="both"),
        pytest.param({}, {"category": "^horoscopes$"}, {"w1", "w3", "w4"}, 1, id="block-category"),
        pytest.param({"category": "^port news$"}, {}, {"w1", "w3"}, 2, id="keep-category"),
        # Each category is matched on its own: no category is "news" from start to end.
        pytest.param({}, {"category": "^news$"}, {"w1", "w2", "w3", "w4"}, 0, id="whole-names"),
    ],
)
@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
async def test_rules_decide_what_is_stored(
    server: FeedServer,
    store: RedisStore,
    fetcher: HttpFetcher,
    keep: dict[str, str],
    block: dict[str, str],
    titles: set[str],
    filtered: int,
    kind: str,
) -> None:
    source = Source(id="bay", url=server.url("/bay.atom"), keep=keep, block=block)
    await store.put_sources([source])
    server.set("/bay.atom", Reply(DOCUMENTS[kind](*WIRES)))
    report = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
    assert (report.status, report.new, report.filtered) == ("ok", len(titles), filtered)
    stored = {e.title for s in await store.recent_stories(50, entries=50) for e in s.entries}
    assert stored == {w.title for w in WIRES if w.id in titles}
    again = await ingest_source(
        source, fetcher=fetcher, store=store, now=NOW + timedelta(minutes=1)
    )
    assert again.new == 0  # the same document: nothing new, blocked items still not stored


def test_bad_rules_are_refused_by_name() -> None:
    for raw, message in [
        ({"block": {"headline": "x"}}, "block: headline: unknown field (expected title, text"),
        ({"keep": {"title": "("}}, "keep: title: not a valid regular expression"),
        ({"block": ["x"]}, "block: must be a mapping of field"),
    ]:
        with pytest.raises(SourcesError) as caught:
            check_source({"id": "a", "url": "https://a.example/", **raw}, "api")
        assert any(message in p for p in caught.value.problems), caught.value.problems
