"""Which story does an entry belong to? A pure decision over what the store found.

The rules, first match wins:

1. an entry we already have stays in its story (all versions of an item are one entry);
2. an item whose canonical URL an earlier item carried joins that item's story;
3. otherwise the item opens a new story, whose id derives from the entry id, so a replay of the
   same item after a crash names the same story.
"""

from __future__ import annotations

import hashlib

from ingest.model import Assignment, Decision, Known


def story_id_for(entry_id: str) -> str:
    """The id of a story opened by ``entry_id``: short, URL-safe and deterministic."""
    return hashlib.sha256(f"story\x00{entry_id}".encode()).hexdigest()[:12]


def assign(decision: Decision, known: Known | None, url_story: str | None) -> Assignment:
    """Pick the story for an entry; ``url_story`` is the story already holding its URL, if any."""
    if known is not None:
        return Assignment(known.story_id, new_story=False)
    if url_story is not None:
        return Assignment(url_story, new_story=False)
    return Assignment(story_id_for(decision.entry_id), new_story=True)
