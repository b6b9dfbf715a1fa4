"""``wirefeed sources status``: every source's health, as a table for people or JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from config.sources import Source
from ingest.model import SourceStatus, from_ms
from ingest.store.connect import open_redis
from ingest.store.redis_store import RedisStore
from ingest.store.schedule import RedisSchedule

_COLUMNS = (
    "ID",
    "STATE",
    "HTTP",
    "FAILS",
    "LAST SUCCESS",
    "NEXT DUE",
    "WHY THAT INTERVAL",
    "LAST ERROR",
)


async def collect(redis_url: str) -> list[dict[str, Any]]:
    """One record per configured source, sorted by id, with its status and next due time."""
    client = await open_redis(redis_url)
    try:
        store = RedisStore(client)
        sources = await store.get_sources()
        statuses = await store.source_statuses([s.id for s in sources])
        due = await RedisSchedule(client).due_times()
    finally:
        await client.aclose()
    return [_record(s, statuses[s.id], due.get(s.id)) for s in sources]


def _record(source: Source, status: SourceStatus, due_ms: int | None) -> dict[str, Any]:
    next_due = from_ms(due_ms) if due_ms is not None else None
    if not source.enabled or status.state == "gone":
        next_due = None
    return {
        "id": source.id,
        "title": source.title,
        "url": source.url,
        "fetched_url": status.fetched_url,
        "moved_to": status.url if status.moved_from == source.url else None,
        "aliases": list(status.aliases),
        "enabled": source.enabled,
        "state": "paused" if not source.enabled else status.state,
        "http_status": status.http_status,
        "last_error": status.last_error,
        "consecutive_failures": status.consecutive_failures,
        "last_attempt": _iso(status.last_attempt),
        "last_success": _iso(status.last_success),
        "next_due": _iso(next_due),
        "interval": status.interval,
        "interval_reason": status.interval_reason,
        "entries_seen": status.entries_seen,
        "new_items": status.new_items,
    }


def as_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), indent=2)


def as_table(records: Sequence[dict[str, Any]], now: datetime | None = None) -> str:
    """A fixed-width table; times relative to ``now`` ("3 min ago", "in 12 s")."""
    now = now or datetime.now(UTC)
    rows = [_COLUMNS] + [
        (
            r["id"],
            r["state"],
            str(r["http_status"] or "-"),
            str(r["consecutive_failures"]),
            _relative(r["last_success"], now),
            _relative(r["next_due"], now),
            r["interval_reason"] or "-",
            _short(r["last_error"] or "-", 60),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) if records else "no sources configured"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _relative(iso: str | None, now: datetime) -> str:
    if not iso:
        return "-"
    seconds = (datetime.fromisoformat(iso.replace("Z", "+00:00")) - now).total_seconds()
    span = abs(seconds)
    text = (
        f"{span:.0f} s"
        if span < 120
        else f"{span / 60:.0f} min"
        if span < 7200
        else f"{span / 3600:.1f} h"
    )
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
