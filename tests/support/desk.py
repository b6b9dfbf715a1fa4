"""The Westhaven desk: four invented wires (Harbor Wire RSS, Bay Press Atom, Coast Desk JSON
Feed, Agency Desk ninjs) on a loopback server, polled into one store; the stories they carry,
and what readers and editors see of them through the app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Self

import httpx
import lxml.etree
import lxml.html
import redis.asyncio as aioredis

from config.sources import Source
from feeds.render.doc import urn
from ingest import keys
from ingest.dedupe import entry_id
from ingest.fetch.http import HttpFetcher
from ingest.model import Entry, IngestReport
from ingest.pipeline import IngestPolicy, ingest_source
from ingest.store.redis_store import RedisStore
from tests.support.clock import FIXED, SESSION
from tests.support.feeds import Wire, json_feed, rss
from tests.support.servers import FeedServer, Reply
from tests.support.validate import validate_atom, validate_jsonfeed, validate_rss
from tests.support.workers import web_caught_up

# The main story and the shapes other wires give it.
LEAK_TITLE = "Harbor authority shuts container terminal after chemical leak"


LEAK_TEXT = (
    "The Port of Westhaven closed its main container terminal on Tuesday after a storage tank "
    "began leaking a corrosive cleaning chemical, the harbor authority said. Crews in protective "
    "suits pumped the liquid into tanker trucks while ships at the north berths were ordered to "
    "move away. Director Alma Reyes said nobody was hurt and the terminal could reopen Wednesday "
    "morning."
)


LEAK_URL = "https://harbor.example/2026/11/29/terminal-leak"


NEAR_TITLE = "Harbor authority closes container terminal after chemical leak"


NEAR_TEXT = (
    "The Port of Westhaven shut its main container terminal on Tuesday after a storage tank "
    "started leaking a corrosive industrial cleaning chemical, the harbor authority said in a "
    "statement. Crews wearing protective suits pumped the liquid into tanker trucks while ships "
    "at the north berths were ordered to move away. Director Alma Reyes said no one was hurt and "
    "the terminal could reopen Wednesday morning."
)


STRIKE_TITLE = "Westhaven dockworkers vote to authorize strike over overtime pay"


STRIKE_TEXT = (
    "Dockworkers at the Port of Westhaven voted Thursday to authorize a strike after contract "
    "talks over overtime pay and night shifts broke down, their union said. The harbor "
    "authority, led by director Alma Reyes, called the vote disappointing and said negotiators "
    "would meet again next week. A walkout would idle cranes at the busiest container terminal "
    "on the coast."
)


LEAK = Wire("harbor-2291", LEAK_TITLE, LEAK_TEXT, LEAK_URL)


NEAR_WIRE = Wire("tag:bay.example,2026:westhaven", NEAR_TITLE, NEAR_TEXT, "https://bay.example/w")


SOURCES = {
    "harbor": ("Harbor Wire", "/harbor.rss", "auto"),
    "bay": ("Bay Press", "/bay.atom", "auto"),
    "coast": ("Coast Desk", "/coast.json", "auto"),
    "agency": ("Agency Desk", "/agency.ninjs", "auto"),
}


@dataclass
class Desk:
    """Wires served by ``server`` and polled into ``store``: ``sources`` maps a source id to
    its title, path and kind (``SOURCES`` by default), all in one story time zone."""

    server: FeedServer
    store: RedisStore
    fetcher: HttpFetcher
    policy: IngestPolicy = field(default_factory=IngestPolicy)
    sources: dict[str, tuple[str, str, str]] = field(default_factory=lambda: dict(SOURCES))
    timezone: str = "America/New_York"

    def source(self, source_id: str) -> Source:
        title, path, kind = self.sources[source_id]
        return Source(
            id=source_id,
            url=self.server.url(path),
            title=title,
            kind=kind,
            timezone=self.timezone,
        )

    async def configure(self) -> Self:
        """Store every source of the desk; the desk, for fixtures."""
        await self.store.put_sources([self.source(s) for s in self.sources])
        return self

    async def publish(
        self, source_id: str, body: bytes, now: datetime = FIXED, *, expect: str = "ok"
    ) -> IngestReport:
        """Serve ``body`` as the source's document and poll the source once at ``now``;
        return once any app served in this process shows what the poll wrote."""
        self.server.set(self.sources[source_id][1], Reply(body))
        report = await ingest_source(
            self.source(source_id),
            fetcher=self.fetcher,
            store=self.store,
            now=now,
            policy=self.policy,
        )
        assert report.status == expect, report
        await web_caught_up(self.store._r)
        return report

    async def entries(self) -> dict[str, Entry]:
        """Every entry of every listed story, by title (titles are unique in these tests)."""
        found: dict[str, Entry] = {}
        for story in await self.store.recent_stories(100, entries=100):
            for entry in story.entries:
                assert entry.title not in found, f"two entries titled {entry.title!r}"
                found[entry.title] = entry
        return found


async def get_feed(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET a feed of the app; it must be there and valid."""
    response = await http.get(path)
    assert response.status_code == 200, (path, response.text)
    (validate_atom if path.endswith(".atom") else validate_jsonfeed)(response.content)
    return response


