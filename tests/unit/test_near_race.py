"""Two near copies entering the near-copy index at the same moment: exactly one yields.

:func:`ingest.dedupe.won_race` decides, from what one side read, whether the other won. Per
LSH bucket exactly one of two racing entries sees the other (the one whose script ran second), so
every split of their shared buckets between them is a possible race; in each, exactly one of
the two must yield, whichever has the smaller id.
"""

from __future__ import annotations

import random

from ingest import fingerprint
from ingest.dedupe import NearRecord, won_race
from ingest.model import Known

OWL = "bronze owl statuette stolen ostrava city museum march parcel front desk curator"
OWL_EDITED = "bronze owl statuette taken ostrava city museum march parcel desk curator note"


def bands(text: str) -> list[str]:
    return list(fingerprint.band_keys(fingerprint.signature(text.split())))


def yields(me: str, my_text: str, other: str, other_text: str, first_for: set[str]) -> bool:
    """Whether ``me`` yields to ``other``, having seen it in the buckets ``other`` entered
    first (``first_for``)."""
    seen = {band: ({other} if band in first_for else set()) for band in bands(my_text)}
    if not any(seen.values()):
        return False  # never saw it: not a candidate at all
    record = NearRecord(other, Known(other, "story", 1, ""), 0, tuple(other_text.split()))
    return won_race(record, me, seen)


def splits(shared: list[str]) -> list[set[str]]:
    """Ways the shared buckets can split between the two: none, all, every prefix, and some
    random subsets."""
    rng = random.Random(7)
    found = [set(shared[:k]) for k in range(len(shared) + 1)]
    return found + [{b for b in shared if rng.random() < 0.5} for _ in range(50)]


def test_the_copies_share_buckets() -> None:
    assert len(set(bands(OWL)) & set(bands(OWL_EDITED))) >= 2


def test_whatever_the_interleaving_exactly_one_yields() -> None:
    shared = [b for b in bands(OWL) if b in bands(OWL_EDITED)]
    for a_id, b_id in (("a1", "b2"), ("b1", "a2")):  # each side once with the smaller id
        for a_first in splits(shared):
            b_first = set(shared) - a_first
            a_yields = yields(a_id, OWL, b_id, OWL_EDITED, b_first)
            b_yields = yields(b_id, OWL_EDITED, a_id, OWL, a_first)
            assert a_yields != b_yields, (a_id, b_id, sorted(a_first))


def test_an_entry_that_was_everywhere_first_wins_whatever_its_id() -> None:
    shared = set(bands(OWL)) & set(bands(OWL_EDITED))
    assert yields("a-newer", OWL_EDITED, "z-older", OWL, shared)
    assert not yields("z-older", OWL, "a-newer", OWL_EDITED, set())
