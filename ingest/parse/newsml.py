"""IPTC NewsML-G2 (https://iptc.org/standards/newsml-g2/): ``newsItem``, ``packageItem``, and a
``newsMessage`` carrying several of them, parsed with lxml.

Safe by construction: the parser resolves no entities, loads no DTD, fetches nothing
(``no_network``) and refuses huge trees. Every document is validated against the IPTC's
NewsML-G2 2.35 schema (package data; the schema is backwards compatible across 2.x, which is
what the IPTC's own test suite checks) and refused with the schema's first complaint.
Elements of foreign namespaces that the schema admits through a strict wildcard but for which
we hold no schema (ODRL rights expressions, for example) are not held against the document.

Other NewsML-G2 items (``conceptItem``, ``knowledgeItem``, ``planningItem``, ``catalogItem``)
are valid documents that carry no news: they parse to no entries, with a warning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from lxml import etree

from ingest.errors import ParseError
from ingest.model import ParsedFeed, RawEntry
from ingest.text import clean_str, paragraphs

NAR = "http://iptc.org/std/nar/2006-10-01/"
_N = {"n": NAR}
_ROOTS = ("newsItem", "packageItem", "newsMessage")
_OTHER_ROOTS = ("conceptItem", "knowledgeItem", "planningItem", "catalogItem", "catalog")
_NEWS = ("newsItem", "packageItem")
_STATUS = {"usable": "usable", "withheld": "withheld", "canceled": "canceled"}
_CORRECTION_SIGNALS = ("correction", "cor")
_XHTML = "http://www.w3.org/1999/xhtml"
_SAFE = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
)


def looks_like_newsml(body: bytes) -> bool:
    """Whether the bytes look like NewsML-G2: the NAR namespace near the top."""
    return NAR.encode() in body[:8192]


def parse(body: bytes) -> ParsedFeed:
    """Parse and validate NewsML-G2 bytes; raise ParseError with the reason when unusable."""
    try:
        root = etree.fromstring(body, parser=_SAFE)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed NewsML-G2: {exc}") from None
    name = etree.QName(root)
    if name.namespace != NAR or name.localname not in (*_ROOTS, *_OTHER_ROOTS):
        raise ParseError(f"not NewsML-G2: the root element is {name.localname!r}")
    _validate(root)
    if name.localname in _OTHER_ROOTS:
        note = f"a NewsML-G2 {name.localname} carries no news item; nothing to ingest"
        return ParsedFeed(format="newsml-g2", warnings=(note,))
    items = [root] if name.localname in _NEWS else _message_items(root)
    return ParsedFeed(
        format="newsml-g2",
        title=_text(root.find("n:header/n:origin", _N)) if name.localname == _ROOTS[2] else None,
        entries=tuple(_entry(item) for item in items),
    )


def _message_items(root: Any) -> list[Any]:
    return [e for e in root.iterfind("n:itemSet/*", _N) if etree.QName(e).localname in _NEWS]


def _validate(root: Any) -> None:
    schema = _schema()
    if schema.validate(root):
        return
    problems = [e for e in schema.error_log if not _unknown_foreign(e.message)]
    if problems:
        first = problems[0]
        message = " ".join(first.message.split())
        raise ParseError(f"invalid NewsML-G2 (schema 2.35), line {first.line}: {message}")


def _unknown_foreign(message: str) -> bool:
    """A strict wildcard's complaint about a foreign element we hold no schema for."""
    return "No matching global element declaration available" in message and NAR not in message


@cache
def _schema() -> Any:
    path = resources.files("ingest.parse").joinpath("schemas", "NewsML-G2_2.35-spec-All-Power.xsd")
    return etree.XMLSchema(etree.parse(str(path), parser=_SAFE))


