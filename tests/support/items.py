"""Normalized items (``ingest.model.Item``) for tests that skip parsing: one builder, so the
many fields an Item needs are spelled once; each module says only what its items vary."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.model import Item
from tests.support.clock import FIXED


def make_item(source_id: str, identity: str, *, at: datetime = FIXED, **fields: Any) -> Item:
    """An item of ``source_id`` with a native ``identity``, published and updated ``at``; no
    URL, no text, its identity as headline, unless ``fields`` (any Item field) say otherwise."""
    base: dict[str, Any] = {
        "source_id": source_id,
        "identity": identity,
        "identity_kind": "native",
        "url": None,
        "title": identity,
        "summary_html": "",
        "content_html": "",
        "published": at,
        "updated": at,
        "authors": (),
        "content_hash": f"h-{identity}",
    }
    return Item(**(base | fields))
