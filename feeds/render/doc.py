"""A format-neutral feed document, and how stories and entries become one. Pure.

Atom, JSON Feed and RSS renderers all draw the same :class:`FeedDoc`, so every format carries the
same ids, titles, dates and links. Ids are ``urn:uuid:`` URNs derived from our stable story and
entry ids (RFC 4122 name-based), so they never change when the service moves host.

Paging follows RFC 5005. Lists of stories (all stories, a tag) are *paged feeds*: ``next`` (and
JSON Feed ``next_url``) lead to older pages. Entry streams (a story's timeline, a source's
items) are *archived feeds*: archive page k holds entries (k-1)*P .. k*P-1 counted from the
oldest, so a complete page never changes as news arrives; the subscription document holds the
newest P entries and points to the newest complete page with ``prev-archive``.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
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
class Paging:
    """RFC 5005 links of one document; all optional."""

    next_url: str | None = None
    """Paged feeds: the next (older) page. JSON Feed's ``next_url`` also uses prev_archive."""
    prev_archive: str | None = None
    next_archive: str | None = None
    current: str | None = None
    archive: bool = False
    """This document is an archive page (``fh:archive``): it will not change."""

    @property
    def older(self) -> str | None:
        """Where a reader finds older items, whatever kind of paging this is."""
        return self.next_url or self.prev_archive


@dataclass(frozen=True, slots=True)
class Deleted:
    """A tombstone: an entry this feed listed, withdrawn (RFC 6721 ``at:deleted-entry``)."""

    ref: str
    """The withdrawn entry's id, as the feed gave it (``urn:uuid:...``)."""
    when: datetime


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
    paging: Paging = Paging()
    deleted: tuple[Deleted, ...] = ()
    """Entries withdrawn within the tombstone window, newest first."""


def stories_doc(
    stories: Sequence[Story],
    ctx: Context,
    ext: str,
    *,
    title: str = "wirefeed: latest stories",
    family: str = "stories",
    ident: str = "",
    page: int = 1,
    paging: Paging = Paging(),
) -> FeedDoc:
    """A list of stories, most recently updated first; each item is a story (its timeline as
    content) linking to the story's page. Used for all stories and for tags."""
    return FeedDoc(
        id=urn("feed", f"{family}:{ident}" if ident else family),
        title=title,
        subtitle="Rolling story timelines assembled from wire sources",
        self_url=ctx.feed(family, ident, ext, page=page),
        home_url=ctx.home(),
        updated=max((s.updated for s in stories), default=EPOCH),
        items=tuple(_story_item(s, ctx) for s in stories),
        hubs=ctx.hubs,
        paging=paging,
    )


def story_doc(
    story: Story,
    ctx: Context,
    ext: str,
    *,
    archive: int | None = None,
    paging: Paging = Paging(),
) -> FeedDoc:
    """One story's timeline, newest entry first (an archive page lists its entries oldest
    first, as they arrived; its subtitle names no count, so the page never changes)."""
    entries = story.entries
    return FeedDoc(
        id=urn("story-feed", story.id),
        title=ctx.headline(story),
        subtitle=f"Timeline of updates, {story.entry_count} so far"
        if archive is None
        else f"Timeline of updates, archive page {archive}",
        self_url=ctx.feed("story", story.id, ext, archive=archive),
        home_url=ctx.story_page(story.id),
        updated=story.updated if archive is None else _newest(entries),
        items=tuple(_entry_item(e, ctx, story.timezone) for e in entries),
        hubs=ctx.hubs if archive is None else (),
        paging=paging,
    )


def source_doc(
    source_id: str,
    entries: Sequence[Entry],
    ctx: Context,
    ext: str,
    *,
    timezone: str = "UTC",
    archive: int | None = None,
    paging: Paging = Paging(),
) -> FeedDoc:
    """What one source reported, deduplicated, newest first (an archive page oldest first)."""
    name = ctx.credit(source_id)
    return FeedDoc(
        id=urn("source-feed", source_id),
        title=f"{name} (via wirefeed)",
        subtitle=f"Items from {name}, each once, as wirefeed stored them",
        self_url=ctx.feed("source", source_id, ext, archive=archive),
        home_url=ctx.home(),
        updated=_newest(entries),
        items=tuple(_entry_item(e, ctx, timezone) for e in entries),
        hubs=ctx.hubs if archive is None else (),
        paging=paging,
    )


def with_tombstones(doc: FeedDoc, killed: Sequence[tuple[str, datetime]]) -> FeedDoc:
    """``doc`` carrying tombstones for ``killed`` (entry id, when); its ``updated`` moves to
    the newest kill, so a reader sees the feed changed."""
    if not killed:
        return doc
    deleted = tuple(Deleted(urn("entry", eid), when) for eid, when in killed)
    newest = max(d.when for d in deleted)
    return replace(doc, deleted=deleted, updated=max(doc.updated, newest))


def withdrawn_story_doc(
    story_id: str, killed: Sequence[tuple[str, datetime]], ctx: Context, ext: str
) -> FeedDoc:
    """The feed of a story whose every entry was killed: no entries, only tombstones, so a
    subscriber's copy learns of the kills instead of meeting a 404."""
    doc = FeedDoc(
        id=urn("story-feed", story_id),
        title="wirefeed: withdrawn story",
        subtitle="Every update of this story was withdrawn",
        self_url=ctx.feed("story", story_id, ext),
        home_url=ctx.home(),
        updated=EPOCH,
        items=(),
        hubs=ctx.hubs,
    )
    return with_tombstones(doc, killed)


def archive_paging(
    ctx: Context,
    family: str,
    ident: str,
    ext: str,
    *,
    total: int,
    size: int,
    archive: int | None,
) -> Paging:
    """RFC 5005 links of a subscription document (``archive`` None) or of archive page k."""
    complete = total // size
    if archive is None:
        newest = ctx.feed(family, ident, ext, archive=complete) if total > size else None
        return Paging(prev_archive=newest)
    return Paging(
        prev_archive=ctx.feed(family, ident, ext, archive=archive - 1) if archive > 1 else None,
        next_archive=(
            ctx.feed(family, ident, ext, archive=archive + 1) if archive < complete else None
        ),
        current=ctx.feed(family, ident, ext),
        archive=True,
    )


def _newest(entries: Sequence[Entry]) -> datetime:
    return max((e.updated for e in entries), default=EPOCH)


def _story_item(story: Story, ctx: Context) -> FeedItem:
    return FeedItem(
        id=urn("story", story.id),
        title=ctx.headline(story),
        html=timeline_fragment(story, ctx.credit),
        published=story.created,
        updated=story.updated,
        url=ctx.story_page(story.id),
        authors=credits(story.entries, ctx),
    )


def _entry_item(entry: Entry, ctx: Context, timezone: str) -> FeedItem:
    return FeedItem(
        id=urn("entry", entry.id),
        title=entry.title,
        html=(entry.body_html or f"<p>{html.escape(entry.title)}</p>")
        + entry_notes(entry, timezone, ctx.credit),
        published=entry.published,
        updated=entry.updated,
        url=f"{ctx.story_page(entry.story_id)}#e-{entry.id}",
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
