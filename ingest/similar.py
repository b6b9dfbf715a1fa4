"""Which active story is an item about, when nothing links it to one? Pure scoring.

An item's terms are its content words (:func:`ingest.fingerprint.words` of title and lead);
each is weighted by rarity (inverse document frequency over everything ingested so far) and
names count double, because "Kellerton" says more about a story than "officials". A story's
profile is the set of terms of its entries. The score of an item against a story is the share
of the item's term weight that the story's profile covers, decayed by the story's age:

    score = sum(weight of the item's terms the story has) / sum(weight of all its terms)
            * 0.5 ** (hours since the story last changed / half-life)

The item joins the best-scoring candidate at or above :data:`JOIN_THRESHOLD`, else it opens a
new story. Candidates come from an inverted index (term -> recent stories) kept in Redis, so
scoring reads a bounded number of stories however many are active.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ingest import fingerprint

JOIN_THRESHOLD = 0.3
"""Calibrated on STS news pairs and on an invented labelled stream; see docs/design-notes.md."""
NAME_BOOST = 2.0
TOP_TERMS = 12
_CAPITAL = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-z]{2,})\b")


@dataclass(frozen=True, slots=True)
class SimilarityPolicy:
    threshold: float = JOIN_THRESHOLD
    half_life_hours: float = 48.0
    window_hours: float = 48.0
    """Stories quiet for longer are closed: only explicit links reach them."""


_NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december""".split()  # noqa: SIM905
)


def names(text: str) -> frozenset[str]:
    """Capitalized words that do not open a sentence: names of people, places, bodies, as the
    same stemmed lowercase terms :func:`ingest.fingerprint.words` gives. Days and months are
    capitalized but name nothing."""
    found = [w for w in _CAPITAL.findall(text) if w.lower() not in _NOT_NAMES]
    return frozenset(fingerprint.words(" ".join(found)))


def weights(
    terms: Iterable[str], named: frozenset[str], df: Mapping[str, int], total: int
) -> dict[str, float]:
    """Each term's weight: inverse document frequency, doubled for names."""
    out = {}
    for term in terms:
        idf = math.log((total + 1) / (df.get(term, 0) + 1)) + 1.0
        out[term] = idf * (NAME_BOOST if term in named else 1.0)
    return out


def top_terms(weighted: Mapping[str, float], count: int = TOP_TERMS) -> list[str]:
    """The terms that say most about an item: the ones worth looking up in the index."""
    return [t for t, _w in sorted(weighted.items(), key=lambda tw: (-tw[1], tw[0]))[:count]]


def score(
    weighted: Mapping[str, float],
    profile: Iterable[str],
    age_hours: float,
    policy: SimilarityPolicy,
) -> float:
    """How well a story with the terms ``profile`` covers the item, decayed by its age."""
    total = sum(weighted.values())
    if total <= 0 or age_hours > policy.window_hours:
        return 0.0
    have = set(profile)
    covered = sum(w for t, w in weighted.items() if t in have)
    decay: float = 0.5 ** (max(age_hours, 0.0) / policy.half_life_hours)
    return covered / total * decay
