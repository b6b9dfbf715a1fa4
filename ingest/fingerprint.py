"""Near-duplicate fingerprints: MinHash signatures and LSH band keys. Pure.

Two items are near-duplicates when the Jaccard similarity of their *content words* (lowercase,
stop words dropped, light suffix stemming) is at least :data:`DUPLICATE_THRESHOLD`. The words
come from the title and the lead (the first :data:`LEAD_WORDS` words of the text): that is the
part of a wire item that survives republication, and it is what the threshold was calibrated
on (STS Benchmark news pairs; see docs/design-notes.md and ``bench/calibrate_dedupe.py``).

A signature holds :data:`PERMUTATIONS` minimum hashes; the fraction of positions two signatures
share estimates their Jaccard similarity. For lookup the signature is cut into :data:`BANDS`
bands of :data:`ROWS` values; items sharing any band are candidates (with ROWS = 2 an item at
the threshold shares a band with probability about 0.98), and only candidates are compared.
"""

from __future__ import annotations

import hashlib
import random
import re
import struct
from collections.abc import Iterable, Sequence
from functools import lru_cache

PERMUTATIONS = 64
ROWS = 2
BANDS = PERMUTATIONS // ROWS
LEAD_WORDS = 40
DUPLICATE_THRESHOLD = 0.34
"""Jaccard at or above which two items with a body are the same copy (calibrated; see above)."""
SHORT_DUPLICATE_THRESHOLD = 0.5
"""The same for items too short to tell a re-sent report from another report on the same event
by a third of their words: a headline alone. "Sony Agrees To Sell Movies And TV Shows Via
Comcast" and "Comcast Digital Store Gets Sony Movies, TV Shows" share 5 of 11 words (0.45) and
are two reports; "EBay rejects Icahn board nominees, asks investors to do same" and "...,
urges investors to do same" share 8 of 10 and are one. Calibrated on the STS news pairs with
every pair scored (at least 4: the same; anything less, the middle band included, not), as
``bench/calibrate_dedupe.py`` prints; checked on the real headlines of uci-news-dev."""
COPY_MIN_TERMS = 20
"""Content words both sides need (title and lead, about 48 words of text) for the lower bar."""


def copy_bar(terms: int) -> float:
    """The Jaccard a near copy needs when the shorter of the two has ``terms`` content words."""
    return DUPLICATE_THRESHOLD if terms >= COPY_MIN_TERMS else SHORT_DUPLICATE_THRESHOLD


_PRIME = (1 << 61) - 1
_MASK = (1 << 32) - 1
_rng = random.Random(20261129)  # fixed: signatures must agree across processes and releases
_COEFFS = tuple((_rng.randrange(1, _PRIME), _rng.randrange(0, _PRIME)) for _ in range(PERMUTATIONS))
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    """a an the of to in on for and or is are was were be been being by with at from as that
    this it its he she they them his her their we you i said says say will would could should
    has have had but not no after over into about up out new more than who what when where
    which there also can may might just other some any all""".split()  # noqa: SIM905
)
Signature = tuple[int, ...]


def words(text: str) -> frozenset[str]:
    """The content words of ``text``: lowercase, no stop words, plural and tense endings cut."""
    return frozenset(_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP)


def lead(title: str, body_text: str) -> str:
    """The part of an item that is fingerprinted: its title and the opening of its text."""
    return f"{title} {' '.join(body_text.split()[:LEAD_WORDS])}"


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > 4 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=65536)
def _base_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")


def signature(terms: Iterable[str]) -> Signature:
    """The MinHash signature of a set of terms (all-ones for an empty set, matching nothing)."""
    return _signature(frozenset(terms))


def _signature(terms: frozenset[str]) -> Signature:
    if not terms:
        return (_MASK,) * PERMUTATIONS
    return tuple(map(min, zip(*(_hashes(t) for t in terms), strict=True)))


@lru_cache(maxsize=4096)
def _hashes(word: str) -> tuple[int, ...]:
    """The word's value under every permutation (news vocabulary repeats: kept)."""
    h = _base_hash(word)
    return tuple(((a * h + b) % _PRIME) & _MASK for a, b in _COEFFS)


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity: the share of positions where the signatures agree."""
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / PERMUTATIONS


@lru_cache(maxsize=4096)
def bands(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The LSH band keys of an item's (or a stored record's) terms. Asked for several times
    per item (evidence, claims, index writes): kept for the last few thousand, which covers
    the items of every document a worker has in flight (a cache of one document's worth was
    evicted by the others before the item's next step, and the signature computed again)."""
    return band_keys(_signature(frozenset(terms)))


def band_keys(sig: Signature) -> tuple[str, ...]:
    """One key per band: the band's index and its values, for the LSH index (what is asked
    for again and again is :func:`bands`, which keeps them)."""
    return tuple(
        f"{band}:{'.'.join(f'{v:x}' for v in sig[band * ROWS : (band + 1) * ROWS])}"
        for band in range(BANDS)
    )


def pack(sig: Signature) -> bytes:
    """A compact form for storage: 4 bytes per value."""
    return struct.pack(f">{PERMUTATIONS}I", *sig)


def unpack(data: bytes) -> Signature:
    return tuple(struct.unpack(f">{PERMUTATIONS}I", data))


def best_match(sig: Signature, candidates: Sequence[tuple[str, Signature]]) -> tuple[str, float]:
    """The most similar candidate and its similarity; ``("", 0.0)`` when there are none."""
    best, score = "", 0.0
    for name, other in candidates:
        value = similarity(sig, other)
        if value > score:
            best, score = name, value
    return best, score
