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

NOTHING = f"{PREFIX}:nothing"
"""Never written: a pipeline reads it where it needs a reply that says nothing (a cluster
pipeline refuses ``ECHO``, so this stands in for it)."""


def source_config(source_id: str) -> str:
    """String: the source's settings as JSON, written by whoever loaded the sources file."""
    return f"{PREFIX}:{{src:{source_id}}}:config"


def source_status(source_id: str) -> str:
    """Hash: validators, last attempt and success, last error, failure count, state."""
    return f"{PREFIX}:{{src:{source_id}}}:status"


def identity(source_id: str, ident: str) -> str:
    """String (expires): what we know of one identity of a source, as ``Known`` JSON.

    Written last when an item is stored, so it doubles as the commit marker that makes a
    replay after a crash converge instead of duplicating. One key per identity (not a hash
    field) so each can expire on its own; the source's tag keeps MGET within one slot.
    """
    return f"{PREFIX}:{{src:{source_id}}}:id:{_digest(ident, 24)}"


def story_meta(story_id: str) -> str:
    """Hash: headline, lede, created, updated, time zone, entry count of one story."""
    return f"{PREFIX}:{{story:{story_id}}}:meta"


def story_timeline(story_id: str) -> str:
    """Sorted set: entry id -> the entry's time (ms); the timeline is read newest first."""
    return f"{PREFIX}:{{story:{story_id}}}:timeline"


def story_arrivals(story_id: str) -> str:
    """Sorted set: entry id -> when the entry first arrived (ms). Archive pages are cut in
    this order, so an item dated before archived ones but arriving late lands on a later page
    instead of reshuffling pages that must not change (RFC 5005)."""
    return f"{PREFIX}:{{story:{story_id}}}:arrivals"


def story_entries(story_id: str) -> str:
    """Hash: entry id -> entry JSON, kept in the story's slot so a timeline renders in one read."""
    return f"{PREFIX}:{{story:{story_id}}}:entries"


def item_url(canonical_url: str) -> str:
    """String (expires): the entry that first carried this canonical URL, as ``Known`` JSON.
    Claimed with SET NX, so two workers racing on one item agree on its owner."""
    return f"{PREFIX}:url:{_digest(canonical_url)}"


def copy(copy_key: str) -> str:
    """String (expires): the entry whose words are exactly these, as ``Known`` JSON (SET NX)."""
    return f"{PREFIX}:copy:{copy_key}"


def page_story(page_url: str) -> str:
    """String (expires): the story the first item from this page (URL sans fragment) opened."""
    return f"{PREFIX}:page:{_digest(page_url)}"


def lsh_band(band_key: str) -> str:
    """List (expires, capped): recent entries whose signature has this band, newest first.
    Capped so a lookup reads a bounded number of candidates however many items are stored."""
    return f"{PREFIX}:lsh:{band_key}"


def near_record(entry_id: str) -> str:
    """String (expires): an entry's owner record, time and content words, for comparing
    near-duplicate candidates exactly."""
    return f"{PREFIX}:near:{entry_id}"


def entry_locator(entry_id: str) -> str:
    """String (expires): an entry's ``Known`` record by entry id, for editors' commands."""
    return f"{PREFIX}:entry:{entry_id}"


def tombstone(entry_id: str) -> str:
    """String (outlives entries): why and when an entry was killed. Never re-ingested."""
    return f"{PREFIX}:tomb:{entry_id}"


def story_also(story_id: str) -> str:
    """Hash: "ENTRY\x1fSOURCE" -> URL: other sources that carried an entry ("also reported
    by"). One field per pair, so concurrent additions never overwrite each other."""
    return f"{PREFIX}:{{story:{story_id}}}:also"


def _digest(text: str, size: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def story_sources(story_id: str) -> str:
    """Set: the ids of the sources that contributed to the story, for credits and filters."""
    return f"{PREFIX}:{{story:{story_id}}}:sources"


def host_in_flight(host: str) -> str:
    """Sorted set: token -> lease expiry (ms) of the fetches running against one host."""
    return f"{PREFIX}:{{host:{host}}}:inflight"


def host_rate(host: str) -> str:
    """String: the host's theoretical arrival time (ms) for its requests-per-minute budget."""
    return f"{PREFIX}:{{host:{host}}}:rate"


REVISION = f"{PREFIX}:rev"
"""Counter bumped by every change to any story (and to the source list): the revision of the
all-stories and tag feeds, which caches of rendered feeds compare against."""


CONFIG_REVISION = f"{PREFIX}:config-rev"
"""Counter bumped when the configured sources change: names and tags appear in every feed."""


def source_entries(source_id: str) -> str:
    """Sorted set: "STORY:ENTRY" -> published (ms) of what the source reported, duplicates
    included once: the source's own feed."""
    return f"{PREFIX}:{{src:{source_id}}}:entries"


def source_arrivals(source_id: str) -> str:
    """Sorted set: the members of :func:`source_entries` -> when each first arrived (ms); the
    order archive pages of the source's feed are cut in."""
    return f"{PREFIX}:{{src:{source_id}}}:arrivals"


def source_stories(source_id: str) -> str:
    """Sorted set: story id -> last change (ms) of the stories the source contributed to; tag
    feeds merge these of the tag's sources."""
    return f"{PREFIX}:{{src:{source_id}}}:stories"


def source_revision(source_id: str) -> str:
    """Counter bumped whenever the source's feed changes."""
    return f"{PREFIX}:{{src:{source_id}}}:rev"


def rendered(name: str) -> str:
    """Hash (expires): one rendered feed document: its revision, bytes, gzip, ETag, type."""
    return f"{PREFIX}:render:{_digest(name)}"


def render_lock(name: str) -> str:
    """String (short-lived): held by the one process rendering a missing document."""
    return f"{PREFIX}:render-lock:{_digest(name)}"


def story_key(key: str) -> str:
    """String (expires): the story an explicit story key (rule, rolling article, slugline,
    rolling headline) opened."""
    return f"{PREFIX}:skey:{_digest(key)}"


def term_stories(term: str) -> str:
    """Sorted set (expires, capped): story -> last time (ms) an entry with this significant
    term joined it. The inverted index that finds similar stories in bounded reads."""
    return f"{PREFIX}:term:{term}"


def story_terms(story_id: str) -> str:
    """Set: the content words of a story's entries: its profile for similarity scoring."""
    return f"{PREFIX}:{{story:{story_id}}}:terms"


DOC_FREQUENCY = f"{PREFIX}:df"
"""Hash: term -> how many items carried it; with DOC_TOTAL, the rarity that weights terms."""

DOC_TOTAL = f"{PREFIX}:df-total"
"""Counter: how many items DOC_FREQUENCY has seen."""


def article_sections(source_id: str, identity: str) -> str:
    """Set (expires): the section identities a rolling article was split into, so a kill of
    the article reaches every section."""
    return f"{PREFIX}:{{src:{source_id}}}:sections:{_digest(identity, 24)}"
