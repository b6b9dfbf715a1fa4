"""Story assembly end to end: invented wires on loopback, read by ``ingest_source`` into a real
Redis, and read back from the store and from the real app (pages and every feed, validated).

Four invented wires: Agency Desk and Metro Wire (IPTC ninjs), Harbor Wire (RSS) and Bay Press
(Atom). The rolling article is ``tests/fixtures/rolling/harbor-spill.yaml``, the same invented
"The Latest" the splitter's golden files are made from, re-sent by Agency Desk four times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import lxml.html
import pytest
import yaml

from config.settings import Settings
from config.sources import parse_sources
from ingest.dedupe import entry_id
from ingest.fetch.http import HttpFetcher
from ingest.model import Entry, IngestReport, Story
from ingest.pipeline import IngestPolicy
from ingest.similar import SimilarityPolicy
from ingest.store.redis_store import RedisStore
from tests.support import (
    FeedServer,
    feeds,
    serve_app,
    text_of,
    validate_atom,
    validate_jsonfeed,
    validate_rss,
)
from tests.support.desk import Desk as WesthavenDesk
from tests.support.feeds import ninjs

T0 = datetime(2026, 11, 29, 17, 40, tzinfo=UTC)  # 12:40 p.m. in New York
TZ = "America/New_York"
ROLLING = Path(__file__).resolve().parents[1] / "fixtures" / "rolling"
SOURCES = {
    "agency": ("Agency Desk", "/agency.ninjs", "ninjs"),
    "metro": ("Metro Wire", "/metro.ninjs", "ninjs"),
    "harbor": ("Harbor Wire", "/harbor.rss", "rss"),
    "bay": ("Bay Press", "/bay.atom", "atom"),
}
SPILL_URI = "urn:agency:westhaven-spill-latest"
SPILL_HEADLINE = "Westhaven harbor closes main terminal after chemical spill"


# -- invented documents -----------------------------------------------------------------------


def ninjs_item(
    uri: str,
    headline: str,
    html: str,
    at: datetime,
    *,
    version: int = 1,
    created: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ninjs 2.x item sent at ``at``; ``extra`` adds ``slugline``, ``associations``..."""
    return feeds.ninjs_item(
        uri, headline, html=html, version=version, created=created or at, versioncreated=at, **extra
    )


@dataclass(frozen=True)
class Wire:
    """One RSS or Atom item of this module: its link (and Bay Press's Atom id) follow its id."""

    id: str
    title: str
    text: str
    at: datetime


def rss(*items: Wire) -> bytes:
    link = "https://harbor.example/"
    return feeds.rss(*(feeds.Wire(i.id, i.title, i.text, link + i.id, i.at) for i in items))


BAY_IDS = "tag:bay.example,2026:"
"""Atom ids are IRIs (RFC 4287 4.2.6): Bay Press's are tag URIs ending in the wire's own id."""


def atom(*items: Wire) -> bytes:
    link = "https://bay.example/"
    return feeds.atom(
        *(feeds.Wire(BAY_IDS + i.id, i.title, i.text, link + i.id, i.at) for i in items)
    )


def spill_version(number: int) -> tuple[dict[str, Any], datetime]:
    """Version ``number`` (1-4) of the invented rolling article, as Agency Desk sends it."""
    doc = yaml.safe_load((ROLLING / "harbor-spill.yaml").read_text(encoding="utf-8"))
    version = doc["versions"][number - 1]
    at = datetime.fromisoformat(version["updated"])
    item = ninjs_item(SPILL_URI, doc["title"], version["html"], at, version=number, created=T0)
    return item, at


# -- the desk -----------------------------------------------------------------------------------


