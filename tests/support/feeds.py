"""Feed documents as wires send them: RSS 2.0, Atom (with RFC 6721 tombstones), JSON Feed 1.1
and IPTC ninjs, built from ``Wire`` items. A wire item's default time is ``EARLIER`` (an hour
before ``clock.FIXED``): a test on the session clock gives every item its ``at`` (see
tests/support/clock.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import Any

from tests.support.clock import FIXED

EARLIER = FIXED - timedelta(hours=1)
TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"


@dataclass(frozen=True)
class Wire:
    """One item as a wire sends it; ``None`` leaves the field out of the document."""

    id: str | None
    title: str
    text: str = ""
    link: str | None = None
    at: datetime = EARLIER
    updated: datetime | None = None
    categories: tuple[str, ...] = ()


def rss(*items: Wire, title: str = "Harbor Wire", site: str = "https://harbor.example/") -> bytes:
    rows = []
    for i in items:
        parts = [f"<title>{escape(i.title)}</title>"] if i.title else []
        if i.id is not None:
            parts.append(f'<guid isPermaLink="false">{escape(i.id)}</guid>')
        if i.link:
            parts.append(f"<link>{escape(i.link)}</link>")
        if i.text:
            parts.append(f"<description>{escape(i.text)}</description>")
        parts.append(f"<pubDate>{format_datetime(i.at, usegmt=True)}</pubDate>")
        parts += [f"<category>{escape(c)}</category>" for c in i.categories]
        rows.append(f"<item>{''.join(parts)}</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(site)}</link>"
        f"<description>Wire</description>{''.join(rows)}</channel></rss>"
    ).encode()


def atom(
    *items: Wire,
    deleted: Sequence[tuple[str, datetime]] = (),
    title: str = "Bay Press",
    feed_id: str = "urn:bay:wire",
    author: str = "Bay",
) -> bytes:
    """An Atom feed; ``deleted`` are RFC 6721 tombstones: (ref, when). The feed's ``updated``
    is its newest item's or tombstone's time (``FIXED`` for a feed with neither)."""
    rows = "".join(
        f"<entry><id>{escape(i.id or '')}</id><title>{escape(i.title)}</title>"
        f"<published>{i.at.isoformat()}</published>"
        f"<updated>{(i.updated or i.at).isoformat()}</updated>"
        + (f'<link rel="alternate" href="{escape(i.link)}"/>' if i.link else "")
        + "".join(f'<category term="{escape(c)}"/>' for c in i.categories)
        + f'<summary type="text">{escape(i.text)}</summary></entry>'
        for i in items
    )
    stamps = [i.updated or i.at for i in items] + [when for _ref, when in deleted]
    newest = max(stamps, default=FIXED)
    tombs = "".join(
        f'<at:deleted-entry ref="{escape(ref)}" when="{when.isoformat()}"/>'
        for ref, when in deleted
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="{TOMBSTONES_NS}">'
        f"<id>{escape(feed_id)}</id><title>{escape(title)}</title>"
        f"<updated>{newest.isoformat()}</updated><author><name>{escape(author)}</name></author>"
        f"{tombs}{rows}</feed>"
    ).encode()


def json_feed(*items: Wire, title: str = "Coast Desk") -> bytes:
    out = []
    for i in items:
        row: dict[str, Any] = {"id": i.id, "title": i.title, "content_text": i.text}
        if i.link:
            row["url"] = i.link
        row["date_published"] = i.at.isoformat()
        if i.updated:
            row["date_modified"] = i.updated.isoformat()
        if i.categories:
            row["tags"] = list(i.categories)
        out.append(row)
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": out}
    return json.dumps(doc).encode()


def ninjs_item(
    uri: str,
    headline: str,
    body: str = "",
    *,
    html: str | None = None,
    version: int | None = None,
    created: datetime = EARLIER,
    versioncreated: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ninjs 2.x item, its text as ``body_text`` (or ``html`` as ``body_html``); ``extra``
    adds fields such as ``pubstatus``, ``ednote`` or ``slugline``."""
    item: dict[str, Any] = {
        "uri": uri,
        "type": "text",
        "headlines": [{"role": "main", "value": headline}],
        **({"body_html": html} if html is not None else {"body_text": body}),
        "firstcreated": created.isoformat(),
        "versioncreated": (versioncreated or created).isoformat(),
    }
    if version is not None:
        item["version"] = str(version)
    item.update(extra)
    return item


def ninjs(*items: dict[str, Any]) -> bytes:
    return json.dumps(list(items)).encode()
