"""Feeds an HTML page advertises (``<link rel="alternate" type="application/rss+xml">`` and
its Atom and JSON Feed cousins; WHATWG HTML, "link type alternate"). Pure: no I/O.

A source URL that serves a web page instead of a feed is a common slip; naming the feeds the
page points to turns "syntax error" into the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "jsonfeed",
    "application/json": "jsonfeed",
}


@dataclass(frozen=True, slots=True)
class Advertised:
    url: str
    kind: str
    title: str | None = None


def looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    """An HTML page rather than a feed: it starts like one, or it is labelled ``text/html``
    and nothing in its head looks like a feed (many servers label real feeds text/html)."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    if any(root in head for root in (b"<rss", b"<feed", b"<rdf:rdf", b"<channel", b"<?xml")):
        return False
    media = {k.lower(): v for k, v in headers.items()}.get("content-type", "").lower()
    return media.startswith("text/html") and head.startswith(b"<")


def advertised(body: bytes, base_url: str) -> list[Advertised]:
    """The feeds ``body`` advertises, absolute against ``base_url``, in page order."""
    try:
        root = lxml.html.document_fromstring(body[:2_000_000])
    except (ValueError, lxml.etree.ParserError):
        return []
    found: list[Advertised] = []
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((link.get("type") or "").lower().split(";")[0].strip())
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind and href:
            url = urljoin(base_url, href)
            if url.startswith(("http://", "https://")) and url not in {f.url for f in found}:
                found.append(Advertised(url, kind, (link.get("title") or "").strip() or None))
    return found


def html_problem(body: bytes, base_url: str) -> str:
    """The one-line error for a source that served ``body``, an HTML page."""
    feeds = advertised(body, base_url)
    if not feeds:
        return 'an HTML page, not a feed, and it advertises none (no <link rel="alternate">)'
    listed = ", ".join(f"{f.url} ({f.kind})" for f in feeds[:5])
    return f"an HTML page, not a feed; it advertises: {listed}"
