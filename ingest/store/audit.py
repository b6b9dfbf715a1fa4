"""The audit trail: every change an editor or admin makes, whoever made it and however (API,
desk, CLI), with what it changed from and to. Redis I/O.

One Redis stream (:data:`ingest.keys.AUDIT`), capped at :data:`AUDIT_MAXLEN` entries. Each
record carries its own ``at`` (the caller's clock, as every other write here), which filters
compare against: stream ids follow the server's clock, which a test or a clock step may not
share. A query reads the newest :data:`SCAN_LIMIT` records at most and filters them, so it
costs a bounded read whatever the trail's length.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest import keys
from ingest.model import from_ms, to_ms
from ingest.store.base import RedisAdapter

AUDIT_MAXLEN = 100_000
SCAN_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a name (from the tokens file, or ``cli:USER``), a role, and the
    way in (``api``, ``desk``, ``cli``)."""

    name: str
    role: str
    via: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One change: who, what (an action and its target), when, and before and after."""

    id: str
    at: datetime
    who: str
    role: str
    via: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "who": self.who,
            "role": self.role,
            "via": self.via,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a query keeps: exact ``who`` and ``action``, a ``target`` (exact, or any record
    whose target starts with it and ``/``), and ``since <= at < until``."""

    who: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    def keeps(self, record: AuditRecord) -> bool:
        if self.who is not None and record.who != self.who:
            return False
        if self.action is not None and record.action != self.action:
            return False
        if self.target is not None and record.target != self.target:
            return False
        if self.since is not None and record.at < self.since:
            return False
        return not (self.until is not None and record.at >= self.until)


class RedisAudit(RedisAdapter):
    """Writes and reads the audit stream over a client owned by the caller."""

    async def record(
        self,
        actor: Actor,
        action: str,
        target: str,
        *,
        before: Any,
        after: Any,
        now: datetime,
        note: str = "",
    ) -> str:
        """Append one record; returns its id."""
        fields = {
            "at": str(to_ms(now)),
            "who": actor.name,
            "role": actor.role,
            "via": actor.via,
            "action": action,
            "target": target,
            "before": json.dumps(before, sort_keys=True),
            "after": json.dumps(after, sort_keys=True),
            "note": note,
        }
        found = await self._call(
            self._r.xadd(keys.AUDIT, fields, maxlen=AUDIT_MAXLEN, approximate=True)  # type: ignore[arg-type]
        )
        return str(found)

    async def query(self, wanted: AuditFilter) -> list[AuditRecord]:
        """The newest records ``wanted`` keeps, newest first, at most ``wanted.limit``."""
        raw: Any = await self._call(self._r.xrevrange(keys.AUDIT, count=SCAN_LIMIT))
        found = []
        for rid, fields in raw:
            record = _record(str(rid), fields)
            if wanted.keeps(record):
                found.append(record)
                if len(found) >= wanted.limit:
                    break
        return found


def _record(rid: str, fields: Mapping[Any, Any]) -> AuditRecord:
    f = {str(k): str(v) for k, v in fields.items()}
    return AuditRecord(
        id=rid,
        at=from_ms(int(f.get("at", "0"))),
        who=f.get("who", ""),
        role=f.get("role", ""),
        via=f.get("via", ""),
        action=f.get("action", ""),
        target=f.get("target", ""),
        before=json.loads(f.get("before", "null")),
        after=json.loads(f.get("after", "null")),
        note=f.get("note", ""),
    )
