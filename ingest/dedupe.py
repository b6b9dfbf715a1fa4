"""Is this item new, a new version, another source's copy, a withdrawal, or nothing? Pure.

The decision looks at the item and at the evidence the store found for it, and at ``now``:

* ``known``: what we hold for the same source and identity;
* ``by_url``: the entry that first carried the item's canonical URL: across sources the same
  canonical URL is the same item (within one source ids decide: a live page's updates all
  carry the page's address);
* ``by_copy``: the entry with word-for-word the same copy;
* ``near``: the most similar entry of another source by content words (MinHash/LSH
  candidates, compared exactly), with its similarity and the length of the shorter text. A
  copy is the same report, not another report on the same event: with a body (title and lead)
  a third of the words in common makes a copy, a headline alone needs half (see
  :func:`ingest.fingerprint.copy_bar`); another report is a new entry of the same story.

Identity is not version. A new version needs changed content; an explicit version number
orders versions (an older one arriving late is stale), and so does the item's updated time
when neither side has a number. Changes without an explicit version are capped per item
(``hash_change_cap`` in ``hash_change_window``) so a feed rewriting a counter every minute
cannot flood subscribers; corrections always pass. There is no time high-water mark per
source: an unknown item is new however old its date, unless it is dated before the retention
window (``max_age``). Then it is EXPIRED and not taken: its entry and index keys would expire
at once, and if we held it once, they have; taking it again would republish a purged item as
news. (An undated item has no such date: it is dated when first seen.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ingest import fingerprint
from ingest.fingerprint import COPY_MIN_TERMS, DUPLICATE_THRESHOLD, SHORT_DUPLICATE_THRESHOLD
from ingest.model import Action, Decision, Item, Known, to_ms
from ingest.normalize import identity_of

NEAR_WINDOW_MS = 3 * 24 * 3600 * 1000
"""Near copies are looked for among entries of the last three days only."""

Near = tuple[Known | None, float, int | None]
"""A near copy: its record, the Jaccard similarity, the shorter side's word count."""


@dataclass(frozen=True, slots=True)
class NearRecord:
    """What the near-copy index holds of one entry: its id, record, item time and words."""

    entry_id: str
    known: Known
    at_ms: int
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    known: Known | None = None
    by_url: Known | None = None
    by_copy: Known | None = None
    near: Known | None = None
    near_score: float = 0.0
    near_terms: int | None = None
    """Content words of the shorter of the item and its near copy (None: long enough)."""
    credited: Mapping[str, str] = field(default_factory=dict)
    """For the entries above of other sources: the link this item's source is already
    credited with on each (its copy of it), by entry id."""
    candidates: tuple[NearRecord, ...] = ()
    """As read from the near-copy index: entries sharing buckets with the item, most shared
    first. Unless ``near`` is given, :func:`decide` picks the nearest (:func:`nearest`)."""


@dataclass(frozen=True, slots=True)
class DedupePolicy:
    hash_change_cap: int = 5
    hash_change_window: float = 24 * 3600.0
    near_threshold: float = DUPLICATE_THRESHOLD
    short_near_threshold: float = SHORT_DUPLICATE_THRESHOLD
    """The bar for texts under COPY_MIN_TERMS content words (a headline alone)."""
    max_age: float | None = None
    """Seconds: an unknown item whose newest date is older than this is not taken (the
    retention window: such an item was purged already, or would be at once). None: no limit."""


def entry_id(source_id: str, identity: str) -> str:
    """The stable id of the entry an identity maps to: the same input always gives the same id."""
    digest = hashlib.sha256(f"{source_id}\x00{identity}".encode()).hexdigest()
    return digest[:20]


