"""RSS and Atom (and their relatives) through feedparser: the only module that imports it.

feedparser is always handed an in-memory stream, never a string: given a string or bytes it
would treat a URL-looking or path-looking value as something to open, and a hostile body that
reads ``/etc/passwd`` must stay a body. Its own HTML sanitizer is off because normalization
sanitizes everything with nh3; relative URLs are still resolved against the document's base.
"""

from __future__ import annotations

import calendar
import io
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
from lxml import etree

from ingest.errors import ParseError
from ingest.model import ParsedFeed, RawEntry
from ingest.text import clean_str, html_to_text, paragraphs

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_EMAIL = re.compile(r"<?\(?\s*[^\s()<>@]+@[^\s()<>@]+\s*\)?>?")
_WRAPPED = re.compile(r"\(([^()]*)\)")


MAX_ENTITY_EXPANSION = 1_000_000
"""Characters that entity declarations of one document may expand to, all references counted."""
_ENTITY = re.compile(rb"""<!ENTITY\s+([A-Za-z_:][\w.:-]*)\s+(?:"([^"]*)"|'([^']*)')""")
_REFERENCE = re.compile(r"&([A-Za-z_:][\w.:-]*);")


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and CDF bytes; raise ParseError if unusable."""
    check_entities(body)
    try:
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers={k.lower(): v for k, v in headers.items()},  # feedparser: lowercase
            sanitize_html=False,
            resolve_relative_uris=True,
        )
    except Exception as exc:  # feedparser's internals can raise almost anything on hostile input
        raise ParseError(f"the XML parser failed: {type(exc).__name__}: {exc}") from None
    version = result.get("version") or ""
    problem = _describe(result.get("bozo_exception")) if result.get("bozo") else None
    if not version and not result.entries:
        raise ParseError(problem or "not a feed: no RSS, Atom or JSON Feed structure found")
    feed = result.get("feed", {})
    return ParsedFeed(
        format=version or "unknown",
        title=_title(feed),
        link=clean_str(feed.get("link")),
        entries=tuple(_entry(e) for e in result.entries) + tombstones(body),
        warnings=(problem,) if problem else (),
        ttl=_ttl(feed.get("ttl")),
    )


def _ttl(value: Any) -> float | None:
    """RSS 2.0 ``<ttl>`` minutes as seconds; anything but a positive whole number is ignored."""
    text = clean_str(value)
    if text is None or not text.isdigit() or not 0 < int(text) <= 525_600:  # at most a year
        return None
    return int(text) * 60.0


TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"
_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)


def tombstones(body: bytes) -> tuple[RawEntry, ...]:
    """Atom deleted entries (RFC 6721): ``<at:deleted-entry ref="ID" when="..."/>``, as
    withdrawals of the entries they name. feedparser does not read them, so we do, with an
    XML parser that resolves no entities and fetches nothing."""
    if TOMBSTONES_NS.encode() not in body:
        return ()
    try:
        root = etree.fromstring(body, parser=_SAFE_XML)
    except etree.XMLSyntaxError:
        return ()
    if root is None:
        return ()
    found = []
    for node in root.iter(f"{{{TOMBSTONES_NS}}}deleted-entry"):
        ref = clean_str(node.get("ref"))
        if ref:
            when = _iso(node.get("when"))
            found.append(RawEntry(native_id=ref, status="deleted", updated=when, published=when))
    return tuple(found)


def _iso(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_entities(body: bytes) -> None:
    """Refuse documents whose internal entity declarations would expand past
    :data:`MAX_ENTITY_EXPANSION` characters ("billion laughs" and its smaller cousins).

    expat has a guard of its own, but it trips only after megabytes were expanded, and a
    document just under it is fully expanded into what we would store. So the expansion is
    computed here first, from the declarations and the references, without building it.
    """
    if b"<!ENTITY" not in body:
        return
    values = {
        m.group(1).decode("latin-1"): (m.group(2) or m.group(3) or b"").decode("latin-1")
        for m in _ENTITY.finditer(body)
    }
    sizes: dict[str, int] = {}

    def size(name: str, depth: int = 0) -> int:
        if name not in values:
            return len(name) + 2  # an unknown reference stays as written
        if name not in sizes:
            if depth > 16:
                raise ParseError(f"entity {name!r} nests too deeply (or refers to itself)")
            text = values[name]
            refs = _REFERENCE.findall(text)
            sizes[name] = len(_REFERENCE.sub("", text)) + sum(size(r, depth + 1) for r in refs)
            if sizes[name] > MAX_ENTITY_EXPANSION:
                raise ParseError(
                    f"entity {name!r} would expand to more than "
                    f"{MAX_ENTITY_EXPANSION} characters; refused"
                )
        return sizes[name]

    document = _ENTITY.sub(b"", body).decode("latin-1")
    total = sum(size(name) for name in _REFERENCE.findall(document) if name in values)
    if total > MAX_ENTITY_EXPANSION:
        raise ParseError(
            f"entity references would expand to {total} characters, more than "
            f"{MAX_ENTITY_EXPANSION}; refused"
        )


def _entry(e: dict[str, Any]) -> RawEntry:  # a FeedParserDict
    link = clean_str(e.get("link"))
    if e.get("guidislink") and link == clean_str(e.get("id")):
        # feedparser copies a permalink guid into ``link``; keep it only if it is a real URL.
        link = link if link and link.startswith(("http://", "https://")) else None
    return RawEntry(
        native_id=clean_str(e.get("id")),
        title=_title(e),
        link=link,
        # a summary without a summary_detail is feedparser's copy of the content: leave it out
        summary=_html_of(e.get("summary_detail")),
        content=_content(e.get("content")),
        published=_when(e.get("published_parsed")),
        # dict.get: FeedParserDict.get would fall back to the published date (feedparser #310)
        updated=_when(dict.get(e, "updated_parsed")),
        authors=_authors(e),
        subjects=_categories(e),
    )


def _categories(e: Mapping[str, Any]) -> tuple[str, ...]:
    """RSS and Atom categories: the label where the feed gives one, else the term."""
    tags = (t for t in e.get("tags") or () if isinstance(t, Mapping))
    names = (clean_str(t.get("label")) or clean_str(t.get("term")) for t in tags)
    return tuple(n for n in names if n)


def _title(e: Mapping[str, Any]) -> str | None:
    detail = e.get("title_detail") or {}
    value = clean_str(e.get("title"))
    if value is not None and detail.get("type") in _HTML_TYPES:
        return html_to_text(value) or None  # titles are plain text in our model
    return value


def _content(content: Any) -> str | None:
    if not content:
        return None
    best = next((c for c in content if c.get("type") in _HTML_TYPES), content[0])
    return _html_of(best)


def _html_of(detail: Any) -> str | None:
    if not detail:
        return None
    value = clean_str(detail.get("value"))
    if value is None:
        return None
    if detail.get("type") in _HTML_TYPES:
        return value
    return paragraphs(value)


def _authors(e: Mapping[str, Any]) -> tuple[str, ...]:
    details = [a for a in e.get("authors") or () if isinstance(a, Mapping)]
    if len(details) == 1 and details[0].get("email"):
        # feedparser's e-mail pattern knows only 2-4 letter TLDs: "desk@wire.agency (Lee Park)"
        # comes back named "cy (Lee Park", so split the one author's raw text ourselves.
        name = _author_name(clean_str(e.get("author")) or "")
        return (name,) if name else ()
    names = [clean_str(a.get("name")) for a in details]
    found = tuple(n for n in names if n)
    if found:
        return found
    single = clean_str(e.get("author"))
    return (single,) if single else ()


def _author_name(text: str) -> str | None:
    """The name in "email (Name)", "Name (email)" or "Name <email>"; a bare e-mail stays."""
    rest = " ".join(_EMAIL.sub(" ", text).split())
    wrapped = _WRAPPED.fullmatch(rest)
    return clean_str(wrapped.group(1) if wrapped else rest) or clean_str(text)


def _when(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _describe(exc: object) -> str | None:
    if exc is None:
        return None
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
