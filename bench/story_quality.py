"""Story quality on real news: replay labelled headlines through the running service.

    python bench/story_quality.py [--rate 20] [--feeds 40] [--orders time,shuffled]

The rows of ../shared/corpora/uci-news-dev (3,244 real headlines of 40 labelled stories, many
publishers; see the corpora README) are released as a live stream at a steady pace onto
loopback RSS feeds, one feed per group of publishers (a publisher always in the same feed),
each feed listing its newest items, headline only, dated when released. A real worker and a
real web process (``python -m workers.cli worker``, ``python -m feeds``, the documented
settings only) poll and serve them. When the stream is over and the service has settled, the
stories are read back through the public feeds only: ``/feeds/stories.json`` page by page
(following ``next_url``), each story's feed, and each source's feed. Each row is found by its
link: as an entry of a story, or as an "also reported by" link on another source's entry.

Printed and written to bench/results/story_quality.json, per order (time order, then a fixed
shuffle): B-cubed and pairwise precision, recall and F1 against the STORY labels (a row found
in no story counts as a story of its own), the number of stories, the largest story's share of
the rows, rows lost (in no story), rows missing from their own source's feed, and, as the
baseline measured in the same run, a naive single-pass TF-IDF clustering of the same headlines
(best of three thresholds, chosen on the labels). Figures are also given for the two halves of
the stories (a fixed hash of the STORY id): parameters were chosen on "tune", "held" checks them.

For a look afterwards: STORY_QUALITY_KEEP=DIR runs in DIR (existing and empty; kept: the
service log, each order's Redis with its append-only file, the served feeds, the sources
file) instead of a temporary directory; STORY_QUALITY_DUMP=DIR writes each source's feed as
read back to DIR/gNN.json.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import html
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
from common import ROOT, free_port, redis_server, static_server, write_results

from ingest.fingerprint import words
from ingest.normalize import canonical_url

CORPUS = ROOT / ".." / "shared" / "corpora" / "uci-news-dev" / "uci-news-dev.csv"
FEED_LENGTH = 120
"""Items a feed lists, newest first: more than a group receives between two polls."""
_HREF = re.compile(r'href="([^"]+)"')


def split_of(story: str) -> str:
    """The fixed half of the labelled stories a row belongs to: tune or held."""
    return "tune" if int(hashlib.sha1(story.encode()).hexdigest(), 16) % 2 == 0 else "held"


def load_rows() -> list[dict[str, str]]:
    """The rows, their links cleaned of the crawl's escaping (``\\?``, ``&amp;``)."""
    if not CORPUS.exists():
        sys.exit(f"story_quality: needs the shared corpora at {CORPUS} (absent in this clone)")
    with CORPUS.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["URL"] = html.unescape(row["URL"]).replace("\\", "")
    return rows


# -- scores ------------------------------------------------------------------------------------


def bcubed(truth: Mapping[str, str], found: Mapping[str, str]) -> dict[str, float]:
    gold, made = defaultdict(set), defaultdict(set)
    for row, story in truth.items():
        gold[story].add(row)
        made[found[row]].add(row)
    p = r = 0.0
    for row, story in truth.items():
        both = len(gold[story] & made[found[row]])
        p += both / len(made[found[row]])
        r += both / len(gold[story])
    p, r = p / len(truth), r / len(truth)
    return _prf(p, r)


def pairwise(truth: Mapping[str, str], found: Mapping[str, str]) -> dict[str, float]:
    def pairs(groups: Mapping[str, str]) -> Counter[tuple[str, str]]:
        return Counter((truth_story, groups[row]) for row, truth_story in truth.items())

    joint = pairs(found)
    same_both = sum(n * (n - 1) / 2 for n in joint.values())
    same_found = sum(n * (n - 1) / 2 for n in Counter(found[r] for r in truth).values())
    same_truth = sum(n * (n - 1) / 2 for n in Counter(truth.values()).values())
    p = same_both / same_found if same_found else 1.0
    r = same_both / same_truth if same_truth else 1.0
    return _prf(p, r)