def decide(
    item: Item,
    evidence: Evidence | Known | None,
    now: datetime | None = None,
    policy: DedupePolicy | None = None,
) -> Decision:
    """The verdict for ``item``; see the module docstring. (A bare ``Known`` is accepted as
    the evidence of an item known by identity and nothing else.)"""
    if not isinstance(evidence, Evidence):
        evidence = Evidence(known=evidence)
    policy = policy or DedupePolicy()
    if evidence.known is not None:
        return _known(item, evidence.known, now, policy)
    own_id = entry_id(item.source_id, item.identity)
    if _too_old(item, now, policy):
        return Decision(Action.EXPIRED, own_id, 0, reason="dated before the retention window")
    for owner, why in ((evidence.by_url, "same URL"), (evidence.by_copy, "same copy")):
        if owner is not None and owner.entry_id == own_id:
            continue  # our own claim, from a store interrupted before its identity record
        # One source's items with distinct ids are distinct even on one URL: live pages list
        # every update under the page's address. Across sources, one URL is one item.
        if owner is not None and not (why == "same URL" and owner.source_id == item.source_id):
            # The same words under a link of its own are another item of the source (an
            # aggregator's feed carrying one wire story from two publishers), not a re-send.
            relinked = item.url is not None and (
                evidence.by_url is None or evidence.by_url.entry_id != owner.entry_id
            )
            return _owned(item, owner, why, evidence.credited, relinked=relinked)
    if item.killed:
        return Decision(Action.KILL, own_id, 0, reason="withdrawn before we saw it")
    near, near_score, near_terms = (
        (evidence.near, evidence.near_score, evidence.near_terms)
        if evidence.near is not None or not evidence.candidates
        else nearest(item, evidence.candidates)
    )
    short = near_terms is not None and near_terms < COPY_MIN_TERMS
    bar = (
        max(policy.short_near_threshold, policy.near_threshold) if short else policy.near_threshold
    )
    close = near is not None and near_score >= bar
    if near is not None and close and near.source_id != item.source_id:
        why = f"near copy ({near_score:.2f})"
        return _owned(item, near, why, evidence.credited)
    return Decision(Action.NEW, own_id, 1)


def nearest(item: Item, candidates: Sequence[NearRecord]) -> Near:
    """The most similar recent candidate of another source, by exact Jaccard of words, with
    the content words of the shorter of the two."""
    mine, when = set(item.terms), to_ms(item.published)
    best: Near = (None, 0.0, None)
    for record in candidates:
        found = _likeness(item, mine, when, record)
        if found is not None and found[0] > best[1]:
            best = (record.known, *found)
    return best


def may_be_near(
    item: Item, candidates: Sequence[NearRecord], policy: DedupePolicy
) -> list[NearRecord]:
    """The candidates :func:`decide` could file ``item`` against as a near copy, in order:
    of another source, recent, and at least as alike as the lowest bar (every bar is at least
    ``policy.near_threshold``). Leaving the others out never changes what :func:`nearest`
    finds close enough: it picks the most alike, which is either among these or below
    every bar."""
    mine, when = set(item.terms), to_ms(item.published)
    return [
        record
        for record in candidates
        if (found := _likeness(item, mine, when, record)) is not None
        and found[0] >= policy.near_threshold
    ]


def _likeness(
    item: Item, mine: set[str], when: int, record: NearRecord
) -> tuple[float, int] | None:
    """The Jaccard of words of ``item`` (its words ``mine``, its time ``when``) with a
    candidate, and the shorter side's word count; None for one of the item's own source or
    outside the near-copy window."""
    if record.known.source_id == item.source_id or abs(record.at_ms - when) > NEAR_WINDOW_MS:
        return None
    theirs = set(record.terms)
    score = len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0
    return score, min(len(mine), len(theirs))


def won_race(other: NearRecord, mine: str, before: Mapping[str, set[str]]) -> bool:
    """Whether entry ``other`` won the race into the near-copy index against entry ``mine``,
    which found ``before`` in its buckets (band -> the entries there before it): ``other``
    was in every bucket they share before ``mine`` entered, or they saw each other (entered
    at the same moment) and its id is the smaller. Both sides reach the same verdict from
    what they read, so exactly one of two racing near copies is stored."""
    theirs = set(fingerprint.bands(other.terms))
    shared = [band for band in before if band in theirs]
    return all(other.entry_id in before[band] for band in shared) or other.entry_id < mine


def _too_old(item: Item, now: datetime | None, policy: DedupePolicy) -> bool:
    if policy.max_age is None or now is None or not item.dated:
        return False
    newest = max(item.published, item.updated)
    return (now - newest).total_seconds() > policy.max_age


