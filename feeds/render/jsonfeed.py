"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), written by us. Pure.

Withdrawn entries travel in a JSON Feed extension (the spec's extension rules: a top-level key
starting with an underscore, an object with an ``about`` URL), documented in
docs/jsonfeed-extension.md::

    "_wirefeed": {"about": "...", "deleted": [{"id": "urn:uuid:...", "date_deleted": "..."}]}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from feeds.render.doc import SERVICE_NAME, FeedDoc, FeedItem

JSONFEED_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION_ABOUT = "https://github.com/wirefeed/wirefeed/blob/main/docs/jsonfeed-extension.md"


def jsonfeed(doc: FeedDoc) -> bytes:
    """The JSON Feed document of ``doc``, as compact UTF-8 JSON."""
    data: dict[str, Any] = {
        "version": VERSION,
        "title": doc.title,
        "home_page_url": doc.home_url,
        "feed_url": doc.self_url,
        "description": doc.subtitle,
        "authors": [{"name": SERVICE_NAME}],
        "language": "en",
    }
    if doc.paging.older:
        data["next_url"] = doc.paging.older
    if doc.hubs:
        data["hubs"] = [{"type": "WebSub", "url": hub} for hub in doc.hubs]
    data["items"] = [_item(item) for item in doc.items]
    if doc.deleted:
        data["_wirefeed"] = {
            "about": EXTENSION_ABOUT,
            "deleted": [{"id": d.ref, "date_deleted": rfc3339(d.when)} for d in doc.deleted],
        }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _item(item: FeedItem) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id}
    if item.url:
        out["url"] = item.url
    if item.external_url and item.external_url != item.url:
        out["external_url"] = item.external_url
    out["title"] = item.title
    out["content_html"] = item.html
    out["date_published"] = rfc3339(item.published)
    out["date_modified"] = rfc3339(item.updated)
    out["authors"] = [{"name": name} for name in item.authors]
    return out


def rfc3339(moment: datetime) -> str:
    """UTC, second precision, with a ``Z``: the form every reader accepts (RFC 3339)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
