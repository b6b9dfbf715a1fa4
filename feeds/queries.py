"""Which document a feed URL names, and how to build it from the store. Reads only.

::

    /feeds/stories.EXT[?page=N]                 all stories, most recently updated first
    /feeds/stories/ID.EXT                       one story's timeline, newest first
    /feeds/stories/ID/archive/K.EXT             its K-th archive page (RFC 5005)
    /feeds/sources/ID.EXT                       what one source reported, deduplicated
    /feeds/sources/ID/archive/K.EXT             its K-th archive page
    /feeds/tags/TAG.EXT[?page=N]                stories from the sources tagged TAG

EXT is ``atom``, ``json`` or ``rss``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feeds.render.context import Context
from feeds.render.doc import (
    FeedDoc,
    Paging,
    archive_paging,
    source_doc,
    stories_doc,
    story_doc,
    with_tombstones,
    withdrawn_story_doc,
)
from ingest.store.reads import RedisReader

FORMATS = ("atom", "json", "rss")
STORY_ENTRIES = 10
"""Newest entries of each story shown in story lists (the story page has them all)."""
_PATH = re.compile(
    r"^/feeds/(?:(?P<all>stories)|(?P<family>stories|sources|tags)/(?P<ident>[A-Za-z0-9._-]+)"
    r"(?:/archive/(?P<archive>[1-9][0-9]{0,8}))?)\.(?P<ext>atom|json|rss)$"
)
_FAMILY = {"stories": "story", "sources": "source", "tags": "tag"}


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed document: its family (stories, story, source, tag), subject, format, page."""

    family: str
    ident: str
    ext: str
    page: int = 1
    archive: int | None = None

    @classmethod
    def from_path(cls, path: str, page: int = 1) -> FeedSpec | None:
        """The spec a request path names, or ``None`` when it names no feed."""
        found = _PATH.match(path)
        if found is None:
            return None
        if found["all"]:
            return cls("stories", "", found["ext"], page=page)
        family = _FAMILY[found["family"]]
        archive = int(found["archive"]) if found["archive"] else None
        if archive is not None and family not in ("story", "source"):
            return None
        paged = family == "tag"
        return cls(family, found["ident"], found["ext"], page=page if paged else 1, archive=archive)

    @property
    def name(self) -> str:
        """A key naming this document in caches."""
        return f"{self.family}:{self.ident}:{self.archive or 0}:{self.page}.{self.ext}"

    @property
    def scopes(self) -> tuple[str, ...]:
        """The revisions this document depends on (see RedisReader.revisions)."""
        if self.family == "story":
            return ("story:" + self.ident, "config")
        if self.family == "source":
            return ("source:" + self.ident, "config")
        return ("stories",)


async def build(spec: FeedSpec, reader: RedisReader, ctx: Context, size: int) -> FeedDoc | None:
    """The document ``spec`` names, or ``None`` when it names nothing (unknown story, source
    or tag, an archive page that is not complete yet, a page past the end)."""
    if spec.family == "story":
        return await _story(spec, reader, ctx, size)
    if spec.family == "source":
        return await _source(spec, reader, ctx, size)
    return await _stories(spec, reader, ctx, size)


async def _stories(spec: FeedSpec, reader: RedisReader, ctx: Context, size: int) -> FeedDoc | None:
    offset = (spec.page - 1) * size
    if spec.family == "tag":
        sources = [s for s in await reader.get_sources() if spec.ident in s.tags]
        if not sources:
            return None
        stories, more = await reader.tag_page(
            [s.id for s in sources], size, offset=offset, entries=STORY_ENTRIES
        )
        title = f"wirefeed: stories tagged {spec.ident}"
    else:
        stories = await reader.recent_stories(size, offset=offset, entries=STORY_ENTRIES)
        title = "wirefeed: latest stories"
        # Whether there is a next page is a question about story ids, not about the stories
        # of this page that still have entries: one empty story must not end the paging.
        more = await reader.story_count() > offset + size
    if spec.page > 1 and not stories and not more:
        return None
    paging = Paging(
        next_url=ctx.feed(spec.family, spec.ident, spec.ext, page=spec.page + 1) if more else None
    )
    return stories_doc(
        stories[:size],
        ctx,
        spec.ext,
        title=title,
        family=spec.family,
        ident=spec.ident,
        page=spec.page,
        paging=paging,
    )


async def _story(spec: FeedSpec, reader: RedisReader, ctx: Context, size: int) -> FeedDoc | None:
    total = await reader.timeline_count(spec.ident)
    killed = await reader.deleted(story_id=spec.ident) if spec.archive is None else []
    if total == 0 and killed:
        return withdrawn_story_doc(spec.ident, killed, ctx, spec.ext)
    if total == 0 or not _archive_exists(spec.archive, total, size):
        return None
    if spec.archive is None:
        story = await reader.story(spec.ident, entries=size)
    else:
        start = (spec.archive - 1) * size
        story = await reader.story_slice(spec.ident, start, start + size - 1)
    if story is None:
        return None
    paging = archive_paging(
        ctx, "story", spec.ident, spec.ext, total=total, size=size, archive=spec.archive
    )
    doc = story_doc(story, ctx, spec.ext, archive=spec.archive, paging=paging)
    return with_tombstones(doc, killed)


async def _source(spec: FeedSpec, reader: RedisReader, ctx: Context, size: int) -> FeedDoc | None:
    found = await reader.get_sources([spec.ident])
    if not found:
        return None
    total = await reader.source_entry_count(spec.ident)
    if not _archive_exists(spec.archive, total, size):
        return None
    if spec.archive is None:
        entries = await reader.source_entries(spec.ident, 0, size - 1)
    else:
        start = (spec.archive - 1) * size
        entries = await reader.source_entries(
            spec.ident, start, start + size - 1, newest_first=False
        )
    paging = archive_paging(
        ctx, "source", spec.ident, spec.ext, total=total, size=size, archive=spec.archive
    )
    doc = source_doc(
        spec.ident,
        entries,
        ctx,
        spec.ext,
        timezone=found[0].timezone,
        archive=spec.archive,
        paging=paging,
    )
    if spec.archive is not None:  # archive pages never change; the live document carries them
        return doc
    return with_tombstones(doc, await reader.deleted(source_id=spec.ident))


def _archive_exists(archive: int | None, total: int, size: int) -> bool:
    """Only complete pages are archives: they are the ones that never change."""
    return archive is None or archive <= total // size
