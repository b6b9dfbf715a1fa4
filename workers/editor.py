"""Editors' commands on entries: kill and correct. Redis I/O, used by the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

import redis.asyncio as aioredis

from config.settings import Settings
from workers.worker import store_for


async def kill(settings: Settings, redis_url: str, entry_id: str, reason: str) -> bool:
    """Remove an entry from every feed and tombstone it; False if no such live entry."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        return await store_for(settings, client).kill(
            entry_id, reason=reason, now=datetime.now(UTC)
        )
    finally:
        await client.aclose()


async def correct(settings: Settings, redis_url: str, entry_id: str, note: str | None) -> bool:
    """Flag an entry as corrected (new updated time, visible note); False if unknown."""
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        return await store_for(settings, client).correct(entry_id, note=note, now=datetime.now(UTC))
    finally:
        await client.aclose()
