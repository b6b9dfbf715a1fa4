"""The dedupe index in Redis: what is known about identities, URLs, copies and near copies.

Reads (:meth:`RedisIndex.evidence`) gather, for every item of a document, the
:class:`~ingest.dedupe.Evidence` the pure decision needs, in at most three round trips however
many items the document holds and however many entries are stored:

1. identity records (one MGET, all in the source's slot), URL and copy claims;
2. for items still unknown, their LSH bands (lists capped at :data:`BUCKET_CAP` entries, so a
   lookup reads a bounded number of candidates);
3. the records of the few best candidates, compared exactly on their content words.

Writes are queued on a caller's pipeline so they go out with the story writes they belong to,
except :meth:`RedisIndex.claim_near`, which enters a new item in the near-copy index *before*
it is stored, so two workers storing near copies of one wire at the same moment agree on which
of them becomes the entry (exact copies and URLs are settled by ``SET NX`` claims instead).
Every key here expires after the retention window; tombstones and the records of killed items
are rewritten with the (longer) tombstone retention.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis

from ingest import fingerprint, keys
from ingest.dedupe import Evidence, NearRecord, entry_id
from ingest.model import Item, Known, to_ms
from ingest.store import scripts
from ingest.store.connect import is_cluster, queue_gets

BUCKET_CAP = 24
"""Entries kept per LSH bucket: the newest win; old ones age out of lookups."""
CANDIDATES = 6
"""How many candidates (most shared bands first) are compared exactly per item."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long index keys, stories and tombstones live, in seconds."""

    entries: float = 30 * 24 * 3600.0
    tombstones: float = 365 * 24 * 3600.0

    @property
    def entries_ms(self) -> int:
        return int(self.entries * 1000)

    @property
    def tombstones_ms(self) -> int:
        return int(self.tombstones * 1000)


