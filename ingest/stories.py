"""Which story does an entry belong to? A pure decision over what the store found.

The rules, first match wins (explicit links before similarity):

1. an entry we already have stays in its story (all versions of an item are one entry; a
   duplicate is credited on the entry it duplicates; an entry an editor moved stays moved);
2. an editor's rule from the sources file (a headline pattern naming a story);
3. a link the item makes itself: ninjs ``associations`` naming an item we hold;
4. a story key: the sections of one rolling article; items sharing a slugline; items whose
   headline carries a rolling prefix ("The Latest:", "Live updates:") with the same rest;
5. an item on a page an earlier item came from (a live page's updates);
6. the most similar active story, if similar enough (see :mod:`ingest.similar`);
7. otherwise a new story, whose id derives from the entry id, so a replay of the same item
   after a crash names the same story.

Stories quiet for longer than the similarity window are closed: only rules 1 to 5 reach them,
so a late item on an old subject opens a new story unless it is linked to the old one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from config.sources import StoryRule
from ingest import similar
from ingest.model import Assignment, Decision, Item
from ingest.similar import Profile, SimilarityPolicy

ROLLING_PREFIX = re.compile(
    r"^\s*(?:the\s+latest|live\s+updates?|live\s+blog|live|latest\s+updates?)\s*:\s*", re.I
)
"""Headline prefixes that mark a rolling story. The colon matters: "The Latest Trend in
Sneakers" is a story about sneakers."""
_KEY_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class StoryEvidence:
    """The stories the store found an item linked to, by rule, link, key, page, similarity."""

    rule: str | None = None
    linked: str | None = None
    keyed: str | None = None
    page: str | None = None
    similar: str | None = None
    score: float = 0.0
    bar: float | None = None
    """The join bar for this item (it depends on its length); None: the policy's threshold."""
    merges: tuple[tuple[str, str], ...] = ()
    """Stories the item bridges, to merge if it joins ``similar`` (see similar.bridged)."""
    candidates: tuple[tuple[str, Profile], ...] | None = None
    """As read: the stories most like the item, best first, with what scoring needs of each
    (None: nothing was looked up, the item is linked); :func:`judged` scores them."""
    into: Mapping[str, str] = field(default_factory=dict)
    """As read: story -> the story it was merged into, for every story named above."""


def judged(
    evidence: StoryEvidence,
    weights: Mapping[str, float],
    at_ms: int,
    terms: int,
    policy: SimilarityPolicy,
) -> StoryEvidence:
    """The evidence as read, decided: the most similar candidate story if it is similar
    enough (see :func:`ingest.similar.choose`), the stories the item bridges, and every story
    named followed to the one it was merged into. ``weights`` and ``at_ms``: the item's term
    weights and time; ``terms``: its number of content words."""
    if evidence.candidates is not None:
        profiles = dict(evidence.candidates)
        scored = [
            (story, similar.score(weights, profile, at_ms, policy))
            for story, profile in evidence.candidates
        ]
        best, top = similar.choose(scored, policy, policy.threshold_for(len(weights)))
        merges = (
            similar.bridged(best, scored, profiles, policy.threshold_for(len(weights)), policy)
            if best is not None
            else ()
        )
        evidence = replace(
            evidence,
            similar=best,
            score=top,
            bar=policy.threshold_for(terms),
            merges=merges,
            candidates=None,
        )
    return _followed(evidence)


def _followed(evidence: StoryEvidence) -> StoryEvidence:
    """A story an editor (or the machine) merged into another hands its links to that one."""
    into = evidence.into
    if not into:
        return evidence
    return replace(
        evidence,
        rule=follow(evidence.rule, into),
        linked=follow(evidence.linked, into),
        keyed=follow(evidence.keyed, into),
        page=follow(evidence.page, into),
        similar=follow(evidence.similar, into),
        merges=tuple(
            (a, b)
            for a, b in ((follow(x, into), follow(y, into)) for x, y in evidence.merges)
            if a is not None and b is not None and a != b
        ),
        into={},
    )


def follow(story: str | None, into: Mapping[str, str]) -> str | None:
    """Where ``story`` lives now, following ``into`` (story -> the story it was merged into)."""
    for _ in range(6):
        if story is None or story not in into:
            break
        story = into[story]
    return story


def story_id_for(entry_id: str) -> str:
    """The id of a story opened by ``entry_id``: short, URL-safe and deterministic."""
    return hashlib.sha256(f"story\x00{entry_id}".encode()).hexdigest()[:12]


def rolling_headline(title: str) -> str | None:
    """The rest of a headline after a rolling prefix, or ``None`` if it has none."""
    found = ROLLING_PREFIX.match(title)
    if found is None:
        return None
    rest = title[found.end() :].strip()
    return rest or None


def normalize_key(text: str) -> str:
    return "-".join(_KEY_WORDS.findall(text.lower()))[:120]


def story_keys(item: Item) -> list[str]:
    """The keys that link ``item`` to a story explicitly, strongest first."""
    found = []
    if item.rolling and "#" in item.identity:
        parent = item.identity.split("#", 1)[0]
        found.append(f"article:{item.source_id}:{hashlib.sha1(parent.encode()).hexdigest()}")  # noqa: S324
    if item.slugline and normalize_key(item.slugline):
        found.append(f"slug:{normalize_key(item.slugline)}")
    rest = rolling_headline(item.title) or (item.article_title if item.rolling else None)
    if rest and normalize_key(rest):
        found.append(f"latest:{normalize_key(rest)}")
    return found


def rule_for(item: Item, rules: Sequence[StoryRule]) -> StoryRule | None:
    """The first editor rule that claims ``item`` (its pattern matches the headline, and the
    item's source is one the rule names, if it names any)."""
    for rule in rules:
        if rule.sources and item.source_id not in rule.sources:
            continue
        if re.search(rule.match, item.title):
            return rule
    return None


def assign(
    decision: Decision,
    evidence: StoryEvidence | str | None = None,
    policy: SimilarityPolicy | None = None,
) -> Assignment:
    """Pick the story for an entry (see the module docstring). A plain string as
    ``evidence`` is the story of the item's page, and nothing else."""
    if not isinstance(evidence, StoryEvidence):
        evidence = StoryEvidence(page=evidence)
    policy = policy or SimilarityPolicy()
    if decision.story_id is not None:
        return Assignment(decision.story_id, new_story=False)
    for found in (evidence.rule, evidence.linked, evidence.keyed, evidence.page):
        if found is not None:
            return Assignment(found, new_story=False)
    bar = policy.threshold if evidence.bar is None else evidence.bar
    if evidence.similar is not None and evidence.score >= bar:
        return Assignment(evidence.similar, new_story=False, merges=evidence.merges)
    return Assignment(story_id_for(decision.entry_id), new_story=True)
