"""Which story does an entry belong to? A pure decision over what the store found.

The rules, first match wins:

1. an entry we already have stays in its story (all versions of an item are one entry, and a
   duplicate is credited on the entry it duplicates);
2. an item on a page an earlier item came from (same canonical URL but for the fragment: a
   live page's updates) joins that item's story;
3. otherwise the item opens a new story, whose id derives from the entry id, so a replay of the
   same item after a crash names the same story.
"""

from __future__ import annotations

import hashlib

from ingest.model import Assignment, Decision


def story_id_for(entry_id: str) -> str:
    """The id of a story opened by ``entry_id``: short, URL-safe and deterministic."""
    return hashlib.sha256(f"story\x00{entry_id}".encode()).hexdigest()[:12]


def assign(decision: Decision, page_story: str | None) -> Assignment:
    """Pick the story for an entry; ``page_story`` is the story already holding its page."""
    if decision.story_id is not None:
        return Assignment(decision.story_id, new_story=False)
    if page_story is not None:
        return Assignment(page_story, new_story=False)
    return Assignment(story_id_for(decision.entry_id), new_story=True)
