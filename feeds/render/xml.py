"""Atom 1.0 (RFC 4287) and RSS 2.0 through feedgen: the only module that imports it.

Every date is given explicitly (feedgen would otherwise stamp "now" into ``updated`` and RSS
``lastBuildDate``), so the same stories always render to the same bytes and a strong ETag over
them is honest.

Entry links are added to feedgen's Atom output by us: feedgen 1.0 writes an entry link's
``href`` and drops its ``rel`` and ``type`` (https://github.com/lkiesow/python-feedgen/issues/135),
which turns a ``rel="related"`` link into a second alternate link, invalid under RFC 4287 4.1.2.
RFC 5005's ``fh:archive`` marker is added the same way, and so are RFC 6721's
``at:deleted-entry`` tombstones (feed-level extension elements, RFC 4287 section 6.4).

Text that XML 1.0 cannot carry at all (control characters, lone surrogates) is dropped: lxml
refuses it, and one wire item holding a stray control character would otherwise fail every feed
that lists its story.
"""

from __future__ import annotations

from datetime import UTC

from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.render.doc import SERVICE_NAME, FeedDoc, FeedItem
from ingest.text import xml_safe

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"
GENERATOR_URI = "https://github.com/wirefeed/wirefeed"

_text = xml_safe  # ingestion strips these already; stored data from older versions may not


def atom(doc: FeedDoc) -> bytes:
    """The Atom document of ``doc``, UTF-8 with an XML declaration."""
    fg = _generator(doc, ATOM_TYPE)
    fg.subtitle(_text(doc.subtitle))
    fg.author({"name": SERVICE_NAME})
    fg.generator(SERVICE_NAME, uri=GENERATOR_URI)
    fg.link(href=doc.home_url, rel="alternate", type="text/html")
    paging = doc.paging
    for rel, href in (
        ("next", paging.next_url),
        ("prev-archive", paging.prev_archive),
        ("next-archive", paging.next_archive),
        ("current", paging.current),
    ):
        if href:
            fg.link(href=href, rel=rel, type=ATOM_TYPE)
    for item in doc.items:
        fe = fg.add_entry(order="append")
        fe.id(item.id)
        fe.title(_text(item.title) or "(untitled)")
        fe.updated(item.updated)
        fe.published(item.published)
        fe.content(_text(item.html), type="html")
        fe.author([{"name": _text(name)} for name in item.authors])
    return _finish_atom(fg.atom_str(pretty=False), doc)


def rss(doc: FeedDoc) -> bytes:
    """The RSS 2.0 document of ``doc`` (https://www.rssboard.org/rss-specification): every
    channel and item element the specification requires, RFC 822 dates, ``atom:link``
    self and hub links, and ``dc:creator`` for credits."""
    fg = _generator(doc, RSS_TYPE)
    fg.load_extension("dc")
    fg.description(_text(doc.subtitle))
    fg.link(href=doc.home_url, rel="alternate")
    fg.generator(SERVICE_NAME)
    fg.docs("https://www.rssboard.org/rss-specification")
    for item in doc.items:
        fe = fg.add_entry(order="append")
        fe.guid(item.id, permalink=False)
        fe.title(_text(item.title) or "(untitled)")
        if item.url:
            fe.link(href=item.url)
        fe.description(_text(item.html))
        fe.pubDate(item.published)
        for name in item.authors:
            fe.dc.dc_creator(_text(name))
    return _finish_rss(fg.rss_str(pretty=False), doc)


def _finish_rss(feed: bytes, doc: FeedDoc) -> bytes:
    """feedgen writes only the self ``atom:link`` into RSS; hubs and paging links follow it.

    Paging is RFC 5005's, as in Atom (the RFC names RSS as a host too): ``prev-archive``,
    ``next-archive``, ``current`` and ``fh:archive`` on an archive page. ``next`` always
    leads to older items, archived or paged, for readers that follow only ``next``."""
    paging = doc.paging
    extra = [("hub", hub) for hub in doc.hubs] + [
        ("next", paging.older),
        ("prev-archive", paging.prev_archive),
        ("next-archive", paging.next_archive),
        ("current", paging.current),
    ]
    extra = [(rel, href) for rel, href in extra if href]
    if not extra and not paging.archive:
        return feed
    root = etree.fromstring(feed)
    channel = root.find("channel")
    assert channel is not None
    anchor = channel.find(f"{{{ATOM_NS}}}link")
    for rel, href in reversed(extra):
        link = etree.Element(f"{{{ATOM_NS}}}link", href=_text(href or ""), rel=rel)
        if anchor is not None:
            anchor.addnext(link)
        else:
            channel.insert(0, link)
    if paging.archive:
        _mark_archive(channel, channel.find("item"))
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def _generator(doc: FeedDoc, media_type: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(doc.id)
    fg.title(_text(doc.title))
    fg.updated(doc.updated)  # also RSS lastBuildDate: never "now"
    fg.link(href=doc.self_url, rel="self", type=media_type)
    for hub in doc.hubs:
        fg.link(href=hub, rel="hub")
    return fg


def _finish_atom(feed: bytes, doc: FeedDoc) -> bytes:
    """``feed`` with each entry's alternate and related links and, for an archive page,
    ``fh:archive`` (RFC 5005 section 4)."""
    root = etree.fromstring(feed)
    entries = root.findall(f"{{{ATOM_NS}}}entry")
    for entry, item in zip(entries, doc.items, strict=True):
        _entry_links(entry, item)
    if doc.paging.archive:
        _mark_archive(root, root.find(f"{{{ATOM_NS}}}entry"))
    if doc.deleted:
        root = _with_tombstones(root, doc)
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


def _with_tombstones(root: etree._Element, doc: FeedDoc) -> etree._Element:
    """``root`` with one ``at:deleted-entry`` per withdrawn entry (RFC 6721 section 3: ``ref``
    is the entry's atom:id, ``when`` the time of the kill). They go before the entries: RFC
    4287's schema wants a feed's extension elements among its metadata."""
    first = root.find(f"{{{ATOM_NS}}}entry")
    for gone in doc.deleted:
        node = etree.Element(f"{{{TOMBSTONES_NS}}}deleted-entry", nsmap={"at": TOMBSTONES_NS})
        node.set("ref", gone.ref)
        node.set("when", gone.when.astimezone(UTC).replace(microsecond=0).isoformat())
        if first is None:
            root.append(node)
        else:
            first.addprevious(node)
    return root


def _mark_archive(feed: etree._Element, first: etree._Element | None) -> None:
    """Put RFC 5005's ``fh:archive`` into ``feed`` (Atom feed, RSS channel), before its first
    entry or item ``first`` if it has one."""
    marker = etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS})
    if first is None:
        feed.append(marker)
    else:
        first.addprevious(marker)


def _entry_links(entry: etree._Element, item: FeedItem) -> None:
    if item.url:
        _link(entry, item.url, "alternate")
    if item.external_url and item.external_url != item.url:
        _link(entry, item.external_url, "related")


def _link(entry: etree._Element, href: str, rel: str) -> None:
    etree.SubElement(entry, f"{{{ATOM_NS}}}link", href=_text(href), rel=rel, type="text/html")