class RedisIndex:
    """Evidence reads and index writes over one Redis client owned by the caller."""

    def __init__(self, client: aioredis.Redis, retention: Retention) -> None:
        self._r = client
        self.retention = retention
        self._one_server = not is_cluster(client)
        """An item's buckets are read and entered by one script each on one server; a
        cluster keeps them in many slots, so there they go as one command per bucket."""

    async def evidence(self, source_id: str, items: Sequence[Item]) -> list[Evidence]:
        """The evidence for each of ``items`` (of one source), in order."""
        if not items:
            return []
        pipe = self._r.pipeline(transaction=False)
        known = queue_gets(pipe, [keys.identity(source_id, i.identity) for i in items])
        for item in items:
            pipe.get(keys.item_url(item.url or ""))
            pipe.get(keys.copy(item.copy_key))
        replies = await pipe.execute()
        found = [
            Evidence(
                known=_known(replies[n]),
                by_url=_known(replies[known + 2 * n]),
                by_copy=_known(replies[known + 1 + 2 * n]),
            )
            for n in range(len(items))
        ]
        found = await self._with_tombstones(found)
        unknown = [
            n
            for n, ev in enumerate(found)
            if ev.known is None and ev.by_url is None and ev.by_copy is None and items[n].terms
        ]
        for n, candidates in zip(
            unknown, await self._candidates([items[n] for n in unknown]), strict=True
        ):
            found[n] = replace(found[n], candidates=candidates)
        return await self._credited(source_id, found)

    async def _credited(self, source_id: str, found: list[Evidence]) -> list[Evidence]:
        """For each entry of another source an item may be a copy of: the link the item's
        source is already credited with there (its "also reported by" link), if any."""
        owners = sorted(
            {
                (k.story_id, k.entry_id)
                for ev in found
                for k in _owners(ev)
                if k is not None and k.source_id != source_id and not k.killed and k.story_id
            }
        )
        if not owners:
            return found
        pipe = self._r.pipeline(transaction=False)
        for story_id, eid in owners:
            pipe.hget(keys.story_also(story_id), f"{eid}\x1f{source_id}")
        held = {
            eid: str(url)
            for (_sid, eid), url in zip(owners, await pipe.execute(), strict=True)
            if url is not None
        }
        if not held:
            return found
        return [
            replace(
                ev,
                credited={
                    k.entry_id: held[k.entry_id]
                    for k in _owners(ev)
                    if k is not None and k.entry_id in held
                },
            )
            for ev in found
        ]

    async def _with_tombstones(self, found: list[Evidence]) -> list[Evidence]:
        """Claims made before a kill still name the entry alive (an earlier version's copy,
        say): whatever has a tombstone reads as killed."""
        owners = {k.entry_id for ev in found for k in (ev.by_url, ev.by_copy) if k and not k.killed}
        if not owners:
            return found
        pipe = self._r.pipeline(transaction=False)
        for eid in sorted(owners):
            pipe.exists(keys.tombstone(eid))
        dead = {eid for eid, hit in zip(sorted(owners), await pipe.execute(), strict=True) if hit}
        if not dead:
            return found

        def mark(k: Known | None) -> Known | None:
            return replace(k, killed=True) if k is not None and k.entry_id in dead else k

        return [replace(ev, by_url=mark(ev.by_url), by_copy=mark(ev.by_copy)) for ev in found]

    async def known_identities(self, source_id: str, identities: Sequence[str]) -> set[str]:
        """Which of ``identities`` the source has a record for."""
        if not identities:
            return set()
        raws = await self._r.mget([keys.identity(source_id, i) for i in identities])
        return {i for i, raw in zip(identities, raws, strict=True) if raw}

    async def _candidates(self, items: Sequence[Item]) -> list[tuple[NearRecord, ...]]:
        """For each item, the entries sharing most of its buckets (the item's own aside)."""
        if not items:
            return []
        bands_of = [fingerprint.bands(item.terms) for item in items]
        pipe = self._r.pipeline(transaction=False)
        for bands in bands_of:
            names = [keys.lsh_band(band) for band in bands]
            if self._one_server:  # the server counts: only the shortlist comes back
                args = {"cap": BUCKET_CAP, "top": CANDIDATES + 1}
                scripts.queue(pipe, scripts.MOST_SHARED, keys=names, args=args)
            else:
                for name in names:
                    pipe.lrange(name, 0, BUCKET_CAP - 1)
        replies = iter(await pipe.execute())
        shortlists = []
        for item, bands in zip(items, bands_of, strict=True):
            if self._one_server:
                most = [str(e) for e in next(replies)]
            else:
                hits = Counter(e for _ in bands for e in next(replies))
                most = [e for e, _ in hits.most_common(CANDIDATES + 1)]
            own = entry_id(item.source_id, item.identity)
            shortlists.append([e for e in most if e != own])
        wanted = sorted({e for shortlist in shortlists for e in shortlist})
        records = await self._records(wanted)
        return [tuple(records[e] for e in shortlist if e in records) for shortlist in shortlists]

    async def claim_near(
        self, claims: Sequence[tuple[Item, Known]]
    ) -> list[tuple[dict[str, set[str]], tuple[NearRecord, ...]]]:
        """Enter new items (with the records they will be stored under) in the near-copy
        index now, and return for each what it found there before it: per bucket the entries
        already in it, and the records of those sharing most of its buckets. Which of them
        won the race is :func:`ingest.dedupe.won_race`'s verdict; an item that yields is
        taken back out with :meth:`queue_withdraw_near`."""
        if not claims:
            return []
        pipe = self._r.pipeline(transaction=False)
        bands_of = []
        for item, record in claims:
            self._queue_near_record(pipe, item, record, to_ms(item.published))
            bands = fingerprint.bands(item.terms)
            bands_of.append(bands)
            args = self._entering(record.entry_id)
            names = [keys.lsh_band(band) for band in bands]
            if self._one_server:
                scripts.queue(pipe, scripts.ENTER_BUCKETS, keys=names, args=args)
            else:
                for name in names:
                    scripts.queue(pipe, scripts.ENTER_BUCKET, keys=[name], args=args)
        replies = iter(await pipe.execute())
        seen: list[dict[str, set[str]]] = []  # per claim: band -> entries there before it
        for (_item, record), bands in zip(claims, bands_of, strict=True):
            next(replies), next(replies)  # the near record's HSET and PEXPIRE
            before = self._buckets(replies, bands)
            seen.append(
                {
                    b: {str(e) for e in ids} - {record.entry_id}
                    for b, ids in zip(bands, before, strict=True)
                }
            )
        shortlists = [
            [
                e
                for e, _ in Counter(e for ids in before.values() for e in ids).most_common(
                    CANDIDATES
                )
            ]
            for before in seen
        ]
        records = await self._records(sorted({e for sl in shortlists for e in sl}))
        return [
            (before, tuple(records[e] for e in shortlist if e in records))
            for before, shortlist in zip(seen, shortlists, strict=True)
        ]

    def _entering(self, entry: str) -> dict[str, scripts.Arg]:
        """The ARGV of entering ``entry`` in its buckets (``ENTER_BUCKET(S)``)."""
        return {"entry_id": entry, "cap": BUCKET_CAP, "ttl_ms": self.retention.entries_ms}

    def _buckets(self, replies: Iterator[Any], bands: Sequence[str]) -> list[list[Any]]:
        """One item's buckets from a pipeline's replies: one script's reply on one server,
        one reply per bucket on a cluster."""
        return list(next(replies)) if self._one_server else [next(replies) for _ in bands]

    def queue_withdraw_near(self, pipe: Any, item: Item, entry: str) -> None:
        """Take an item that yielded to a near copy back out of the near-copy index."""
        pipe.delete(keys.near_record(entry))
        for band in fingerprint.bands(item.terms):
            pipe.lrem(keys.lsh_band(band), 0, entry)

    async def _records(self, entry_ids: Sequence[str]) -> dict[str, NearRecord]:
        if not entry_ids:
            return {}
        pipe = self._r.pipeline(transaction=False)
        for eid in entry_ids:
            pipe.hgetall(keys.near_record(eid))
        raws = await pipe.execute()
        return {
            e: NearRecord(
                e, Known.from_json(raw["known"]), int(raw["at"]), tuple(raw["terms"].split())
            )
            for e, raw in zip(entry_ids, raws, strict=True)
            if raw
        }

    async def owner(self, eid: str) -> Known | None:
        """The record of an entry by its id (for editors' commands), if it still exists."""
        return _known(await self._r.get(keys.entry_locator(eid)))

    # -- writes, queued on the caller's pipeline -----------------------------------------------

    def queue_claims(self, pipe: Any, item: Item, record: Known) -> None:
        """Claim the item's URL and copy for ``record`` unless someone holds them. SET NX GET
        answers with the holder's record, or None when the claim is (now) ours."""
        ttl = self.retention.entries_ms
        for key in (
            keys.item_url(item.url) if item.url else None,
            keys.copy(item.copy_key) if item.copy_key else None,
        ):
            if key is None:
                pipe.get(keys.NOTHING)
            else:
                pipe.set(key, record.to_json(), nx=True, get=True, px=ttl)

    def queue_entry(
        self, pipe: Any, item: Item, record: Known, published_ms: int, *, entered: bool = False
    ) -> None:
        """Index an entry stored as ``record``: locator, near-copy record and LSH bands (not
        the bands when :meth:`claim_near` ``entered`` it there already)."""
        ttl = self.retention.entries_ms
        pipe.set(keys.entry_locator(record.entry_id), record.to_json(), px=ttl)
        if not item.terms:
            return
        self._queue_near_record(pipe, item, record, published_ms)
        if entered:
            return
        bands = fingerprint.bands(item.terms)
        if self._one_server:
            args = self._entering(record.entry_id)
            names = [keys.lsh_band(band) for band in bands]
            scripts.queue(pipe, scripts.ENTER_BUCKETS, keys=names, args=args)
            return
        for band in bands:
            key = keys.lsh_band(band)
            pipe.lrem(key, 0, record.entry_id)
            pipe.lpush(key, record.entry_id)
            pipe.ltrim(key, 0, BUCKET_CAP - 1)
            pipe.pexpire(key, ttl)

    def _queue_near_record(self, pipe: Any, item: Item, record: Known, published_ms: int) -> None:
        near = keys.near_record(record.entry_id)
        pipe.hset(
            near,
            mapping={
                "known": record.to_json(),
                "terms": " ".join(item.terms),
                "at": str(published_ms),
            },
        )
        pipe.pexpire(near, self.retention.entries_ms)

    def queue_identity(self, pipe: Any, item: Item, record: Known) -> None:
        """The commit marker: what the source's identity now maps to."""
        ttl = self.retention.tombstones_ms if record.killed else self.retention.entries_ms
        pipe.set(keys.identity(item.source_id, item.identity), record.to_json(), px=ttl)

    def queue_tombstone(
        self,
        pipe: Any,
        record: Known,
        *,
        url: str | None,
        copy_key: str | None,
        reason: str,
        now_ms: int,
    ) -> Known:
        """Leave a tombstone and turn every claim on the entry into a killed one, so neither
        the item nor a copy of it from any source is ingested again. Returns the dead record."""
        ttl = self.retention.tombstones_ms
        dead = replace(record, killed=True)
        note = {
            "entry": record.entry_id,
            "story": record.story_id,
            "source": record.source_id,
            "reason": reason,
            "killed_at": now_ms,
        }
        pipe.set(keys.tombstone(record.entry_id), json.dumps(note), px=ttl)
        pipe.set(keys.entry_locator(record.entry_id), dead.to_json(), px=ttl)
        for key in (keys.item_url(url) if url else None, keys.copy(copy_key) if copy_key else None):
            if key is not None:
                pipe.set(key, dead.to_json(), px=ttl)
        near = keys.near_record(record.entry_id)
        pipe.hset(near, "known", dead.to_json())  # near copies of it are blocked too
        pipe.pexpire(near, ttl)
        if record.source_id:  # what the source sends again takes the full path: blocked
            pipe.delete(keys.source_seen(record.source_id))
        return dead


def _owners(ev: Evidence) -> tuple[Known | None, ...]:
    """The entries of the evidence an item may be a copy of."""
    return (ev.by_url, ev.by_copy, ev.near, *(c.known for c in ev.candidates))


def _known(raw: Any) -> Known | None:
    return Known.from_json(raw) if raw else None
