"""Atom 1.0 (RFC 4287) through feedgen: the only module that imports it.

Every date is given explicitly (feedgen would otherwise stamp "now" into ``updated``), so the
same stories always render to the same bytes and a strong ETag over them is honest.
"""

from __future__ import annotations

from feedgen.feed import FeedGenerator

from feeds.render.doc import SERVICE_NAME, FeedDoc

ATOM_TYPE = "application/atom+xml"
GENERATOR_URI = "https://github.com/wirefeed/wirefeed"


def atom(doc: FeedDoc) -> bytes:
    """The Atom document of ``doc``, UTF-8 with an XML declaration."""
    fg = FeedGenerator()
    fg.id(doc.id)
    fg.title(doc.title)
    fg.subtitle(doc.subtitle)
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
        fe.title(item.title or "(untitled)")
        fe.updated(item.updated)
        fe.published(item.published)
        fe.content(item.html, type="html")
        if item.url:
            fe.link(href=item.url, rel="alternate", type="text/html")
        if item.external_url and item.external_url != item.url:
            fe.link(href=item.external_url, rel="related", type="text/html")
        fe.author([{"name": name} for name in item.authors])
    result: bytes = fg.atom_str(pretty=False)
    return result
