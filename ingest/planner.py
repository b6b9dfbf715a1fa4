"""Decide and assign every item of one document: the pure heart of a poll.

::

    for each item, in document order:
        dedupe   item + what the store knows          -> NEW / UPDATE / DUPLICATE / KILL / ...
        assign   decision + story evidence            -> story (existing or new)

What earlier items of the same document decided counts for later ones, as if they were stored
already: a later item with the same URL or the same copy is theirs; a story key, a page or a
subject an earlier item opened a story for leads to that story. An identity repeated in one
document is taken once, at its first occurrence (feeds list newest first); repeats count under
``None``. UNCHANGED and EXPIRED decisions are counted but not planned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ingest import similar
from ingest.dedupe import DedupePolicy, Evidence, decide
from ingest.model import Action, Decision, Item, Known, Linking, Plan
from ingest.stories import StoryEvidence, assign, judged


@dataclass(frozen=True, slots=True)
class Lookup:
    """What one item would add to the story index (see ingest.store.story_index)."""

    keys: tuple[str, ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    title: str = ""
    rule_key: str | None = None
    at_ms: int = 0
    """The item's own time (ms): what story windows and decay are measured on."""

    def linking(self) -> Linking:
        return Linking(
            keys=self.keys,
            top_terms=tuple(similar.top_terms(self.weights)),
            title=self.title,
            vector=tuple(sorted(similar.unit(self.weights).items())),
        )


@dataclass
class _Document:
    """What the document's earlier items decided, for the later ones."""

    by_url: dict[str, Known] = field(default_factory=dict)
    by_copy: dict[str, Known] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    credited: dict[str, str] = field(default_factory=dict)
    """Entries this document's items were credited on as copies, with their links."""
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)
    """What this document's items added to each story's centroid (unit vectors, summed)."""


def plan(
    items: Sequence[Item],
    evidence: Sequence[Evidence],
    stories: Sequence[StoryEvidence] | Mapping[str, str],
    *,
    now: datetime,
    policy: DedupePolicy | None = None,
    lookups: Sequence[Lookup] | None = None,
    similarity: similar.SimilarityPolicy | None = None,
) -> tuple[list[Plan], Counter[Action | None]]:
    """Plans for the items of one document (see the module docstring). ``stories`` is the
    story evidence of each item, or simply the stories of known pages."""
    if isinstance(stories, Mapping):
        pages = stories
        stories = [StoryEvidence(page=pages.get(i.page_url or "")) for i in items]
    lookups = lookups or [Lookup() for _ in items]
    plans: list[Plan] = []
    counts: Counter[Action | None] = Counter()
    seen: set[str] = set()
    doc = _Document()
    for item, found, story, lookup in zip(items, evidence, stories, lookups, strict=True):
        if item.identity in seen:
            counts[None] += 1
            continue
        seen.add(item.identity)
        found = replace(
            found,
            by_url=found.by_url or (doc.by_url.get(item.url) if item.url else None),
            by_copy=found.by_copy or (doc.by_copy.get(item.copy_key) if item.copy_key else None),
            credited={**doc.credited, **found.credited},
        )
        decision = decide(item, found, now, policy)
        counts[decision.action] += 1
        if decision.action in (Action.UNCHANGED, Action.EXPIRED):
            continue
        story = judged(
            story,
            lookup.weights,
            lookup.at_ms,
            len(item.terms),
            similarity or similar.SimilarityPolicy(),
        )
        story = _with_document(story, item, lookup, doc, similarity)
        assignment = assign(decision, story, similarity)
        known = found.known or (
            (found.by_url or found.by_copy) if decision.action is Action.UPDATE else None
        )
        if decision.action in (Action.NEW, Action.UPDATE):
            _remember(doc, item, decision, assignment.story_id, lookup)
        elif decision.action is Action.DUPLICATE:  # a later copy of it here is a second one
            doc.credited.setdefault(decision.entry_id, item.url or "")
        plans.append(Plan(item, decision, assignment, known, lookup.linking()))
    return plans, counts


def _with_document(
    story: StoryEvidence,
    item: Item,
    lookup: Lookup,
    doc: _Document,
    policy: similar.SimilarityPolicy | None,
) -> StoryEvidence:
    """The story evidence of ``item`` plus what the document's earlier items established."""
    if story.rule is None and lookup.rule_key in doc.keys:
        story = replace(story, rule=doc.keys[lookup.rule_key or ""])
    if story.keyed is None:
        keyed = next((doc.keys[k] for k in lookup.keys if k in doc.keys), None)
        story = replace(story, keyed=keyed)
    if story.page is None and item.page_url in doc.pages:
        story = replace(story, page=doc.pages[item.page_url or ""])
    if lookup.weights and doc.profiles:
        rules = policy or similar.SimilarityPolicy()
        scored = {story.similar: story.score} if story.similar is not None else {}
        for sid, centroid in doc.profiles.items():
            # The document's items are one moment of one source: time is no evidence here.
            profile = similar.Profile(centroid, lookup.at_ms, lookup.at_ms)
            score = similar.score(lookup.weights, profile, lookup.at_ms, rules)
            if score > 0:
                scored[sid] = max(score, scored.get(sid, 0.0))
        if scored:
            bar = rules.threshold_for(len(lookup.weights))
            best, top = similar.choose(list(scored.items()), rules, bar)
            story = replace(story, similar=best, score=top, bar=bar)
    return story


def _remember(
    doc: _Document, item: Item, decision: Decision, story_id: str, lookup: Lookup
) -> None:
    if decision.action is Action.NEW:
        record = Known(decision.entry_id, story_id, 1, item.content_hash, source_id=item.source_id)
        if item.url:
            doc.by_url.setdefault(item.url, record)
        if item.copy_key:
            doc.by_copy.setdefault(item.copy_key, record)
    if item.page_url:
        doc.pages.setdefault(item.page_url, story_id)
    for key in lookup.keys:
        doc.keys.setdefault(key, story_id)
    centroid = doc.profiles.setdefault(story_id, {})
    for term, weight in similar.unit(lookup.weights).items():
        centroid[term] = centroid.get(term, 0.0) + weight
