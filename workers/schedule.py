"""The shared schedule of sources: a Redis sorted set of next-due times, claimed with leases.

Every operation is one Lua script on the one key :data:`ingest.keys.SCHEDULE`, so it is atomic
and Cluster-safe. Times come from the Redis server's clock (``TIME``), never a worker's, so
workers on machines whose clocks disagree still agree on what is due.

Claiming moves a source's score to ``now + lease``: no other worker can claim it until the lease
runs out, and a worker that dies simply lets it run out. The lease score doubles as the claim
token: rescheduling and renewing succeed only while the score is still the one we set, so a
worker whose lease expired (and whose source someone else claimed) cannot overwrite the newer
claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from config.sources import Source
from ingest import keys

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_CLAIM = (
    _NOW
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local lease = now + tonumber(ARGV[2])
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', lease, id)
end
return {lease, due}
"""
)

_RESCHEDULE = (
    _NOW
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

_RENEW = (
    _NOW
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
local lease = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', lease, ARGV[1])
return lease
"""
)

_DROP = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"""

_SYNC = (
    _NOW
    + """
for i = 1, #ARGV do redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i]) end
return now
"""
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A source this worker holds until ``lease`` (server ms) unless it renews."""

    source_id: str
    lease: int


class RedisSchedule:
    """The schedule operations over one Redis client owned by the caller."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._claim = client.register_script(_CLAIM)
        self._reschedule = client.register_script(_RESCHEDULE)
        self._renew = client.register_script(_RENEW)
        self._sync = client.register_script(_SYNC)
        self._drop = client.register_script(_DROP)

    async def sync(self, sources: Sequence[Source]) -> None:
        """Enabled sources not yet scheduled become due now; others leave the schedule."""
        enabled = [s.id for s in sources if s.enabled]
        current = {str(m) for m in await self._r.zrange(keys.SCHEDULE, 0, -1)}
        stale = current - set(enabled)
        if stale:
            await self._r.zrem(keys.SCHEDULE, *stale)
        if enabled:
            await self._sync(keys=[keys.SCHEDULE], args=enabled)

    async def claim(self, limit: int, lease_seconds: float) -> list[Claim]:
        """Atomically take up to ``limit`` due sources, leasing each for ``lease_seconds``."""
        if limit <= 0:
            return []
        reply: list[Any] = await self._claim(keys=[keys.SCHEDULE], args=[limit, _ms(lease_seconds)])
        lease, due = reply
        return [Claim(str(source_id), int(lease)) for source_id in due]

    async def reschedule(self, claim: Claim, delay_seconds: float) -> bool:
        """Make the claimed source due again ``delay_seconds`` from now; False if we lost it."""
        done = await self._reschedule(
            keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease, _ms(delay_seconds)]
        )
        return bool(done)

    async def queue_reschedule(self, pipe: Any, claim: Claim, delay_seconds: float | None) -> None:
        """Queue on ``pipe`` a reschedule (or, with ``None``, a drop) of a claimed source; its
        reply says whether the lease was still ours."""
        if delay_seconds is None:
            await self._drop(keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease], client=pipe)
        else:
            await self._reschedule(
                keys=[keys.SCHEDULE],
                args=[claim.source_id, claim.lease, _ms(delay_seconds)],
                client=pipe,
            )

    async def drop(self, claim: Claim) -> bool:
        """Take a claimed source off the schedule (gone, or no longer configured)."""
        return bool(await self._drop(keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease]))

    async def renew(self, claim: Claim, lease_seconds: float) -> Claim | None:
        """Extend a lease still held; ``None`` if it was lost (expired and claimed elsewhere)."""
        lease = await self._renew(
            keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease, _ms(lease_seconds)]
        )
        return Claim(claim.source_id, int(lease)) if lease else None

    async def due_times(self) -> dict[str, int]:
        """Every scheduled source with its next due time (server ms), for status displays."""
        pairs: Any = await self._r.zrange(keys.SCHEDULE, 0, -1, withscores=True)
        return {str(member): int(score) for member, score in pairs}


def _ms(seconds: float) -> int:
    return max(0, int(seconds * 1000))
