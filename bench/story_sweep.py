"""A pure, in-memory mirror of story assembly, for sweeping its parameters in seconds.

    python bench/story_sweep.py [--merge]

bench/story_quality.py measures the real service (a worker, Redis, feeds read back), which
takes minutes per order. This replays the same labelled headlines (../shared/corpora/uci-news-dev)
through the same pure functions (ingest.normalize, ingest.similar) over an in-memory copy of the
story index of ingest/store/story_index.py: document frequencies, term lists capped at TERM_CAP
stories, a shortlist by votes, capped centroids. It leaves out near-copy folding and
concurrency, so its figures run close to the service's but not on them (with --merge and the
defaults, B-cubed F1 0.84 / 0.84 here against 0.81-0.83 measured in either order); use it to
rank settings, then confirm the best with story_quality.py.

``--merge`` mirrors the merging of the stories an item bridges (ingest.similar.bridged, which
the service does): when an item fits two stories (the runner-up scores at least 1.5x the join
bar) whose centroids are alike (cosine >= 0.2), the runner-up story is merged into the chosen
one. Settings are ranked by the mean B-cubed F1 of the tune half of the stories (the fixed
split of story_quality.py) over both orders; the held half is what story_quality.py reports
as the check.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from story_quality import figures, load_rows, split_of

from ingest import similar
from ingest.model import Item, RawEntry
from ingest.normalize import normalize
from ingest.store.story_index import DEEP_TERMS, SHALLOW, TERM_CAP

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
"""Normalization needs a time; the headlines carry none of their own that matters here."""


class Mirror:
    """The story index in memory, with the settings ``p``."""

    def __init__(self, p: Mapping[str, Any]) -> None:
        self.p = p
        self.policy = similar.SimilarityPolicy(short_threshold=p["short"], margin=0.0)
        self.df: dict[str, int] = defaultdict(int)
        self.lists: dict[str, dict[str, int]] = defaultdict(dict)  # term -> story -> time
        self.centroids: dict[str, dict[str, float]] = {}
        self.into: dict[str, str] = {}
        self.seen = 0

    def root(self, story: str) -> str:
        while story in self.into:
            story = self.into[story]
        return story

    def place(self, item: Item) -> str:
        """The story ``item`` joins (or opens), and the index updated with it."""
        weights = similar.weights(item.terms, frozenset(item.names), self.df, self.seen)
        tops = similar.top_terms(weights, self.p["top"])
        scored = self._scored(weights, tops)
        bar = self.policy.threshold_for(len(weights))
        best, _score = similar.choose(scored, self.policy, bar)
        if best is None:
            best = f"s{self.seen}"
            self.centroids[best] = {}
        elif self.p["merge"]:
            self._merge_bridged(best, scored[1:], bar)
        self._add(best, weights, tops, item.terms)
        return best

    def _scored(self, weights: Mapping[str, float], tops: Sequence[str]) -> list[tuple[str, float]]:
        votes: dict[str, float] = defaultdict(float)
        for rank, term in enumerate(tops):
            newest = sorted(self.lists[term].items(), key=lambda sv: -sv[1])
            for story, _at in newest[: TERM_CAP if rank < DEEP_TERMS else SHALLOW]:
                votes[self.root(story)] += weights[term]
        shortlist = sorted(votes, key=lambda s: (-votes[s], s))[: self.p["candidates"]]
        found = ((s, similar.cosine(weights, self.centroids[s])) for s in shortlist)
        return sorted(found, key=lambda sv: -sv[1])

    def _merge_bridged(self, best: str, others: Sequence[tuple[str, float]], bar: float) -> None:
        for other, score in others:
            alike = similar.cosine(self.centroids[best], self.centroids[other])
            if score >= 1.5 * bar and alike >= 0.2:
                self.into[other] = best
                for term, w in self.centroids.pop(other).items():
                    self.centroids[best][term] = self.centroids[best].get(term, 0.0) + w

    def _add(
        self, story: str, weights: Mapping[str, float], tops: Sequence[str], terms: Sequence[str]
    ) -> None:
        centroid = self.centroids[story]
        for term, w in similar.unit(weights).items():
            centroid[term] = centroid.get(term, 0.0) + w
        self.centroids[story] = similar.capped(centroid, self.p["cap"])
        for term in tops:
            stories = self.lists[term]
            stories[story] = self.seen
            if len(stories) > TERM_CAP:
                del stories[min(stories, key=stories.__getitem__)]
        for term in terms:
            self.df[term] += 1
        self.seen += 1


def replay(order: Sequence[Item], p: Mapping[str, Any]) -> dict[str, str]:
    """Each item's story, assembled in ``order`` with the settings ``p``."""
    mirror = Mirror(p)
    similar.NAME_BOOST = p["boost"]  # a module constant in the service: set for this replay
    placed = {item.identity: mirror.place(item) for item in order}
    return {row: mirror.root(story) for row, story in placed.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merge", action="store_true", help="merge stories an item bridges")
    args = parser.parse_args()
    rows = sorted(load_rows(), key=lambda r: int(r["TIMESTAMP"]))
    truth = {r["ID"]: r["STORY"] for r in rows}
    items = [
        normalize(RawEntry(native_id=r["ID"], title=r["TITLE"], link=r["URL"]), "s", now=NOW)
        for r in rows
    ]
    shuffled = list(items)
    random.Random(7).shuffle(shuffled)
    grid = itertools.product((0.07, 0.1, 0.12, 0.13, 0.15), (1.0, 1.5), (64, 256), (5,), (12,))
    tune = {i: s for i, s in truth.items() if split_of(s) == "tune"}
    results = []
    for short, boost, cap, candidates, top in grid:
        p = dict(short=short, boost=boost, cap=cap, candidates=candidates, top=top)
        p["merge"] = args.merge
        found = [replay(o, p) for o in (items, shuffled)]
        timed, mixed = (figures(truth, f)["bcubed"] for f in found)
        tuned = sum(figures(tune, f)["bcubed"]["f1"] for f in found) / 2
        results.append((tuned, (timed["f1"] + mixed["f1"]) / 2, timed, mixed, p))
    # Ranked by the tune half (the stories of one fixed half); the held half is the check.
    print("tune F1  all F1   time P/R/F1          shuffled P/R/F1      short boost cap")
    for tuned, mean, timed, mixed, p in sorted(results, key=lambda r: -r[0]):
        t = "{precision:.3f}/{recall:.3f}/{f1:.3f}".format(**timed)
        s = "{precision:.3f}/{recall:.3f}/{f1:.3f}".format(**mixed)
        print(
            f"{tuned:.3f}    {mean:.3f}    {t}    {s}    {p['short']:<5} {p['boost']:<5} {p['cap']}"
        )


if __name__ == "__main__":
    main()