def _owned(
    item: Item, owner: Known, why: str, credited: Mapping[str, str], *, relinked: bool = False
) -> Decision:
    """An unknown identity whose URL or copy belongs to an entry we hold."""
    if owner.killed:
        return Decision(
            Action.BLOCKED,
            owner.entry_id,
            owner.version,
            owner.story_id,
            f"{why} as a killed entry",
        )
    if owner.source_id == item.source_id and relinked and not owner.killed:
        own_id = entry_id(item.source_id, item.identity)
        return Decision(Action.NEW, own_id, 1, owner.story_id, "the same words, another link")
    if owner.source_id == item.source_id:  # word for word what we hold, re-sent under a new id
        return Decision(
            Action.UNCHANGED,
            owner.entry_id,
            owner.version,
            owner.story_id,
            "re-sent under a new id",
        )
    if item.killed:  # another source withdrawing its copy: the original stands
        return Decision(
            Action.UNCHANGED, owner.entry_id, owner.version, owner.story_id, "a duplicate withdrawn"
        )
    held = credited.get(owner.entry_id)
    if held is not None and held != (item.url or ""):
        # The source is credited with another copy of that entry already: one credit per
        # source and entry, so this one is an entry of its own, in the same story, or the
        # source's second copy would be in no feed at all.
        own_id = entry_id(item.source_id, item.identity)
        return Decision(Action.NEW, own_id, 1, owner.story_id, f"a second copy ({why})")
    return Decision(Action.DUPLICATE, owner.entry_id, owner.version, owner.story_id, why)


def _known(item: Item, known: Known, now: datetime | None, policy: DedupePolicy) -> Decision:
    def keep(reason: str) -> Decision:
        return Decision(Action.UNCHANGED, known.entry_id, known.version, known.story_id, reason)

    if known.killed:
        return Decision(Action.BLOCKED, known.entry_id, known.version, known.story_id, "killed")
    if item.killed:
        action = Action.UNCHANGED if known.alias else Action.KILL
        return Decision(action, known.entry_id, known.version, known.story_id, "withdrawn")
    if known.alias:
        return keep("a duplicate of another source's entry")
    if item.content_hash == known.content_hash:
        return keep("")
    if _stale(item, known):
        return keep("stale version")
    explicit = item.version is not None and (
        known.explicit_version is None or item.version > known.explicit_version
    )
    if not explicit and not item.correction and now is not None:
        window_start = to_ms(now) - int(policy.hash_change_window * 1000)
        recent = [t for t in known.hash_changes if t >= window_start]
        if len(recent) >= policy.hash_change_cap:
            return keep("too many changes without a version")
    return Decision(Action.UPDATE, known.entry_id, known.version + 1, known.story_id)


def _stale(item: Item, known: Known) -> bool:
    if item.version is not None and known.explicit_version is not None:
        return item.version < known.explicit_version
    return to_ms(item.updated) < known.updated_ms


def repair_identities(
    items: Sequence[Item], *, distrust: bool = False, keep: frozenset[str] = frozenset()
) -> tuple[list[Item], bool]:
    """Repair broken native ids in one document; return the items and whether ids collided.

    Two items of one document with the same native id but different content mean the feed's
    ids cannot be trusted (some feeds give every item the same GUID): those items fall back
    to their canonical URL, then their content hash (the rest of the identity chain). With
    ``distrust`` (the source collided before) every native id of the document is set aside but
    those in ``keep`` (ids already stored that do not collide here), so an item stored under
    its own id before the source lost our trust stays one entry.
    Items repeating an id *and* its content are real repeats and are left for the planner.
    """
    groups: dict[str, set[str]] = {}
    for item in items:
        if item.identity_kind == "native":
            groups.setdefault(item.identity, set()).add(item.content_hash)
    collided = {ident for ident, hashes in groups.items() if len(hashes) > 1}
    if not collided and not distrust:
        return list(items), False
    repaired = []
    for item in items:
        suspect = item.identity in collided or (distrust and item.identity not in keep)
        if item.identity_kind == "native" and suspect:
            ident, kind = identity_of(None, item.url, item.content_hash)
            item = replace(item, identity=ident, identity_kind=kind)
        repaired.append(item)
    return repaired, bool(collided)
