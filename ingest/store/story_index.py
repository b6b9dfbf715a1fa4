"""The story index in Redis: explicit story keys, and the inverted index of significant terms
that finds the most similar active story in a bounded number of reads.

Reads (:meth:`RedisStoryIndex.evidence`) take at most three round trips per document:

1. story keys, page stories, linked items, document frequencies of the document's terms;
2. for items nothing links, the recent stories of their most significant terms (lists capped
   at :data:`TERM_CAP` stories, newest first; read in full for the :data:`DEEP_TERMS` best
   terms, where a quiet story's names sit deep in a busy list, and :data:`SHALLOW` deep for
   the rest, which keeps the cost flat as the index grows);
3. the profiles (capped centroids and item-time spans) of the few best candidates, scored
   exactly (see :mod:`ingest.similar`).

Term lists are scored by item time, not wall time, and read around the item's own time, so a
replay or a backfill finds the same candidates live ingestion did.

Writes are queued on the caller's pipeline with the entry they index: one script per term list
(add, trim to :data:`TERM_CAP`, expire) and one for all of an item's document frequencies, so
an item costs a dozen commands here rather than seventy (each command costs the client more
than the server).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis

from config.sources import StoryRule
from ingest import keys, similar
from ingest.model import Item, Known, Linking, to_ms
from ingest.planner import Lookup
from ingest.store import scripts
from ingest.store.connect import is_cluster, queue_gets
from ingest.store.dedupe_index import Retention
from ingest.stories import StoryEvidence, rule_for, story_keys

TERM_CAP = 50
DEEP_TERMS = 4
SHALLOW = 10
CANDIDATES = 5
OPENING_TERMS = 24
"""Terms of an opening item's vector kept in the list of openings (the heaviest)."""

OPENINGS = 64
"""Recent openings kept: far more than the stories opened while one poll is being stored."""
OPENINGS_TTL_MS = 10 * 60 * 1000


