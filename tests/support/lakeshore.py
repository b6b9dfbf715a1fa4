"""The Lakeshore newsroom: three invented wires (RSS, Atom, JSON Feed) about an ice storm, a
WebSub hub on loopback, and readers of every feed family the app serves, whatever its format."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

import httpx
from lxml import etree

from config.sources import Source
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.model import IngestReport
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore
from tests.support import feeds
from tests.support.clock import SESSION
from tests.support.servers import LOOPBACK, FeedServer, LoopbackServer, Reply
from tests.support.validate import validate_atom, validate_jsonfeed, validate_rss

Item = feeds.Wire
rss = partial(feeds.rss, title="Lakeshore Wire", site="https://lakeshore.example/")
atom_wire = partial(
    feeds.atom, title="Prairie News & Wire", feed_id="urn:prairie:wire", author="Prairie"
)
json_wire = partial(feeds.json_feed, title="Coastal Desk")


EXTS = ("atom", "json", "rss")


MEDIA = {
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}


VALIDATE: dict[str, Callable[[bytes], None]] = {
    "atom": validate_atom,
    "json": validate_jsonfeed,
    "rss": validate_rss,
}


A = "{http://www.w3.org/2005/Atom}"


FH = "{http://purl.org/syndication/history/1.0}"


LIVE = "https://lakeshore.example/live/ice-storm"


@dataclass(frozen=True)
class Ping:
    mode: str
    urls: tuple[str, ...]
    content_type: str


class MiniHub(LoopbackServer):
    """A hub on 127.0.0.1 that records publish pings and answers 204.

    W3C WebSub leaves the publisher-to-hub request to each hub; the common form (PubSubHubbub
    0.4, Google's and Superfeedr's hubs) is a form POST of ``hub.mode=publish`` with one or more
    ``hub.url`` (some hubs say ``hub.topic``). Both names are recorded.
    """

    def __init__(self) -> None:
        self.pings: list[Ping] = []
        self._lock = threading.Lock()
        super().__init__()
        self.hub_url = self.url("/hub")

    def published(self) -> Counter[str]:
        """How often each topic URL was announced with ``hub.mode=publish``."""
        with self._lock:
            return Counter(url for p in self.pings if p.mode == "publish" for url in p.urls)

    def _record(self, ping: Ping) -> None:
        with self._lock:
            self.pings.append(ping)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                form = parse_qsl(body.decode(), keep_blank_values=True)
                mode = next((v for k, v in form if k == "hub.mode"), "")
                urls = tuple(v for k, v in form if k in ("hub.url", "hub.topic"))
                hub._record(Ping(mode, urls, self.headers.get("Content-Type", "")))
                status = 204 if mode == "publish" and urls else 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


@contextmanager
def mini_hub() -> Iterator[MiniHub]:
    hub = MiniHub().start()
    try:
        yield hub
    finally:
        hub.stop()


@dataclass(frozen=True)
class Channel:
    title: str
    path: str
    tags: tuple[str, ...]
    timezone: str
    render: Callable[..., bytes]


WIRES = {
    "lakeshore": Channel(
        "Lakeshore Wire", "/lakeshore.rss", ("weather", "midwest"), "America/Chicago", rss
    ),
    "prairie": Channel(
        "Prairie News & Wire", "/prairie.atom", ("midwest",), "America/Chicago", atom_wire
    ),
    "coastal": Channel("Coastal Desk", "/coastal.json", ("asia",), "Asia/Kolkata", json_wire),
    "quiet": Channel("Quiet Wire", "/quiet.rss", ("quiet",), "UTC", rss),
}


ICE = "Utility expects most customers back on by Monday"


GOVERNOR = "Governor declares disaster in 11 counties"


OUTAGES = "Outages top 210,000 homes & businesses"


SCHOOLS = "Schools in DeKalb County closed Monday"


CHENNAI = "Chennai airport reopens after cyclone"


NON_ASCII = "Flights resumed at noon, said S. Rāmaswāmy of சென்னை airport — “on time”."


def first_items(t0: datetime) -> dict[str, list[Item]]:
    """What each wire carries at first; ``t0`` is the earliest item's time."""
    at = lambda minutes: t0 + timedelta(minutes=minutes)  # noqa: E731
    return {
        "lakeshore": [
            Item(
                "ls-2", ICE, "Crews from four states work through the night.", LIVE + "#u2", at(250)
            ),
            Item("ls-1", GOVERNOR, "The declaration frees state money.", LIVE + "#u1", at(0)),
        ],
        "prairie": [
            Item("p-1", OUTAGES, "The outage map shows 210,000 customers dark.", LIVE, at(180)),
            Item("p-2", SCHOOLS, "Officials cite icy roads.", "https://prairie.example/s", at(135)),
        ],
        "coastal": [
            Item("c-2", GOVERNOR, "The declaration frees state money.", LIVE + "#u1", at(45)),
            Item("c-1", CHENNAI, NON_ASCII, "https://coastal.example/c", at(30)),
        ],
        "quiet": [],
    }


