"""The web desk's login sessions (:func:`ingest.keys.desk_session`): a session id to what the
desk keeps about it (the token's digest and the CSRF token, never the token), expiring with the
session. Redis errors come out as :class:`~ingest.errors.StoreError`.
"""

from __future__ import annotations

import json

from ingest import keys
from ingest.store.base import RedisAdapter


class RedisSessions(RedisAdapter):
    """Desk sessions over a text client (``decode_responses=True``)."""

    async def get(self, session_id: str) -> dict[str, str] | None:
        """The session ``session_id``, ``None`` if unknown or expired."""
        raw = await self._call(self._r.get(keys.desk_session(session_id)))
        if not raw:
            return None
        session: dict[str, str] = json.loads(raw)
        return session

    async def put(self, session_id: str, session: dict[str, str], seconds: int) -> None:
        """Keep ``session`` as ``session_id`` for ``seconds`` (replacing one of that id)."""
        await self._call(
            self._r.set(keys.desk_session(session_id), json.dumps(session), ex=seconds)
        )

    async def drop(self, session_id: str) -> None:
        """End the session ``session_id``. Idempotent."""
        await self._call(self._r.delete(keys.desk_session(session_id)))
