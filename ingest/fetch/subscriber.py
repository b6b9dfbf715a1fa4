"""WebSub subscriber (W3C WebSub sections 5-8): subscribe to the hubs sources advertise, answer
verification, accept signed content distributions. Redis and HTTP I/O.

::

    a poll finds a hub (ingest.discovery)  -> ensure(): subscribe unless active or pending
    subscribe   POST hub: hub.mode=subscribe, hub.topic, hub.callback (unguessable, one per
                subscription), hub.secret, hub.lease_seconds; 307/308 from the hub followed
    verify      GET callback: a known subscription and its own topic -> echo hub.challenge,
                active until now + hub.lease_seconds; anything else -> 404 (section 5.3)
    distribute  POST callback: X-Hub-Signature (sha1/sha256/sha384/sha512 HMAC of the body
                with the secret) must match, else 403 and nothing is read (section 8)
    renew       each worker tick: subscriptions whose lease ends within RENEW_MARGIN
    fall back   polling never stops: while a subscription is active the source is polled at
                its slowest bound; a hub that refuses, never verifies, or goes silent (a poll
                finds news the hub did not push) leaves the source at its normal pace

Every subscription lives in one hash per source (``keys.websub_subscription``); the renewal
schedule is one sorted set (``keys.WEBSUB_LEASES``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis

from ingest import keys
from ingest.model import from_ms, to_ms

log = logging.getLogger("wirefeed.subscriber")

LEASE_SECONDS = 86_400
"""The lease we ask hubs for (they may grant another)."""
RENEW_MARGIN = timedelta(minutes=10)
PENDING_SECONDS = 300.0
"""A subscription not verified within this long is given up (and tried again later)."""
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384}
_DIGESTS["sha512"] = hashlib.sha512


@dataclass(frozen=True, slots=True)
class Subscription:
    """One source's subscription as stored."""

    source_id: str
    hub: str
    topic: str
    token: str
    secret: str
    state: str
    """``pending`` (asked, not verified), ``active``, ``refused``, ``denied`` or ``silent``."""
    lease_until: datetime | None = None
    requested_at: datetime | None = None
    error: str | None = None

    def usable(self, now: datetime) -> bool:
        """Active, with its lease still running: pushes are expected."""
        return self.state == "active" and self.lease_until is not None and self.lease_until > now


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature: METHOD=HEX`` is the HMAC of ``body`` under ``secret``."""
    method, _, given = (header or "").strip().partition("=")
    digest = _DIGESTS.get(method.strip().lower())
    if digest is None or not given:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


class RedisSubscriber:
    """Subscriptions in Redis; ``http`` (guarded, owned by the caller) talks to hubs."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        http: httpx.AsyncClient | None = None,
        callback_base: str = "",
    ) -> None:
        self._r = client
        self._http = http
        self.callback_base = callback_base.rstrip("/")

    async def get(self, source_id: str) -> Subscription | None:
        raw = await self._r.hgetall(keys.websub_subscription(source_id))
        fields = {str(k): str(v) for k, v in raw.items()}
        return _subscription(source_id, fields) if fields else None

    async def ensure(self, source_id: str, hubs: tuple[str, ...], topic: str, now: datetime) -> str:
        """Subscribe ``source_id`` to ``topic`` at its first hub unless a subscription for it
        is active (and not due for renewal) or waiting for verification. Returns the state."""
        current = await self.get(source_id)
        if current is not None and current.topic == topic and current.hub == hubs[0]:
            if current.usable(now + RENEW_MARGIN):
                return current.state
            fresh = current.requested_at and now - current.requested_at < timedelta(
                seconds=PENDING_SECONDS
            )
            if current.state in ("pending", "refused", "silent") and fresh:
                return current.state
        return await self.subscribe(source_id, hubs[0], topic, now)

    async def subscribe(self, source_id: str, hub: str, topic: str, now: datetime) -> str:
        """Ask ``hub`` for a subscription (section 5.1); the state after the hub's answer."""
        token, secret = secrets.token_urlsafe(18), secrets.token_hex(32)
        record: dict[Any, Any] = {
            "hub": hub,
            "topic": topic,
            "token": token,
            "secret": secret,
            "state": "pending",
            "requested_at": to_ms(now),
        }
        key = keys.websub_subscription(source_id)
        await self._r.hset(key, mapping=record)
        await self._r.hdel(key, "error")
        form = {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.callback": self.callback(source_id, token),
            "hub.secret": secret,
            "hub.lease_seconds": str(LEASE_SECONDS),
        }
        assert self._http is not None, "a subscriber that subscribes needs an HTTP client"
        try:
            response = await self._http.post(hub, data=form, follow_redirects=True)
        except httpx.HTTPError as exc:
            return await self._refused(source_id, token, f"hub {hub} unreachable: {exc}")
        if response.status_code >= 300:
            reason = f"hub {hub} answered HTTP {response.status_code}: {response.text[:200]}"
            return await self._refused(source_id, token, " ".join(reason.split()))
        current = await self.get(source_id)
        return current.state if current else "pending"

    def callback(self, source_id: str, token: str) -> str:
        return f"{self.callback_base}/websub/callback/{source_id}/{token}"

    async def verify(
        self, source_id: str, token: str, params: Mapping[str, str], now: datetime
    ) -> tuple[int, str]:
        """Answer a hub's verification of intent (section 5.3): ``(status, body)``."""
        current = await self.get(source_id)
        if current is None or not hmac.compare_digest(current.token, token):
            return 404, "unknown subscription"
        mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
        if topic != current.topic:
            return 404, "not a topic we asked for"
        key = keys.websub_subscription(source_id)
        if mode == "denied":
            await self._r.hset(
                key, mapping={"state": "denied", "error": params.get("hub.reason", "")}
            )
            return 200, ""
        if mode == "unsubscribe":
            return 404, "we did not ask to unsubscribe"
        challenge = params.get("hub.challenge", "")
        if mode != "subscribe" or not challenge:
            return 404, "not a subscription verification"
        lease = _seconds(params.get("hub.lease_seconds")) or LEASE_SECONDS
        until = now + timedelta(seconds=lease)
        await self._r.hset(key, mapping={"state": "active", "lease_until": to_ms(until)})
        await self._r.zadd(keys.WEBSUB_LEASES, {source_id: to_ms(until)})
        return 200, challenge

    async def accept(
        self, source_id: str, token: str, body: bytes, signature: str | None
    ) -> tuple[int, str]:
        """Judge a content distribution (section 8): ``(status, reason)``; 2xx means the body
        is authentic and is to be ingested."""
        current = await self.get(source_id)
        if current is None or not hmac.compare_digest(current.token, token):
            return 404, "unknown subscription"
        if not signature:
            return 403, "no X-Hub-Signature on a subscription made with a secret"
        if not signature_ok(current.secret, body, signature):
            return 403, "X-Hub-Signature does not match the body"
        return 202, "accepted"

    async def due(self, now: datetime, limit: int = 100) -> list[Subscription]:
        """Subscriptions whose lease ends within RENEW_MARGIN of ``now``."""
        ids = await self._r.zrangebyscore(
            keys.WEBSUB_LEASES, "-inf", to_ms(now + RENEW_MARGIN), start=0, num=limit
        )
        found = [await self.get(str(i)) for i in ids]
        return [s for s in found if s is not None]

    async def renew_due(self, now: datetime) -> int:
        """Renew every subscription near the end of its lease; how many were asked."""
        count = 0
        for sub in await self.due(now):
            await self._r.zrem(keys.WEBSUB_LEASES, sub.source_id)
            await self.subscribe(sub.source_id, sub.hub, sub.topic, now)
            count += 1
        return count

    async def mark_silent(self, source_id: str, reason: str) -> None:
        """The hub missed news a poll found: poll at the normal pace until it is re-verified."""
        key = keys.websub_subscription(source_id)
        await self._r.hset(key, mapping={"state": "silent", "error": reason})
        await self._r.zrem(keys.WEBSUB_LEASES, source_id)

    async def _refused(self, source_id: str, token: str, reason: str) -> str:
        current = await self.get(source_id)
        if current is not None and current.token == token:
            key = keys.websub_subscription(source_id)
            await self._r.hset(key, mapping={"state": "refused", "error": reason})
        log.warning("source %s: websub: %s; polling continues", source_id, reason)
        return "refused"


def _seconds(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 10**8 else None


def _subscription(source_id: str, raw: Mapping[str, str]) -> Subscription:
    lease, requested = raw.get("lease_until"), raw.get("requested_at")
    return Subscription(
        source_id=source_id,
        hub=raw.get("hub", ""),
        topic=raw.get("topic", ""),
        token=raw.get("token", ""),
        secret=raw.get("secret", ""),
        state=raw.get("state", "pending"),
        lease_until=from_ms(lease) if lease else None,
        requested_at=from_ms(requested) if requested else None,
        error=raw.get("error") or None,
    )
