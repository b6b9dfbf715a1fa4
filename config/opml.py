"""OPML 2.0 (http://opml.org/spec2.opml) import and export of sources.

Export writes one ``<outline type="rss">`` per source, inside one folder outline per first
tag (the way feed readers show categories), with ``xmlUrl``, ``text``/``title``, the
``category`` attribute listing every tag, and the settings OPML has no word for in attributes
of our own namespace (``wf:id``, ``wf:kind``, ``wf:interval``, ...), so export then import
gives back the same sources. Import reads any reader's OPML: folders and ``category`` become
tags, a missing id is made from the title (or the URL's host), and every source is validated
as the sources file's are. A broken file gets every problem, each with its line, and yields no
source at all.

Parsing is safe: lxml with external entities unresolved, no DTD loaded, no network, a size
cap, and a document that declares entities refused (as defusedxml does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from config.sources import Source, SourcesError, check_source

NS = "https://wirefeed.invalid/ns/opml"
MAX_BYTES = 5 * 1024 * 1024
_EXTRA = ("id", "kind", "interval", "min_interval", "max_interval", "enabled", "timezone")
_SLUG = re.compile(r"[^a-z0-9]+")


def export_opml(sources: Sequence[Source], title: str = "wirefeed sources") -> bytes:
    """An OPML 2.0 document of ``sources`` (see the module docstring)."""
    root = etree.Element("opml", version="2.0", nsmap={"wf": NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    folders: dict[str, Any] = {}
    for source in sources:
        parent = body
        if source.tags:
            first = source.tags[0]
            if first not in folders:
                folders[first] = etree.SubElement(body, "outline", text=first, title=first)
            parent = folders[first]
        outline = etree.SubElement(parent, "outline", type="rss")
        outline.set("text", source.title or source.id)
        outline.set("title", source.title or source.id)
        outline.set("xmlUrl", source.url)
        if source.tags:
            outline.set("category", ",".join(source.tags))
        for name in _EXTRA:
            value = getattr(source, name)
            if value is not None:
                outline.set(f"{{{NS}}}{name}", json.dumps(value))
        for name in ("headers", "keep", "block"):
            if getattr(source, name):
                outline.set(f"{{{NS}}}{name}", json.dumps(dict(getattr(source, name))))
        outline.set(f"{{{NS}}}titled", json.dumps(bool(source.title)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def parse_opml(data: bytes, label: str = "OPML") -> list[Source]:
    """The sources an OPML document lists; :class:`SourcesError` with every problem (``LABEL:
    line N: ...``) and no source when any outline is unusable."""
    if len(data) > MAX_BYTES:
        raise SourcesError([f"{label}: larger than {MAX_BYTES} bytes"])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise SourcesError([f"{label}: line {line}: not well-formed XML: {exc.msg}"]) from None
    if root.getroottree().docinfo.internalDTD is not None and b"<!ENTITY" in data:
        # As defusedxml: no OPML needs entities, and expanding them is how XML bombs work.
        raise SourcesError([f"{label}: declares XML entities, which are refused"])
    if root.tag != "opml" or root.find("body") is None:
        raise SourcesError([f"{label}: not an OPML document (no <opml> with a <body>)"])
    problems: list[str] = []
    sources: list[Source] = []
    seen: set[str] = set()
    for outline, folders in _feeds(root.find("body"), ()):
        where = f"{label}: line {outline.sourceline}"
        raw = _fields(outline, folders)
        try:
            source = check_source(raw, where)
        except SourcesError as exc:
            problems.extend(exc.problems)
            continue
        if source.id in seen:
            problems.append(f'{where}: source "{source.id}": id: listed twice')
        seen.add(source.id)
        sources.append(source)
    if problems:
        raise SourcesError(problems)
    return sources


def _feeds(node: Any, folders: tuple[str, ...]) -> list[tuple[Any, tuple[str, ...]]]:
    """Every outline with an ``xmlUrl``, with the folder names above it."""
    found = []
    for outline in node.iterchildren("outline"):
        if outline.get("xmlUrl") is not None:
            found.append((outline, folders))
        else:
            name = outline.get("text") or outline.get("title") or ""
            found += _feeds(outline, (*folders, name) if name else folders)
    return found


def _fields(outline: Any, folders: tuple[str, ...]) -> dict[str, Any]:
    url = outline.get("xmlUrl", "")
    title = outline.get("title") or outline.get("text") or ""
    raw: dict[str, Any] = {"url": url}
    for name in (*_EXTRA, "headers", "keep", "block"):
        value = outline.get(f"{{{NS}}}{name}")
        if value is not None:
            try:
                raw[name] = json.loads(value)
            except json.JSONDecodeError:
                raw[name] = value  # validated below, and named if wrong
    if json.loads(outline.get(f"{{{NS}}}titled", "true") or "true") and title:
        raw["title"] = title
    tags: list[str] = []
    for text in (*folders, *(outline.get("category") or "").split(",")):
        for part in text.split("/"):
            tag = _SLUG.sub("-", part.strip().lower()).strip("-")
            if tag and tag not in tags:
                tags.append(tag)
    raw["tags"] = tags
    raw.setdefault("id", _slug(title) or _slug(urlsplit(url).hostname or "") or "source")
    return raw


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:64].strip("-")


def read_opml(path: Path) -> list[Source]:
    """:func:`parse_opml` of a file, naming the file in every problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourcesError([f"{path}: cannot read the file: {exc.strerror or exc}"]) from None
    return parse_opml(data, str(path))
