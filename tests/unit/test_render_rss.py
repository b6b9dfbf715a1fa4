"""The RSS 2.0 renderer (feeds.render.xml.rss), and the RSS validator (tests.support.validate).

Golden files live in tests/fixtures/republish/. After an intended change, regenerate them with
``WIREFEED_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render_rss.py`` and review the diff.
The stories are the invented ice storm and Chennai stories of tests/unit/test_render.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from feeds.render.context import Context
from feeds.render.doc import FeedDoc, Paging, archive_paging, source_doc, stories_doc, story_doc
from feeds.render.jsonfeed import jsonfeed
from feeds.render.xml import ATOM_TYPE, HISTORY_NS, RSS_TYPE, atom, rss
from tests.support import is_rfc822, validate_atom, validate_jsonfeed, validate_rss
from tests.support.stories import (
    CHENNAI_STORY,
    CTX,
    HOSTILE_CTX,
    HOSTILE_STORY,
    HOSTILE_TITLE,
    ICE_ENTRIES,
    ICE_STORY,
    STORIES,
)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "republish"
A = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
BASE = CTX.base
NO_HUBS = Context(base=BASE, source_names=CTX.source_names)

Build = Callable[[str], FeedDoc]

DOCS = [
    pytest.param(lambda ext: stories_doc(STORIES, CTX, ext), "stories", id="stories"),
    pytest.param(lambda ext: story_doc(ICE_STORY, CTX, ext), "story", id="story"),
    pytest.param(
        lambda ext: source_doc("lakeshore", ICE_ENTRIES[::2], CTX, ext, timezone="America/Chicago"),
        "source",
        id="source",
    ),
    pytest.param(
        lambda ext: story_doc(
            replace(ICE_STORY, entries=ICE_ENTRIES[:1:-1]),  # oldest first, as read
            CTX,
            ext,
            archive=1,
            paging=archive_paging(CTX, "story", ICE_STORY.id, ext, total=4, size=2, archive=1),
        ),
        "archive",
        id="story-archive-1",
    ),
    pytest.param(lambda ext: stories_doc([], NO_HUBS, ext), "empty", id="empty"),
]


def channel(body: bytes) -> etree._Element:
    found = etree.fromstring(body).find("channel")
    assert found is not None
    return found


def atom_links(body: bytes) -> list[tuple[str | None, str | None]]:
    return [(link.get("rel"), link.get("href")) for link in channel(body).iterfind(A + "link")]


def assert_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("WIREFEED_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; create it with WIREFEED_UPDATE_GOLDEN=1")
    expected = path.read_bytes()
    assert actual == expected, (
        f"{name} differs from {path}; if intended, rerun with WIREFEED_UPDATE_GOLDEN=1"
    )


# -- golden files, validity, determinism ------------------------------------------------------


@pytest.mark.parametrize(("build", "name"), DOCS)
def test_matches_golden_file(build: Build, name: str) -> None:
    assert_golden(f"{name}.rss", rss(build("rss")))


@pytest.mark.parametrize(("build", "name"), DOCS)
def test_every_format_validates(build: Build, name: str) -> None:
    validate_rss(rss(build("rss")))
    validate_atom(atom(build("atom")))
    validate_jsonfeed(jsonfeed(build("json")))


@pytest.mark.parametrize(("build", "name"), DOCS)
def test_rendering_is_deterministic_and_never_stamps_now(build: Build, name: str) -> None:
    body = rss(build("rss"))
    assert rss(build("rss")) == body
    doc = build("rss")
    built = parsedate_to_datetime(channel(body).findtext("lastBuildDate") or "")
    assert built == doc.updated.replace(microsecond=0)
    assert channel(body).find("pubDate") is None or is_rfc822(channel(body).findtext("pubDate"))


# -- what the channel says --------------------------------------------------------------------


def test_channel_has_the_required_elements_and_links() -> None:
    body = rss(stories_doc(STORIES, CTX, "rss"))
    chan = channel(body)
    assert chan.findtext("title") == "wirefeed: latest stories"
    assert chan.findtext("link") == f"{BASE}/"
    assert chan.findtext("description") == "Rolling story timelines assembled from wire sources"
    assert atom_links(body) == [
        ("self", f"{BASE}/feeds/stories.rss"),
        ("hub", "https://hub.example/"),
    ]
    (self_link,) = chan.findall(A + "link[@rel='self']")
    assert self_link.get("type") == RSS_TYPE
    assert etree.fromstring(body).get("version") == "2.0"


def test_every_hub_gets_its_own_link() -> None:
    ctx = Context(base=BASE, hubs=("http://127.0.0.1:1/hub", "https://hub.example/websub"))
    links = atom_links(rss(stories_doc(STORIES, ctx, "rss")))
    assert [href for rel, href in links if rel == "hub"] == list(ctx.hubs)
    assert [rel for rel, _ in links].count("self") == 1


def test_without_hubs_there_is_no_hub_link() -> None:
    assert [rel for rel, _ in atom_links(rss(stories_doc(STORIES, NO_HUBS, "rss")))] == ["self"]


PAGING = [
    pytest.param(Paging(), None, id="none"),
    pytest.param(Paging(next_url=f"{BASE}/feeds/stories.rss?page=2"), "page=2", id="paged"),
    pytest.param(
        Paging(prev_archive=f"{BASE}/feeds/stories/x/archive/3.rss"), "archive/3", id="archived"
    ),
]


@pytest.mark.parametrize(("paging", "older"), PAGING)
def test_rel_next_leads_to_older_items(paging: Paging, older: str | None) -> None:
    body = rss(stories_doc(STORIES, NO_HUBS, "rss", paging=paging))
    validate_rss(body)
    nexts = [href for rel, href in atom_links(body) if rel == "next"]
    assert nexts == ([paging.older] if older else [])
    # the same link JSON Feed calls next_url
    assert json.loads(jsonfeed(stories_doc(STORIES, NO_HUBS, "json", paging=paging))).get(
        "next_url"
    ) == (paging.older if older else None)


def test_archive_page_has_no_hub_and_names_itself() -> None:
    paging = archive_paging(CTX, "story", ICE_STORY.id, "rss", total=4, size=2, archive=1)
    oldest = replace(ICE_STORY, entries=ICE_ENTRIES[2:])
    doc = story_doc(oldest, CTX, "rss", archive=1, paging=paging)
    body = rss(doc)
    validate_rss(body)
    base = f"{BASE}/feeds/stories/{ICE_STORY.id}"
    assert atom_links(body) == [
        ("self", f"{base}/archive/1.rss"),
        ("next-archive", f"{base}/archive/2.rss"),
        ("current", f"{base}.rss"),
    ]
    assert etree.fromstring(body).find(f"channel/{{{HISTORY_NS}}}archive") is not None


# -- what the items say -----------------------------------------------------------------------


def rss_items(body: bytes) -> list[dict[str, Any]]:
    return [
        {
            "id": i.findtext("guid"),
            "title": i.findtext("title"),
            "published": parsedate_to_datetime(i.findtext("pubDate") or ""),
            "url": i.findtext("link"),
            "authors": [c.text for c in i.iterfind(DC + "creator")],
            "html": i.findtext("description"),
        }
        for i in channel(body).iterfind("item")
    ]


def json_items(body: bytes) -> list[dict[str, Any]]:
    return [
        {
            "id": i["id"],
            "title": i["title"],
            "published": datetime.fromisoformat(i["date_published"]),
            "url": i["url"],
            "authors": [a["name"] for a in i["authors"]],
            "html": i["content_html"],
        }
        for i in json.loads(body)["items"]
    ]


@pytest.mark.parametrize(("build", "name"), DOCS)
def test_rss_and_json_feed_carry_the_same_items(build: Build, name: str) -> None:
    assert rss_items(rss(build("rss"))) == json_items(jsonfeed(build("json")))


def test_guids_are_the_stable_urns_and_not_permalinks() -> None:
    body = rss(story_doc(ICE_STORY, CTX, "rss"))
    guids = list(channel(body).iterfind("item/guid"))
    assert [g.get("isPermaLink") for g in guids] == ["false"] * len(ICE_ENTRIES)
    atom_ids = [
        e.findtext(A + "id")
        for e in etree.fromstring(atom(story_doc(ICE_STORY, CTX, "atom"))).iterfind(A + "entry")
    ]
    assert [g.text for g in guids] == atom_ids
    assert len(set(atom_ids)) == len(atom_ids)


def test_story_item_description_is_the_timeline() -> None:
    (ice, chennai) = rss_items(rss(stories_doc(STORIES, CTX, "rss")))
    fragment = etree.fromstring(f"<div>{ice['html']}</div>")
    sections = fragment.findall("section")
    assert [s.get("id") for s in sections] == [f"e-{e.id}" for e in ICE_ENTRIES]
    assert [s.findtext("h3") for s in sections] == [e.title for e in ICE_ENTRIES]
    assert ice["title"].endswith(ICE_STORY.title)  # perhaps with a rolling-story prefix
    assert chennai["title"] == CHENNAI_STORY.title
    assert ice["published"] == ICE_STORY.created
    assert ice["authors"] == ["Lakeshore Wire", "Prairie News & Wire"]


def test_hostile_text_is_carried_as_text() -> None:
    body = rss(stories_doc([HOSTILE_STORY], HOSTILE_CTX, "rss"))
    validate_rss(body)
    (item,) = rss_items(body)
    assert item["title"] == HOSTILE_TITLE
    assert item["authors"] == ["<b>Wire</b> & Co"]
    assert b"<script>" not in body


def test_control_characters_do_not_break_rss() -> None:
    dirty = replace(ICE_ENTRIES[0], title="Power\x00 back\x0b soon", content_html="<p>a\x0cb</p>")
    story = replace(ICE_STORY, title="Ice\x1b storm", entries=(dirty,), entry_count=1)
    for body in (rss(story_doc(story, CTX, "rss")), rss(stories_doc([story], CTX, "rss"))):
        validate_rss(body)
    chan = channel(rss(story_doc(story, CTX, "rss")))
    assert chan.findtext("title") == "Ice storm"
    assert chan.findtext("item/title") == "Power back soon"


@pytest.mark.parametrize("render", [atom, rss], ids=["atom", "rss"])
def test_a_story_without_a_headline_renders(render: Callable[[FeedDoc], bytes]) -> None:
    bare = replace(CHENNAI_STORY.entries[0], title="", summary_html="")
    story = replace(CHENNAI_STORY, title="", lede_html="", entries=(bare,))
    body = render(story_doc(story, CTX, "atom" if render is atom else "rss"))
    (validate_atom if render is atom else validate_rss)(body)


def test_media_types() -> None:
    assert (RSS_TYPE, ATOM_TYPE) == ("application/rss+xml", "application/atom+xml")


# -- the validator catches what it claims to --------------------------------------------------

RSS_OK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
    "<title>T</title><link>https://h.example/</link><description>D</description>"
    '<atom:link href="https://h.example/f.rss" rel="self" type="application/rss+xml"/>'
    "<lastBuildDate>Sun, 29 Nov 2026 22:10:00 +0000</lastBuildDate><ttl>5</ttl>"
    '<item><title>E</title><guid isPermaLink="false">urn:x:1</guid>'
    "<pubDate>Sun, 29 Nov 2026 22:10:00 GMT</pubDate></item>"
    "<item><description>F</description><guid>https://h.example/2</guid>"
    "<link>https://h.example/2</link></item>"
    "</channel></rss>"
)


def broken_rss(old: str, new: str) -> bytes:
    assert old in RSS_OK
    return RSS_OK.replace(old, new).encode()


BROKEN_RSS = [
    pytest.param(b"<rss", "not well-formed XML", id="not-xml"),
    pytest.param(b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "root element", id="atom"),
    pytest.param(broken_rss('version="2.0"', 'version="0.91"'), "root element", id="rss-0.91"),
    pytest.param(broken_rss("</channel>", "</channel><channel/>"), "2 channel", id="two-channels"),
    pytest.param(broken_rss("<title>T</title>", ""), "channel: no title", id="no-title"),
    pytest.param(broken_rss("<link>https://h.example/</link>", ""), "no link", id="no-link"),
    pytest.param(broken_rss("<description>D</description>", ""), "no description", id="no-desc"),
    pytest.param(
        broken_rss("<link>https://h.example/</link>", "<link>/relative</link>"),
        "channel/link: '/relative' is not an absolute",
        id="relative-link",
    ),
    pytest.param(
        broken_rss("<title>E</title>", ""), "item 0: neither title nor description", id="no-text"
    ),
    pytest.param(
        broken_rss("<guid>https://h.example/2</guid>", '<guid isPermaLink="false">urn:x:1</guid>'),
        "guid 'urn:x:1' appears 2 times",
        id="dup-guid",
    ),
    pytest.param(
        broken_rss("<guid>https://h.example/2</guid>", "<guid>urn:x:2</guid>"),
        "item 1/guid: permalink 'urn:x:2' is not an absolute URL",
        id="permalink-not-url",
    ),
    pytest.param(
        broken_rss("Sun, 29 Nov 2026 22:10:00 GMT", "2026-11-29T22:10:00Z"),
        "item/pubDate: '2026-11-29T22:10:00Z' is not an RFC 822",
        id="rfc3339-date",
    ),
    pytest.param(
        broken_rss("Sun, 29 Nov 2026 22:10:00 +0000", "Mon, 29 Nov 2026 22:10:00 +0000"),
        "channel/lastBuildDate",
        id="wrong-weekday",
    ),
    pytest.param(
        broken_rss("Sun, 29 Nov 2026 22:10:00 GMT", "Sun, 31 Nov 2026 22:10:00 GMT"),
        "item/pubDate",
        id="no-such-day",
    ),
    pytest.param(
        broken_rss("Sun, 29 Nov 2026 22:10:00 GMT", "Sun, 29 Nov 2026 22:10:00"),
        "item/pubDate",
        id="no-zone",
    ),
    pytest.param(broken_rss("<ttl>5</ttl>", "<ttl>soon</ttl>"), "channel/ttl", id="bad-ttl"),
    pytest.param(
        broken_rss(' rel="self"', ' rel="alternate"'), "0 atom:link rel=self", id="no-self"
    ),
    pytest.param(
        broken_rss(
            '<atom:link href="https://h.example/f.rss"',
            '<atom:link href="https://h.example/g.rss" rel="self"/>'
            '<atom:link href="https://h.example/f.rss"',
        ),
        "2 atom:link rel=self",
        id="two-selves",
    ),
    pytest.param(
        broken_rss('href="https://h.example/f.rss"', 'href="f.rss"'),
        "href 'f.rss' is not absolute",
        id="relative-self",
    ),
]


@pytest.mark.parametrize(("body", "message"), BROKEN_RSS)
def test_validate_rss_rejects(body: bytes, message: str) -> None:
    with pytest.raises(AssertionError, match=r"^RSS: ") as caught:
        validate_rss(body)
    assert message in str(caught.value)


GOOD_RSS = [
    pytest.param(RSS_OK.encode(), id="minimal"),
    pytest.param(
        broken_rss("Sun, 29 Nov 2026 22:10:00 GMT", "29 Nov 26 22:10 EST"), id="rfc822-short"
    ),
    pytest.param(
        broken_rss("Sun, 29 Nov 2026 22:10:00 GMT", "Sun, 29 Nov 2026 22:10:00 -0600"),
        id="offset",
    ),
    pytest.param(broken_rss("<ttl>5</ttl>", ""), id="no-ttl"),
]


@pytest.mark.parametrize("body", GOOD_RSS)
def test_validate_rss_accepts(body: bytes) -> None:
    validate_rss(body)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Sun, 29 Nov 2026 22:10:00 +0000", True),
        ("29 Nov 2026 22:10 GMT", True),
        ("Sun, 29 Nov 2026 22:10:60 Z", True),
        ("Sun, 29 Nov 2026 24:10:00 GMT", False),
        ("Sun, 29 November 2026 22:10:00 GMT", False),
        ("Sunday, 29 Nov 2026 22:10:00 GMT", False),
        ("Sun, 29 Nov 2026 22:10:00 J", False),
        ("", False),
    ],
)
def test_is_rfc822(text: str, ok: bool) -> None:
    assert is_rfc822(text) is ok


def test_lastbuilddate_is_the_newest_story_change() -> None:
    body = rss(stories_doc(STORIES, CTX, "rss"))
    built = parsedate_to_datetime(channel(body).findtext("lastBuildDate") or "")
    assert built == max(s.updated for s in STORIES) == datetime(2026, 11, 29, 22, 12, tzinfo=UTC)
