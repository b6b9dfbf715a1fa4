"""Calibrate story assembly by similarity: JOIN_THRESHOLD and the half-life of a story's pull.

    python bench/calibrate_stories.py

1. The labelled stream (tests/fixtures/stories/stream.yaml: invented stories from four invented
   sources, interleaved over two days, with look-alike distractors) runs through the real ingest
   path (``ingest_source`` with a hand-written Fetcher, in time order) into a real Redis, once per
   setting of a grid of thresholds and half-lives, from an empty database each time. Each
   item's story is compared with its label: pairwise and B-cubed precision, recall and F1.
2. The STS Benchmark news pairs (../shared/corpora/sts-news-headlines): each pair scored with
   :mod:`ingest.similar` as an item (first sentence) against a one-item story (second sentence),
   at the same time, document frequencies from all STS sentences. "In use" means each pair at
   the bar for its length (a sentence is mostly under 20 content words: the short bar or near).
   Pairs scored >= 4 by people are the same,
   <= 2 different, the rest left out (as the corpus README says). The threshold that maximizes F1
   on train + dev, and P/R/F1 on test at that threshold and at the one in use. STS pairs are
   paraphrases, a stricter notion than "the same story": read it as a ceiling for the threshold.

Prints a table and the best setting (highest mean of pairwise and B-cubed F1; of equals, the
smallest change from the constants in use); writes bench/results/stories_calibration.json.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from common import ROOT, redis_server, write_results

from ingest.fingerprint import words
from ingest.similar import Profile, SimilarityPolicy, names, score, unit, weights
from tests.support.stream import bcubed, load_stream, pairwise, run_stream

THRESHOLDS = (0.15, 0.2, 0.22, 0.25, 0.28, 0.3, 0.32, 0.35, 0.4, 0.45)
"""The bar for items with a body (the stream's items all have one)."""
HALF_LIVES = (6.0, 12.0, 24.0, 48.0, 96.0)
PAIRS = ROOT / ".." / "shared" / "corpora" / "sts-news-headlines" / "sts-news-pairs.jsonl"
CURRENT = SimilarityPolicy()


async def stream_grid(url: str) -> list[dict[str, Any]]:
    stream = load_stream()
    truth = {i.id: i.story for i in stream[1]}
    client = aioredis.from_url(url, decode_responses=True)
    rows = []
    try:
        for half_life in HALF_LIVES:
            for threshold in THRESHOLDS:
                await client.flushdb()
                policy = SimilarityPolicy(threshold=threshold, half_life_hours=half_life)
                found = await run_stream(client, policy, stream)
                rows.append(
                    {
                        "threshold": threshold,
                        "half_life_hours": half_life,
                        "stories_made": len(set(found.values())),
                        "pairwise": pairwise(truth, found).rounded(),
                        "bcubed": bcubed(truth, found).rounded(),
                    }
                )
    finally:
        await client.aclose()
    return rows


def sts_rows() -> list[tuple[str, str, str, float]]:
    return [
        (row["split"], row["s1"], row["s2"], float(row["score"]))
        for row in map(json.loads, PAIRS.read_text(encoding="utf-8").splitlines())
    ]


def sts_scores(rows: list[tuple[str, str, str, float]]) -> dict[str, list[tuple[float, bool]]]:
    """Per split, (similarity score, same?) for every pair that is clearly same or different."""
    sentences = {s for _split, a, b, _y in rows for s in (a, b)}
    df: Counter[str] = Counter(t for s in sentences for t in words(s))
    out: dict[str, list[tuple[float, bool]]] = {
        "train+dev": [],
        "test": [],
        "train+dev_bar": [],
        "test_bar": [],
    }
    for split, s1, s2, human in rows:
        if 2 < human < 4:
            continue
        weighted = weights(words(s1), names(s1), df, len(sentences))
        story = Profile(unit(weights(words(s2), names(s2), df, len(sentences))))
        # Scored against the bar for the item's length: 0 is the bar in use.
        value = score(weighted, story, 0, CURRENT)
        bar = CURRENT.threshold_for(len(weighted))
        out["test" if split == "test" else "train+dev"].append((value, human >= 4))
        out["test_bar" if split == "test" else "train+dev_bar"].append((value - bar, human >= 4))
    return out


def prf(scored: list[tuple[float, bool]], threshold: float) -> dict[str, float]:
    tp = sum(1 for s, y in scored if s >= threshold and y)
    fp = sum(1 for s, y in scored if s >= threshold and not y)
    fn = sum(1 for s, y in scored if s < threshold and y)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 4), "r": round(r, 4), "f1": round(f, 4)}


