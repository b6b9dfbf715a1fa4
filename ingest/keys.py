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

WORKER_INFO = f"{PREFIX}:worker-info"
"""Hash: worker id -> JSON (host, pid, version, start time, sources in flight), written with
each heartbeat; entries of workers gone from :data:`WORKERS` are dropped by the next reader."""

RELOADS = f"{PREFIX}:reloads"
"""Hash: configuration reloads across the fleet: ``ok`` and ``failed`` counts, and the last
attempt's ``at`` (ms), ``result``, ``message`` and ``by`` (process), for /ops and metrics."""

INGEST_MINUTES = f"{PREFIX}:ingest-minutes"
"""Hash: minute (epoch ms of its start) -> items taken that minute, for the last hour's chart
on /ops; fields older than an hour are dropped by the worker that writes."""
EMBARGO_DUE = f"{PREFIX}:{{embargo}}:due"
"""Sorted set: "SOURCE\x1fIDENTITY" -> embargo end (ms): held items, soonest first. Shares
its hash tag with EMBARGO_HELD so the release script touches one slot."""

EMBARGO_HELD = f"{PREFIX}:{{embargo}}:held"
"""Hash: "SOURCE\x1fIDENTITY" -> the held Item as JSON, published when its embargo ends."""


WEBSUB_LEASES = f"{PREFIX}:websub:leases"
"""Sorted set: source id -> when its WebSub subscription's lease ends (ms): what to renew."""


def websub_subscription(source_id: str) -> str:
    """Hash: the source's WebSub subscription (hub, topic, callback token, secret, state,
    lease end). The secret never leaves Redis and the subscriber."""
    return f"{PREFIX}:websub:sub:{source_id}"


def folder_claim(source_id: str, file_key: str) -> str:
    """String (expires after the claim lease): a worker took this drop-folder file (name,
    size, mtime), so no other worker ingests it at the same time."""
    return f"{PREFIX}:folder:{source_id}:{_digest(file_key)}"


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


def yielded(entry_id: str) -> str:
    """String (expires): the record of the entry a would-be entry yielded to when it lost a
    race for its URL, copy or near copy: items that yielded to it follow on to that one."""
    return f"{PREFIX}:yielded:{entry_id}"


def tombstone(entry_id: str) -> str:
    """String (outlives entries): why and when an entry was killed. Never re-ingested."""
    return f"{PREFIX}:tomb:{entry_id}"


def story_deleted(story_id: str) -> str:
    """Sorted set (expires with tombstones): entry id -> when it was killed (ms): the
    RFC 6721 deleted-entry tombstones of the story's feeds, within the tombstone window."""
    return f"{PREFIX}:{{story:{story_id}}}:deleted"


def source_deleted(source_id: str) -> str:
    """Sorted set (expires with tombstones): "STORY:ENTRY" -> when it was killed (ms): the
    deleted-entry tombstones of the source's feeds."""
    return f"{PREFIX}:source:{source_id}:deleted"


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


def source_seen(source_id: str) -> str:
    """Sorted set: digests of the raw entries the source sent (see :mod:`ingest.unchanged`),
    scored by when a document last carried each (ms)."""
    return f"{PREFIX}:{{src:{source_id}}}:seen"


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
    """Sorted set (expires, capped): story -> the newest item time (ms) of its entries with
    this significant term. The inverted index that finds similar stories in bounded reads."""
    return f"{PREFIX}:term:{term}"


def story_profile(story_id: str) -> str:
    """Sorted set (capped): term -> weight, the decayed centroid of a story's entries that
    similarity scoring compares items with (see ingest.similar). Its meta hash holds the
    centroid's origin and the span of item times (``t0``, ``first``, ``last``, ms)."""
    return f"{PREFIX}:{{story:{story_id}}}:profile"


def story_contributed(story_id: str) -> str:
    """Set: the entries whose vectors are in the story's centroid (each counts once, however
    often it is replayed or revised)."""
    return f"{PREFIX}:{{story:{story_id}}}:contributed"


STORY_OPENINGS = f"{PREFIX}:openings"
"""List (capped, expires): the stories opened most recently, newest first, each with the
vector of the item that opened it, entered *before* the story is stored, so two items of one
new story polled at the same moment by different fetches do not open two stories."""

STORY_OPENINGS_INTO = f"{PREFIX}:openings:into"
"""Hash (expires): an opening's story -> the story its item joined instead of opening it."""

DOC_FREQUENCY = f"{PREFIX}:df"
"""Hash: term -> how many items carried it; with DOC_TOTAL, the rarity that weights terms."""

DOC_TOTAL = f"{PREFIX}:df-total"
"""Counter: how many items DOC_FREQUENCY has seen."""


def article_sections(source_id: str, identity: str) -> str:
    """Set (expires): the section identities a rolling article was split into, so a kill of
    the article reaches every section."""
    return f"{PREFIX}:{{src:{source_id}}}:sections:{_digest(identity, 24)}"


AUDIT = f"{PREFIX}:audit"
"""Stream: every editor's and admin's change (who, role, via, action, target, before, after,
at), newest last; capped at :data:`ingest.store.audit.AUDIT_MAXLEN` entries."""

SOURCES_FILE = f"{PREFIX}:{{owners}}:file"
"""Hash: source id -> JSON of the sources the sources file names (the file owns them), as the
last worker to load the file published them. The five keys of who owns which source share the
``{owners}`` tag: one slot, so they change together in one MULTI/EXEC on a cluster."""

SOURCES_API = f"{PREFIX}:{{owners}}:api"
"""Hash: source id -> JSON of the sources created through the admin API (the API owns them).
They live only here, so a reload or restart never loses them."""

SOURCES_PAUSED = f"{PREFIX}:{{owners}}:paused"
"""Set: ids of sources an editor paused (of either owner); survives reloads."""

SOURCE_CONFLICTS = f"{PREFIX}:{{owners}}:conflicts"
"""Hash: source id -> why two owners claim it (the file now names an API-created source)."""


def desk_session(session_id: str) -> str:
    """String (expires): a web desk session: who signed in (name, role, the token's digest,
    so a rotated-out token ends its sessions) and the session's CSRF token, as JSON."""
    return f"{PREFIX}:desk-session:{_digest(session_id)}"


SOURCES_OWNED = f"{PREFIX}:{{owners}}:owned"
"""String: set once :data:`SOURCES_FILE` is authoritative (a worker published the file, or the
sources configured before owners were kept were recorded as the file's)."""


def killed_entry(entry_id: str) -> str:
    """String (lives as long as the tombstone): the entry an editor killed, as entry JSON, so
    that an unkill can lift every tombstone and claim the kill left on it."""
    return f"{PREFIX}:killed:{entry_id}"
