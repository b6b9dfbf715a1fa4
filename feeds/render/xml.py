"""Atom 1.0 (RFC 4287) through feedgen: the only module that imports it.

Every date is given explicitly (feedgen would otherwise stamp "now" into ``updated``), so the
same stories always render to the same bytes and a strong ETag over them is honest.

Entry links are added to feedgen's output by us: feedgen 1.0 writes an entry link's ``href`` and
drops its ``rel`` and ``type`` (https://github.com/lkiesow/python-feedgen/issues/135), which
turns a ``rel="related"`` link into a second alternate link, invalid under RFC 4287 4.1.2.

Text that XML 1.0 cannot carry at all (control characters, lone surrogates) is dropped: lxml
refuses it, and one wire item holding a stray control character would otherwise fail every feed
that lists its story.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.render.doc import SERVICE_NAME, FeedDoc, FeedItem
from ingest.text import xml_safe

ATOM_TYPE = "application/atom+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR_URI = "https://github.com/wirefeed/wirefeed"


def atom(doc: FeedDoc) -> bytes:
    """The Atom document of ``doc``, UTF-8 with an XML declaration."""
    fg = FeedGenerator()
    fg.id(doc.id)
    fg.title(_text(doc.title))
    fg.subtitle(_text(doc.subtitle))
    fg.updated(doc.updated)
    fg.author({"name": SERVICE_NAME})
    fg.generator(SERVICE_NAME, uri=GENERATOR_URI)
    fg.link(href=doc.self_url, rel="self", type=ATOM_TYPE)
    fg.link(href=doc.home_url, rel="alternate", type="text/html")
    for hub in doc.hubs:
        fg.link(href=hub, rel="hub")
    if doc.next_url:
        fg.link(href=doc.next_url, rel="next", type=ATOM_TYPE)
    for item in doc.items:
        fe = fg.add_entry(order="append")
        fe.id(item.id)
        fe.title(_text(item.title) or "(untitled)")
        fe.updated(item.updated)
        fe.published(item.published)
        fe.content(_text(item.html), type="html")
        fe.author([{"name": _text(name)} for name in item.authors])
    return _with_entry_links(fg.atom_str(pretty=False), doc.items)


def _with_entry_links(feed: bytes, items: tuple[FeedItem, ...]) -> bytes:
    """``feed`` with each entry's alternate and related links, entries in ``items`` order."""
    root = etree.fromstring(feed)
    entries = root.findall(f"{{{ATOM_NS}}}entry")
    for entry, item in zip(entries, items, strict=True):
        if item.url:
            _link(entry, item.url, "alternate")
        if item.external_url and item.external_url != item.url:
            _link(entry, item.external_url, "related")
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def _link(entry: etree._Element, href: str, rel: str) -> None:
    etree.SubElement(entry, f"{{{ATOM_NS}}}link", href=_text(href), rel=rel, type="text/html")


_text = xml_safe  # ingestion strips these already; stored data from older versions may not
