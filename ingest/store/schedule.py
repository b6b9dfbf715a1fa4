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
from redis.exceptions import NoScriptError

from config.sources import Source
from ingest import keys
from ingest.store.connect import translating

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_CLAIM = (
    _NOW
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local lease = now + tonumber(ARGV[2])
local leased = {}
for i, id in ipairs(due) do
  leased[2 * i - 1], leased[2 * i] = lease, id
end
for first = 1, #leased, 1000 do  -- one ZADD per 500 sources (unpack's stack is bounded)
  redis.call('ZADD', KEYS[1], 'XX', unpack(leased, first, math.min(first + 999, #leased)))
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

# ARGV: (source id, lease held, delay ms or -1 to drop it) for each source. Returns 1 for each
# whose lease was still ours (and so was moved or dropped), else 0.
_SETTLE = (
    _NOW
    + """
local ids = {}
for i = 1, #ARGV / 3 do ids[i] = ARGV[3 * i - 2] end
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ids))
local held, moves, drops = {}, {}, {}
for i, id in ipairs(ids) do
  held[i] = 0
  if scores[i] and tonumber(scores[i]) == tonumber(ARGV[3 * i - 1]) then
    held[i] = 1
    local delay = tonumber(ARGV[3 * i])
    if delay < 0 then
      drops[#drops + 1] = id
    else
      moves[#moves + 1] = now + delay
      moves[#moves + 1] = id
    end
  end
end
if #moves > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(moves)) end
if #drops > 0 then redis.call('ZREM', KEYS[1], unpack(drops)) end
return held
"""
)
SETTLE_BATCH = 500
"""Sources settled by one script call (Lua's unpack has a bounded stack)."""

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
        self._settle = client.register_script(_SETTLE)

    @translating
    async def sync(self, sources: Sequence[Source]) -> None:
        """Enabled sources not yet scheduled become due now; others leave the schedule."""
        enabled = [s.id for s in sources if s.enabled]
        current = {str(m) for m in await self._r.zrange(keys.SCHEDULE, 0, -1)}
        stale = current - set(enabled)
        if stale:
            await self._r.zrem(keys.SCHEDULE, *stale)
        if enabled:
            await self._sync(keys=[keys.SCHEDULE], args=enabled)

    @translating
    async def claim(self, limit: int, lease_seconds: float) -> list[Claim]:
        """Atomically take up to ``limit`` due sources, leasing each for ``lease_seconds``."""
        if limit <= 0:
            return []
        reply: list[Any] = await self._claim(keys=[keys.SCHEDULE], args=[limit, _ms(lease_seconds)])
        lease, due = reply
        return [Claim(str(source_id), int(lease)) for source_id in due]

    @translating
    async def reschedule(self, claim: Claim, delay_seconds: float) -> bool:
        """Make the claimed source due again ``delay_seconds`` from now; False if we lost it."""
        done = await self._reschedule(
            keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease, _ms(delay_seconds)]
        )
        return bool(done)

    def queue_settle(self, pipe: Any, moves: Sequence[tuple[Claim, float | None]]) -> int:
        """Queue on ``pipe`` the reschedule (or, with ``None``, the drop) of each claimed
        source in ``moves``, each landing only while its lease is still ours; returns how many
        commands were queued. Read their replies with :meth:`settled`.

        The script is sent by its SHA alone: no SCRIPT EXISTS round trip per pipeline.
        """
        batches = [moves[i : i + SETTLE_BATCH] for i in range(0, len(moves), SETTLE_BATCH)]
        for batch in batches:
            pipe.evalsha(self._settle.sha, 1, keys.SCHEDULE, *_settle_args(batch))
        return len(batches)

    @translating
    async def settle(self, moves: Sequence[tuple[Claim, float | None]]) -> list[bool]:
        """:meth:`queue_settle` on a pipeline of its own; whether each move landed."""
        if not moves:
            return []
        pipe = self._r.pipeline(transaction=False)
        self.queue_settle(pipe, moves)
        return await self.settled(await pipe.execute(raise_on_error=False), moves)

    @translating
    async def settled(
        self, replies: Sequence[Any], moves: Sequence[tuple[Claim, float | None]]
    ) -> list[bool]:
        """Whether each of ``moves`` landed, from the replies of :meth:`queue_settle`'s
        commands. A batch the server did not run because it had lost the script (a restart,
        SCRIPT FLUSH) is run again now; any other error is raised."""
        held: list[bool] = []
        for n, reply in enumerate(replies):
            batch = moves[n * SETTLE_BATCH : (n + 1) * SETTLE_BATCH]
            if isinstance(reply, NoScriptError):
                reply = await self._settle(keys=[keys.SCHEDULE], args=_settle_args(batch))
            elif isinstance(reply, Exception):
                raise reply
            held.extend(bool(flag) for flag in reply)
        return held

    @translating
    async def drop(self, claim: Claim) -> bool:
        """Take a claimed source off the schedule (gone, or no longer configured)."""
        return bool(await self._drop(keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease]))

    @translating
    async def renew(self, claim: Claim, lease_seconds: float) -> Claim | None:
        """Extend a lease still held; ``None`` if it was lost (expired and claimed elsewhere)."""
        lease = await self._renew(
            keys=[keys.SCHEDULE], args=[claim.source_id, claim.lease, _ms(lease_seconds)]
        )
        return Claim(claim.source_id, int(lease)) if lease else None

    @translating
    async def due_times(self) -> dict[str, int]:
        """Every scheduled source with its next due time (server ms), for status displays."""
        pairs: Any = await self._r.zrange(keys.SCHEDULE, 0, -1, withscores=True)
        return {str(member): int(score) for member, score in pairs}


def _settle_args(moves: Sequence[tuple[Claim, float | None]]) -> list[str | int]:
    args: list[str | int] = []
    for claim, delay in moves:
        args += (claim.source_id, claim.lease, -1 if delay is None else _ms(delay))
    return args


def _ms(seconds: float) -> int:
    return max(0, int(seconds * 1000))
