"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), parsed by us.

Strict where the spec is strict (a top-level object with a JSON Feed ``version`` and an
``items`` list), lenient where real feeds are sloppy: a bad item is skipped with a warning,
a bad date is dropped, 1.0's ``author`` is read as 1.1's ``authors``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.errors import ParseError
from ingest.model import ParsedFeed, RawEntry
from ingest.text import clean_str, paragraphs

_VERSIONS = {
    "https://jsonfeed.org/version/1": "jsonfeed10",
    "https://jsonfeed.org/version/1.1": "jsonfeed11",
}


def parse(body: bytes, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse JSON Feed bytes; raise ParseError naming what is wrong with the document."""
    return parse_document(load(body))


def parse_document(doc: Any) -> ParsedFeed:
    """Turn decoded JSON into a ParsedFeed; raise ParseError if it is not a JSON Feed."""
    if not isinstance(doc, dict):
        raise ParseError(f"not a JSON Feed: the document is a JSON {type(doc).__name__}")
    version = doc.get("version")
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError(f"not a JSON Feed: 'version' is {json.dumps(version)}")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(f"not a JSON Feed: 'items' must be a list, got {type(items).__name__}")
    warnings: list[str] = []
    if version not in _VERSIONS:
        warnings.append(f"unknown JSON Feed version {version}, read as 1.1")
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            warnings.append(f"items[{index}]: not an object, skipped")
            continue
        entries.append(_entry(item, warnings, index))
    return ParsedFeed(
        format=_VERSIONS.get(version, "jsonfeed11"),
        title=clean_str(doc.get("title")),
        link=clean_str(doc.get("home_page_url")),
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


def load(body: bytes) -> Any:
    """Decode a JSON document (UTF-8, BOM allowed); raise ParseError saying where it breaks."""
    text = body.decode("utf-8-sig", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ParseError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's int-to-str digit limit
        raise ParseError(f"invalid JSON: {exc}") from None


def _entry(item: Mapping[str, Any], warnings: list[str], index: int) -> RawEntry:
    raw_id = item.get("id")
    usable = isinstance(raw_id, str | int) and not isinstance(raw_id, bool)
    native_id = clean_str(str(raw_id)) if usable else None  # 1.0 feeds sometimes use numbers
    content_html = clean_str(item.get("content_html"))
    content_text = clean_str(item.get("content_text"))
    return RawEntry(
        native_id=native_id,
        title=clean_str(item.get("title")),
        link=clean_str(item.get("url")) or clean_str(item.get("external_url")),
        summary=paragraphs(clean_str(item.get("summary"))),
        content=content_html or paragraphs(content_text),
        published=_date(item.get("date_published"), warnings, index),
        updated=_date(item.get("date_modified"), warnings, index),
        authors=_authors(item),
        subjects=_tags(item),
    )


def _tags(item: Mapping[str, Any]) -> tuple[str, ...]:
    raw = item.get("tags")
    names = (clean_str(t) for t in raw if isinstance(t, str)) if isinstance(raw, list) else ()
    return tuple(n for n in names if n)


def _authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    raw = item.get("authors")
    people = raw if isinstance(raw, list) else [item.get("author")]
    names = (clean_str(p.get("name")) for p in people if isinstance(p, dict))
    return tuple(n for n in names if n)


def _date(value: Any, warnings: list[str], index: int) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    warnings.append(f"items[{index}]: date {json.dumps(value)} is not RFC 3339, ignored")
    return None
