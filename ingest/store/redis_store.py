"""All the storage ports (:mod:`ingest.ports`) over one Redis or Redis Cluster client.

One class per domain, all on one client (owned by the caller) and one translation of Redis
errors (:class:`~ingest.store.base.RedisAdapter`)::

    RedisStore
    ├── RedisEntries          entries.py   evidence, race claims, writes, kills, corrections
    │   └── Editing           editing.py   rename, pin, close, merge, split (editors' and the
    │       │                              machine's merges, which writes may have to finish)
    │       └── RedisTimeline timeline.py  events, archive orders, source feeds; the indexes
    │           └── RedisReader reads.py   stories, timelines, feeds, archive pages
    └── RedisSources          sources.py   configured sources, statuses and schedule records

The dedupe index (:mod:`ingest.store.dedupe_index`), the story index
(:mod:`ingest.store.story_index`), the audit log and the embargoes are held as attributes.
"""

from __future__ import annotations

from ingest.store.entries import RedisEntries
from ingest.store.sources import RedisSources


class RedisStore(RedisEntries, RedisSources):
    """Every storage port, over one client; see the module docstring."""