class Desk(WesthavenDesk):
    """The invented wires of this module (``SOURCES``) on ``server``, polled into ``store``."""

    async def send_spill(self, number: int, *, expect: str = "ok") -> IngestReport:
        item, at = spill_version(number)
        return await self.publish("agency", ninjs(item), at + timedelta(minutes=1), expect=expect)

    async def story(self, story_id: str) -> Story:
        found = await self.store.story(story_id)
        assert found is not None, f"no story {story_id}"
        return found

    async def story_of(self, source_id: str, identity: str) -> str:
        """The story the item ``identity`` of ``source_id`` was filed in."""
        if source_id == "bay":
            identity = BAY_IDS + identity
        known = await self.store.known(source_id, identity)
        assert known is not None, f"{source_id} {identity} was not stored"
        return known.story_id


@pytest.fixture
async def desk(server: FeedServer, store: RedisStore, fetcher: HttpFetcher) -> Desk:
    return await Desk(server, store, fetcher, sources=SOURCES, timezone=TZ).configure()


PREFIX = "Developing: "


@pytest.fixture
def app_url(clean_redis: str) -> Iterator[str]:
    with serve_app(Settings(redis_url=clean_redis, story_prefix=PREFIX)) as url:
        yield url


async def get_feed(http: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET a feed of the app: it must be there and valid."""
    response = await http.get(path)
    assert response.status_code == 200, (path, response.text)
    validator = {"atom": validate_atom, "json": validate_jsonfeed, "rss": validate_rss}
    validator[path.rsplit(".", 1)[1]](response.content)
    return response


def by_time(story: Story) -> dict[str, Entry]:
    """The story's entries by their local time, "HH:MM" in the story's zone, newest first."""
    zone = ZoneInfo(story.timezone)
    return {e.published.astimezone(zone).strftime("%H:%M"): e for e in story.entries}


# -- rolling articles ---------------------------------------------------------------------------


async def test_each_version_of_a_rolling_article_adds_only_its_new_sections(desk: Desk) -> None:
    first = await desk.send_spill(1)
    assert (first.new, first.updated) == (2, 0)
    (story_id,) = first.stories

    second = await desk.send_spill(2)
    assert (second.new, second.updated, second.unchanged, second.stories) == (
        1,
        0,
        2,
        (story_id,),
    )

    third = await desk.send_spill(3)  # one new section, and the 12:30 p.m. one corrected
    assert (third.new, third.updated, third.unchanged) == (1, 1, 2)
    story = await desk.story(story_id)
    assert list(by_time(story)) == ["16:10", "15:00", "12:30", "12:00"]
    corrected = by_time(story)["12:30"]
    assert "14 ships" in corrected.body_html and corrected.version == 2
    assert [v for v, _h, _at in corrected.versions] == [1, 2]
    assert all(e.version == 1 for t, e in by_time(story).items() if t != "12:30")

    fourth = await desk.send_spill(4)  # the noon section is no longer in the article
    assert (fourth.new, fourth.updated, fourth.unchanged, fourth.killed) == (1, 0, 3, 0)
    story = await desk.story(story_id)
    assert list(by_time(story)) == ["18:40", "16:10", "15:00", "12:30", "12:00"]
    assert "began leaking" in by_time(story)["12:00"].body_html
    assert story.entry_count == 5 and story.sources == ("agency",)
    assert story.title == SPILL_HEADLINE
    assert "reopen Monday morning" in story.lede_html  # the newest version's intro

    await desk.send_spill(4, expect="unchanged")  # the same document again: nothing to do


async def test_a_changed_section_is_published_as_a_correction(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    for number in (1, 2, 3):
        report = await desk.send_spill(number)
    (story_id,) = report.stories
    corrected = by_time(await desk.story(story_id))["12:30"]
    assert corrected.corrected_at is not None
    page = lxml.html.fromstring((await http.get(f"/stories/{story_id}")).text)
    notes = page.xpath(f"//section[@id='e-{corrected.id}']/p[@class='correction']")
    assert len(notes) == 1 and "Correction" in notes[0].text_content()


async def test_an_rss_article_that_keeps_its_pub_date_still_dates_new_sections_today(
    desk: Desk,
) -> None:
    doc = yaml.safe_load((ROLLING / "harbor-spill.yaml").read_text(encoding="utf-8"))
    first_sent = datetime.fromisoformat(doc["versions"][0]["updated"])
    for version in doc["versions"][:2]:
        at = datetime.fromisoformat(version["updated"])
        article = Wire("h-spill", doc["title"], version["html"], first_sent)  # pubDate stays
        report = await desk.publish("harbor", rss(article), at + timedelta(minutes=1))
    (story_id,) = report.stories
    story = await desk.story(story_id)
    zone = ZoneInfo(TZ)
    assert [e.published.astimezone(zone).strftime("%d %H:%M") for e in story.entries] == [
        "29 15:00",
        "29 12:30",
        "29 12:00",
    ]


async def test_a_killed_article_takes_every_section_with_it(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    for number in (1, 2, 3, 4):  # v4 no longer shows the noon section: it goes too
        report = await desk.send_spill(number)
    (story_id,) = report.stories
    assert (await desk.story(story_id)).entry_count == 5
    withdrawn = ninjs_item(
        SPILL_URI, "The Latest: Westhaven harbor", "", T0 + timedelta(hours=7), version=5
    )
    withdrawn["pubstatus"] = "canceled"
    killed = await desk.publish("agency", ninjs(withdrawn), T0 + timedelta(hours=7))
    assert killed.killed >= 5 and killed.stories == ()
    assert await desk.store.story(story_id) is None
    assert await desk.store.recent_stories(10) == []
    assert (await http.get(f"/stories/{story_id}")).status_code == 404
    for ext in ("atom", "json", "rss"):
        for path in ("/feeds/stories", "/feeds/sources/agency"):
            body = (await get_feed(http, f"{path}.{ext}")).text
            assert "Alma Reyes" not in body and "north berths" not in body, (path, ext)

    resent, _at = spill_version(3)  # an old copy of the article never comes back
    later = await desk.publish("agency", ninjs(resent), T0 + timedelta(hours=8))
    assert (later.new, later.updated) == (0, 0)
    assert await desk.store.recent_stories(10) == []


# -- explicit links -------------------------------------------------------------------------------


async def test_ninjs_associations_link_an_item_to_the_story_of_the_item_it_names(
    desk: Desk,
) -> None:
    leak = ninjs_item(
        "urn:agency:leak-1",
        "Harbor authority shuts container terminal after chemical leak",
        "<p>A storage tank began leaking a cleaning chemical at the Port of Westhaven.</p>",
        T0,
    )
    await desk.publish("agency", ninjs(leak), T0)
    photos = ninjs_item(
        "urn:agency:gallery-7",
        "Photos: a long night for the crews",
        "<p>Pictures from the quay as workers in white suits pumped tanks dry.</p>",
        T0 + timedelta(hours=2),
        associations={"main": {"uri": "urn:agency:leak-1", "type": "text"}},
    )
    unrelated = ninjs_item(
        "urn:agency:gallery-8",
        "Photos: autumn regatta on the bay",
        "<p>Sailors raced in light winds off the point.</p>",
        T0 + timedelta(hours=2),
    )
    report = await desk.publish("agency", ninjs(photos, unrelated, leak), T0 + timedelta(hours=2))
    assert report.new == 2
    story_id = await desk.story_of("agency", "urn:agency:leak-1")
    assert await desk.story_of("agency", "urn:agency:gallery-7") == story_id
    assert await desk.story_of("agency", "urn:agency:gallery-8") != story_id


async def test_a_slugline_links_items_of_different_sources(desk: Desk) -> None:
    first = ninjs_item(
        "urn:agency:leak-1",
        "Harbor authority shuts container terminal after chemical leak",
        "<p>A storage tank began leaking a cleaning chemical at the port.</p>",
        T0,
        slugline="WESTHAVEN-SPILL",
    )
    other = ninjs_item(
        "urn:metro:5521",
        "Shipping lines divert cargo to Eastport",
        "<p>Three carriers say their vessels will unload elsewhere this week.</p>",
        T0 + timedelta(hours=1),
        slugline="Westhaven spill",
    )
    stranger = ninjs_item(
        "urn:metro:5522",
        "Ferry timetable changes for the winter",
        "<p>Boats to the islands will leave an hour later from December.</p>",
        T0 + timedelta(hours=1),
        slugline="PORTS-VOLUMES",
    )
    await desk.publish("agency", ninjs(first), T0)
    await desk.publish("metro", ninjs(other, stranger), T0 + timedelta(hours=1))
    story_id = await desk.story_of("agency", "urn:agency:leak-1")
    assert await desk.story_of("metro", "urn:metro:5521") == story_id
    assert await desk.story_of("metro", "urn:metro:5522") != story_id
    assert (await desk.story(story_id)).sources == ("agency", "metro")


RULES_FILE = """
stories:
  - key: westhaven-spill
    match: "(?i)westhaven.*(spill|leak)"
    title: Westhaven chemical spill
sources:
  - {{id: harbor, url: "{harbor}", title: Harbor Wire, kind: rss}}
  - {{id: bay, url: "{bay}", title: Bay Press, kind: atom}}
"""


async def test_an_editor_rule_in_the_sources_file_names_a_story_and_its_title(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    text = RULES_FILE.format(
        harbor=desk.server.url("/harbor.rss"), bay=desk.server.url("/bay.atom")
    )
    sources_file = parse_sources(text, Path("sources.yaml"))
    desk.policy = IngestPolicy(rules=sources_file.stories)
    tankers = Wire("h-1", "Westhaven leak: tanker trucks arrive", "Drivers queue at gate 4.", T0)
    divers = Wire(
        "b-1",
        "Divers check hulls near the Westhaven spill",
        "Teams inspected two freighters at the north berths.",
        T0 + timedelta(minutes=30),
    )
    regatta = Wire("b-2", "Westhaven regatta postponed", "Sailors wait for calmer seas.", T0)
    await desk.publish("harbor", rss(tankers), T0)
    await desk.publish("bay", atom(divers, regatta), T0 + timedelta(minutes=30))

    story_id = await desk.story_of("harbor", "h-1")
    assert await desk.story_of("bay", "b-1") == story_id
    assert await desk.story_of("bay", "b-2") != story_id
    story = await desk.story(story_id)
    assert (story.title, story.titled_by_editor, story.entry_count) == (
        "Westhaven chemical spill",
        True,
        2,
    )
    page = lxml.html.fromstring((await http.get(f"/stories/{story_id}")).text)
    assert page.xpath("string(//h1)") == "Westhaven chemical spill"  # an editor's: no prefix
    feed = (await get_feed(http, f"/feeds/stories/{story_id}.json")).json()
    assert feed["title"] == "Westhaven chemical spill"


async def test_the_latest_headline_is_a_story_key_and_lookalikes_are_not(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    fire = Wire(
        "h-10",
        "The Latest: Kelso Ridge wildfire forces evacuations",
        "Deputies went door to door on the east side of town.",
        T0,
    )
    live = Wire(
        "b-10",
        "Live updates: Kelso Ridge wildfire forces evacuations",
        "A shelter opened in the high school gym.",
        T0 + timedelta(minutes=20),
    )
    sneakers = Wire(
        "h-11",
        "The Latest Trend in Sneakers",
        "Shoppers lined up for soles that can be recycled.",
        T0 + timedelta(minutes=5),
    )
    other = Wire(
        "h-12",
        "The Latest: Tram drivers strike in Oberwald",
        "No trams will run before Monday.",
        T0 + timedelta(minutes=6),
    )
    await desk.publish("harbor", rss(other, sneakers, fire), T0 + timedelta(minutes=6))
    await desk.publish("bay", atom(live), T0 + timedelta(minutes=20))

    story_id = await desk.story_of("harbor", "h-10")
    assert await desk.story_of("bay", "b-10") == story_id
    assert len({story_id, *[await desk.story_of("harbor", i) for i in ("h-11", "h-12")]}) == 3
    story = await desk.story(story_id)
    assert story.title == live.title  # the newest update's headline...
    page = lxml.html.fromstring((await http.get(f"/stories/{story_id}")).text)
    assert page.xpath("string(//h1)") == PREFIX + "Kelso Ridge wildfire forces evacuations"
    lookalike = lxml.html.fromstring(
        (await http.get(f"/stories/{await desk.story_of('harbor', 'h-11')}")).text
    )
    assert lookalike.xpath("string(//h1)") == sneakers.title  # one item, not rolling: no prefix


async def test_a_rolling_article_and_another_wires_latest_item_share_the_headline_key(
    desk: Desk,
) -> None:
    await desk.send_spill(1)
    other = Wire(
        "b-40",
        "Live updates: Westhaven harbor closes main terminal after chemical spill",
        "Bay Press will follow events at the port through the evening.",
        T0 + timedelta(minutes=30),
    )
    await desk.publish("bay", atom(other), T0 + timedelta(minutes=30))
    section = f"{SPILL_URI}#2026-11-29T12:30"
    assert await desk.story_of("bay", "b-40") == await desk.story_of("agency", section)


# -- how the story reads ------------------------------------------------------------------------


CONTAINED = "Harbor director Alma Reyes says the leak has been contained and no one was hurt"


async def test_the_story_reads_right_on_the_page_and_in_every_feed(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    for number in (1, 2, 3):
        report = await desk.send_spill(number)
    (story_id,) = report.stories
    bay_copy = Wire(
        "b-20", CONTAINED, CONTAINED + ", Bay Press reports.", T0 + timedelta(hours=3, minutes=50)
    )
    also = await desk.publish("bay", atom(bay_copy), T0 + timedelta(hours=4))
    assert (also.duplicates, also.stories) == (1, (story_id,))

    page = lxml.html.fromstring((await http.get(f"/stories/{story_id}")).text)
    headline = PREFIX + SPILL_HEADLINE
    assert page.xpath("string(//h1)") == headline
    assert page.xpath("string(//title)") == headline
    assert "has been contained" in page.xpath("string(//div[@class='lede'])")
    updates = page.xpath("//section[@class='update']")
    assert [u.xpath("string(h2)") for u in updates] == ["4:10 p.m.", "3 p.m.", "12:30 p.m.", "noon"]
    assert [u.xpath("string(p[@class='credit'])") for u in updates] == [
        "Agency Desk · also reported by Bay Press",
        "Agency Desk",
        "Agency Desk",
        "Agency Desk",
    ]
    listing = lxml.html.fromstring((await http.get("/")).text)
    assert headline in listing.xpath("//ol[@class='stories']//a/text()")

    for ext in ("atom", "json", "rss"):
        for path in ("/feeds/stories", f"/feeds/stories/{story_id}", "/feeds/sources/agency"):
            await get_feed(http, f"{path}.{ext}")
        await get_feed(http, f"/feeds/sources/bay.{ext}")
    story_feed = (await get_feed(http, f"/feeds/stories/{story_id}.json")).json()
    assert story_feed["title"] == headline
    assert story_feed["items"][0]["title"] == CONTAINED
    assert "Agency Desk · also reported by Bay Press" in text_of(
        story_feed["items"][0]["content_html"]
    )
    assert [a["name"] for a in story_feed["items"][0]["authors"]] == ["Agency Desk"]
    stories_feed = (await get_feed(http, "/feeds/stories.json")).json()
    (item,) = stories_feed["items"]
    assert item["title"] == headline
    assert "also reported by Bay Press" in text_of(item["content_html"])
    atom_feed = (await get_feed(http, f"/feeds/stories/{story_id}.atom")).text
    assert f"<title>{headline}</title>" in atom_feed


async def test_headline_and_lede_follow_the_newest_update(desk: Desk) -> None:
    first = ninjs_item(
        "urn:agency:fire-1",
        "Warehouse fire in Brenton forces evacuations",
        "<p>Flames tore through a paint warehouse on Brenton's river road.</p>",
        T0,
        slugline="BRENTON-FIRE",
    )
    second = ninjs_item(
        "urn:metro:fire-2",
        "Brenton warehouse fire under control, chief says",
        "<p>Fire chief Dana Okafor says crews have the blaze under control.</p>",
        T0 + timedelta(hours=1),
        slugline="Brenton fire",
    )
    await desk.publish("agency", ninjs(first), T0)
    await desk.publish("metro", ninjs(second), T0 + timedelta(hours=1))
    story = await desk.story(await desk.story_of("agency", "urn:agency:fire-1"))
    assert [e.source_id for e in story.entries] == ["metro", "agency"]
    assert story.title == "Brenton warehouse fire under control, chief says"
    assert "under control" in story.lede_html and not story.titled_by_editor


# -- stories end ----------------------------------------------------------------------------------

FIRE = "Warehouse fire in Brenton forces evacuations along the river road"
FIRE_TEXT = (
    "A fire at a paint warehouse in Brenton forced the evacuation of homes along the river road, "
    "fire chief Dana Okafor said."
)


@pytest.mark.parametrize(
    ("window", "closed"),
    [
        pytest.param(2.0, True, id="quiet-past-the-window"),
        pytest.param(48.0, False, id="control-within-the-window"),
    ],
)
async def test_a_quiet_story_is_closed_to_similarity_but_open_to_links(
    desk: Desk, rclient: Any, window: float, closed: bool
) -> None:
    """The same late item joins the story by similarity within the window (the control), and
    opens a story of its own once the story has been quiet for longer; links still reach it."""
    quiet = SimilarityPolicy(window_hours=window)
    desk.store = RedisStore(rclient, similarity=quiet)
    desk.policy = IngestPolicy(similarity=quiet)
    first = ninjs_item(
        "urn:agency:fire-1", FIRE, f"<p>{FIRE_TEXT}</p>", T0, slugline="BRENTON-FIRE"
    )
    await desk.publish("agency", ninjs(first), T0)
    story_id = await desk.story_of("agency", "urn:agency:fire-1")

    soon = Wire(
        "h-30",
        "Smoke from Brenton blaze closes schools",
        "Schools near the burning paint warehouse in Brenton stayed shut as chief Dana Okafor "
        "warned of fumes.",
        T0 + timedelta(hours=1),
    )
    joined = await desk.publish("harbor", rss(soon), T0 + timedelta(hours=1))
    assert (joined.new, joined.duplicates) == (1, 0)  # other words: not a copy
    assert await desk.story_of("harbor", "h-30") == story_id  # similar and recent: joins

    late = T0 + timedelta(hours=3, minutes=30)  # quiet for two and a half hours
    echo = Wire(
        "b-30",
        "Smoke keeps river road homes shut",
        "Evacuated homes along the river road in Brenton will stay closed while smoke from the "
        "blaze lingers, officials said.",
        late,
    )
    alone = await desk.publish("bay", atom(echo), late)
    assert (alone.new, alone.duplicates) == (1, 0)
    assert (await desk.story_of("bay", "b-30") != story_id) is closed

    linked = ninjs_item(
        "urn:agency:fire-2",
        "Brenton residents return home",
        "<p>Families were allowed back on the river road.</p>",
        late,
        associations={"main": {"uri": "urn:agency:fire-1"}},
    )
    await desk.publish("agency", ninjs(linked, first), late)
    assert await desk.story_of("agency", "urn:agency:fire-2") == story_id
    slugged = ninjs_item(
        "urn:metro:fire-3",
        "Insurers tally Brenton losses",
        "<p>Claims adjusters visited the site.</p>",
        late + timedelta(hours=1),
        slugline="Brenton fire",
    )
    await desk.publish("metro", ninjs(slugged), late + timedelta(hours=1))
    assert await desk.story_of("metro", "urn:metro:fire-3") == story_id
    members = [
        ("agency", "urn:agency:fire-1"),
        ("harbor", "h-30"),
        ("agency", "urn:agency:fire-2"),
        ("metro", "urn:metro:fire-3"),
    ] + ([] if closed else [("bay", BAY_IDS + "b-30")])
    story = await desk.story(story_id)
    assert sorted(e.id for e in story.entries) == sorted(entry_id(s, i) for s, i in members)
