"""The renderers (feeds.render): golden files, validity, determinism, escaping and page layout.

Golden files live in tests/fixtures/render/. After an intended change, regenerate them with
``WIREFEED_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from lxml import etree

from feeds.render.context import Context
from feeds.render.doc import EPOCH, stories_doc, story_doc, urn
from feeds.render.jsonfeed import jsonfeed
from feeds.render.page import index_page, story_page
from feeds.render.xml import atom
from tests.support import validate_atom, validate_jsonfeed
from tests.support.stories import (
    CHENNAI_STORY,
    CTX,
    HOSTILE_CTX,
    HOSTILE_SOURCE,
    HOSTILE_STORY,
    HOSTILE_TITLE,
    ICE,
    ICE_ENTRIES,
    ICE_STORY,
    ICE_URL,
    STORIES,
    utc,
)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "render"
A = "{http://www.w3.org/2005/Atom}"


# -- an invented rolling story: an ice storm, four updates from two wires, Chicago time --------


Render = Callable[[], bytes]

RENDERINGS = [
    pytest.param(
        lambda: atom(stories_doc(STORIES, CTX, "atom")), "stories.atom", id="stories-atom"
    ),
    pytest.param(
        lambda: jsonfeed(stories_doc(STORIES, CTX, "json")), "stories.json", id="stories-json"
    ),
    pytest.param(lambda: atom(story_doc(ICE_STORY, CTX, "atom")), "story.atom", id="story-atom"),
    pytest.param(
        lambda: jsonfeed(story_doc(ICE_STORY, CTX, "json")), "story.json", id="story-json"
    ),
    pytest.param(lambda: story_page(ICE_STORY, CTX).encode(), "story.html", id="story-page"),
    pytest.param(lambda: index_page(STORIES, CTX).encode(), "index.html", id="index-page"),
]

FEEDS = [p for p in RENDERINGS if p.values[1].endswith((".atom", ".json"))]


def validate(name: str, body: bytes) -> None:
    (validate_atom if name.endswith(".atom") else validate_jsonfeed)(body)


def assert_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("WIREFEED_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; create it with WIREFEED_UPDATE_GOLDEN=1")
    expected = path.read_bytes()
    if actual == expected:
        return
    at = next(
        (i for i, (x, y) in enumerate(zip(actual, expected, strict=False)) if x != y),
        min(len(actual), len(expected)),
    )
    window = slice(max(0, at - 80), at + 80)
    pytest.fail(
        f"{name} differs from {path} at byte {at} (lengths {len(actual)} vs {len(expected)}):\n"
        f"  expected ...{expected[window]!r}\n  actual   ...{actual[window]!r}\n"
        "If the change is intended, rerun with WIREFEED_UPDATE_GOLDEN=1 and review the diff."
    )


# -- golden files, validity, determinism ------------------------------------------------------


@pytest.mark.parametrize(("render", "name"), RENDERINGS)
def test_matches_golden_file(render: Render, name: str) -> None:
    assert_golden(name, render())


@pytest.mark.parametrize(("render", "name"), FEEDS)
def test_feed_is_valid(render: Render, name: str) -> None:
    validate(name, render())


@pytest.mark.parametrize(("render", "name"), RENDERINGS)
def test_rendering_is_deterministic(render: Render, name: str) -> None:
    # The ETag is a hash of these bytes: equal stories must give equal bytes, every time.
    assert render() == render()


def test_equal_inputs_built_apart_render_alike() -> None:
    rebuilt = tuple(replace(s, entries=tuple(replace(e) for e in s.entries)) for s in STORIES)
    names = dict(reversed(list(CTX.source_names.items())))
    ctx = Context(base=CTX.base, source_names=names, hubs=CTX.hubs)
    assert atom(stories_doc(rebuilt, ctx, "atom")) == atom(stories_doc(STORIES, CTX, "atom"))
    assert jsonfeed(story_doc(rebuilt[0], ctx, "json")) == jsonfeed(
        story_doc(ICE_STORY, CTX, "json")
    )
    assert story_page(rebuilt[0], ctx) == story_page(ICE_STORY, CTX)


@pytest.mark.parametrize(
    ("render", "validator"),
    [
        pytest.param(lambda: atom(stories_doc([], CTX, "atom")), validate_atom, id="atom"),
        pytest.param(lambda: jsonfeed(stories_doc([], CTX, "json")), validate_jsonfeed, id="json"),
    ],
)
def test_empty_stories_feed_is_valid(render: Render, validator: Callable[[bytes], None]) -> None:
    body = render()
    validator(body)
    if validator is validate_atom:
        root = etree.fromstring(body)
        assert root.findall(A + "entry") == []
        assert root.findtext(A + "updated") == EPOCH.isoformat()
    else:
        assert json.loads(body)["items"] == []


def test_empty_index_page_says_so() -> None:
    page = lxml.html.fromstring(index_page([], CTX))
    assert page.xpath("string(//h1)") == "Latest stories"
    assert "No stories yet." in page.text_content()


# -- what the feeds say -----------------------------------------------------------------------


def atom_items(body: bytes) -> list[dict[str, Any]]:
    return [
        {
            "id": e.findtext(A + "id"),
            "title": e.findtext(A + "title"),
            "published": datetime.fromisoformat(e.findtext(A + "published") or ""),
            "updated": datetime.fromisoformat(e.findtext(A + "updated") or ""),
            "url": e.find(A + "link[@rel='alternate']").get("href"),
            "authors": [a.findtext(A + "name") for a in e.iterfind(A + "author")],
        }
        for e in etree.fromstring(body).iterfind(A + "entry")
    ]


def json_items(body: bytes) -> list[dict[str, Any]]:
    return [
        {
            "id": i["id"],
            "title": i["title"],
            "published": datetime.fromisoformat(i["date_published"]),
            "updated": datetime.fromisoformat(i["date_modified"]),
            "url": i["url"],
            "authors": [a["name"] for a in i["authors"]],
        }
        for i in json.loads(body)["items"]
    ]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda ext: stories_doc(STORIES, CTX, ext), id="stories"),
        pytest.param(lambda ext: story_doc(ICE_STORY, CTX, ext), id="story"),
    ],
)
def test_atom_and_json_feed_carry_the_same_items(build: Callable[[str], Any]) -> None:
    assert atom_items(atom(build("atom"))) == json_items(jsonfeed(build("json")))


def test_story_feed_lists_updates_newest_first_with_versions_dated() -> None:
    items = json_items(jsonfeed(story_doc(ICE_STORY, CTX, "json")))
    assert [i["id"] for i in items] == [urn("entry", e.id) for e in ICE_ENTRIES]
    assert [i["published"] for i in items] == sorted((i["published"] for i in items), reverse=True)
    corrected = items[1]
    assert (corrected["published"], corrected["updated"]) == (utc(29, 21, 0), utc(29, 21, 20))
    assert [i["url"] for i in items] == [
        f"https://wirefeed.example/stories/{ICE}#e-{e.id}" for e in ICE_ENTRIES
    ]
    assert [i["authors"] for i in items] == [
        ["Lakeshore Wire"],
        ["Prairie News & Wire"],
        ["Lakeshore Wire"],
        ["Prairie News & Wire"],
    ]


def test_atom_entry_links_keep_rel_and_type() -> None:
    # feedgen 1.0 drops rel/type of entry links (lkiesow/python-feedgen#135); xml.py adds them.
    entries = etree.fromstring(atom(story_doc(ICE_STORY, CTX, "atom"))).findall(A + "entry")
    links = [
        [(link.get("rel"), link.get("type"), link.get("href")) for link in e.iterfind(A + "link")]
        for e in entries
    ]
    page = f"https://wirefeed.example/stories/{ICE}"
    assert links == [
        [("alternate", "text/html", f"{page}#e-e4"), ("related", "text/html", ICE_URL)],
        [("alternate", "text/html", f"{page}#e-e3"), ("related", "text/html", ICE_URL)],
        [
            ("alternate", "text/html", f"{page}#e-e2"),
            ("related", "text/html", "https://lakeshore.example/2026/11/29/disaster-declaration"),
        ],
        [("alternate", "text/html", f"{page}#e-e1"), ("related", "text/html", ICE_URL)],
    ]


def test_stories_feed_credits_every_source_and_links_the_pages() -> None:
    items = json_items(jsonfeed(stories_doc(STORIES, CTX, "json")))
    assert [(i["title"], i["url"], i["authors"]) for i in items] == [
        (
            ICE_STORY.title,
            f"https://wirefeed.example/stories/{ICE}",
            ["Lakeshore Wire", "Prairie News & Wire"],
        ),
        (CHENNAI_STORY.title, "https://wirefeed.example/stories/0f9e8d7c6b5a", ["coastal"]),
    ]


def test_control_characters_do_not_break_atom() -> None:
    # A JSON Feed source can send "\u0000" or "\u000b"; XML cannot hold them, so Atom drops them.
    dirty = replace(ICE_ENTRIES[0], title="Power\x00 back\x0b soon", content_html="<p>a\x0cb</p>")
    story = replace(ICE_STORY, title="Ice\x1b storm", entries=(dirty,), entry_count=1)
    for body in (atom(story_doc(story, CTX, "atom")), atom(stories_doc([story], CTX, "atom"))):
        validate_atom(body)
    root = etree.fromstring(atom(story_doc(story, CTX, "atom")))
    assert root.findtext(A + "title") == "Ice storm"
    assert root.findtext(f"{A}entry/{A}title") == "Power back soon"
    assert (root.findtext(f"{A}entry/{A}content") or "").startswith("<p>ab</p>")


# -- escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("render", "head_title", "credits"),
    [
        pytest.param(
            lambda: story_page(HOSTILE_STORY, HOSTILE_CTX),
            HOSTILE_TITLE,
            [HOSTILE_SOURCE],
            id="story-page",
        ),
        pytest.param(
            lambda: index_page([HOSTILE_STORY], HOSTILE_CTX), "wirefeed", [], id="index-page"
        ),
    ],
)
def test_pages_escape_titles_and_source_names(
    render: Callable[[], str], head_title: str, credits: list[str]
) -> None:
    text = render()
    assert "<script>" not in text
    assert "<b>Wire" not in text
    page = lxml.html.fromstring(text)
    assert page.xpath("//script | //b") == []
    assert page.xpath("string(//head/title)") == head_title
    assert HOSTILE_TITLE in page.xpath("//h1/text() | //h3/text() | //ol//a/text()")
    assert [p.text_content() for p in page.xpath("//p[@class='credit']")] == credits


def test_story_page_title_and_credit_come_back_verbatim() -> None:
    page = lxml.html.fromstring(story_page(HOSTILE_STORY, HOSTILE_CTX))
    assert page.xpath("string(//head/title)") == HOSTILE_TITLE
    assert page.xpath("string(//h1)") == HOSTILE_TITLE
    assert page.xpath("string(//section/h3)") == HOSTILE_TITLE
    assert page.xpath("string(//p[@class='credit'])") == HOSTILE_SOURCE


def test_credits_link_to_where_each_source_published_the_item() -> None:
    entry = replace(
        ICE_ENTRIES[0],
        url="https://lakeshore.example/ice?a=1&b=2",
        also=(
            ("prairie", "https://prairie.example/storm"),
            ("harbor", "javascript:alert(1)"),  # never a link
            ("coast", None),
        ),
    )
    ctx = Context(
        base="https://wirefeed.example",
        source_names={"lakeshore": "Lakeshore Wire", "prairie": "Prairie <News>"},
    )
    story = replace(ICE_STORY, entries=(entry,), entry_count=1)
    page = lxml.html.fromstring(story_page(story, ctx))
    (credit,) = page.xpath("//p[@class='credit']")
    assert [(a.text, a.get("href")) for a in credit.iter("a")] == [
        ("Lakeshore Wire", "https://lakeshore.example/ice?a=1&b=2"),
        ("Prairie <News>", "https://prairie.example/storm"),
    ]
    assert credit.text_content() == (
        "Lakeshore Wire · also reported by Prairie <News>, harbor, coast"
    )
    assert "javascript:" not in story_page(story, ctx)


@pytest.mark.parametrize(
    ("render", "name"),
    [
        pytest.param(
            lambda: atom(story_doc(HOSTILE_STORY, HOSTILE_CTX, "atom")), "x.atom", id="atom"
        ),
        pytest.param(
            lambda: jsonfeed(story_doc(HOSTILE_STORY, HOSTILE_CTX, "json")), "x.json", id="json"
        ),
        pytest.param(
            lambda: atom(stories_doc([HOSTILE_STORY], HOSTILE_CTX, "atom")),
            "x.atom",
            id="list-atom",
        ),
        pytest.param(
            lambda: jsonfeed(stories_doc([HOSTILE_STORY], HOSTILE_CTX, "json")),
            "x.json",
            id="list-json",
        ),
    ],
)
def test_feeds_carry_hostile_text_as_text(render: Render, name: str) -> None:
    body = render()
    validate(name, body)
    items = atom_items(body) if name.endswith(".atom") else json_items(body)
    assert [i["title"] for i in items] == [HOSTILE_TITLE]
    assert [i["authors"] for i in items] == [[HOSTILE_SOURCE]]
    if name.endswith(".atom"):
        assert b"<script>" not in body


def test_story_item_html_escapes_entry_titles_and_credits() -> None:
    (item,) = json.loads(jsonfeed(stories_doc([HOSTILE_STORY], HOSTILE_CTX, "json")))["items"]
    fragment = lxml.html.fragment_fromstring(item["content_html"], create_parent="div")
    assert fragment.xpath("//script") == []
    assert fragment.xpath("string(//h3)") == HOSTILE_TITLE
    assert fragment.xpath("string(//p[@class='credit'])") == HOSTILE_SOURCE


# -- page layout ------------------------------------------------------------------------------


def test_story_page_is_laid_out_as_a_rolling_story() -> None:
    page = lxml.html.fromstring(story_page(ICE_STORY, CTX))
    article = page.xpath("//article")[0]
    assert article.xpath("string(h1)") == ICE_STORY.title
    # the lede comes right after the headline, before any update
    assert article[1].get("class") == "lede"
    assert article.xpath("normalize-space(div[@class='lede'])").startswith("An ice storm has left")
    updates = article.xpath("section[@class='update']")
    assert [u.get("id") for u in updates] == ["e-e4", "e-e3", "e-e2", "e-e1"]
    # AP style, in Chicago time, newest first; an update from another day carries its date
    assert [u.xpath("string(h2/time)") for u in updates] == [
        "4:10 p.m.",
        "3 p.m.",
        "noon",
        "Nov. 28, 5:45 p.m.",
    ]
    stamps = [datetime.fromisoformat(u.xpath("string(h2/time/@datetime)")) for u in updates]
    assert stamps == sorted(stamps, reverse=True)
    assert [u.xpath("string(h3)") for u in updates] == [e.title for e in ICE_ENTRIES]
    assert [u.xpath("string(p[@class='credit'])") for u in updates] == [
        "Lakeshore Wire",
        "Prairie News & Wire",
        "Lakeshore Wire",
        "Prairie News & Wire",
    ]
    assert "210,000 customers" in updates[1].text_content()


def test_story_page_header_and_feed_links() -> None:
    page = lxml.html.fromstring(story_page(ICE_STORY, CTX))
    assert page.xpath("normalize-space(//p[@class='meta'])") == (
        "All stories · Updated Nov. 29, 4:12 p.m. CST · 4 updates"  # a lone time: its zone
    )
    feeds = f"https://wirefeed.example/feeds/stories/{ICE}"
    links = [f"{feeds}.atom", f"{feeds}.json", f"{feeds}.rss"]
    assert page.xpath("//p[@class='feeds']/a/@href") == links
    assert page.xpath("//link[@rel='alternate']/@type") == [
        "application/atom+xml",
        "application/feed+json",
        "application/rss+xml",
    ]
    assert page.xpath("//link[@rel='alternate']/@href") == links


def test_index_page_lists_stories_newest_first() -> None:
    page = lxml.html.fromstring(index_page(STORIES, CTX))
    rows = page.xpath("//ol[@class='stories']/li")
    assert [(r.xpath("string(a)"), r.xpath("string(a/@href)")) for r in rows] == [
        (ICE_STORY.title, f"https://wirefeed.example/stories/{ICE}"),
        (CHENNAI_STORY.title, "https://wirefeed.example/stories/0f9e8d7c6b5a"),
    ]
    # each story's time is in its own zone, named: Chicago, then Kolkata (06:30 UTC is noon
    # there); and who reported it
    assert [r.xpath("normalize-space(div[@class='meta'])") for r in rows] == [
        "4 updates · last at 4:12 p.m. CST · from Lakeshore Wire, Prairie News & Wire",
        "1 update · last at noon IST · from coastal",
    ]
    # each story's lede
    assert [r.xpath("normalize-space(div[@class='lede'])")[:30] for r in rows] == [
        "An ice storm has left hundreds",
        "Flights resumed at noon after ",
    ]


def test_a_lede_that_is_only_an_update_again_is_not_shown_twice() -> None:
    page = lxml.html.fromstring(story_page(CHENNAI_STORY, CTX))
    assert page.xpath("//div[@class='lede']") == []
    assert "Flights resumed at noon" in page.xpath("string(//section[@class='update'])")


# -- the validators catch what they claim to --------------------------------------------------

ATOM_OK = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x:feed</id><title>T</title>'
    "<updated>2026-11-29T22:10:00Z</updated><author><name>A</name></author>"
    '<link rel="self" href="https://h.example/f.atom"/>'
    "<entry><id>urn:x:1</id><title>E</title><updated>2026-11-29T16:10:00-06:00</updated>"
    '<link href="https://h.example/1"/></entry></feed>'
)


def broken_atom(old: str, new: str) -> bytes:
    assert old in ATOM_OK
    return ATOM_OK.replace(old, new).encode()


BROKEN_ATOM = [
    pytest.param(b"<feed", "not well-formed XML", id="not-xml"),
    pytest.param(b'<rss version="2.0"><channel/></rss>', "root element", id="rss"),
    pytest.param(broken_atom("<title>E</title>", ""), "RELAX NG", id="entry-without-title"),
    pytest.param(
        broken_atom("2026-11-29T22:10:00Z", "Sun, 29 Nov 2026 22:10:00 GMT"),
        "RELAX NG",
        id="rfc822-date",
    ),
    pytest.param(
        broken_atom("2026-11-29T16:10:00-06:00", "2026-11-29T16:10:00"),
        "entry urn:x:1/updated: '2026-11-29T16:10:00' is not an RFC 3339 date-time",
        id="date-without-offset",
    ),
    pytest.param(
        broken_atom("<author><name>A</name></author>", ""),
        "entry urn:x:1: no atom:author",
        id="no-author",
    ),
    pytest.param(
        broken_atom('<link href="https://h.example/1"/>', ""),
        "entry urn:x:1: neither atom:content nor an alternate link",
        id="no-content-no-link",
    ),
    pytest.param(
        broken_atom(
            '<link href="https://h.example/1"/>', '<link rel="related" href="https://h.example/1"/>'
        ),
        "neither atom:content nor an alternate link",
        id="only-related-link",
    ),
    pytest.param(
        broken_atom(
            '<link href="https://h.example/1"/>',
            '<link href="https://h.example/1"/><link rel="alternate" href="https://h.example/2"/>',
        ),
        "entry urn:x:1: 2 alternate links with type=None hreflang=None",
        id="two-alternates-alike",
    ),
    pytest.param(broken_atom("urn:x:1", "urn:x:feed"), "'urn:x:feed' appears 2 times", id="dup-id"),
    pytest.param(
        broken_atom('<link rel="self" href="https://h.example/f.atom"/>', ""),
        "0 rel=self links",
        id="no-self",
    ),
    pytest.param(
        broken_atom(
            '<link rel="self" href="https://h.example/f.atom"/>',
            '<link rel="self" href="https://h.example/f.atom"/>'
            '<link rel="self" href="https://h.example/g.atom"/>',
        ),
        "2 rel=self links",
        id="two-selves",
    ),
]


@pytest.mark.parametrize(("body", "message"), BROKEN_ATOM)
def test_validate_atom_rejects(body: bytes, message: str) -> None:
    with pytest.raises(AssertionError, match=r"^Atom: ") as caught:
        validate_atom(body)
    assert message in str(caught.value)


GOOD_ATOM = [
    pytest.param(ATOM_OK.encode(), id="minimal"),
    pytest.param(
        broken_atom("<author><name>A</name></author>", "").replace(
            b"<title>E</title>", b"<title>E</title><author><name>B</name></author>"
        ),
        id="authors-on-every-entry",
    ),
    pytest.param(
        broken_atom(
            '<link href="https://h.example/1"/>',
            '<content type="text">words</content><link rel="related" href="https://h.example/1"/>',
        ),
        id="content-without-alternate",
    ),
    pytest.param(
        broken_atom(
            '<link href="https://h.example/1"/>',
            '<link type="text/html" href="https://h.example/1"/>'
            '<link type="application/pdf" href="https://h.example/1.pdf"/>',
        ),
        id="alternates-of-two-types",
    ),
    pytest.param(
        broken_atom("2026-11-29T22:10:00Z", "2026-11-29T22:10:00.123+05:30"), id="fraction-offset"
    ),
]


@pytest.mark.parametrize("body", GOOD_ATOM)
def test_validate_atom_accepts(body: bytes) -> None:
    validate_atom(body)


JSON_OK: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "T",
    "home_page_url": "https://h.example/",
    "feed_url": "https://h.example/f.json",
    "items": [
        {
            "id": "1",
            "url": "https://h.example/1",
            "content_html": "<p>x</p>",
            "date_published": "2026-11-29T22:10:00Z",
            "date_modified": "2026-11-29T16:10:00-06:00",
        }
    ],
}


def broken_json(change: Callable[[dict[str, Any]], object]) -> bytes:
    data = json.loads(json.dumps(JSON_OK))
    change(data)
    return json.dumps(data).encode()


BROKEN_JSON = [
    pytest.param(b"{", "not JSON", id="not-json"),
    pytest.param(
        broken_json(lambda d: d.pop("items")), "'items' is a required property", id="no-items"
    ),
    pytest.param(
        broken_json(lambda d: d["items"][0].pop("id")), "items/0: 'id' is a required", id="no-id"
    ),
    pytest.param(
        broken_json(lambda d: d["items"][0].pop("content_html")), "items/0: {", id="no-content"
    ),
    pytest.param(
        broken_json(lambda d: d["items"][0].update(date_published="2026-11-29T22:10:00")),
        "items/0/date_published: '2026-11-29T22:10:00' is not a 'date-time'",
        id="date-without-offset",
    ),
    pytest.param(
        broken_json(lambda d: d["items"][0].update(date_modified="Sun, 29 Nov 2026 22:10:00 GMT")),
        "is not a 'date-time'",
        id="rfc822-date",
    ),
    pytest.param(
        broken_json(lambda d: d["items"][0].update(date_modified="2026-02-30T22:10:00Z")),
        "is not a 'date-time'",
        id="no-such-day",
    ),
    pytest.param(
        broken_json(lambda d: d.update(feed_url="not a url")),
        "feed_url: 'not a url' is not a 'uri'",
        id="bad-uri",
    ),
    pytest.param(
        broken_json(lambda d: d.update(extra=1)),
        "'extra' does not match any of the regexes",
        id="unknown-key",
    ),
    pytest.param(
        broken_json(lambda d: d.update(version="https://jsonfeed.org/version/1")),
        "expected 1.1",
        id="version-1",
    ),
    pytest.param(
        broken_json(lambda d: d["items"].append(dict(d["items"][0]))),
        "item id '1' appears 2 times",
        id="dup-id",
    ),
]


@pytest.mark.parametrize(("body", "message"), BROKEN_JSON)
def test_validate_jsonfeed_rejects(body: bytes, message: str) -> None:
    with pytest.raises(AssertionError, match=r"^JSON Feed: ") as caught:
        validate_jsonfeed(body)
    assert message in str(caught.value)


def test_validate_jsonfeed_accepts() -> None:
    validate_jsonfeed(json.dumps(JSON_OK).encode())