def sts_view() -> dict[str, Any]:
    if not PAIRS.exists():
        return {"skipped": f"no STS pairs at {PAIRS}"}
    scored = sts_scores(sts_rows())
    train = scored["train+dev"]
    best_f1, best = max((prf(train, t / 100)["f1"], t / 100) for t in range(5, 96))
    return {
        "pairs_train_dev": len(train),
        "pairs_test": len(scored["test"]),
        "best_threshold_train_dev": best,
        "f1_train_dev": best_f1,
        "test_at_best": prf(scored["test"], best),
        "test_at_bars_in_use": prf(scored["test_bar"], 0.0),
        "train_dev_at_bars_in_use": prf(scored["train+dev_bar"], 0.0),
    }


def mean_f1(row: dict[str, Any]) -> float:
    return (float(row["pairwise"]["f1"]) + float(row["bcubed"]["f1"])) / 2


def change(row: dict[str, Any]) -> float:
    """How far a setting is from the one in use (grid steps of threshold, doublings of
    half-life): of equally good settings, the smallest change is recommended."""
    steps = abs(float(row["threshold"]) - CURRENT.threshold) / 0.05
    return steps + abs(math.log2(float(row["half_life_hours"]) / CURRENT.half_life_hours))


def neighbourhood(rows: list[dict[str, Any]], row: dict[str, Any]) -> float:
    """The mean F1 of a setting and its grid neighbours, printed beside it: a setting on a
    plateau is safer than a lucky spike."""
    t, h = THRESHOLDS.index(row["threshold"]), HALF_LIVES.index(row["half_life_hours"])
    near = [
        mean_f1(r)
        for r in rows
        if abs(THRESHOLDS.index(r["threshold"]) - t) <= 1
        and abs(HALF_LIVES.index(r["half_life_hours"]) - h) <= 1
    ]
    return sum(near) / len(near)


def print_table(rows: list[dict[str, Any]]) -> None:
    print("pairwise F1 / B-cubed F1 on the labelled stream (rows: half-life h; columns: threshold)")
    print("half-life " + "".join(f"{t:>13.2f}" for t in THRESHOLDS))
    for half_life in HALF_LIVES:
        cells = [
            f"{r['pairwise']['f1']:.3f}/{r['bcubed']['f1']:.3f}"
            for r in rows
            if r["half_life_hours"] == half_life
        ]
        print(f"{half_life:>7.0f} h " + "".join(f"{c:>13}" for c in cells))


def main() -> None:
    names_, items = load_stream()
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        rows = asyncio.run(stream_grid(url))
    print_table(rows)
    current = next(
        r
        for r in rows
        if math.isclose(r["threshold"], CURRENT.threshold)
        and math.isclose(r["half_life_hours"], CURRENT.half_life_hours)
    )
    best = max(rows, key=lambda r: (mean_f1(r), -change(r)))
    for label, row in (("in use", current), ("best", best)):
        print(
            f"{label:>6}: threshold {row['threshold']:.2f}, half-life "
            f"{row['half_life_hours']:.0f} h: pairwise P/R/F1 "
            f"{row['pairwise']['p']:.3f}/{row['pairwise']['r']:.3f}/{row['pairwise']['f1']:.3f}, "
            f"B-cubed P/R/F1 {row['bcubed']['p']:.3f}/{row['bcubed']['r']:.3f}/"
            f"{row['bcubed']['f1']:.3f} (neighbourhood mean F1 {neighbourhood(rows, row):.3f})"
        )
    sts = sts_view()
    print(f"STS: {json.dumps(sts)}")
    path = write_results(
        "stories_calibration",
        {
            "stream": {
                "items": len(items),
                "stories": len({i.story for i in items}),
                "sources": len(names_),
                "window_hours": CURRENT.window_hours,
                "in_use": current,
                "best": best,
                "grid": rows,
            },
            "sts": sts,
        },
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