def _prf(p: float, r: float) -> dict[str, float]:
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def figures(truth: Mapping[str, str], found: Mapping[str, str]) -> dict[str, Any]:
    sizes = Counter(found[r] for r in truth)
    return {
        "rows": len(truth),
        "bcubed": bcubed(truth, found),
        "pairwise": pairwise(truth, found),
        "stories": len(sizes),
        "largest_share": round(max(sizes.values()) / len(truth), 4),
    }


# -- the baseline: naive single-pass TF-IDF ----------------------------------------------------


def naive_tfidf(rows: Sequence[dict[str, str]], threshold: float) -> dict[str, str]:
    """Single pass in arrival order: TF-IDF over all headlines, each row joins the cluster
    whose summed vector is most similar (cosine) if at least ``threshold``, else opens one."""
    docs = [words(r["TITLE"]) for r in rows]
    df = Counter(t for d in docs for t in d)
    n = len(docs)
    clusters: list[dict[str, float]] = []
    found = {}
    for row, doc in zip(rows, docs, strict=True):
        vec = {t: math.log(n / df[t]) + 1 for t in doc}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vec = {t: v / norm for t, v in vec.items()}
        best, best_score = -1, 0.0
        for k, c in enumerate(clusters):
            dot = sum(v * c.get(t, 0.0) for t, v in vec.items())
            if dot > 0:
                score = dot / math.sqrt(sum(x * x for x in c.values()))
                if score > best_score:
                    best, best_score = k, score
        if best < 0 or best_score < threshold:
            clusters.append({})
            best = len(clusters) - 1
        for t, v in vec.items():
            clusters[best][t] = clusters[best].get(t, 0.0) + v
        found[row["ID"]] = f"naive-{best}"
    return found


def baseline(rows: Sequence[dict[str, str]], truth: Mapping[str, str]) -> dict[str, Any]:
    best: dict[str, Any] = {}
    for threshold in (0.2, 0.3, 0.4):
        found = naive_tfidf(rows, threshold)
        got = figures(truth, found)
        if not best or got["bcubed"]["f1"] > best["bcubed"]["f1"]:
            best = {"threshold": threshold, **got}
    return best


# -- the service -------------------------------------------------------------------------------


def rss(group: str, rows: Sequence[tuple[dict[str, str], datetime]]) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>uci-{r['ID']}</guid>"
        f"<title>{html.escape(r['TITLE'])}</title><link>{html.escape(r['URL'])}</link>"
        f"<author>{html.escape(r['PUBLISHER'])}</author>"
        f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate></item>"
        for r, at in reversed(rows[-FEED_LENGTH:])
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Publishers {group}</title><link>http://127.0.0.1/</link>"
        f"<description>replayed headlines</description>{items}</channel></rss>"
    ).encode()


