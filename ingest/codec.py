"""How our model is written to and read from Redis values. Pure: no I/O.

Entries are JSON in their story's entries hash; a source's status is a hash with one field per
attribute (times in ms, tuples as JSON) so ops can read it with ``HGETALL``; stories are built
from their meta hash and the newest entries of their timeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, get_type_hints

from ingest.model import Entry, SourceStatus, Story, from_ms, to_ms


def story_of(
    story_id: str,
    meta: Mapping[str, str],
    timeline: tuple[Entry, ...],
    count: int,
    sources: Iterable[str],
    also: Mapping[str, str] | None = None,
) -> Story:
    """A story from its meta hash and its newest entries; ``also`` is the story's
    "also reported by" hash (``ENTRY\\x1fSOURCE`` -> URL), attached to the entries."""
    if also:
        timeline = tuple(_with_also(e, also) for e in timeline)
    head = timeline[0]
    return Story(
        id=story_id,
        title=meta.get("title") or meta.get("headline") or head.title,
        lede_html=meta.get("intro") or head.summary_html or first_paragraph(head.content_html),
        created=from_ms(meta.get("created", to_ms(head.first_seen))),
        updated=from_ms(meta.get("updated", to_ms(head.updated))),
        timezone=meta.get("timezone", "UTC"),
        entry_count=count,
        sources=tuple(sorted(str(s) for s in sources)),
        entries=timeline,
        titled_by_editor=bool(meta.get("title")),
        pinned=meta.get("pinned") or None,
    )


def _with_also(entry: Entry, also: Mapping[str, str]) -> Entry:
    prefix = entry.id + "\x1f"
    pairs = sorted(
        (f[len(prefix) :], url or None) for f, url in also.items() if f.startswith(prefix)
    )
    return replace(entry, also=tuple(pairs)) if pairs else entry


def first_paragraph(fragment: str) -> str:
    end = fragment.find("</p>")
    return fragment[: end + 4] if fragment.startswith("<p>") and end > 0 else fragment


def _status_codec() -> dict[str, Callable[[str], Any]]:
    """How to read each stored status field back, from SourceStatus's own annotations."""
    readers: dict[str, Callable[[str], Any]] = {}
    for name, hint in get_type_hints(SourceStatus).items():
        text = str(hint)
        if "datetime" in text:
            readers[name] = from_ms
        elif "tuple" in text:
            readers[name] = lambda raw: tuple(json.loads(raw))
        elif "int" in text:
            readers[name] = int
        elif "float" in text:
            readers[name] = float
        else:
            readers[name] = str
    return readers


_STATUS_READERS = _status_codec()


def status_fields(status: SourceStatus) -> dict[Any, str]:  # Any: redis-py's key union
    """The hash fields of ``status``; unset (None) fields are left out."""
    fields: dict[Any, str] = {}
    for name in _STATUS_READERS:
        value = getattr(status, name)
        if value is not None and name != "source_id":
            fields[name] = _encode(value)
    return fields


def status_changes(before: SourceStatus, after: SourceStatus) -> tuple[dict[Any, str], list[str]]:
    """The fields to write and the fields to delete to turn ``before`` into ``after``."""
    changed: dict[Any, str] = {}
    dropped: list[str] = []
    for name in _STATUS_READERS:
        value = getattr(after, name)
        if value == getattr(before, name) or name == "source_id":
            continue
        if value is None:
            dropped.append(name)
        else:
            changed[name] = _encode(value)
    return changed, dropped


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return str(to_ms(value))
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return str(value)


def status_of(source_id: str, raw: Mapping[str, str]) -> SourceStatus:
    """A status from its hash (an empty hash is a new source)."""
    values = {
        name: _STATUS_READERS[name](text)
        for name, text in raw.items()
        if name in _STATUS_READERS and name != "source_id"
    }
    return SourceStatus(source_id=source_id, **values)