class RedisStoryIndex:
    """Story evidence reads and index writes over one Redis client owned by the caller."""

    def __init__(
        self, client: aioredis.Redis, retention: Retention, policy: similar.SimilarityPolicy
    ) -> None:
        self._r = client
        self.retention = retention
        self.policy = policy
        self._one_server = not is_cluster(client)
        """An item's terms are read and indexed by one script each on one server; a cluster
        keeps them in many slots, so there they go as one command per term."""

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
        shortlisted, merged = await self._similar([lookups[n] for n in loose])
        for n, candidates in zip(loose, shortlisted, strict=True):
            found[n] = replace(found[n], candidates=candidates)
        return await self._with_merges(found, merged), lookups

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
        self, lookups: Sequence[Lookup]
    ) -> tuple[list[tuple[tuple[str, similar.Profile], ...]], dict[str, str]]:
        """For each lookup, the stories most like it (the shortlist of its terms' votes),
        with their profiles: what :func:`ingest.stories.judged` scores. Also, for every story
        shortlisted, the story it was merged into ('' if none), read with its profile."""
        if not lookups:
            return [], {}
        window = self.policy.window_ms
        tops = [similar.top_terms(lk.weights) for lk in lookups]
        pipe = self._r.pipeline(transaction=False)
        for lookup, terms in zip(lookups, tops, strict=True):
            depths = [TERM_CAP if rank < DEEP_TERMS else SHALLOW for rank in range(len(terms))]
            span = (lookup.at_ms + window, lookup.at_ms - window)
            names = [keys.term_stories(term) for term in terms]
            if self._one_server and names:
                scripts.queue(
                    pipe,
                    scripts.READ_TERMS,
                    keys=names,
                    args={"max_ms": span[0], "min_ms": span[1]},
                    rest=depths,
                )
                continue
            for name, depth in zip(names, depths, strict=True):
                pipe.zrevrangebyscore(name, span[0], span[1], start=0, num=depth)
        replies = iter(await pipe.execute())
        shortlists = []
        for terms, lookup in zip(tops, lookups, strict=True):
            votes: dict[str, float] = defaultdict(float)
            found = (
                list(next(replies))
                if self._one_server and terms
                else [next(replies) for _ in terms]
            )
            for term, stories in zip(terms, found, strict=True):
                weight = lookup.weights[term]
                for story in stories:
                    votes[story] += weight
            shortlists.append(_shortlist(votes))
        profiles, merged = await self._profiles(sorted({s for sl in shortlists for s in sl}))
        shortlisted = [
            tuple((s, profiles[s]) for s in shortlist if s in profiles) for shortlist in shortlists
        ]
        return shortlisted, merged

    async def _profiles(
        self, stories: Sequence[str]
    ) -> tuple[dict[str, similar.Profile], dict[str, str]]:
        """The profiles of ``stories``, and the story each was merged into ('' if none)."""
        if not stories:
            return {}, {}
        pipe = self._r.pipeline(transaction=False)
        fields = ["first", "last", "closed", "created", "edited", "merged_into"]
        for story in stories:
            pipe.zrange(keys.story_profile(story), 0, -1, withscores=True)
            pipe.hmget(keys.story_meta(story), fields)
        replies = await pipe.execute()
        found = {}
        merged = {}
        for n, story in enumerate(stories):
            first, last, closed, created, edited, into = replies[2 * n + 1]
            merged[story] = str(into or "")
            # A story an editor closed is closed to similarity: an empty centroid scores 0.
            centroid = {} if closed else {str(t): float(w) for t, w in replies[2 * n]}
            found[story] = similar.Profile(
                centroid, int(first or 0), int(last or 0), int(created or 0), bool(edited)
            )
        return found, merged

    async def merges(
        self, stories: Iterable[str], known: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Story -> the story it was merged into, for those of ``stories`` merged away and
        for the stories those were merged into in turn (up to five steps); see
        :func:`ingest.stories.follow`. ``known``: stories whose mark was read already (with
        their profiles), to the story each was merged into ('' if none)."""
        into = {s: m for s, m in (known or {}).items() if m}
        asked = set(known or ())
        named = set(stories) | set(into.values())
        for _ in range(5):  # merged into a story that was merged again
            ask = sorted(named - into.keys() - asked)
            if not ask:
                break
            pipe = self._r.pipeline(transaction=False)
            for story in ask:
                pipe.hget(keys.story_meta(story), "merged_into")
            found = {s: str(m) for s, m in zip(ask, await pipe.execute(), strict=True) if m}
            asked.update(ask)
            into.update(found)
            named = set(found.values())
        return into

    async def _with_merges(
        self, found: list[StoryEvidence], merged: Mapping[str, str]
    ) -> list[StoryEvidence]:
        """The evidence with the merges of every story it names (see :meth:`merges`);
        ``merged``: the marks of the candidates, read with their profiles."""
        into = await self.merges(
            (s for ev in found for s in (ev.rule, ev.linked, ev.keyed, ev.page) if s), merged
        )
        if not into:
            return found
        return [replace(ev, into=into) for ev in found]

    async def open_stories(
        self, openings: Sequence[tuple[str, Linking, int]]
    ) -> list[list[similar.Opening]]:
        """Enter stories about to be opened (story id, the opening item's linking, its item
        time) in the list of recent openings; return for each the openings entered before it."""
        if not openings:
            return []
        priors = await self._enter_openings(openings)
        # Decode (and follow) each opening once, not once per prior that lists it.
        decoded: dict[str | bytes, similar.Opening] = {}
        for raw in (raw for prior in priors for raw in prior):
            if raw not in decoded:
                decoded[raw] = similar.Opening.from_json(raw)
        named = sorted({o.story_id for o in decoded.values()})
        into: dict[str, str] = {}
        if named:
            targets = await self._r.hmget(keys.STORY_OPENINGS_INTO, named)
            into = {s: str(t) for s, t in zip(named, targets, strict=True) if t}

        def follow(opening: similar.Opening) -> similar.Opening:
            story = opening.story_id
            for _ in range(5):  # an opening that joined one that had joined another
                story = into.get(story, story)
            return opening if story == opening.story_id else replace(opening, story_id=story)

        if into:
            decoded = {raw: follow(o) for raw, o in decoded.items()}
        return [[decoded[raw] for raw in prior] for prior in priors]

    async def _enter_openings(
        self, openings: Sequence[tuple[str, Linking, int]]
    ) -> list[list[str | bytes]]:
        """Push the openings in one pipeline; for each, the list as it was before it (raw).
        Each script after the first is told the opening pushed before it, and sends only what
        others pushed since: the rest is known here (see ``OPEN_STORY``)."""
        pipe = self._r.pipeline(transaction=False)
        pushed: list[str] = []
        for story_id, linking, at_ms in openings:
            heaviest = sorted(linking.vector, key=lambda tw: (-tw[1], tw[0]))[:OPENING_TERMS]
            record = similar.Opening(story_id, dict(heaviest), at_ms).to_json()
            args: dict[str, scripts.Arg] = {
                "opening_json": record,
                "cap": OPENINGS,
                "ttl_ms": OPENINGS_TTL_MS,
                "after": pushed[-1] if pushed else "",
            }
            scripts.queue(pipe, scripts.OPEN_STORY, keys=[keys.STORY_OPENINGS], args=args)
            pushed.append(record)
        priors: list[list[str | bytes]] = []
        for n, (since, *listed) in enumerate(await pipe.execute()):
            if int(since):  # the rest: the opening pushed before it, and what that one read
                listed = [*listed, pushed[n - 1], *priors[n - 1]][:OPENINGS]
            priors.append(listed)
        return priors

    async def opened_into(self, joined: Mapping[str, str]) -> None:
        """Record that the items about to open the stories of ``joined`` joined these others,
        so later openings that saw them are read as openings of those."""
        if not joined:
            return
        pipe = self._r.pipeline(transaction=False)
        for planned, story in joined.items():
            pipe.hset(keys.STORY_OPENINGS_INTO, planned, story)
        pipe.pexpire(keys.STORY_OPENINGS_INTO, OPENINGS_TTL_MS)
        await pipe.execute()

    # -- writes, queued on the caller's pipeline -----------------------------------------------

    def queue_item(
        self,
        pipe: Any,
        item: Item,
        story_id: str,
        entry_id: str,
        linking: Linking,
        *,
        new: bool,
    ) -> None:
        """Index a stored entry: its keys, its vector in the story's centroid, its significant
        terms in the inverted index (at its item time), and (for a new item) the document
        frequencies."""
        ttl = self.retention.entries_ms
        window = self.policy.window_ms
        at_ms = to_ms(item.published)
        for key in linking.keys:
            # A slugline or a rolling headline is reused by unrelated news weeks later ("WEATHER"):
            # it links only while the story is active. Rules and articles link for good.
            short = key.startswith(("slug:", "latest:"))
            pipe.set(keys.story_key(key), story_id, nx=True, px=window if short else ttl)
            if short:
                pipe.pexpire(keys.story_key(key), window)
        if linking.title:
            pipe.hsetnx(keys.story_meta(story_id), "title", linking.title)
        if linking.vector:
            pairs = [str(x) for term, weight in linking.vector for x in (term, repr(weight))]
            scripts.queue(
                pipe,
                scripts.ADD_PROFILE,
                keys=[
                    keys.story_profile(story_id),
                    keys.story_meta(story_id),
                    keys.story_contributed(story_id),
                ],
                args={
                    "entry_id": entry_id,
                    "item_ms": at_ms,
                    "half_life_ms": int(self.policy.half_life_hours * 3_600_000),
                    "cap": similar.PROFILE_TERMS,
                    "ttl_ms": ttl,
                },
                rest=pairs,
            )
        index: dict[str, scripts.Arg] = {
            "story_id": story_id,
            "item_ms": at_ms,
            "cap": TERM_CAP,
            "ttl_ms": ttl,
        }
        names = [keys.term_stories(term) for term in linking.top_terms]
        if self._one_server and names:  # one script for all the terms
            scripts.queue(pipe, scripts.INDEX_TERMS, keys=names, args=index)
        else:
            for name in names:
                scripts.queue(pipe, scripts.INDEX_TERM, keys=[name], args=index)
        if new and item.terms:
            scripts.queue(pipe, scripts.COUNT_TERMS, keys=[keys.DOC_FREQUENCY], rest=item.terms)
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
    return Lookup(
        tuple(found), weights, rule.title if rule else "", rule_key, to_ms(item.published)
    )


def _linked(evidence: StoryEvidence) -> bool:
    return any((evidence.rule, evidence.linked, evidence.keyed, evidence.page))


def _shortlist(votes: Mapping[str, float]) -> list[str]:
    """The :data:`CANDIDATES` stories with the most votes (ties by id), without sorting every
    story that got one: at 100k stories an item's terms name hundreds."""
    if len(votes) <= CANDIDATES:
        return sorted(votes, key=lambda s: (-votes[s], s))
    floor = heapq.nlargest(CANDIDATES, votes.values())[-1]
    return sorted((s for s, v in votes.items() if v >= floor), key=lambda s: (-votes[s], s))[
        :CANDIDATES
    ]