async def page_updates(http: httpx.AsyncClient, story_id: str) -> list[Any]:
    response = await http.get(f"/stories/{story_id}")
    assert response.status_code == 200
    return list(lxml.html.fromstring(response.text).xpath("//section[@class='update']"))


def credit_lines(updates: Sequence[Any]) -> list[str]:
    return [u.xpath("string(p[@class='credit'])") for u in updates]


LIVE = "https://harbor.example/2026/11/29/westhaven-live"


async def assert_nowhere(http: httpx.AsyncClient, title: str, story_ids: list[str]) -> None:
    """``title`` is in no feed and no page the app serves: the stories feeds, the sources'
    feeds, the index page, and the feeds and pages of ``story_ids``. Every feed validates."""
    for path in ("/feeds/stories.json", "/feeds/stories.atom"):
        assert title not in (await get_feed(http, path)).text, path
    for source_id in SOURCES:
        for ext in ("json", "atom"):
            path = f"/feeds/sources/{source_id}.{ext}"
            assert title not in (await get_feed(http, path)).text, path
    assert title not in (await http.get("/")).text
    for sid in story_ids:
        for path in (f"/feeds/stories/{sid}.json", f"/feeds/stories/{sid}.atom"):
            response = await http.get(path)
            if response.status_code == 200:
                assert title not in (await get_feed(http, path)).text, path
            else:
                assert response.status_code == 404, path
        page = await http.get(f"/stories/{sid}")
        assert page.status_code in (200, 404)
        assert title not in page.text


async def assert_story_gone(http: httpx.AsyncClient, rclient: aioredis.Redis, sid: str) -> None:
    """A story left empty: out of the index, its page answers 404; its feeds answer 404 or,
    when kills emptied it, list no entry and only the tombstones (RFC 6721) of the kills."""
    assert await rclient.zscore(keys.STORIES, sid) is None
    assert (await http.get(f"/stories/{sid}")).status_code == 404
    for path in (f"/feeds/stories/{sid}.json", f"/feeds/stories/{sid}.atom"):
        response = await http.get(path)
        if response.status_code == 404:
            continue
        assert response.status_code == 200, path
        if path.endswith(".json"):
            body = response.json()
            assert body["items"] == [] and body["_wirefeed"]["deleted"], path
        else:
            assert b"<entry" not in response.content and b"deleted-entry" in response.content
    listing = (await get_feed(http, "/feeds/stories.json")).json()
    assert urn("story", sid) not in [item["id"] for item in listing["items"]]
    index = lxml.html.fromstring((await http.get("/")).text)
    assert not [a for a in index.xpath("//a/@href") if a.endswith(f"/stories/{sid}")]


POLLED = SESSION - timedelta(minutes=30)
"""When the editors' newsroom (``open_newsroom``) first polled its wires: half an hour before
the session's instant. Editors act through the admin API or the CLI, which stamp their changes
with the real clock, so these tests live on the session clock (see tests/support/clock.py)."""

TOKEN = "westhaven-desk-0123456789abcdef"


ATOM = {"a": "http://www.w3.org/2005/Atom"}  # the namespace, for XPath


