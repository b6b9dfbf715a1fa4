"""Every Redis key wirefeed uses, in one place, each with the reason it exists.

The prefix carries a layout version (``wf:v1``): a change of layout gets a new prefix and a
migration, never a silent reinterpretation. Keys of one story share the hash tag
``{story:ID}`` and keys of one source share ``{src:ID}``, so every Lua script and transaction
touches a single slot and the service runs unchanged on Redis Cluster.
"""

from __future__ import annotations

import hashlib

PREFIX = "wf:v1"

# Global keys (one slot each).
SCHEDULE = f"{PREFIX}:schedule"
"""Sorted set: source id -> next due time (ms). Claiming pushes the score out by a lease."""

SOURCES = f"{PREFIX}:sources"
"""Set of configured source ids, so any process can list them without the sources file."""

STORIES = f"{PREFIX}:stories"
"""Sorted set: story id -> last change (ms). The all-stories feed reads it newest first."""

EVENTS = f"{PREFIX}:events"
"""Stream of story-changed events (story id, kind), capped; the web app tails it for push."""

WORKERS = f"{PREFIX}:workers"
"""Sorted set: worker id -> last heartbeat (ms), so ops can see which workers are alive."""


def source_config(source_id: str) -> str:
    """String: the source's settings as JSON, written by whoever loaded the sources file."""
    return f"{PREFIX}:{{src:{source_id}}}:config"


def source_status(source_id: str) -> str:
    """Hash: validators, last attempt and success, last error, failure count, state."""
    return f"{PREFIX}:{{src:{source_id}}}:status"


def source_ids(source_id: str) -> str:
    """Hash: identity -> what we know of it (entry, story, version, content hash).

    Written last when an item is stored, so it doubles as the commit marker that makes a
    replay after a crash converge instead of duplicating.
    """
    return f"{PREFIX}:{{src:{source_id}}}:ids"


def story_meta(story_id: str) -> str:
    """Hash: headline, lede, created, updated, time zone, entry count of one story."""
    return f"{PREFIX}:{{story:{story_id}}}:meta"


def story_timeline(story_id: str) -> str:
    """Sorted set: entry id -> the entry's time (ms); the timeline is read newest first."""
    return f"{PREFIX}:{{story:{story_id}}}:timeline"


def story_entries(story_id: str) -> str:
    """Hash: entry id -> entry JSON, kept in the story's slot so a timeline renders in one read."""
    return f"{PREFIX}:{{story:{story_id}}}:entries"


def url_story(canonical_url: str) -> str:
    """String: the story that first carried this canonical URL (hashed to bound key length)."""
    digest = hashlib.sha256(canonical_url.encode()).hexdigest()[:32]
    return f"{PREFIX}:url:{digest}"


def story_sources(story_id: str) -> str:
    """Set: the ids of the sources that contributed to the story, for credits and filters."""
    return f"{PREFIX}:{{story:{story_id}}}:sources"


def host_in_flight(host: str) -> str:
    """Sorted set: token -> lease expiry (ms) of the fetches running against one host."""
    return f"{PREFIX}:{{host:{host}}}:inflight"


def host_rate(host: str) -> str:
    """String: the host's theoretical arrival time (ms) for its requests-per-minute budget."""
    return f"{PREFIX}:{{host:{host}}}:rate"
