"""IPTC ninjs 1.x, 2.x and 3.x (https://iptc.org/standards/ninjs/), parsed by us.

Accepted shapes: one ninjs object, a JSON array of them, or an object whose ``items`` (or
``data``) is such an array. Field names changed across versions (``headline`` in 1.x,
``headlines`` in 2.x, camelCase such as ``pubStatus`` in 3.x); each field is read under all
its names. What wirefeed needs beyond a feed's fields: the explicit ``version``, ``pubstatus``
(``canceled`` and ``withheld`` withdraw the item), the ``ednote``, the slugline and the
embargo (``embargoed`` in 1.x/2.x, ``embargoedUntil`` in 3.x).

Every item is validated against the IPTC schema of its version first (see
:mod:`ingest.parse.ninjs_schema`): a document that breaks its schema is refused with the field
and the rule, an item of a list that breaks it is skipped with that warning.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.errors import ParseError
from ingest.model import ParsedFeed, RawEntry
from ingest.parse.ninjs_schema import NinjsInvalid, conform
from ingest.text import clean_str, paragraphs

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_KILLED = ("canceled", "cancelled", "withheld")


def looks_like_ninjs(doc: Any) -> bool:
    """Whether a decoded JSON document is ninjs: an object with a ``uri`` (the one property
    every ninjs version requires), or a list of them. A JSON Feed is told apart before this,
    by its ``version`` URL."""
    first = _items(doc)
    return bool(first) and isinstance(first[0], dict) and "uri" in first[0]


def parse_document(doc: Any, version: str | None = None) -> ParsedFeed:
    """Turn decoded ninjs JSON into a ParsedFeed; raise ParseError when no item is usable.

    ``version`` pins the ninjs version every item must conform to; without it each item is
    read as the newest version it conforms to. A single document that conforms to none is
    refused; in a list, such items are skipped with a warning.
    """
    items = _items(doc)
    if not items:
        raise ParseError("not a ninjs document: no object with a 'uri'")
    entries, warnings, versions = [], [], []
    for index, item in enumerate(items):
        try:
            found = conform(item, version)
        except NinjsInvalid as exc:
            if len(items) == 1:
                raise ParseError(str(exc)) from None
            warnings.append(f"item {index}: {exc}; skipped")
            continue
        versions.append(found.version)
        if found.mixed:
            fields = ", ".join(found.mixed)
            warnings.append(f"item {index}: fields of other ninjs versions read too: {fields}")
        if not isinstance(item, dict) or not clean_str(item.get("uri")):
            warnings.append(f"item {index}: no 'uri', skipped")
            continue
        entries.append(_entry(item))
    if not entries:
        first = warnings[0] if warnings else "no item has a 'uri'"
        raise ParseError(f"not a usable ninjs document: {first}")
    label = "ninjs" + (versions[0] if len(set(versions)) == 1 else "")
    return ParsedFeed(format=label, entries=tuple(entries), warnings=tuple(warnings))


def _items(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("items", "data"):
            if isinstance(doc.get(key), list) and "version" not in doc:
                return list(doc[key])
        return [doc]
    return []


def _get(item: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in item:
            return item[name]
    return None


def _entry(item: Mapping[str, Any]) -> RawEntry:
    status = (clean_str(_get(item, "pubstatus", "pubStatus")) or "usable").lower()
    note = clean_str(_get(item, "ednote", "edNote"))
    uri = str(item["uri"]).strip()
    return RawEntry(
        native_id=uri,
        title=_headline(item),
        link=uri if uri.startswith(("http://", "https://")) else None,
        summary=_description(item),
        content=_body(item),
        published=_date(
            _get(item, "firstcreated", "firstCreated", "contentcreated", "contentCreated")
        )
        or _event_date(item),
        updated=_date(_get(item, "versioncreated", "versionCreated")),
        authors=_authors(item),
        version=_version(item.get("version")),
        status="canceled" if status in _KILLED else status,
        correction=bool(note and "correct" in note.lower()),
        note=note,
        slugline=clean_str(item.get("slugline")),
        links=_associations(item),
        embargoed=_date(_get(item, "embargoedUntil", "embargoed")),
        subjects=_subjects(item),
    )


def _subjects(item: Mapping[str, Any]) -> tuple[str, ...]:
    """Subject names (``subjects`` in 2.x and 3.x, ``subject`` in 1.x), else their uris."""
    raw = _get(item, "subjects", "subject")
    parts = raw if isinstance(raw, list) else ()
    names = (
        clean_str(p.get("name")) or clean_str(p.get("uri")) or clean_str(p.get("code"))
        for p in parts
        if isinstance(p, dict)
    )
    return tuple(n for n in names if n)


def _associations(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The uris of associated items: a map of name -> item (1.x, 2.x) or a list (3.x)."""
    raw = item.get("associations")
    parts = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else ()
    uris = (clean_str(p.get("uri")) for p in parts if isinstance(p, dict))
    return tuple(dict.fromkeys(u for u in uris if u))[:10]


def _headline(item: Mapping[str, Any]) -> str | None:
    single = clean_str(_get(item, "headline"))
    if single:
        return single
    many = item.get("headlines")
    if isinstance(many, list):
        ranked = sorted(
            (h for h in many if isinstance(h, dict)),
            key=lambda h: h.get("role") not in (None, "main"),
        )
        for h in ranked:
            if clean_str(h.get("value")):
                return clean_str(h.get("value"))
    return clean_str(item.get("title"))


def _description(item: Mapping[str, Any]) -> str | None:
    text = clean_str(_get(item, "description_html"))
    if text:
        return text
    text = clean_str(_get(item, "description_text"))
    if text:
        return paragraphs(text)
    for d in _list(item.get("descriptions")):
        if d.get("role") in (None, "summary", "text", "description") and clean_str(d.get("value")):
            return _as_html(d)
    return None


def _body(item: Mapping[str, Any]) -> str | None:
    for name in ("body_html", "body_xhtml"):
        if clean_str(item.get(name)):
            return str(item[name])
    if clean_str(item.get("body_text")):
        return paragraphs(str(item["body_text"]))
    bodies = _list(item.get("bodies"))
    ranked = sorted(bodies, key=lambda b: not _is_html(b))
    for b in ranked:
        if clean_str(b.get("value")):
            return _as_html(b)
    return None


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _is_html(part: Mapping[str, Any]) -> bool:
    kind = str(part.get("contenttype") or part.get("contentType") or part.get("role") or "")
    return kind.lower() in _HTML_TYPES


def _as_html(part: Mapping[str, Any]) -> str | None:
    value = str(part.get("value"))
    return value if _is_html(part) else paragraphs(value)


def _authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    byline = clean_str(_get(item, "byline", "by"))
    if byline:
        return (html.unescape(byline),)
    people = [
        clean_str(p.get("name"))
        for p in _list(item.get("people"))
        if p.get("rel") in ("author", "creator")
    ]
    return tuple(p for p in people if p)


def _version(value: Any) -> int | None:
    text = (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )
    return int(text) if text.isdigit() and len(text) < 12 else None


def _event_date(item: Mapping[str, Any]) -> datetime | None:
    """ninjs 3 event items (timelines) are dated by the event, not by publication."""
    details = item.get("eventDetails")
    dates = details.get("dates") if isinstance(details, dict) else None
    if not isinstance(dates, dict):
        return None
    return _date(dates.get("startDate")) or _date(dates.get("estimatedStartDate"))


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 10:  # a bare date (ninjs 3 truncated dates): noon UTC, not midnight
        text += "T12:00:00+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