VALIDATORS = {"json": validate_jsonfeed, "atom": validate_atom, "rss": validate_rss}


STRIKE_URL = "https://harbor.example/2026/11/29/strike-vote"


ACID_TITLE = "Tank held a cleaning acid, authority says"


ACID_TEXT = "The leaking tank held a cleaning acid used on ship hulls, the harbor authority said."


REOPEN_TITLE = "Terminal to reopen Wednesday"


REOPEN_TEXT = "Director Alma Reyes says the cleanup is done and ships may return on Wednesday."


CRANES_TITLE = "Cranes restart at the north berths"


CRANES_TEXT = "The first container ship since the leak is being unloaded at the north berths."


REVISION = " Updated: the authority now puts the spill at 4,000 liters."


@dataclass
class Newsroom:
    """Harbor Wire's document (``wires``, in the order the feed lists them) polled into the
    desk's store; ``live`` and ``strike`` are the two stories the machine assembled."""

    desk: Desk
    clock: datetime
    wires: dict[str, Wire]
    live: str = ""
    strike: str = ""

    def eid(self, name: str) -> str:
        """The entry id of one of Harbor Wire's items (deterministic, see ingest.dedupe)."""
        return entry_id("harbor", self.wires[name].id or "")

    def revised(self, name: str) -> Wire:
        """A new version of one of Harbor Wire's items: the same id, edited text."""
        wire = self.wires[name]
        return replace(wire, text=wire.text + REVISION)

    def fourth(self) -> Wire:
        """A new update on the live page."""
        return Wire(
            "live-4", CRANES_TITLE, CRANES_TEXT, LIVE + "#u4", self.clock + timedelta(minutes=3)
        )

    async def reserve(self, minutes: int, *extra: Wire, **edited: Wire) -> IngestReport:
        """Harbor Wire serves its document again (with ``extra`` on top and ``edited`` items
        in place of theirs), polled ``minutes`` after the first poll. The document's bytes
        differ from every earlier poll's (a trailing newline per minute), as a wire's re-send
        does, so the poll reads its items instead of skipping an identical body."""
        items = [*extra, *(edited.get(name, wire) for name, wire in self.wires.items())]
        body = rss(*items) + b"\n" * minutes
        return await self.desk.publish("harbor", body, self.clock + timedelta(minutes=minutes))


def harbor_wires(clock: datetime) -> dict[str, Wire]:
    return {
        "u3": Wire("live-3", REOPEN_TITLE, REOPEN_TEXT, LIVE + "#u3", clock),
        "strike": Wire(
            "harbor-strike", STRIKE_TITLE, STRIKE_TEXT, STRIKE_URL, clock - timedelta(minutes=30)
        ),
        "u2": Wire("live-2", ACID_TITLE, ACID_TEXT, LIVE + "#u2", clock - timedelta(hours=1)),
        "u1": Wire("live-1", LEAK_TITLE, LEAK_TEXT, LIVE + "#u1", clock - timedelta(hours=2)),
    }


async def open_newsroom(desk: Desk, clock: datetime) -> Newsroom:
    """Poll Harbor Wire, then Coast Desk's word-for-word copy of the second update."""
    room = Newsroom(desk, clock, harbor_wires(clock))
    report = await room.reserve(0)
    assert (report.new, report.duplicates) == (4, 0), report
    u2 = room.wires["u2"]
    copy = Wire("coast-7", u2.title, u2.text, "https://coast.example/acid", u2.at)
    assert (await desk.publish("coast", json_feed(copy), clock)).duplicates == 1
    entries = await desk.entries()
    room.live, room.strike = entries[REOPEN_TITLE].story_id, entries[STRIKE_TITLE].story_id
    assert room.live != room.strike
    assert entries[LEAK_TITLE].story_id == entries[ACID_TITLE].story_id == room.live
    return room