@dataclass
class Newsroom:
    """The wires of this module served by ``server`` and polled into ``store``."""

    server: FeedServer
    store: RedisStore
    fetcher: HttpFetcher
    t0: datetime
    items: dict[str, list[Item]] = field(default_factory=dict)

    def source(self, source_id: str, **changes: Any) -> Source:
        wire = WIRES[source_id]
        found = Source(
            id=source_id,
            url=self.server.url(wire.path),
            title=wire.title,
            timezone=wire.timezone,
            tags=wire.tags,
        )
        return replace(found, **changes)

    @property
    def now(self) -> datetime:
        """A moment after every item so far, before the real clock."""
        return self.t0 + timedelta(hours=5)

    async def publish(
        self, source_id: str, items: list[Item] | None = None, now: datetime | None = None
    ) -> IngestReport:
        """Serve ``items`` (or the current ones) as the source's document and poll it once."""
        if items is not None:
            self.items[source_id] = items
        wire = WIRES[source_id]
        self.server.set(wire.path, Reply(wire.render(*self.items[source_id])))
        report = await ingest_source(
            self.source(source_id), fetcher=self.fetcher, store=self.store, now=now or self.now
        )
        assert report.status in ("ok", "unchanged"), report
        return report

    async def add(self, source_id: str, item: Item, now: datetime | None = None) -> IngestReport:
        """The wire puts ``item`` on top of what it carries."""
        return await self.publish(source_id, [item, *self.items[source_id]], now)

    async def story_ids(self) -> dict[str, str]:
        """Headline -> story id, for every stored story."""
        return {s.title: s.id for s in await self.store.recent_stories(100)}

    async def story_of(self, entry_title: str) -> str:
        """The id of the story holding the entry titled ``entry_title``."""
        for story in await self.store.recent_stories(100, entries=100):
            if any(e.title == entry_title for e in story.entries):
                return story.id
        raise AssertionError(f"no entry titled {entry_title!r}")

    async def entry_ids(self) -> dict[str, str]:
        """Entry title -> entry id, for every stored entry (titles are unique here)."""
        return {
            e.title: e.id
            for s in await self.store.recent_stories(100, entries=100)
            for e in s.entries
        }


async def open_newsroom(server: FeedServer, store: RedisStore) -> AsyncIterator[Newsroom]:
    """The newsroom with every wire configured and polled once."""
    fetcher = HttpFetcher(
        FetchLimits(connect_timeout=2, read_timeout=5, total_timeout=10), policy=LOOPBACK
    )
    t0 = SESSION.replace(second=0) - timedelta(hours=6)  # the app and editors read the clock
    room = Newsroom(server, store, fetcher, t0, first_items(t0))
    try:
        await store.put_sources([room.source(s) for s in WIRES])
        for source_id in WIRES:
            await room.publish(source_id)
        yield room
    finally:
        await fetcher.aclose()


