"""Which active story is an item about, when nothing links it to one? Pure scoring.

An item's terms are its content words (:func:`ingest.fingerprint.words` of title and lead);
each is weighted by rarity (inverse document frequency over everything ingested so far), names
count :data:`NAME_BOOST` times, and the weights are scaled to unit length: every item, short
headline or long wire, pulls with the same strength.

A story is represented by a **decayed, capped centroid** of its entries: the sum of their unit
vectors, each scaled by ``2 ** (item time / half-life)`` so that recent entries outweigh old
ones, and cut to the :data:`PROFILE_TERMS` heaviest terms. The cut bounds the pull: a story of
five hundred entries has no more terms to match than one of twenty, and its centroid points at
what its entries keep saying, not at everything any of them ever said (the old profile, the
union of every entry's terms, grew into a black hole that swallowed the stream).

The score of an item against a story is symmetric and time-aware::

    score = cosine(item vector, story centroid) * 0.5 ** (gap / half-life)

where ``gap`` is how far the item's own time lies outside the span of item times the story
covers (zero inside it). Everything is measured on item times, never on the wall clock, so a
replay or a backfill assembles the same stories as live ingestion. The item joins the best
candidate if its score reaches the bar for its length (lower for a headline alone than for
headline and body: see :meth:`SimilarityPolicy.threshold_for`) *and* beats the runner-up by
the policy's margin (:data:`MARGIN` by default; calibration found none pays on real news,
see docs/design-notes.md); otherwise it opens a new story. Candidates come from an inverted
index (term -> stories by item time) kept in Redis, so scoring reads a bounded number of
stories however many are active.

Two stories that are one: headlines arrive in any order, and the first reports of one event
can open two stories that only later entries show to be the same. An item that fits a second
story nearly as well as the one it joins (its score there at least :data:`MERGE_FACTOR` times
its join bar) *bridges* them; if the two centroids are alike too (cosine at least
:data:`MERGE_ALIKE`), the younger story is merged into the older (:func:`bridged`). Stories an
editor has changed are never merged automatically.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from config.settings import Settings
from ingest import fingerprint

JOIN_THRESHOLD = 0.3
"""Score (cosine times time nearness) at or above which an item with a body joins a story."""
SHORT_JOIN_THRESHOLD = 0.15
"""The same for a headline alone. Short texts share fewer words by chance, and a headline
shares only a few with even its own story's centroid, so the bar is lower; between
:data:`SHORT_TERMS` and :data:`LONG_TERMS` content words it moves linearly from one to the
other. Both chosen on half of the real labelled headlines (uci-news-dev, a fixed split by
story) and on the invented labelled stream, checked on the other half; see
docs/design-notes.md. (0.10 before stories an item bridges were merged: merging recovers the
recall a higher bar costs, and the higher bar buys precision.)"""
SHORT_TERMS = 10
LONG_TERMS = 20
MARGIN = 0.0
"""How far the best story must beat the runner-up."""
NAME_BOOST = 1.5
TOP_TERMS = 12
PROFILE_TERMS = 64
"""Terms kept in a story's centroid: the bound on its pull and on the cost of reading it."""
HALF_LIFE_HOURS = 48.0
MERGE_FACTOR = 1.5
"""An item bridges a second story when it scores there at least this many times its join
bar (0: never merge automatically)."""
MERGE_ALIKE = 0.2
"""...and the two stories are merged when their centroids' cosine reaches this."""
MAX_DOUBLINGS = 900.0
"""Centroid scales stay within a double: 2 ** 900 (a story active for years at a small
half-life is clamped, its oldest terms dropping out as they would anyway)."""
_CAPITAL = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-z]{2,})\b")


