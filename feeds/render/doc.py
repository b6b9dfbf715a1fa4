"""A format-neutral feed document, and how stories become one. Pure.

Atom, JSON Feed and RSS renderers all draw the same :class:`FeedDoc`, so every format carries the
same ids, titles, dates and links. Ids are ``urn:uuid:`` URNs derived from our stable story and
entry ids (RFC 4122 name-based), so they never change when the service moves host.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.render.context import Context
from feeds.render.page import entry_notes, timeline_fragment
from ingest.model import Entry, Story

_NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4f0e-9d8c-2a1b0c9e8f7d")
SERVICE_NAME = "wirefeed"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def urn(kind: str, ident: str) -> str:
    """The stable ``urn:uuid:`` id of a story, entry or feed."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{ident}").urn


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: str
    title: str
    html: str
    published: datetime
    updated: datetime
    url: str | None
    authors: tuple[str, ...]
    external_url: str | None = None


@dataclass(frozen=True, slots=True)
class FeedDoc:
    id: str
    title: str
    subtitle: str
    self_url: str
    home_url: str
    updated: datetime
    items: tuple[FeedItem, ...]
    hubs: tuple[str, ...] = ()
    next_url: str | None = None


def stories_doc(stories: Sequence[Story], ctx: Context, ext: str) -> FeedDoc:
    """All stories, most recently updated first; each item is a story and links to its page."""
    return FeedDoc(
        id=urn("feed", "stories"),
        title="wirefeed: latest stories",
        subtitle="Rolling story timelines assembled from wire sources",
        self_url=ctx.stories_feed(ext),
        home_url=ctx.home(),
        updated=max((s.updated for s in stories), default=EPOCH),
        items=tuple(_story_item(s, ctx) for s in stories),
        hubs=ctx.hubs,
    )


def story_doc(story: Story, ctx: Context, ext: str) -> FeedDoc:
    """One story's timeline, newest entry first."""
    return FeedDoc(
        id=urn("story-feed", story.id),
        title=story.title,
        subtitle=f"Timeline of updates, {story.entry_count} so far",
        self_url=ctx.story_feed(story.id, ext),
        home_url=ctx.story_page(story.id),
        updated=story.updated,
        items=tuple(_entry_item(e, story, ctx) for e in story.entries),
        hubs=ctx.hubs,
    )


def _story_item(story: Story, ctx: Context) -> FeedItem:
    return FeedItem(
        id=urn("story", story.id),
        title=story.title,
        html=timeline_fragment(story, ctx.credit),
        published=story.created,
        updated=story.updated,
        url=ctx.story_page(story.id),
        authors=credits(story.entries, ctx),
    )


def _entry_item(entry: Entry, story: Story, ctx: Context) -> FeedItem:
    return FeedItem(
        id=urn("entry", entry.id),
        title=entry.title,
        html=(entry.body_html or f"<p>{html.escape(entry.title)}</p>")
        + entry_notes(entry, story.timezone, ctx.credit),
        published=entry.published,
        updated=entry.updated,
        url=f"{ctx.story_page(story.id)}#e-{entry.id}",
        authors=credits((entry,), ctx),
        external_url=entry.url,
    )


def credits(entries: Sequence[Entry], ctx: Context) -> tuple[str, ...]:
    """Who to credit, in timeline order: each entry's source, never empty."""
    names: list[str] = []
    for entry in entries:
        name = ctx.credit(entry.source_id)
        if name not in names:
            names.append(name)
    return tuple(names) or (SERVICE_NAME,)
