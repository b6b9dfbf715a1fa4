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
from ingest.model import SourceStatus
from ingest.store import scripts
from ingest.store.connect import translating
from ingest.store.sources import queue_note, queue_status

SETTLE_BATCH = 500
"""Sources settled by one script call (Lua's unpack has a bounded stack)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A source this worker holds until ``lease`` (server ms) unless it renews."""

    source_id: str
    lease: int


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished poll to settle: the claim it ran under, the source's status before and
    after it, the seconds until the next poll (None: drop the source) and why."""

    claim: Claim
    status: SourceStatus
    previous: SourceStatus
    seconds: float | None
    reason: str


class RedisSchedule:
    """The schedule operations over one Redis client owned by the caller."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client

    @translating
    async def sync(self, sources: Sequence[Source]) -> None:
        """Enabled sources not yet scheduled become due now; others leave the schedule."""
        enabled = [s.id for s in sources if s.enabled]
        current = {str(m) for m in await self._r.zrange(keys.SCHEDULE, 0, -1)}
        stale = current - set(enabled)
        if stale:
            await self._r.zrem(keys.SCHEDULE, *stale)
        if enabled:
            await scripts.run(self._r, scripts.SYNC, keys=[keys.SCHEDULE], rest=enabled)

    @translating
    async def claim(self, limit: int, lease_seconds: float) -> list[Claim]:
        """Atomically take up to ``limit`` due sources, leasing each for ``lease_seconds``."""
        if limit <= 0:
            return []
        reply: list[Any] = await scripts.run(
            self._r,
            scripts.CLAIM,
            keys=[keys.SCHEDULE],
            args={"limit": limit, "lease_ms": _ms(lease_seconds)},
        )
        lease, due = reply
        return [Claim(str(source_id), int(lease)) for source_id in due]

    @translating
    async def reschedule(self, claim: Claim, delay_seconds: float) -> bool:
        """Make the claimed source due again ``delay_seconds`` from now; False if we lost it."""
        done = await scripts.run(
            self._r,
            scripts.RESCHEDULE,
            keys=[keys.SCHEDULE],
            args={
                "source_id": claim.source_id,
                "lease": claim.lease,
                "delay_ms": _ms(delay_seconds),
            },
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
            scripts.queue(
                pipe, scripts.SETTLE, keys=[keys.SCHEDULE], rest=_settle_args(batch), check=False
            )
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
    async def settle_polls(
        self, finished: Sequence[Finished], *, taken: int = 0, minute_ms: int = 0
    ) -> list[bool]:
        """Settle finished polls in one pipeline: save each status and schedule note, count
        the ``taken`` items in the minute starting ``minute_ms`` (for the ops chart), and
        reschedule (or drop) each source while its lease is still ours. Statuses go first, so
        a source is claimable again only once its status is saved. Whether each move landed."""
        if not finished:
            return []
        pipe = self._r.pipeline(transaction=False)
        for poll in finished:
            queue_status(pipe, poll.status, poll.previous)
            queue_note(pipe, poll.status, poll.seconds, poll.reason)
        if taken:
            pipe.hincrby(keys.INGEST_MINUTES, str(minute_ms), taken)
        writes = len(pipe)
        moves = [(poll.claim, poll.seconds) for poll in finished]
        self.queue_settle(pipe, moves)
        replies = await pipe.execute(raise_on_error=False)
        for reply in replies[:writes]:
            if isinstance(reply, Exception):
                raise reply
        return await self.settled(replies[writes:], moves)

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
                reply = await scripts.run(
                    self._r, scripts.SETTLE, keys=[keys.SCHEDULE], rest=_settle_args(batch)
                )
            elif isinstance(reply, Exception):
                raise reply
            held.extend(bool(flag) for flag in reply)
        return held

    @translating
    async def drop(self, claim: Claim) -> bool:
        """Take a claimed source off the schedule (gone, or no longer configured)."""
        args: dict[str, scripts.Arg] = {"source_id": claim.source_id, "lease": claim.lease}
        return bool(await scripts.run(self._r, scripts.DROP, keys=[keys.SCHEDULE], args=args))

    @translating
    async def renew(self, claim: Claim, lease_seconds: float) -> Claim | None:
        """Extend a lease still held; ``None`` if it was lost (expired and claimed elsewhere)."""
        lease = await scripts.run(
            self._r,
            scripts.RENEW,
            keys=[keys.SCHEDULE],
            args={
                "source_id": claim.source_id,
                "lease": claim.lease,
                "lease_ms": _ms(lease_seconds),
            },
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