def write_atomic(path: Path, body: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


def group_of(publisher: str, feeds: int) -> str:
    return f"g{int(hashlib.sha1(publisher.encode()).hexdigest(), 16) % feeds:02d}"


def sources_yaml(groups: Iterable[str], base: str) -> str:
    lines = ["sources:"]
    for g in sorted(groups):
        lines += [
            f"  - id: {g}",
            f"    title: Publishers {g}",
            f"    url: {base}/{g}.xml",
            "    kind: rss",
            "    interval: 1",
            "    max_interval: 2",
        ]
    return "\n".join(lines) + "\n"


class Service:
    """A worker and a web process on one Redis, with the documented settings."""

    def __init__(self, workdir: Path, redis_url: str, sources: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "WIREFEED_REDIS_URL": redis_url,
            "WIREFEED_SOURCES": str(sources),
            "WIREFEED_DATA_DIR": str(workdir / "var"),
            "WIREFEED_HTTP_PORT": str(self.port),
            "WIREFEED_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "WIREFEED_HOST_CONCURRENCY": "0",
            "WIREFEED_HOST_PER_MINUTE": "0",
            "WIREFEED_FEED_PAGE_SIZE": "1000",
            "WIREFEED_FEED_MAX_AGE": "0",
            "WIREFEED_LOG_LEVEL": "WARNING",
        }
        self.log = (workdir / "service.log").open("ab")
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for args in (["-m", "workers.cli", "worker"], ["-m", "feeds"]):
            self.children.append(
                subprocess.Popen(
                    [sys.executable, *args],
                    cwd=ROOT,
                    env=self.env,
                    stdout=self.log,
                    stderr=self.log,
                )
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the web process did not come up; see service.log")

    def stop(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        self.children.clear()


def read_back(base: str, groups: Iterable[str]) -> tuple[dict[str, str], dict[str, set[str]], int]:
    """Through the public feeds only: link -> story, source -> links its feed lists, and how
    many story pages ``next_url`` led through."""
    where: dict[str, str] = {}
    listed: dict[str, set[str]] = {}
    with httpx.Client(base_url=base, timeout=30) as http:
        url: str | None = "/feeds/stories.json"
        story_ids: list[str] = []
        pages = 0
        while url:
            doc = http.get(url).raise_for_status().json()
            pages += 1
            # A story's page is /stories/ID; its feed /feeds/stories/ID.json.
            story_ids += [item["url"].rstrip("/").rsplit("/", 1)[1] for item in doc["items"]]
            url = doc.get("next_url")
        for sid in dict.fromkeys(story_ids):
            doc = http.get(f"/feeds/stories/{sid}.json").raise_for_status().json()
            for item in doc["items"]:
                for link in _links(item):
                    where.setdefault(link, sid)
        for group in groups:
            doc = http.get(f"/feeds/sources/{group}.json").raise_for_status().json()
            if os.environ.get("STORY_QUALITY_DUMP"):
                dump = Path(os.environ["STORY_QUALITY_DUMP"])
                dump.mkdir(parents=True, exist_ok=True)
                (dump / f"{group}.json").write_text(json.dumps(doc, indent=1))
            listed[group] = {link for item in doc["items"] for link in _links(item)}
    return where, listed, pages


def _links(item: Mapping[str, Any]) -> list[str]:
    found = [item.get("external_url") or ""]
    found += [html.unescape(h) for h in _HREF.findall(item.get("content_html") or "")]
    return [c for c in (canonical_url(u) for u in found if u) if c]


def settled(
    base: str, expected: Mapping[str, set[str]], quiet: float = 30.0, limit: float = 600.0
) -> None:
    """Wait until every released row's link is in its source's feed, or nothing has moved for
    ``quiet`` seconds, or ``limit`` has passed (a busy machine slows the worker down)."""
    last, since, started = -1, time.monotonic(), time.monotonic()
    want = sum(len(v) for v in expected.values())
    while time.monotonic() - started < limit:
        try:
            total = _count(base, expected)
        except httpx.HTTPError:
            total = -1
        if total >= want:
            return
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(1.0)


def _count(base: str, expected: Mapping[str, set[str]]) -> int:
    found = 0
    with httpx.Client(base_url=base, timeout=30) as http:
        for group, links in expected.items():
            doc = http.get(f"/feeds/sources/{group}.json").json()
            listed = {link for item in doc.get("items", ()) for link in _links(item)}
            found += len(links & listed)
    return found


def replay(
    rows: Sequence[dict[str, str]], order: str, *, rate: float, feeds: int, workdir: Path
) -> dict[str, Any]:
    www = workdir / f"www-{order}"
    www.mkdir()
    groups = sorted({group_of(r["PUBLISHER"], feeds) for r in rows})
    for g in groups:
        write_atomic(www / f"{g}.xml", rss(g, []))
    sent: dict[str, list[tuple[dict[str, str], datetime]]] = defaultdict(list)
    with redis_server(workdir / f"redis-{order}") as redis_url, static_server(www) as feeds_base:
        _flush(redis_url)
        sources = workdir / f"sources-{order}.yaml"
        sources.write_text(sources_yaml(groups, feeds_base))
        service = Service(workdir, redis_url, sources)
        service.start()
        try:
            started = time.monotonic()
            for n, row in enumerate(rows):
                pause = started + n / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                g = group_of(row["PUBLISHER"], feeds)
                sent[g].append((row, datetime.now(UTC).replace(microsecond=0)))
                write_atomic(www / f"{g}.xml", rss(g, sent[g]))
            released = time.monotonic() - started
            expected = {
                g: {canonical_url(r["URL"]) or r["URL"] for r, _at in sent[g]} for g in groups
            }
            settled(service.base, expected)
            where, listed, pages = read_back(service.base, groups)
        finally:
            service.stop()
    return score(rows, where, listed, pages, released, feeds)


def _flush(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


def score(
    rows: Sequence[dict[str, str]],
    where: Mapping[str, str],
    listed: Mapping[str, set[str]],
    pages: int,
    released: float,
    feeds: int,
) -> dict[str, Any]:
    truth = {r["ID"]: r["STORY"] for r in rows}
    found, lost, unlisted = {}, [], []
    for r in rows:
        link = canonical_url(r["URL"]) or r["URL"]
        story = where.get(link)
        if story is None:
            lost.append(r["ID"])
            story = f"lost-{r['ID']}"
        found[r["ID"]] = story
        if link not in listed.get(group_of(r["PUBLISHER"], feeds), set()):
            unlisted.append(r["ID"])
    out: dict[str, Any] = {
        **figures(truth, found),
        "rows_lost": len(lost),
        "rows_missing_from_their_source_feed": len(unlisted),
        "story_pages_followed": pages,
        "release_seconds": round(released, 1),
    }
    for half in ("tune", "held"):
        part = {i: s for i, s in truth.items() if split_of(s) == half}
        got = figures(part, found)
        out[half] = {"rows": got["rows"], "bcubed": got["bcubed"], "pairwise": got["pairwise"]}
    out["lost_examples"] = lost[:10]
    out["unlisted_examples"] = unlisted[:10]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="rows released per second")
    parser.add_argument("--feeds", type=int, default=40, help="loopback feeds (publisher groups)")
    parser.add_argument("--orders", default="time,shuffled")
    parser.add_argument("--limit", type=int, default=0, help="only the first N rows (smoke)")
    args = parser.parse_args()
    rows = sorted(load_rows(), key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    if args.limit:
        rows = rows[: args.limit]
    results: dict[str, Any] = {"rows": len(rows), "rate_per_s": args.rate, "feeds": args.feeds}
    keep = os.environ.get("STORY_QUALITY_KEEP")
    with tempfile.TemporaryDirectory() if not keep else contextlib.nullcontext(keep) as tmp:
        for order in args.orders.split(","):
            ordered = list(rows)
            if order == "shuffled":
                random.Random(2014).shuffle(ordered)
            truth = {r["ID"]: r["STORY"] for r in ordered}
            got = replay(ordered, order, rate=args.rate, feeds=args.feeds, workdir=Path(tmp))
            got["baseline_naive_tfidf"] = baseline(ordered, truth)
            got["ratio_bcubed_f1_to_baseline"] = round(
                got["bcubed"]["f1"] / got["baseline_naive_tfidf"]["bcubed"]["f1"], 3
            )
            results[order] = got
            _print(order, got)
    path = write_results("story_quality", results)
    print(f"written to {path}")


def _print(order: str, got: Mapping[str, Any]) -> None:
    b, p, base = got["bcubed"], got["pairwise"], got["baseline_naive_tfidf"]
    print(f"-- {order} order: {got['rows']} rows in {got['release_seconds']} s")
    print(f"B-cubed  P {b['precision']:.3f} R {b['recall']:.3f} F1 {b['f1']:.3f}")
    print(f"pairwise P {p['precision']:.3f} R {p['recall']:.3f} F1 {p['f1']:.3f}")
    print(
        f"stories {got['stories']}, largest {got['largest_share']:.1%} of rows, "
        f"rows lost {got['rows_lost']}, missing from their source feed "
        f"{got['rows_missing_from_their_source_feed']}"
    )
    print(
        f"tune half B-cubed F1 {got['tune']['bcubed']['f1']:.3f}, held half "
        f"{got['held']['bcubed']['f1']:.3f}"
    )
    print(
        f"baseline naive TF-IDF (threshold {base['threshold']}): B-cubed F1 "
        f"{base['bcubed']['f1']:.3f}; ratio {got['ratio_bcubed_f1_to_baseline']}"
    )


if __name__ == "__main__":
    main()
