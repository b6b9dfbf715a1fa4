"""Bytes and response headers in, :class:`~ingest.model.ParsedFeed` out. Pure: no I/O.

``parse`` picks the parser from the source's ``kind`` and, for ``auto``, from the bytes
themselves: JSON is a JSON Feed when it says so in ``version``, else ninjs when it is an object
(or a list of objects) with a ``uri``; XML whose root is a NewsML-G2 ``newsItem``,
``packageItem`` or ``newsMessage`` goes to the NewsML-G2 parser; any other XML goes to
feedparser (RSS, Atom).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ingest.errors import ParseError
from ingest.model import ParsedFeed
from ingest.parse import jsonfeed, newsml, ninjs, xml
from ingest.parse.discover import html_problem, looks_like_html

__all__ = ["ParseError", "goes_to_feedparser", "parse"]


def parse(
    body: bytes,
    headers: Mapping[str, str],
    kind: str = "auto",
    *,
    ninjs_version: str | None = None,
) -> ParsedFeed:
    """Parse one fetched document.

    ``ninjs_version`` pins the ninjs schema a ninjs document must conform to (else it is read
    as the newest version it conforms to). Raises :class:`ParseError` with the parser's own
    words when the document is unusable; a document that is merely sloppy comes back with
    ``warnings``.
    """
    if not body.strip():
        raise ParseError("empty document")
    route = _route(body, headers, kind)
    if route == "json":
        doc = jsonfeed.load(body)
        if kind == "ninjs" or (kind != "jsonfeed" and ninjs_version is not None):
            return ninjs.parse_document(doc, ninjs_version)
        if kind != "jsonfeed" and not _is_jsonfeed(doc) and ninjs.looks_like_ninjs(doc):
            return ninjs.parse_document(doc)
        return jsonfeed.parse_document(doc)
    if route == "html":
        base = {k.lower(): v for k, v in headers.items()}.get("content-location", "")
        raise ParseError(html_problem(body, base))
    if route == "newsml":
        return newsml.parse(body)
    feed = xml.parse(body, headers)
    if kind in ("rss", "atom") and not feed.format.startswith(kind):
        note = f"configured as {kind} but the document is {feed.format}"
        return replace(feed, warnings=(*feed.warnings, note))
    return feed


def goes_to_feedparser(body: bytes, headers: Mapping[str, str], kind: str = "auto") -> bool:
    """Whether :func:`parse` reads ``body`` as RSS or Atom (with feedparser): the documents
    :mod:`ingest.parse.skim` can cut into entries."""
    return bool(body.strip()) and _route(body, headers, kind) == "xml"


def _route(body: bytes, headers: Mapping[str, str], kind: str) -> str:
    """Which parser reads ``body``: json, html (refused), newsml or xml."""
    if kind in ("jsonfeed", "ninjs") or (kind in ("auto", "folder") and _looks_like_json(body)):
        return "json"
    if looks_like_html(body, headers):
        return "html"
    if kind == "newsml" or (kind in ("auto", "folder") and newsml.looks_like_newsml(body)):
        return "newsml"
    return "xml"


def _looks_like_json(body: bytes) -> bool:
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"{", b"["))


def _is_jsonfeed(doc: object) -> bool:
    version = doc.get("version") if isinstance(doc, dict) else None
    return isinstance(version, str) and version.startswith("https://jsonfeed.org/version/")
