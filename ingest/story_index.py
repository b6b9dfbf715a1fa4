"""The story index in Redis: explicit story keys, and the inverted index of significant terms
that finds the most similar active story in a bounded number of reads.

Reads (:meth:`RedisStoryIndex.evidence`) take at most three round trips per document:

1. story keys, page stories, linked items, document frequencies of the document's terms;
2. for items nothing links, the recent stories of their most significant terms (lists capped
   at :data:`TERM_CAP` stories, newest first; read in full for the :data:`DEEP_TERMS` best
   terms, where a quiet story's names sit deep in a busy list, and :data:`SHALLOW` deep for
   the rest, which keeps the cost flat as the index grows);
3. the profiles (term sets) and ages of the few best candidates, scored exactly.

Writes are queued on the caller's pipeline with the entry they index: one script per term list
(add, trim to :data:`TERM_CAP`, expire) and one for all of an item's document frequencies, so
an item costs a dozen commands here rather than seventy (each command costs the client more
than the server).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis

from config.sources import StoryRule
from ingest import keys, similar
from ingest.connect import queue_gets, queue_script
from ingest.index import Retention
from ingest.model import Item, Known, Linking
from ingest.planner import Lookup
from ingest.stories import StoryEvidence, rule_for, story_keys

TERM_CAP = 50
DEEP_TERMS = 4
SHALLOW = 10
CANDIDATES = 5

# One term's list of recent stories (KEYS[1]): ARGV story, time ms, cap, ttl ms.
INDEX_TERM = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
# The document frequencies (KEYS[1], a hash): one more item holds each term of ARGV.
COUNT_TERMS = """
for _, term in ipairs(ARGV) do redis.call('HINCRBY', KEYS[1], term, 1) end
return #ARGV
"""


class RedisStoryIndex:
    """Story evidence reads and index writes over one Redis client owned by the caller."""

    def __init__(
        self, client: aioredis.Redis, retention: Retention, policy: similar.SimilarityPolicy
    ) -> None:
        self._r = client
        self.retention = retention
        self.policy = policy
        self._index_term = client.register_script(INDEX_TERM)
        self._count_terms = client.register_script(COUNT_TERMS)

    async def evidence(
        self, source_id: str, items: Sequence[Item], rules: Sequence[StoryRule], now_ms: int
    ) -> tuple[list[StoryEvidence], list[Lookup]]:
        """Story evidence for each item, and what each would add to the index if stored."""
        if not items:
            return [], []
        df, total = await self._frequencies({t for item in items for t in item.terms})
        lookups = [_lookup(item, rules, df, total) for item in items]
        pipe = self._r.pipeline(transaction=False)
        for item, lookup in zip(items, lookups, strict=True):
            queue_gets(pipe, [keys.story_key(k) for k in lookup.keys])  # one slot per key
            pipe.get(keys.page_story(item.page_url or ""))
            for link in item.links[:5]:
                pipe.get(keys.identity(source_id, link))
        replies = iter(await pipe.execute())
        found = [
            self._explicit(item, lookup, replies)
            for item, lookup in zip(items, lookups, strict=True)
        ]
        loose = [n for n, ev in enumerate(found) if not _linked(ev)]
        for n, (story, score) in zip(
            loose, await self._similar([lookups[n] for n in loose], now_ms), strict=True
        ):
            found[n] = replace(found[n], similar=story, score=score)
        return await self._follow_merges(found), lookups

    def _explicit(self, item: Item, lookup: Lookup, replies: Any) -> StoryEvidence:
        stories: list[str | None] = [next(replies) for _ in lookup.keys]
        rule_story = stories[0] if lookup.rule_key is not None and stories else None
        rest = stories[1:] if lookup.rule_key is not None else stories
        page = next(replies)
        linked = None
        for _ in item.links[:5]:
            raw = next(replies)
            if raw and linked is None:
                linked = Known.from_json(raw).story_id
        return StoryEvidence(
            rule=rule_story or None,
            linked=linked,
            keyed=next((s for s in rest if s), None),
            page=page or None,
        )

    async def _frequencies(self, terms: set[str]) -> tuple[dict[str, int], int]:
        ordered = sorted(terms)
        pipe = self._r.pipeline(transaction=False)
        pipe.get(keys.DOC_TOTAL)
        if ordered:
            pipe.hmget(keys.DOC_FREQUENCY, ordered)
        replies = await pipe.execute()
        counts = replies[1] if ordered else []
        return {t: int(c) for t, c in zip(ordered, counts, strict=True) if c}, int(replies[0] or 0)

    async def _similar(
        self, lookups: Sequence[Lookup], now_ms: int
    ) -> list[tuple[str | None, float]]:
        if not lookups:
            return []
        window = now_ms - int(self.policy.window_hours * 3_600_000)
        tops = [similar.top_terms(lk.weights) for lk in lookups]
        pipe = self._r.pipeline(transaction=False)
        for terms in tops:
            for rank, term in enumerate(terms):
                depth = TERM_CAP if rank < DEEP_TERMS else SHALLOW
                pipe.zrevrangebyscore(keys.term_stories(term), "+inf", window, start=0, num=depth)
        replies = iter(await pipe.execute())
        shortlists = []
        for lookup, terms in zip(lookups, tops, strict=True):
            votes: dict[str, float] = defaultdict(float)
            for term in terms:
                weight = lookup.weights[term]
                for story in next(replies):
                    votes[story] += weight
            shortlists.append(_shortlist(votes))
        profiles = await self._profiles(sorted({s for sl in shortlists for s in sl}))
        return [
            _best(lookup, shortlist, profiles, now_ms, self.policy)
            for lookup, shortlist in zip(lookups, shortlists, strict=True)
        ]

    async def _profiles(self, stories: Sequence[str]) -> dict[str, tuple[set[str], int]]:
        if not stories:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for story in stories:
            pipe.smembers(keys.story_terms(story))
            pipe.hget(keys.story_meta(story), "updated")
        replies = await pipe.execute()
        return {
            s: (set(replies[2 * n]), int(replies[2 * n + 1] or 0)) for n, s in enumerate(stories)
        }

    async def _follow_merges(self, found: list[StoryEvidence]) -> list[StoryEvidence]:
        """A story an editor merged into another hands its links to that one."""
        named = sorted(
            {s for ev in found for s in (ev.rule, ev.linked, ev.keyed, ev.page, ev.similar) if s}
        )
        if not named:
            return found
        pipe = self._r.pipeline(transaction=False)
        for story in named:
            pipe.hget(keys.story_meta(story), "merged_into")
        into = {s: m for s, m in zip(named, await pipe.execute(), strict=True) if m}
        if not into:
            return found

        def follow(story: str | None) -> str | None:
            for _ in range(5):  # merged into a story that was merged again
                if story in into:
                    story = into[story]
            return story

        return [
            replace(
                ev,
                rule=follow(ev.rule),
                linked=follow(ev.linked),
                keyed=follow(ev.keyed),
                page=follow(ev.page),
                similar=follow(ev.similar),
            )
            for ev in found
        ]

    # -- writes, queued on the caller's pipeline -----------------------------------------------

    def queue_item(
        self, pipe: Any, item: Item, story_id: str, linking: Linking, *, new: bool, now_ms: int
    ) -> None:
        """Index a stored entry: its keys, its terms in the story profile and the inverted
        index, and (for a new item) the document frequencies."""
        ttl = self.retention.entries_ms
        window = int(self.policy.window_hours * 3_600_000)
        for key in linking.keys:
            # A slugline or a rolling headline is reused by unrelated news weeks later ("WEATHER"):
            # it links only while the story is active. Rules and articles link for good.
            short = key.startswith(("slug:", "latest:"))
            pipe.set(keys.story_key(key), story_id, nx=True, px=window if short else ttl)
            if short:
                pipe.pexpire(keys.story_key(key), window)
        if linking.title:
            pipe.hsetnx(keys.story_meta(story_id), "title", linking.title)
        if item.terms:
            pipe.sadd(keys.story_terms(story_id), *item.terms)
            pipe.pexpire(keys.story_terms(story_id), ttl)
        for term in linking.top_terms:
            queue_script(
                pipe, self._index_term, keys.term_stories(term), story_id, now_ms, TERM_CAP, ttl
            )
        if new and item.terms:
            queue_script(pipe, self._count_terms, keys.DOC_FREQUENCY, *item.terms)
            pipe.incr(keys.DOC_TOTAL)
        if item.rolling and "#" in item.identity:
            parent = item.identity.split("#", 1)[0]
            sections = keys.article_sections(item.source_id, parent)
            pipe.sadd(sections, item.identity)
            pipe.pexpire(sections, ttl)


def _lookup(item: Item, rules: Sequence[StoryRule], df: Mapping[str, int], total: int) -> Lookup:
    rule = rule_for(item, rules)
    found = story_keys(item)
    rule_key = f"rule:{rule.key}" if rule is not None else None
    if rule_key is not None:
        found.insert(0, rule_key)
    weights = similar.weights(item.terms, frozenset(item.names), df, total)
    return Lookup(tuple(found), weights, rule.title if rule else "", rule_key)


def _linked(evidence: StoryEvidence) -> bool:
    return any((evidence.rule, evidence.linked, evidence.keyed, evidence.page))


def _best(
    lookup: Lookup,
    shortlist: Sequence[str],
    profiles: Mapping[str, tuple[set[str], int]],
    now_ms: int,
    policy: similar.SimilarityPolicy,
) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, 0.0)
    for story in shortlist:
        terms, updated = profiles.get(story, (set(), 0))
        score = similar.score(lookup.weights, terms, (now_ms - updated) / 3_600_000, policy)
        if score > best[1]:
            best = (story, score)
    return best


def _shortlist(votes: Mapping[str, float]) -> list[str]:
    """The :data:`CANDIDATES` stories with the most votes (ties by id), without sorting every
    story that got one: at 100k stories an item's terms name hundreds."""
    if len(votes) <= CANDIDATES:
        return sorted(votes, key=lambda s: (-votes[s], s))
    floor = heapq.nlargest(CANDIDATES, votes.values())[-1]
    return sorted((s for s, v in votes.items() if v >= floor), key=lambda s: (-votes[s], s))[
        :CANDIDATES
    ]