@dataclass(frozen=True, slots=True)
class SimilarityPolicy:
    threshold: float = JOIN_THRESHOLD
    short_threshold: float = SHORT_JOIN_THRESHOLD
    half_life_hours: float = HALF_LIFE_HOURS
    window_hours: float = 48.0
    """Stories whose item times lie further than this from an item's are closed to it: only
    explicit links reach them."""
    margin: float = MARGIN
    merge_factor: float = MERGE_FACTOR
    merge_alike: float = MERGE_ALIKE

    @property
    def window_ms(self) -> int:
        return int(self.window_hours * 3_600_000)

    def threshold_for(self, terms: int) -> float:
        """The join bar for an item of ``terms`` content words."""
        if terms >= LONG_TERMS:
            return self.threshold
        if terms <= SHORT_TERMS:
            return min(self.short_threshold, self.threshold)
        share = (terms - SHORT_TERMS) / (LONG_TERMS - SHORT_TERMS)
        low = min(self.short_threshold, self.threshold)
        return low + (self.threshold - low) * share


def policy_for(settings: Settings) -> SimilarityPolicy:
    """The similarity policy the settings ask for (one place for worker, store and web)."""
    return SimilarityPolicy(
        window_hours=settings.story_window_hours,
        half_life_hours=settings.story_half_life_hours,
        merge_factor=MERGE_FACTOR if settings.story_auto_merge else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """What scoring needs of a story: its centroid (term -> weight, any scale) and the span
    of item times (ms) its entries cover."""

    centroid: Mapping[str, float]
    first_ms: int = 0
    last_ms: int = 0
    created_ms: int = 0
    """When the story was stored first (wall clock; 0: not stored yet)."""
    edited: bool = False
    """An editor has changed the story: it is never merged automatically."""


@dataclass(frozen=True, slots=True)
class Opening:
    """A story just opened: its id, the opening item's vector and item time (ms)."""

    story_id: str
    vector: Mapping[str, float]
    at_ms: int

    def to_json(self) -> str:
        return json.dumps({"s": self.story_id, "v": dict(self.vector), "t": self.at_ms})

    @classmethod
    def from_json(cls, raw: str | bytes) -> Opening:
        doc = json.loads(raw)
        return cls(str(doc["s"]), {str(t): float(w) for t, w in doc["v"].items()}, int(doc["t"]))


def rejoin(
    weighted: Mapping[str, float],
    at_ms: int,
    own: str,
    prior: Sequence[Opening],
    policy: SimilarityPolicy,
    bar: float,
) -> str | None:
    """The story opened a moment earlier that an item about to open its own story ``own``
    should join instead (as it would have, had it seen that story stored), if any."""
    # Only a story sharing a term with the item can score above 0, and with a bar above 0 a
    # score of 0 never changes the choice: the others are not built at all.
    sharing = {
        o.story_id
        for o in prior
        if o.story_id != own and (bar <= 0 or not o.vector.keys().isdisjoint(weighted))
    }
    stories: dict[str, dict[str, float]] = {}
    spans: dict[str, tuple[int, int]] = {}
    for o in prior:  # openings that joined one story count as that story's first entries
        if o.story_id not in sharing:
            continue
        centroid = stories.setdefault(o.story_id, {})
        for term, weight in o.vector.items():
            centroid[term] = centroid.get(term, 0.0) + weight
        first, last = spans.get(o.story_id, (o.at_ms, o.at_ms))
        spans[o.story_id] = (min(first, o.at_ms), max(last, o.at_ms))
    scored = [
        (sid, score(weighted, Profile(centroid, *spans[sid]), at_ms, policy))
        for sid, centroid in stories.items()
    ]
    best, _top = choose(scored, policy, bar)
    return best


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
    """Each term's weight: inverse document frequency, raised for names."""
    out = {}
    for term in terms:
        idf = math.log((total + 1) / (df.get(term, 0) + 1)) + 1.0
        out[term] = idf * (NAME_BOOST if term in named else 1.0)
    return out


def unit(weighted: Mapping[str, float]) -> dict[str, float]:
    """``weighted`` scaled to length one (empty stays empty)."""
    norm = math.sqrt(sum(w * w for w in weighted.values()))
    return {t: w / norm for t, w in weighted.items()} if norm > 0 else {}


def top_terms(weighted: Mapping[str, float], count: int = TOP_TERMS) -> list[str]:
    """The terms that say most about an item: the ones worth looking up in the index."""
    return [t for t, _w in sorted(weighted.items(), key=lambda tw: (-tw[1], tw[0]))[:count]]


def scale(item_ms: int, origin_ms: int, half_life_hours: float) -> float:
    """How much an entry of time ``item_ms`` weighs in a centroid begun at ``origin_ms``:
    doubling every half-life, so later entries outweigh earlier ones."""
    doublings = (item_ms - origin_ms) / (half_life_hours * 3_600_000)
    return float(2.0 ** max(-MAX_DOUBLINGS, min(MAX_DOUBLINGS, doublings)))


def contribution(
    weighted: Mapping[str, float], item_ms: int, origin_ms: int, half_life_hours: float
) -> dict[str, float]:
    """What one entry adds to its story's centroid."""
    k = scale(item_ms, origin_ms, half_life_hours)
    return {t: w * k for t, w in unit(weighted).items()}


def capped(centroid: Mapping[str, float], cap: int = PROFILE_TERMS) -> dict[str, float]:
    """The ``cap`` heaviest terms of a centroid (ties by term)."""
    if len(centroid) <= cap:
        return dict(centroid)
    return dict(sorted(centroid.items(), key=lambda tw: (-tw[1], tw[0]))[:cap])


def gap_hours(item_ms: int, profile: Profile) -> float:
    """How far (hours) an item's time lies outside the span of its story's item times."""
    if not profile.first_ms and not profile.last_ms:
        return 0.0
    first = min(profile.first_ms or profile.last_ms, profile.last_ms or profile.first_ms)
    last = max(profile.first_ms, profile.last_ms)
    return max(0, first - item_ms, item_ms - last) / 3_600_000


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two sparse vectors (0 if either is empty)."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    if dot <= 0:
        return 0.0
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    return dot / (na * nb)


def score(
    weighted: Mapping[str, float], profile: Profile, item_ms: int, policy: SimilarityPolicy
) -> float:
    """How well an item (term weights at time ``item_ms``) fits a story: cosine with the
    story's centroid, times its nearness in item time."""
    gap = gap_hours(item_ms, profile)
    if gap > policy.window_hours:
        return 0.0
    near: float = 0.5 ** (gap / policy.half_life_hours)
    return cosine(weighted, capped(profile.centroid)) * near


def choose(
    scored: Sequence[tuple[str, float]], policy: SimilarityPolicy, bar: float | None = None
) -> tuple[str | None, float]:
    """The story an item should join among scored candidates, with its score: the best, if
    it reaches ``bar`` (default: the policy's threshold) and beats the runner-up by the
    margin; else ``(None, best)``."""
    ranked = sorted(scored, key=lambda ss: (-ss[1], ss[0]))
    if not ranked:
        return None, 0.0
    best, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if top >= (policy.threshold if bar is None else bar) and top - runner_up >= policy.margin:
        return best, top
    return None, top


def bridged(
    chosen: str,
    scored: Sequence[tuple[str, float]],
    profiles: Mapping[str, Profile],
    bar: float,
    policy: SimilarityPolicy,
) -> tuple[tuple[str, str], ...]:
    """The merges an item joining ``chosen`` calls for (see the module docstring), as
    (into, merged) pairs: every story of the group goes into the oldest (by creation, then
    id), so two workers seeing the same group merge the same way and never in a cycle."""
    if policy.merge_factor <= 0 or not _mergeable(profiles.get(chosen)):
        return ()
    mine = capped(profiles[chosen].centroid)
    group = {chosen}
    for story, found in scored:
        other = profiles.get(story)
        if story in group or found < policy.merge_factor * bar or not _mergeable(other):
            continue
        assert other is not None
        if cosine(mine, capped(other.centroid)) >= policy.merge_alike:
            group.add(story)
    if len(group) < 2:
        return ()
    into = min(group, key=lambda s: (profiles[s].created_ms, s))
    return tuple((into, s) for s in sorted(group - {into}))


def _mergeable(profile: Profile | None) -> bool:
    return (
        profile is not None
        and bool(profile.centroid)
        and profile.created_ms > 0
        and not profile.edited
    )
