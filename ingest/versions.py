"""What storing a decided item leaves behind: the entry's stored form (the version merge) and
the identity record later decisions read. Pure: no I/O.

A new version keeps its entry's place in the timeline, its first-seen time and its history of
versions (the newest :data:`MAX_VERSIONS_KEPT`), and gets a fresh updated time; the identity
record counts the changes made without a version number, which
:func:`ingest.dedupe.decide` caps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ingest.model import Action, Decision, Entry, Item, Known, Plan, to_ms

MAX_VERSIONS_KEPT = 20
HASH_CHANGES_KEPT = 16
"""Times of changes without a version kept on an identity record (the cap counts them)."""


def entry_of(
    item: Item, decision: Decision, story_id: str, previous: Entry | None, now: datetime
) -> Entry:
    """The stored form of ``item`` at ``decision.version``, carrying over from ``previous``:
    its place in the timeline, its version history and any correction note."""
    history = ((decision.version, item.content_hash, now),)
    entry = Entry(
        id=decision.entry_id,
        story_id=story_id,
        source_id=item.source_id,
        identity=item.identity,
        identity_kind=item.identity_kind,
        url=item.url,
        title=item.title,
        summary_html=item.summary_html,
        content_html=item.content_html,
        published=item.published,
        updated=item.updated,
        authors=item.authors,
        content_hash=item.content_hash,
        version=decision.version,
        first_seen=now,
        versions=history,
        explicit_version=item.version,
        copy_key=item.copy_key,
        correction_note=item.note if item.correction else None,
        corrected_at=item.updated if item.correction else None,
    )
    if previous is None:
        return entry
    # A new version keeps the entry's place in the timeline and gets a fresh updated time:
    # the feed's date if it moved, else the moment we saw the change.
    kept = tuple(v for v in previous.versions if v[0] < decision.version)
    updated = item.updated if item.updated > previous.updated else max(now, previous.updated)
    explicit = [v for v in (previous.explicit_version, item.version) if v is not None]
    return replace(
        entry,
        published=min(previous.published, item.published),
        first_seen=previous.first_seen,
        updated=updated,
        versions=(kept + history)[-MAX_VERSIONS_KEPT:],
        explicit_version=max(explicit) if explicit else None,
        correction_note=(item.note if item.correction else previous.correction_note),
        # A rolling article's section that changed after it went out was corrected.
        corrected_at=updated if item.correction or item.rolling else previous.corrected_at,
    )


def record_of(plan: Plan, now: datetime | None = None) -> Known:
    """The identity record an applied plan leaves behind (``now``: when it is applied; a
    change without a version then counts towards the cap)."""
    known, decision, item = plan.known, plan.decision, plan.item
    changes: tuple[int, ...] = known.hash_changes if known else ()
    explicit = [
        v for v in ((known.explicit_version if known else None), item.version) if v is not None
    ]
    hash_only = known is not None and item.version in (None, known.explicit_version)
    if hash_only and now is not None and decision.action is Action.UPDATE:
        changes = (*changes, to_ms(now))[-HASH_CHANGES_KEPT:]
    return Known(
        entry_id=decision.entry_id,
        story_id=plan.assignment.story_id,
        version=decision.version,
        content_hash=item.content_hash,
        explicit_version=max(explicit) if explicit else None,
        updated_ms=max(to_ms(item.updated), known.updated_ms if known else 0),
        source_id=item.source_id,
        hash_changes=changes,
    )
