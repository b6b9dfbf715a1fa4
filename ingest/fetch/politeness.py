"""Per-host politeness shared by every worker: requests at once and requests per minute.

The budget lives in Redis, so it holds across any number of worker processes and machines. One
Lua script per host (both keys share the ``{host:NAME}`` tag) checks and takes a slot atomically:

* concurrency: a sorted set of in-flight tokens scored by lease expiry, so a worker that dies
  mid-fetch frees its slot when the lease runs out;
* rate: GCRA (the generic cell rate algorithm) over one "theoretical arrival time", spacing
  requests ``60 / per_minute`` seconds apart. Times come from the Redis server's clock.

A fetch over budget is *deferred* by the caller, not counted as an error.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from config.settings import HostLimit
from ingest import keys
from ingest.store import scripts
from ingest.store.connect import translating


@dataclass(frozen=True, slots=True)
class Permit:
    """The answer of the gate: granted (hold ``token`` until released) or refused, with why
    and roughly how long until a slot frees up."""

    host: str
    granted: bool
    token: str = ""
    reason: str = ""
    wait: float = 0.0


class HostGate(Protocol):
    async def acquire(self, url: str) -> Permit: ...
    async def release(self, permit: Permit) -> None: ...


@dataclass
class RedisHostGate:
    """:class:`HostGate` over Redis; ``limits`` override ``default`` per host name."""

    client: aioredis.Redis
    default: HostLimit = field(default_factory=HostLimit)
    limits: Mapping[str, HostLimit] = field(default_factory=dict)
    lease_seconds: float = 300.0

    def limit_for(self, host: str) -> HostLimit:
        return self.limits.get(host, self.default)

    @translating
    async def acquire(self, url: str) -> Permit:
        """Take a slot for a fetch of ``url`` if the host's budget allows one now."""
        host = host_of(url)
        limit = self.limit_for(host)
        if limit.concurrency <= 0 and limit.per_minute <= 0:
            return Permit(host, granted=True)  # unlimited: no shared state to consult
        token = uuid.uuid4().hex
        reply: Any = await scripts.run(
            self.client,
            scripts.ACQUIRE,
            keys=[keys.host_in_flight(host), keys.host_rate(host)],
            args={
                "token": token,
                "lease_ms": int(self.lease_seconds * 1000),
                "concurrency": limit.concurrency,
                "per_minute": limit.per_minute,
            },
        )
        granted, reason, wait_ms = int(reply[0]), str(reply[1]), int(reply[2])
        if granted:
            return Permit(host, granted=True, token=token if limit.concurrency > 0 else "")
        what = (
            _plural(limit.concurrency, "request") + " at once"
            if reason == "concurrency"
            else _plural(limit.per_minute, "request") + " a minute"
        )
        return Permit(
            host,
            granted=False,
            reason=f"host budget for {host} ({what}) in use",
            wait=wait_ms / 1000,
        )

    @translating
    async def release(self, permit: Permit) -> None:
        """Give back a granted slot. Safe to call for permits that hold none."""
        if permit.granted and permit.token:
            await self.client.zrem(keys.host_in_flight(permit.host), permit.token)


@functools.lru_cache(maxsize=4096)  # pure, and asked again on every poll of a source
def host_of(url: str) -> str:
    """The politeness key of ``url``: its host name in one spelling (lowercase, ASCII, no
    trailing dot), so every spelling of a host shares one budget; ports share it too."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return "unknown"
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host.lower() or "unknown"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