async def get_valid(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET a feed of the app: it must be there and valid for its format."""
    response = await http.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text)
    VALIDATORS[path.rsplit(".", 1)[1]](response.content)
    return response


def _xml(response: httpx.Response) -> Any:
    return lxml.etree.fromstring(response.content)


async def story_titles(http: httpx.AsyncClient, story_id: str) -> list[str]:
    """The entry titles of a story's feed, in feed order; the three formats must agree."""
    json_doc = (await get_valid(http, f"/feeds/stories/{story_id}.json")).json()
    titles = [item["title"] for item in json_doc["items"]]
    atom_doc = _xml(await get_valid(http, f"/feeds/stories/{story_id}.atom"))
    assert atom_doc.xpath("a:entry/a:title/text()", namespaces=ATOM) == titles
    rss_doc = _xml(await get_valid(http, f"/feeds/stories/{story_id}.rss"))
    assert rss_doc.xpath("channel/item/title/text()") == titles
    return titles


async def headlines(http: httpx.AsyncClient, story_id: str) -> dict[str, str]:
    """Where a story's headline shows, and what it says there: its page, the story list and
    every feed that names the story."""
    found: dict[str, str] = {}
    page = await http.get(f"/stories/{story_id}")
    assert page.status_code == 200
    tree = lxml.html.fromstring(page.text)
    found["page h1"] = tree.xpath("string(//h1)")
    found["page title"] = tree.xpath("string(//title)")
    index = lxml.html.fromstring((await http.get("/")).text)
    links = [a for a in index.xpath("//a") if a.get("href", "").endswith(f"/stories/{story_id}")]
    found["index"] = links[0].text_content() if links else "(not listed)"
    json_doc = (await get_valid(http, f"/feeds/stories/{story_id}.json")).json()
    found["story json"] = json_doc["title"]
    atom_doc = _xml(await get_valid(http, f"/feeds/stories/{story_id}.atom"))
    found["story atom"] = atom_doc.xpath("string(a:title)", namespaces=ATOM)
    rss_doc = _xml(await get_valid(http, f"/feeds/stories/{story_id}.rss"))
    found["story rss"] = rss_doc.xpath("string(channel/title)")
    ident = urn("story", story_id)
    listing = (await get_valid(http, "/feeds/stories.json")).json()
    found["stories json"] = next(i["title"] for i in listing["items"] if i["id"] == ident)
    atom_list = _xml(await get_valid(http, "/feeds/stories.atom"))
    found["stories atom"] = atom_list.xpath(
        f"string(a:entry[a:id = '{ident}']/a:title)", namespaces=ATOM
    )
    rss_list = _xml(await get_valid(http, "/feeds/stories.rss"))
    found["stories rss"] = rss_list.xpath(f"string(channel/item[guid = '{ident}']/title)")
    return found


async def page_order(http: httpx.AsyncClient, story_id: str) -> list[tuple[str, str]]:
    """Each update on a story page: (its time stamp, its title), top to bottom."""
    return [
        (u.xpath("string(h2)"), u.xpath("string(h3)")) for u in await page_updates(http, story_id)
    ]


async def listed_stories(http: httpx.AsyncClient) -> list[str]:
    """The story ids of the all-stories feed, newest first."""
    listing = (await get_valid(http, "/feeds/stories.json")).json()
    return [item["url"].rsplit("/", 1)[1] for item in listing["items"]]


async def placement(rclient: aioredis.Redis) -> dict[str, str]:
    """Entry id -> the one story that holds it, read straight from Redis. Fails if an entry
    is held by two stories, or a timeline and its entries hash disagree."""
    where: dict[str, str] = {}
    async for key in rclient.scan_iter(match=keys.story_timeline("*"), count=500):
        story_id = key.split("{story:", 1)[1].split("}", 1)[0]
        timeline = set(await rclient.zrange(key, 0, -1))
        stored = set(await rclient.hkeys(keys.story_entries(story_id)))
        assert timeline == stored, (story_id, timeline ^ stored)
        for eid in timeline:
            assert eid not in where, f"entry {eid} is in {where[eid]} and in {story_id}"
            where[eid] = story_id
    return where


def client(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    """A client of the app, with the admin token if given. A connection per request: on a
    kept-alive loopback connection every answer after the first waits about 40 ms for a
    delayed ACK, which would make these tests several times slower and prove nothing more."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"} if token else None,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


SHORT = (
    "WIREFEED_ADMIN_TOKEN: must be at least 16 characters (a random token, e.g. from "
    "`python -c 'import secrets; print(secrets.token_urlsafe())'`)"
)
