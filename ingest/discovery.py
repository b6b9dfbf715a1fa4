"""WebSub discovery (W3C WebSub section 4): which hub a topic advertises, and its self URL. Pure.

The HTTP ``Link`` header comes first (RFC 8288); only when it names no hub is the document
read: Atom ``<link rel="hub">``, RSS ``<atom:link rel="hub">``, HTML ``<link rel="hub">``.
The topic is the ``rel="self"`` URL found in the same place as the hub, else the URL the
document was fetched from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.html
from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
_LINK_VALUE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)
_SAFE = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What a topic advertises: its hubs (in order) and the topic URL to subscribe to."""

    hubs: tuple[str, ...]
    topic: str


def discover(url: str, headers: Mapping[str, str], body: bytes) -> Discovery | None:
    """The hubs and topic advertised by a document fetched from ``url``; None without a hub.
    ``headers`` are the response's, names lowercase, repeated headers comma-joined."""
    hubs, selves = link_header(headers.get("link", ""), url)
    if not hubs:
        hubs, selves = _document_links(body, url, headers.get("content-type", ""))
    if not hubs:
        return None
    return Discovery(tuple(dict.fromkeys(hubs)), selves[0] if selves else url)


def link_header(value: str, base: str) -> tuple[list[str], list[str]]:
    """``(hubs, selves)`` of an RFC 8288 Link header value."""
    hubs, selves = [], []
    for match in _LINK_VALUE.finditer(value):
        target = urljoin(base, match.group(1).strip())
        rels = _rels(match.group(2))
        if "hub" in rels:
            hubs.append(target)
        if "self" in rels:
            selves.append(target)
    return hubs, selves


def _rels(params: str) -> set[str]:
    found: set[str] = set()
    for m in _REL.finditer(params):
        found.update((m.group(1) or m.group(2) or "").lower().split())
    return found


def _document_links(body: bytes, base: str, content_type: str) -> tuple[list[str], list[str]]:
    head = body[:2048].lstrip().lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html")):
        return _html_links(body, base)
    return _xml_links(body, base)


def _xml_links(body: bytes, base: str) -> tuple[list[str], list[str]]:
    try:
        root = etree.fromstring(body, parser=_SAFE)
    except etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    scope = root.find("channel") if root.tag == "rss" else root  # RSS: the channel's links
    hubs, selves = [], []
    for link in (scope if scope is not None else root).iterchildren(f"{{{ATOM_NS}}}link"):
        rels = set((link.get("rel") or "").lower().split())
        href = urljoin(base, (link.get("href") or "").strip())
        if "hub" in rels:
            hubs.append(href)
        if "self" in rels:
            selves.append(href)
    return hubs, selves


def _html_links(body: bytes, base: str) -> tuple[list[str], list[str]]:
    try:
        doc = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return [], []
    hubs, selves = [], []
    for link in doc.iter("link"):
        rels = set((link.get("rel") or "").lower().split())
        href = urljoin(base, (link.get("href") or "").strip())
        if "hub" in rels:
            hubs.append(href)
        if "self" in rels:
            selves.append(href)
    return hubs, selves