def ext_of(path: str) -> str:
    return path.partition("?")[0].rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Parsed:
    """A served feed document, whatever its format: links by rel, items in document order.

    For JSON Feed, ``self`` is ``feed_url``, ``hub`` the ``hubs`` and ``next`` the ``next_url``.
    RSS items have no updated time (``None``).
    """

    title: str
    updated: datetime | None
    links: dict[str, list[str]]
    items: list[dict[str, Any]]
    archive: bool = False

    def link(self, rel: str) -> str | None:
        found = self.links.get(rel, [])
        assert len(found) <= 1, (rel, found)
        return found[0] if found else None

    @property
    def ids(self) -> list[str]:
        return [i["id"] for i in self.items]

    @property
    def titles(self) -> list[str]:
        return [i["title"] for i in self.items]

    @property
    def stories(self) -> list[str]:
        """The story ids of a list of stories (all stories, a tag), from the items' links."""
        return [str(i["url"]).rsplit("/", 1)[-1] for i in self.items]


def _links(parent: etree._Element) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for link in parent.iterfind(A + "link"):
        links.setdefault(link.get("rel") or "alternate", []).append(link.get("href") or "")
    return links


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def parse_atom(body: bytes) -> Parsed:
    root = etree.fromstring(body)
    items = [
        {
            "id": e.findtext(A + "id"),
            "title": e.findtext(A + "title"),
            "updated": _when(e.findtext(A + "updated")),
            "published": _when(e.findtext(A + "published")),
            "html": e.findtext(A + "content") or "",
            "url": _links(e).get("alternate", [None])[0],
        }
        for e in root.iterfind(A + "entry")
    ]
    return Parsed(
        root.findtext(A + "title") or "",
        _when(root.findtext(A + "updated")),
        _links(root),
        items,
        root.find(FH + "archive") is not None,
    )


def parse_rss(body: bytes) -> Parsed:
    channel = etree.fromstring(body).find("channel")
    assert channel is not None
    items = [
        {
            "id": i.findtext("guid"),
            "title": i.findtext("title"),
            "updated": None,
            "published": parsedate_to_datetime(i.findtext("pubDate") or ""),
            "html": i.findtext("description") or "",
            "url": i.findtext("link"),
        }
        for i in channel.iterfind("item")
    ]
    built = channel.findtext("lastBuildDate")
    return Parsed(
        channel.findtext("title") or "",
        parsedate_to_datetime(built) if built else None,
        _links(channel),
        items,
        channel.find(FH + "archive") is not None,
    )


def parse_json(body: bytes) -> Parsed:
    data = json.loads(body)
    links = {"self": [data["feed_url"]], "alternate": [data["home_page_url"]]}
    if "hubs" in data:
        links["hub"] = [h["url"] for h in data["hubs"]]
    if "next_url" in data:
        links["next"] = [data["next_url"]]
    items = [
        {
            "id": i["id"],
            "title": i.get("title"),
            "updated": _when(i.get("date_modified")),
            "published": _when(i.get("date_published")),
            "html": i.get("content_html", ""),
            "url": i.get("url"),
        }
        for i in data["items"]
    ]
    newest = max((i["updated"] for i in items if i["updated"]), default=None)
    return Parsed(data["title"], newest, links, items)


PARSE: dict[str, Callable[[bytes], Parsed]] = {
    "atom": parse_atom,
    "json": parse_json,
    "rss": parse_rss,
}


def check_feed(response: httpx.Response) -> Parsed:
    """A served feed: 200, its format's media type with charset=utf-8, valid; parsed."""
    path = response.request.url.path
    ext = ext_of(path)
    assert response.status_code == 200, (path, response.text[:300])
    assert response.headers["content-type"] == MEDIA[ext], path
    response.content.decode("utf-8")  # charset=utf-8 is the truth
    if ext != "json":  # and the XML declaration says so too
        assert re.match(rb"<\?xml [^>]*encoding=['\"]UTF-8['\"]", response.content, re.I), path
    VALIDATE[ext](response.content)
    return PARSE[ext](response.content)


async def get_feed(http: httpx.AsyncClient, path: str) -> Parsed:
    return check_feed(await http.get(path))


async def family_paths(room: Newsroom) -> dict[str, str]:
    """One path (without extension) per family."""
    ids = await room.story_ids()
    return {
        "stories": "/feeds/stories",
        "story": f"/feeds/stories/{ids[ICE]}",
        "source": "/feeds/sources/lakeshore",
        "tag": "/feeds/tags/midwest",
    }
