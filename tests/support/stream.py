"""The labelled story stream (tests/fixtures/stories/stream.yaml): load it, run it through the
real ingest path into a real Redis, and score the stories it made against the labels.

Shared by ``tests/integration/test_story_stream.py`` (a quality guard at the thresholds in
``ingest/similar.py``) and ``bench/calibrate_stories.py`` (a grid of thresholds and half-lives).

::

    items, in time order
      -> each source's document (RSS, its newest items first) served by a hand-written Fetcher
      -> ingest_source(source, now=the item's time)      real parse | normalize | dedupe | assign
      -> the story each item was filed in (its identity record, duplicates included)
      -> pairwise and B-cubed precision, recall, F1 against the labels
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import yaml

from config.sources import Source
from ingest.model import FetchResult, Validators
from ingest.pipeline import IngestPolicy, ingest_source
from ingest.similar import SimilarityPolicy
from ingest.store.redis_store import RedisStore

STREAM = Path(__file__).resolve().parents[1] / "fixtures" / "stories" / "stream.yaml"
FEED_LENGTH = 8
"""Items a source's document shows, newest first: earlier items come again, as real feeds do."""


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One labelled item: ``story`` is the story it truly belongs to."""

    id: str
    story: str
    source: str
    at: datetime
    title: str
    text: str


def load_stream(path: Path = STREAM) -> tuple[dict[str, str], list[StreamItem]]:
    """The stream's sources (id -> name) and its items in time order."""
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = [
        StreamItem(
            id=str(row["id"]),
            story=str(row["story"]),
            source=str(row["source"]),
            at=datetime.fromisoformat(str(row["at"])),
            title=str(row["title"]),
            text=" ".join(str(row["text"]).split()),
        )
        for row in doc["items"]
    ]
    return dict(doc["sources"]), sorted(items, key=lambda i: (i.at, i.id))


def rss(name: str, items: Sequence[StreamItem]) -> bytes:
    rows = "".join(
        f"<item><guid isPermaLink='false'>{escape(i.id)}</guid><title>{escape(i.title)}</title>"
        f"<link>https://{i.source}.example/{escape(i.id)}</link>"
        f"<description>{escape(i.text)}</description>"
        f"<pubDate>{format_datetime(i.at, usegmt=True)}</pubDate></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(name)}</title><link>https://wire.example/</link>"
        f"<description>Invented wire</description>{rows}</channel></rss>"
    ).encode()


class StreamFetcher:
    """A Fetcher (see ingest.fetch.http) that answers from documents set by URL: no network."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}

    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        body = self.documents[url]
        return FetchResult(url, 200, {"content-type": "application/rss+xml"}, body)


async def run_stream(
    client: aioredis.Redis,
    similarity: SimilarityPolicy,
    stream: tuple[dict[str, str], list[StreamItem]] | None = None,
) -> dict[str, str]:
    """Ingest the stream into the (empty) database of ``client``; return item id -> story id.
    Each item is polled at its own time plus one minute, from its source's document."""
    names, items = stream or load_stream()
    store = RedisStore(client, similarity=similarity)
    policy = IngestPolicy(similarity=similarity)
    fetcher = StreamFetcher()
    sources = {
        s: Source(id=s, url=f"https://{s}.example/feed.rss", title=n, kind="rss")
        for s, n in names.items()
    }
    await store.put_sources(list(sources.values()))
    sent: dict[str, list[StreamItem]] = defaultdict(list)
    for item in items:
        sent[item.source].insert(0, item)
        source = sources[item.source]
        fetcher.documents[source.url] = rss(names[item.source], sent[item.source][:FEED_LENGTH])
        report = await ingest_source(
            source, fetcher=fetcher, store=store, now=item.at + timedelta(minutes=1), policy=policy
        )
        if report.status != "ok":
            raise RuntimeError(f"{item.id}: {report}")
    found = {}
    for item in items:
        known = await store.known(item.source, item.id)
        if known is None:
            raise RuntimeError(f"{item.id} was not stored")
        found[item.id] = known.story_id
    return found


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float

    def rounded(self) -> dict[str, float]:
        return {"p": round(self.precision, 4), "r": round(self.recall, 4), "f1": round(self.f1, 4)}


def _scores(precision: float, recall: float) -> Scores:
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1)


def pairwise(truth: Mapping[str, str], found: Mapping[str, str]) -> Scores:
    """Over all pairs of items: is the pair together in the labels, and in the stories made?"""
    ids = sorted(truth)
    together = found_together = both = 0
    for n, a in enumerate(ids):
        for b in ids[n + 1 :]:
            same, made = truth[a] == truth[b], found[a] == found[b]
            together += same
            found_together += made
            both += same and made
    return _scores(both / found_together if found_together else 1.0, both / together)


def bcubed(truth: Mapping[str, str], found: Mapping[str, str]) -> Scores:
    """B-cubed (Bagga and Baldwin 1998): per item, the share of its story that is truly its
    story (precision) and the share of its true story that landed in its story (recall)."""
    both = Counter((truth[i], found[i]) for i in truth)
    labels, stories = Counter(truth.values()), Counter(found[i] for i in truth)
    precision = sum(both[(truth[i], found[i])] / stories[found[i]] for i in truth) / len(truth)
    recall = sum(both[(truth[i], found[i])] / labels[truth[i]] for i in truth) / len(truth)
    return _scores(precision, recall)


def mistakes(truth: Mapping[str, str], found: Mapping[str, str]) -> dict[str, list[str]]:
    """For reading a run: each story made, with the labels of its items (split or merged)."""
    made: dict[str, list[str]] = defaultdict(list)
    for item, story in found.items():
        made[story].append(f"{truth[item]}:{item}")
    return {s: sorted(v) for s, v in made.items()}
