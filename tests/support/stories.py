"""Invented stories for the renderers' unit tests and golden files (tests/fixtures/render), on the
fixed clock: an ice storm with three updates, an airport reopening, and a hostile source."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from feeds.render.context import Context
from ingest.model import Entry, Story


def utc(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


ICE = "a1b2c3d4e5f6"


ICE_URL = "https://lakeshore.example/2026/11/29/ice-storm-live"


def entry(ident: str, source: str, published: datetime, title: str, **extra: Any) -> Entry:
    fields: dict[str, Any] = {
        "id": ident,
        "story_id": ICE,
        "source_id": source,
        "identity": f"{source}:{ident}",
        "identity_kind": "native",
        "url": ICE_URL,
        "title": title,
        "summary_html": "",
        "content_html": "",
        "published": published,
        "updated": published,
        "authors": (),
        "content_hash": f"hash-{ident}",
        "version": 1,
        "first_seen": published,
        "versions": ((1, f"hash-{ident}", published),),
    }
    return Entry(**(fields | extra))


ICE_ENTRIES = (  # newest first, as the store returns a timeline
    entry(
        "e4",
        "lakeshore",
        utc(29, 22, 10),
        "Utility expects most customers back on by Monday",
        content_html="<p>Northern Illinois Power says crews from four states are working "
        "through the night and most homes should have power by Monday evening.</p>",
    ),
    entry(
        "e3",
        "prairie",
        utc(29, 21, 0),
        "Outages top 210,000 homes and businesses",
        summary_html="<p>The utility's outage map shows more than 210,000 customers without "
        "power, most of them in DeKalb and Kane counties.</p>",
        updated=utc(29, 21, 20),
        version=2,
        content_hash="hash-e3-v2",
        versions=((1, "hash-e3", utc(29, 21, 0)), (2, "hash-e3-v2", utc(29, 21, 20))),
    ),
    entry(
        "e2",
        "lakeshore",
        utc(29, 18, 0),
        "Governor declares disaster in 11 counties",
        summary_html="<p>The declaration frees state money for shelters and road crews.</p>",
        url="https://lakeshore.example/2026/11/29/disaster-declaration",
    ),
    entry(
        "e1",
        "prairie",
        utc(28, 23, 45),
        "Freezing rain coats roads west of Chicago",
        summary_html="<p>Forecasters warn of a quarter-inch of ice by morning.</p>",
        authors=("Dana Whitfield",),
    ),
)


ICE_STORY = Story(
    id=ICE,
    title="The Latest: Ice storm knocks out power across northern Illinois",
    lede_html="<p>An ice storm has left hundreds of thousands of homes in the dark, and the "
    "utility says repairs will take days.</p>",
    created=utc(28, 23, 45),
    updated=utc(29, 22, 12),
    timezone="America/Chicago",
    entry_count=4,
    sources=("lakeshore", "prairie"),
    entries=ICE_ENTRIES,
)


CHENNAI_ENTRY = Entry(
    id="c1",
    story_id="0f9e8d7c6b5a",
    source_id="coastal",
    identity="coastal:c1",
    identity_kind="url",
    url="https://coastal.example/chennai-airport",
    title="Chennai airport reopens after cyclone",
    summary_html="<p>Flights resumed at noon after runways were cleared of debris.</p>",
    content_html="",
    published=utc(29, 6, 30),
    updated=utc(29, 6, 30),
    authors=(),
    content_hash="hash-c1",
    version=1,
    first_seen=utc(29, 6, 30),
)


CHENNAI_STORY = Story(
    id="0f9e8d7c6b5a",
    title="Chennai airport reopens after cyclone",
    lede_html="<p>Flights resumed at noon after runways were cleared of debris.</p>",
    created=utc(29, 6, 30),
    updated=utc(29, 6, 30),
    timezone="Asia/Kolkata",
    entry_count=1,
    sources=("coastal",),
    entries=(CHENNAI_ENTRY,),
)


STORIES = (ICE_STORY, CHENNAI_STORY)  # most recently updated first, as the store returns them


CTX = Context(
    base="https://wirefeed.example",
    # "coastal" is not configured: its credit falls back to the source id.
    source_names={"lakeshore": "Lakeshore Wire", "prairie": "Prairie News & Wire"},
    hubs=("https://hub.example/",),
)


HOSTILE_TITLE = 'Mayor\'s "plan" <script>alert(1)</script> & more'


HOSTILE_SOURCE = "<b>Wire</b> & Co"


HOSTILE_CTX = Context(base="https://wirefeed.example", source_names={"lakeshore": HOSTILE_SOURCE})


HOSTILE_STORY = replace(
    ICE_STORY,
    title=HOSTILE_TITLE,
    entries=(replace(ICE_ENTRIES[0], title=HOSTILE_TITLE),),
    entry_count=1,
)
