"""End-to-end ingestion throughput against bare feedparser, on the same bytes.

    python bench/ingest.py [--feeds 40] [--items 100] [--concurrency 8]

Generated RSS feeds (100 items each, a few paragraphs of HTML per item, invented text; every
item distinct, so each is a new entry) are served from a separate process on loopback. We
measure items per second through the whole pipeline (fetch | parse | normalize | dedupe |
assign | store into a real Redis) and, in the same run, items per second of bare
``feedparser.parse`` over the same bytes. The ratio says what the rest of the pipeline costs on
top of parsing. Results: bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import tempfile
import time
from datetime import timedelta
from email.utils import format_datetime
from ipaddress import ip_network
from pathlib import Path

import feedparser
import redis.asyncio as aioredis
from common import RUN_CLOCK, redis_server, static_server, write_results

from config.sources import Source
from ingest import keys
from ingest.fetch.guard import AddressPolicy
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore

COMMON = tuple(
    """council harbor agency river officials storm bridge crews residents minister court report
    police union talks market prices school hospital power line road rail airport ferry weather
    warning evacuation rescue fire smoke water dam spillway engineers inspection budget vote
    election mayor governor spokesman statement investigation witnesses""".split()  # noqa: SIM905
)
SYLLABLES = tuple("ka lo mi ren tas vo qui sel dor pa nu bre gil mon fa ri zen ho lu ter".split())  # noqa: SIM905


def vocabulary(size: int = 4000) -> tuple[str, ...]:
    """Invented words (place and people names, as it were): with enough of them every
    generated item is its own story, not a near copy of the others, as on a real wire."""
    rng, found = random.Random(11), set()
    while len(found) < size:
        found.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return tuple(sorted(found))


NAMES = vocabulary()


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(NAMES) if rng.random() < 0.6 else rng.choice(COMMON) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def make_feed(feed_no: int, items: int, rng: random.Random) -> bytes:
    rows = []
    for n in range(items):
        paragraphs = "".join(
            f"<p>{' '.join(sentence(rng, rng.randint(12, 24)) for _ in range(3))}</p>"
            for _ in range(rng.randint(3, 5))
        )
        # Newest first, a minute apart, all before the run's clock (40 x 100 items: 2.8 days).
        at = RUN_CLOCK - timedelta(minutes=feed_no * items + n + 1)
        when = format_datetime(at, usegmt=True)
        rows.append(
            f'<item><guid isPermaLink="false">bench-{feed_no}-{n}</guid>'
            f"<title>{sentence(rng, 9)}</title>"
            f"<link>https://news.example/{feed_no}/{n}?utm_source=bench</link>"
            f"<description><![CDATA[{paragraphs}]]></description>"
            f"<pubDate>{when}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench wire {feed_no}</title><link>https://news.example/</link>"
        f"<description>generated</description>{''.join(rows)}</channel></rss>"
    ).encode()


def bare_feedparser(bodies: list[bytes]) -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(len(feedparser.parse(io.BytesIO(b), sanitize_html=False).entries) for b in bodies)
    return count, time.perf_counter() - started


async def pipeline(
    redis_url: str, base: str, feeds: int, concurrency: int
) -> tuple[int, float, int]:
    client = aioredis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    store = RedisStore(client)
    fetcher = HttpFetcher(FetchLimits(), policy=AddressPolicy(allow=(ip_network("127.0.0.0/8"),)))
    gate = asyncio.Semaphore(concurrency)
    now = RUN_CLOCK

    async def one(n: int) -> int:
        async with gate:
            source = Source(id=f"bench-{n}", url=f"{base}/feed-{n}.xml")
            report = await ingest_source(source, fetcher=fetcher, store=store, now=now)
            assert report.status == "ok", report
            # Distinct generated items are all new; anything else would measure another path.
            assert report.new == report.entries, report
            return report.new

    try:
        started = time.perf_counter()
        count = sum(await asyncio.gather(*(one(n) for n in range(feeds))))
        elapsed = time.perf_counter() - started
        # The items are unrelated: each should make a story of its own.
        return count, elapsed, int(await client.zcard(keys.STORIES))
    finally:
        await fetcher.aclose()
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "www").mkdir()
        bodies = []
        for n in range(args.feeds):
            body = make_feed(n, args.items, rng)
            (tmp_path / "www" / f"feed-{n}.xml").write_bytes(body)
            bodies.append(body)
        with redis_server(tmp_path / "redis") as url, static_server(tmp_path / "www") as base:
            bare_items, bare_s = bare_feedparser(bodies)
            e2e_items, e2e_s, stories = asyncio.run(
                pipeline(url, base, args.feeds, args.concurrency)
            )
    figures = {
        "feeds": args.feeds,
        "items_per_feed": args.items,
        "mean_feed_bytes": sum(map(len, bodies)) // len(bodies),
        "pipeline_items": e2e_items,
        "pipeline_items_per_s": round(e2e_items / e2e_s, 1),
        "bare_feedparser_items_per_s": round(bare_items / bare_s, 1),
        "stories_made": stories,
    }
    figures["ratio_pipeline_to_bare"] = round(
        figures["pipeline_items_per_s"] / figures["bare_feedparser_items_per_s"], 3
    )
    path = write_results("ingest", figures)
    print(f"feeds: {args.feeds} x {args.items} items, mean {figures['mean_feed_bytes']} bytes")
    print(f"pipeline (fetch..store): {figures['pipeline_items_per_s']:>9} items/s")
    print(f"bare feedparser.parse:   {figures['bare_feedparser_items_per_s']:>9} items/s")
    print(f"ratio pipeline / bare:   {figures['ratio_pipeline_to_bare']:>9}")
    print(f"stories made:            {stories:>9} (of {e2e_items} unrelated items)")
    print(f"written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
