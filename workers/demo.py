"""The demo wire: a small simulator serving three invented sources on loopback.

``wirefeed run`` starts it when the sources file has a ``demo:`` section. Its stories come from
``demo_wire.yaml`` (invented events) and are released on a clock: one new update every few
seconds, spread over an RSS, an Atom and a JSON Feed source, plus a few unrelated items and one
correction of an earlier update. Every item of a rolling story links to the story's live page
(with a per-update fragment), which is how wirefeed knows the items belong together.
Answers carry ETags and honour If-None-Match, as a well-behaved wire server should.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from importlib import resources
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

SOURCES = (
    ("northwire", "Northwire", "rss"),
    ("coastal", "Coastal Press Agency", "atom"),
    ("metrodesk", "Metro Desk", "json"),
)
_PATHS = {
    "rss": "/wire/northwire.rss",
    "atom": "/wire/coastal.atom",
    "json": "/wire/metrodesk.json",
}


@dataclass(frozen=True, slots=True)
class WireItem:
    guid: str
    title: str
    text: str
    link: str
    at: float  # seconds after the simulator started
    source: int  # index into SOURCES
    corrected_text: str | None = None  # a correction, sent from ``corrected_at`` on
    corrected_at: float = 0.0

    def as_of(self, elapsed: float) -> tuple[str, float]:
        """The text out at ``elapsed`` seconds and when that version went out."""
        if self.corrected_text is not None and self.corrected_at <= elapsed:
            return self.corrected_text, self.corrected_at
        return self.text, self.at


def load_script(base_url: str) -> list[WireItem]:
    """Turn the demo script into timed items, all times relative to the simulator's start."""
    script = yaml.safe_load(resources.files("workers").joinpath("demo_wire.yaml").read_text())
    spacing = float(script["spacing"])
    items: list[WireItem] = []
    clock = 0.0
    for story in script["stories"]:
        clock = _story_items(story, spacing, clock, base_url, items)
    for n, extra in enumerate(script["unrelated"]):
        slug = hashlib.sha256(extra["title"].encode()).hexdigest()[:8]
        items.append(
            WireItem(
                f"brief-{slug}",
                extra["title"],
                extra["text"],
                f"{base_url}/news/{slug}",
                float(extra["at"]),
                n % len(SOURCES),
            )
        )
    return items


def _story_items(
    story: dict[str, Any], spacing: float, clock: float, base_url: str, items: list[WireItem]
) -> float:
    slug = story["slug"]
    first = len(items)
    for n, update in enumerate(story["updates"], start=1):
        items.append(
            WireItem(
                guid=f"{slug}-{n}",
                title=update["title"],
                text=update["text"],
                link=f"{base_url}/live/{slug}#update-{n}",
                at=clock,
                source=(n - 1) % len(SOURCES),
            )
        )
        clock += spacing
    for fix in story.get("corrections", ()):
        index = first + fix["update"] - 1
        items[index] = replace(
            items[index],
            corrected_text=fix["text"],
            corrected_at=items[first + fix["after"] - 1].at,
        )
    return clock


class Wire:
    """The state of the simulated wire at a moment: which items are out, in which version."""

    def __init__(self, base_url: str, started: float | None = None) -> None:
        self.items = load_script(base_url)
        self.started = time.time() if started is None else started
        self.base_url = base_url

    def visible(self, source: int, now: float) -> list[tuple[WireItem, str, datetime]]:
        """(item, text as of now, time of that version) for the items of ``source`` out by
        ``now``, newest first, at most 20 as a real wire feed would keep."""
        elapsed = now - self.started
        out = []
        for item in self.items:
            if item.source == source and item.at <= elapsed:
                text, since = item.as_of(elapsed)
                out.append((item, text, datetime.fromtimestamp(self.started + since, UTC)))
        out.sort(key=lambda row: row[0].at, reverse=True)
        return out[:20]

    def published(self, item: WireItem) -> datetime:
        return datetime.fromtimestamp(self.started + item.at, UTC)


def render_rss(wire: Wire, now: float) -> bytes:
    rows = []
    for item, text, _updated in wire.visible(0, now):
        rows.append(
            f'<item><guid isPermaLink="false">{escape(item.guid)}</guid>'
            f"<title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
            f"<description>{escape(text)}</description>"
            f"<pubDate>{format_datetime(wire.published(item), usegmt=True)}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Northwire</title><link>{escape(wire.base_url)}/</link>"
        f"<description>Northwire regional wire (demo)</description>{''.join(rows)}"
        "</channel></rss>\n"
    ).encode()


def render_atom(wire: Wire, now: float) -> bytes:
    rows = []
    latest = datetime.fromtimestamp(wire.started, UTC)
    for item, text, updated in wire.visible(1, now):
        latest = max(latest, updated)
        rows.append(
            f"<entry><id>urn:demo:coastal:{escape(item.guid)}</id>"
            f"<title>{escape(item.title)}</title>"
            f'<link rel="alternate" href="{escape(item.link)}"/>'
            f"<published>{wire.published(item).isoformat()}</published>"
            f"<updated>{updated.isoformat()}</updated>"
            f'<content type="html">{escape("<p>" + escape(text) + "</p>")}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:demo:coastal</id><title>Coastal Press Agency</title>"
        f"<updated>{latest.isoformat()}</updated><author><name>Coastal Press Agency</name>"
        f"</author>{''.join(rows)}</feed>\n"
    ).encode()


def render_json(wire: Wire, now: float) -> bytes:
    items = [
        {
            "id": f"metrodesk:{item.guid}",
            "url": item.link,
            "title": item.title,
            "content_text": text,
            "date_published": wire.published(item).isoformat(),
            "date_modified": updated.isoformat(),
        }
        for item, text, updated in wire.visible(2, now)
    ]
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Metro Desk",
        "home_page_url": wire.base_url + "/",
        "items": items,
    }
    return json.dumps(doc).encode()


_RENDERERS = {
    "rss": (render_rss, "application/rss+xml"),
    "atom": (render_atom, "application/atom+xml"),
    "json": (render_json, "application/feed+json"),
}


def create_app(base_url: str, started: float | None = None) -> Starlette:
    """The simulator app; ``base_url`` is where it is reachable (used in item links)."""
    wire = Wire(base_url, started)

    def feed(kind: str) -> Any:
        render, media_type = _RENDERERS[kind]

        async def endpoint(request: Request) -> Response:
            body = render(wire, time.time())
            etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers={"ETag": etag})
            return Response(body, media_type=media_type, headers={"ETag": etag})

        return endpoint

    async def page(request: Request) -> Response:
        return HTMLResponse(
            f"<!doctype html><title>Demo wire</title><p>Demo page "
            f"{escape(request.url.path)} of the invented demo wire.</p>"
        )

    routes = [Route(path, feed(kind)) for kind, path in _PATHS.items()]
    routes += [Route("/live/{slug}", page), Route("/news/{slug}", page)]
    return Starlette(routes=routes)


def source_urls(port: int) -> dict[str, str]:
    """The three demo feed URLs on ``port``, keyed by source id."""
    return {sid: f"http://127.0.0.1:{port}{_PATHS[kind]}" for sid, _title, kind in SOURCES}
