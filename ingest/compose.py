"""The composition root: every policy and adapter a process needs, built from settings once.

Worker, web app, CLI and admin API all build through here, so a poll, a WebSub delivery, an
admin preview and a CLI preview of the same document decide the same way::

    settings ──> ingest_policy   dedupe, similarity, health, entry cap, editors' story rules
             ──> fetcher         fetch limits and the private-network guard
             ──> store           the Redis adapters with the retention of settings

The pure policies live with the stages that use them; this module only wires them.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.settings import Settings
from config.sources import StoryRule
from ingest.dedupe import DedupePolicy
from ingest.fetch.guard import AddressPolicy
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.health import HealthPolicy
from ingest.pipeline import IngestPolicy
from ingest.similar import policy_for
from ingest.store.base import Client
from ingest.store.dedupe_index import Retention
from ingest.store.redis_store import RedisStore


def ingest_policy(settings: Settings, rules: Sequence[StoryRule] = ()) -> IngestPolicy:
    """How every ingest path (polls, pushes, drop folders, previews) reads and decides."""
    return IngestPolicy(
        max_entries=settings.max_entries_per_fetch,
        rules=tuple(rules),
        similarity=policy_for(settings),
        dedupe=DedupePolicy(
            hash_change_cap=settings.hash_change_cap, max_age=settings.retention_days * 86400.0
        ),
        health=HealthPolicy(
            dead_after=settings.fetch_dead_after,
            quiet_factor=settings.fetch_quiet_factor,
            redirect_confirmations=settings.fetch_redirect_confirmations,
            unconditional_every=settings.fetch_unconditional_every,
        ),
    )


def retention(settings: Settings) -> Retention:
    """How long entries and tombstones live in Redis."""
    return Retention(
        entries=settings.retention_days * 86400, tombstones=settings.tombstone_days * 86400
    )


def fetch_limits(settings: Settings) -> FetchLimits:
    """The time and size limits of every fetch of a source."""
    return FetchLimits(
        connect_timeout=settings.fetch_connect_timeout,
        read_timeout=settings.fetch_read_timeout,
        total_timeout=settings.fetch_total_timeout,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
    )


def address_policy(settings: Settings) -> AddressPolicy:
    """Which networks fetches may reach (private ones only where settings allow them)."""
    return AddressPolicy(settings.fetch_allow_networks)


def fetcher(settings: Settings) -> HttpFetcher:
    """A fetcher with the limits and the network guard of ``settings``; its owner closes it."""
    return HttpFetcher(fetch_limits(settings), policy=address_policy(settings))


def store(client: Client, settings: Settings) -> RedisStore:
    """The store over ``client`` with the retention of ``settings``."""
    return RedisStore(client, retention=retention(settings), similarity=policy_for(settings))