def _entry(item: Any) -> RawEntry:
    meta = item.find("n:itemMeta", _N)
    content = item.find("n:contentMeta", _N)
    signals = tuple(_qcode_code(s.get("qcode")) for s in item.iterfind("n:itemMeta/n:signal", _N))
    status = _qcode_code(_attr(meta, "n:pubStatus", "qcode")) or "usable"
    refs = item.iterfind(".//n:groupSet//n:itemRef", _N)
    links = tuple(r.get("residref") for r in refs if r.get("residref"))
    return RawEntry(
        native_id=clean_str(item.get("guid")),
        title=_text(_find(content, "n:headline")) or _text(_find(meta, "n:title")),
        link=_link(meta),
        summary=paragraphs(_text(_find(content, "n:description"))),
        content=_body(item),
        published=_date(_text(_find(meta, "n:firstCreated")))
        or _date(_text(_find(content, "n:contentCreated"))),
        updated=_date(_text(_find(meta, "n:versionCreated"))),
        authors=_names(content, "n:creator"),
        version=_version(item.get("version")),
        status="canceled" if _STATUS.get(status, "usable") != "usable" else "usable",
        correction=any(s in _CORRECTION_SIGNALS for s in signals),
        note=_text(_find(meta, "n:edNote")),
        slugline=_text(_find(content, "n:slugline")),
        links=tuple(dict.fromkeys(links))[:10],
        embargoed=_date(_text(_find(meta, "n:embargoed"))),
        located=_text(_find(content, "n:located/n:name")),
        subjects=_names(content, "n:subject"),
        signals=tuple(s for s in signals if s),
    )


def _names(parent: Any, path: str) -> tuple[str, ...]:
    names = (_text(node.find("n:name", _N)) for node in _findall(parent, path))
    return tuple(dict.fromkeys(n for n in names if n))


def _find(parent: Any, path: str) -> Any:
    return None if parent is None else parent.find(path, _N)


def _findall(parent: Any, path: str) -> list[Any]:
    return [] if parent is None else list(parent.iterfind(path, _N))


def _attr(parent: Any, path: str, name: str) -> str | None:
    node = _find(parent, path)
    return None if node is None else node.get(name)


def _text(node: Any) -> str | None:
    if node is None:
        return None
    return clean_str(" ".join("".join(node.itertext()).split()))


def _qcode_code(qcode: str | None) -> str:
    """``stat:usable`` -> ``usable``; a URI-ish qcode keeps its last segment."""
    return (qcode or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1].strip().lower()


def _link(meta: Any) -> str | None:
    for link in _findall(meta, "n:link"):
        href = link.get("href") or ""
        if link.get("rel") in ("irel:canonical", "irel:self") and href.startswith("http"):
            return href
    return None


def _body(item: Any) -> str | None:
    """The text of the first inline content: XHTML or NITF markup kept, plain text as
    paragraphs. Remote content (``remoteContent``) is a rendition we do not fetch."""
    for inline in item.iterfind("n:contentSet/n:inlineXML", _N):
        html = _markup(inline)
        if html:
            return html
    for inline in item.iterfind("n:contentSet/n:inlineData", _N):
        text = clean_str(inline.text)
        if text:
            return paragraphs(text)
    return None


def _markup(inline: Any) -> str | None:
    """Serialize the body of inline XHTML (``body``) or NITF (``body.content``) as HTML."""
    for node in inline.iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if local in ("body.content", "body") and (local == "body.content" or _in_xhtml(node)):
            parts = [_plain(child) for child in node if isinstance(child.tag, str)]
            html = "".join(p for p in parts if p)
            return html or paragraphs(_text(node))
    return paragraphs(_text(inline))


def _in_xhtml(node: Any) -> bool:
    return etree.QName(node).namespace in (_XHTML, None)


def _plain(node: Any) -> str:
    """One element as HTML without namespaces (normalization sanitizes it afterwards)."""
    copy = etree.fromstring(etree.tostring(node))
    for el in copy.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(copy)
    return str(etree.tostring(copy, encoding="unicode", method="html"))


def _version(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _date(value: str | None) -> datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) == 10:  # a date without a time (NewsML-G2 allows it): noon UTC
        text += "T12:00:00+00:00"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
