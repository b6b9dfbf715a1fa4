"""What the fleet is doing, read from Redis: sources, workers, schedule lag, reloads, ingest.
The reads are :class:`ingest.store.fleet.RedisFleet`'s; this module makes them a snapshot.

One snapshot feeds ``/readyz`` (is a worker alive?), the fleet gauges of ``/metrics`` and the
``/ops`` dashboard, so the three never disagree. A worker is alive while its heartbeat is
younger than :data:`FRESH_SECONDS` (three heartbeat ticks). Times come from the caller's
``now``; heartbeats and due times are epoch milliseconds written by the workers' clocks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.model import SourceStatus, from_ms, to_ms
from ingest.store.fleet import RedisFleet
from ingest.store.redis_store import RedisStore

HEARTBEAT_SECONDS = 10.0
"""The workers' heartbeat tick (:data:`workers.worker.HEARTBEAT_SECONDS`)."""
FRESH_SECONDS = 3 * HEARTBEAT_SECONDS
TROUBLE = {
    "dead": 0, "failing": 1, "gone": 2, "quiet": 3, "deferred": 4, "new": 5, "ok": 6, "paused": 7,
}  # fmt: skip
"""Order of sources on /ops: the troubled ones first."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """A snapshot; ``sources`` are sorted troubled first."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    lag_seconds: float = 0.0
    stories: int = 0
    reloads: dict[str, Any] = field(default_factory=dict)
    ingest: list[dict[str, Any]] = field(default_factory=list)

    def by_state(self) -> dict[str, int]:
        counts = dict.fromkeys(TROUBLE, 0)
        for source in self.sources:
            counts[source["state"]] = counts.get(source["state"], 0) + 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "workers": self.workers,
            "lag_seconds": self.lag_seconds,
            "stories": self.stories,
            "reloads": self.reloads,
            "ingest": self.ingest,
            "states": self.by_state(),
        }


async def alive_workers(fleet: RedisFleet, now: datetime) -> int:
    """How many workers sent a heartbeat within :data:`FRESH_SECONDS` of ``now``."""
    return await fleet.alive_since(to_ms(now) - int(FRESH_SECONDS * 1000))


async def snapshot(fleet: RedisFleet, store: RedisStore, now: datetime) -> Fleet:
    """Read the fleet in three round trips (sources, then their statuses, then the rest)."""
    sources = await store.get_sources()
    statuses = await store.source_statuses([s.id for s in sources])
    state = await fleet.state()
    due_at = state.due
    now_ms = to_ms(now)
    records = [_source(s.id, s.title, s.enabled, statuses[s.id], due_at.get(s.id)) for s in sources]
    records.sort(key=lambda r: (TROUBLE.get(r["state"], 9), -r["consecutive_failures"], r["id"]))
    overdue = [now_ms - due_at[s.id] for s in sources if s.id in due_at and due_at[s.id] < now_ms]
    return Fleet(
        sources=records,
        workers=_workers(state.beats, state.infos, now_ms),
        lag_seconds=max(overdue, default=0) / 1000,
        stories=state.stories,
        reloads=_reloads(state.reloads),
        ingest=_chart(state.minutes, now_ms),
    )


def _source(
    source_id: str, title: str | None, enabled: bool, status: SourceStatus, due_ms: int | None
) -> dict[str, Any]:
    state = "paused" if not enabled else status.state
    return {
        "id": source_id,
        "title": title or source_id,
        "state": state,
        "http_status": status.http_status,
        "last_success": _iso(status.last_success),
        "last_attempt": _iso(status.last_attempt),
        "last_error": status.last_error,
        "consecutive_failures": status.consecutive_failures,
        "next_due": _iso(from_ms(due_ms)) if due_ms is not None and state != "paused" else None,
        "interval": status.interval,
        "interval_reason": status.interval_reason,
    }


def _workers(
    beats: list[tuple[str, int]], infos: dict[str, str], now_ms: int
) -> list[dict[str, Any]]:
    found = []
    for worker_id, score in beats:
        try:
            info = json.loads(infos.get(worker_id) or "{}")
        except ValueError:
            info = {}
        age = (now_ms - int(score)) / 1000
        found.append(
            {
                "id": worker_id,
                "host": info.get("host"),
                "pid": info.get("pid"),
                "version": info.get("version"),
                "started": info.get("started"),
                "in_flight": info.get("in_flight", []),
                "polls": info.get("polls", 0),
                "config": info.get("config", "ok"),
                "heartbeat_age": round(age, 1),
                "alive": age <= FRESH_SECONDS,
            }
        )
    found.sort(key=lambda w: (not w["alive"], w["id"]))
    return found


def _reloads(raw: dict[str, str]) -> dict[str, Any]:
    at = raw.get("at")
    return {
        "ok": int(raw.get("ok") or 0),
        "failed": int(raw.get("failed") or 0),
        "result": raw.get("result"),
        "message": raw.get("message"),
        "at": _iso(from_ms(at)) if at else None,
    }


def _chart(raw: dict[str, str], now_ms: int) -> list[dict[str, Any]]:
    """Items taken per minute over the last hour, oldest first, empty minutes included."""
    this_minute = now_ms // 60_000 * 60_000
    counts = {int(k): int(v) for k, v in raw.items()}
    return [
        {"minute": _iso(from_ms(m)), "items": counts.get(m, 0)}
        for m in range(this_minute - 59 * 60_000, this_minute + 1, 60_000)
    ]


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None
