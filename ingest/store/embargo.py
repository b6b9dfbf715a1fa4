"""Embargoes: items not to be published before a time, held in Redis until then.

An item whose ``embargoed`` time is after ``now`` never reaches dedupe, story assignment or
the story store: it is held (its normalized :class:`~ingest.model.Item`, as JSON, in one hash)
with its release time in a sorted set, so it is in no public feed, page, event or hub ping.
Editors see held items (``wirefeed entries held``, ``GET /admin/held``). Every worker ticks
:meth:`RedisEmbargoes.take_due` (see :func:`ingest.pipeline.release_embargoed`); one Lua
script hands each due item to exactly one worker, which then publishes it through the same
store path as any new item.

A later version of a held item replaces it: a future embargo moves the release time, no
embargo (or one already past) lifts the hold and the version is published at once.

Keys (:mod:`ingest.keys`): ``EMBARGO_DUE`` and ``EMBARGO_HELD`` share one hash tag, so the
claim script touches one slot.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from ingest import keys
from ingest.model import Item, from_ms, to_ms
from ingest.store import scripts

_SEP = "\x1f"

LEASE_SECONDS = 30.0
"""How long a claimed held item is a worker's to publish before another may."""


@dataclass(frozen=True, slots=True)
class Held:
    """One held item: whose it is, the item as it will be published, and when."""

    source_id: str
    item: Item
    until: datetime


def split(items: Sequence[Item], now: datetime) -> tuple[list[Item], list[Item]]:
    """``(free, held)``: items free to publish at ``now`` and items embargoed past it. Pure.
    A withdrawal is never held: a kill takes effect at once, embargo or not."""
    free: list[Item] = []
    held: list[Item] = []
    for item in items:
        embargoed = item.embargoed is not None and item.embargoed > now and not item.killed
        (held if embargoed else free).append(item)
    return free, held


def item_to_json(item: Item) -> str:
    """A JSON form of an Item that :func:`item_from_json` reads back equal."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        data[f.name] = to_ms(value) if isinstance(value, datetime) else value
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def item_from_json(text: str | bytes) -> Item:
    data = json.loads(text)
    kinds = {f.name: str(f.type) for f in dataclasses.fields(Item)}
    for name, value in list(data.items()):
        if name not in kinds:
            del data[name]  # a field of another version of wirefeed
        elif isinstance(value, list):
            data[name] = tuple(value)
        elif "datetime" in kinds[name] and value is not None:
            data[name] = from_ms(value)
    return Item(**data)


class RedisEmbargoes:
    """Held items in Redis. Idempotent: holding the same version twice changes nothing."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def hold(self, items: Sequence[Item]) -> None:
        """Hold ``items`` (each embargoed) until their time; a held older version is replaced
        and its release time moved."""
        if not items:
            return
        pipe = self.client.pipeline(transaction=False)
        for item in items:
            assert item.embargoed is not None
            member = _member(item.source_id, item.identity)
            pipe.hset(keys.EMBARGO_HELD, member, item_to_json(item))
            pipe.zadd(keys.EMBARGO_DUE, {member: to_ms(item.embargoed)})
        await pipe.execute()

    async def lift(self, source_id: str, identities: Sequence[str]) -> int:
        """Drop the holds on these identities (a free version arrived); how many there were."""
        if not identities:
            return 0
        members = [_member(source_id, i) for i in identities]
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(keys.EMBARGO_DUE, *members)
        pipe.hdel(keys.EMBARGO_HELD, *members)
        removed, _ = await pipe.execute()
        return int(removed)

    async def take_due(
        self, now: datetime, limit: int = 100, lease: float = LEASE_SECONDS
    ) -> list[Held]:
        """Claim items whose embargo is over at ``now``: each goes to exactly one caller for
        ``lease`` seconds; the caller publishes it, then calls :meth:`done`. A caller that
        dies first leaves it to whoever claims it after the lease (publishing is idempotent)."""
        raw = await scripts.run(
            self.client,
            scripts.TAKE_DUE,
            keys=[keys.EMBARGO_DUE, keys.EMBARGO_HELD],
            args={"now_ms": to_ms(now), "limit": limit, "lease_ms": int(lease * 1000)},
        )
        return [_held(record) for record in raw[1::2]]

    async def done(self, held: Sequence[Held]) -> None:
        """Forget released items, unless a newer version replaced the hold meanwhile."""
        pipe = self.client.pipeline(transaction=False)
        for one in held:
            member = _member(one.source_id, one.item.identity)
            scripts.queue(
                pipe,
                scripts.FORGET_RELEASED,
                keys=[keys.EMBARGO_DUE, keys.EMBARGO_HELD],
                args={"member": member, "record": item_to_json(one.item)},
            )
        if held:
            await pipe.execute()

    async def next_due(self) -> datetime | None:
        """When the next held item is due, if any."""
        first = await self.client.zrange(keys.EMBARGO_DUE, 0, 0, withscores=True)
        return from_ms(first[0][1]) if first else None

    async def held(self, limit: int = 500) -> list[Held]:
        """Held items, soonest release first (for editors)."""
        members = [str(m) for m in await self.client.zrange(keys.EMBARGO_DUE, 0, limit - 1)]
        if not members:
            return []
        records = await self.client.hmget(keys.EMBARGO_HELD, members)
        return [_held(r) for r in records if r is not None]


def _member(source_id: str, identity: str) -> str:
    return f"{source_id}{_SEP}{identity}"


def _held(record: str | bytes) -> Held:
    item = item_from_json(record)
    assert item.embargoed is not None
    return Held(item.source_id, item, item.embargoed)
