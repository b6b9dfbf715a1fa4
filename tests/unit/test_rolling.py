"""Rolling articles (ingest.rolling): time headings, splitting into sections, and golden files of
invented articles re-sent in several versions.

Each ``tests/fixtures/rolling/NAME.yaml`` is one invented article (headline, time zone, and the
HTML of each version as the wire re-sent it); ``NAME.expected.json`` is what the splitter made
of every version, with each section marked ``added``, ``same`` or ``changed`` against the
version before and the sections that ``vanished``. After an intended change, regenerate with
``WIREFEED_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_rolling.py`` and review the diff.
The table ``CHANGES`` below pins the same facts by hand, so a regenerated golden cannot quietly
change what a new version adds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.model import Item, RawEntry
from ingest.normalize import normalize
from ingest.rolling import Stamp, _may_head, blocks_of, expand, parse_heading, sections, split
from ingest.text import html_to_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rolling"
ARTICLES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
SOURCE = "harbor"


# -- time headings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("9:40 p.m.", Stamp(time(21, 40)), id="ap-minutes-pm"),
        pytest.param("3 p.m.", Stamp(time(15)), id="ap-hour-only"),
        pytest.param("11:05 a.m.", Stamp(time(11, 5)), id="ap-am"),
        pytest.param("12:05 a.m.", Stamp(time(0, 5)), id="ap-just-after-midnight"),
        pytest.param("12:30 p.m.", Stamp(time(12, 30)), id="ap-just-after-noon"),
        pytest.param("noon", Stamp(time(12)), id="noon"),
        pytest.param("Noon", Stamp(time(12)), id="noon-capitalized"),
        pytest.param("midnight", Stamp(time(0)), id="midnight"),
        pytest.param("9:40 pm", Stamp(time(21, 40)), id="ap-without-periods"),
        pytest.param("9:40 P.M.", Stamp(time(21, 40)), id="ap-upper-case"),
        pytest.param("10:20 p.m. CST", Stamp(time(22, 20)), id="ap-with-zone"),
        pytest.param("6:40 p.m. —", Stamp(time(18, 40)), id="ap-with-trailing-dash"),
        pytest.param("  4:10 p.m.: ", Stamp(time(16, 10)), id="ap-with-colon-and-spaces"),
        pytest.param("Nov. 28, 9:40 p.m.", Stamp(time(21, 40), date(4, 11, 28)), id="ap-dated"),
        pytest.param(
            "Dec. 1, 2026, 1:05 a.m.", Stamp(time(1, 5), date(2026, 12, 1)), id="ap-dated-year"
        ),
        pytest.param("Sept. 3, noon", Stamp(time(12), date(4, 9, 3)), id="ap-dated-noon"),
        pytest.param("21:40", Stamp(time(21, 40)), id="24-hour"),
        pytest.param("00:10", Stamp(time(0, 10)), id="24-hour-after-midnight"),
        pytest.param("9h40", Stamp(time(9, 40)), id="24-hour-french"),
        pytest.param(
            "2026-11-28 21:40", Stamp(time(21, 40), date(2026, 11, 28)), id="live-blog-iso"
        ),
        pytest.param(
            "2026-11-28T21:40", Stamp(time(21, 40), date(2026, 11, 28)), id="live-blog-iso-t"
        ),
        pytest.param(
            "28 November 2026, 21:40",
            Stamp(time(21, 40), date(2026, 11, 28)),
            id="live-blog-day-month-year",
        ),
        pytest.param(
            "29 Nov 2026 09:15", Stamp(time(9, 15), date(2026, 11, 29)), id="live-blog-short"
        ),
    ],
)
def test_time_headings_are_parsed(text: str, expected: Stamp) -> None:
    assert parse_heading(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("The Latest", id="words"),
        pytest.param("3 p.m. Police say the road is open.", id="time-opening-a-sentence"),
        pytest.param("At 3 p.m.", id="time-inside-a-phrase"),
        pytest.param("13 p.m.", id="ap-hour-out-of-range"),
        pytest.param("0 a.m.", id="ap-hour-zero"),
        pytest.param("9:75 p.m.", id="ap-minute-out-of-range"),
        pytest.param("24:00", id="24-hour-out-of-range"),
        pytest.param("13:60", id="minute-out-of-range"),
        pytest.param("2026-02-30 10:00", id="impossible-date"),
        pytest.param("Smarch 3, 9 a.m.", id="unknown-month"),
        pytest.param("Nov. 31, 9 a.m.", id="impossible-day"),
        pytest.param("3.5", id="a-number"),
        pytest.param("9:40 p.m. " + "x" * 40, id="too-long"),
    ],
)
def test_other_blocks_are_not_headings(text: str) -> None:
    assert parse_heading(text) is None


def test_a_leap_day_heading_is_a_heading() -> None:
    fragment = "<p>Feb. 29, 9:40 p.m.</p><p>A.</p><p>Feb. 29, 8 p.m.</p><p>B.</p>"
    article = split(fragment, datetime(2028, 3, 1, 12, tzinfo=UTC), "America/New_York")
    assert article is not None
    assert [when.date() for when, _body in article.sections] == [date(2028, 2, 29)] * 2


def test_blocks_keep_their_markup_and_split_at_top_level_only() -> None:
    fragment = (
        "<p>Intro &amp; more</p><div><p><strong>3 p.m.</strong></p><p>Inside</p></div>"
        "loose text<h3>2 p.m.</h3><hr><ul><li>one</li></ul>"
    )
    assert blocks_of(fragment) == [
        "<p>Intro &amp; more</p>",
        "<div><p><strong>3 p.m.</strong></p><p>Inside</p></div>",
        "loose text",
        "<h3>2 p.m.</h3>",
        "<hr>",
        "<ul><li>one</li></ul>",
    ]


# -- splitting ------------------------------------------------------------------------------------

NY = "America/New_York"
REFERENCE = datetime(2026, 11, 29, 21, 20, tzinfo=UTC)  # 4:20 p.m. in New York


def local(day: int, hour: int, minute: int = 0, tz: str = NY) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(tz))


@pytest.mark.parametrize(
    ("fragment", "reference", "expected"),
    [
        pytest.param(
            "<p>Intro.</p><p>4:10 p.m.</p><p>Four.</p><p>noon</p><p>Twelve.</p>",
            REFERENCE,
            [local(29, 16, 10), local(29, 12)],
            id="same-day",
        ),
        pytest.param(
            "<p>12:35 a.m.</p><p>A.</p><p>midnight</p><p>B.</p><p>11:45 p.m.</p><p>C.</p>",
            datetime(2026, 11, 29, 5, 40, tzinfo=UTC),  # 12:40 a.m. in New York
            [local(29, 0, 35), local(29, 0), local(28, 23, 45)],
            id="over-midnight-steps-back-a-day",
        ),
        pytest.param(
            "<p>11:45 p.m.</p><p>A.</p><p>10 p.m.</p><p>B.</p>",
            datetime(2026, 11, 29, 5, 10, tzinfo=UTC),  # 12:10 a.m.: the top is yesterday's
            [local(28, 23, 45), local(28, 22)],
            id="top-section-later-than-the-update",
        ),
        pytest.param(
            "<p>Nov. 29, 1:15 a.m.</p><p>A.</p><p>Nov. 28, 9:40 p.m.</p><p>B.</p>",
            REFERENCE,
            [local(29, 1, 15), local(28, 21, 40)],
            id="dated-without-year",
        ),
        pytest.param(
            "<p>Dec. 31, 11 p.m.</p><p>A.</p><p>Dec. 30, 9 p.m.</p><p>B.</p>",
            REFERENCE,
            [
                datetime(2025, 12, 31, 23, tzinfo=ZoneInfo(NY)),
                datetime(2025, 12, 30, 21, tzinfo=ZoneInfo(NY)),
            ],
            id="dated-without-year-is-the-nearest-date-back",
        ),
        pytest.param(
            "<p>2026-11-28 17:40</p><p>A.</p><p>2026-11-27 09:00</p><p>B.</p>",
            REFERENCE,
            [local(28, 17, 40), local(27, 9)],
            id="live-blog-dates",
        ),
        pytest.param(
            "<p>Nov. 28, 9 p.m.</p><p>A.</p><p>8 p.m.</p><p>B.</p>",
            REFERENCE,
            [local(28, 21), local(28, 20)],
            id="undated-heading-takes-the-date-above",
        ),
        pytest.param(
            "<p>3 p.m.</p><p>A.</p><p>2 p.m.</p><p>1 p.m.</p><p>C.</p>",
            REFERENCE,
            [local(29, 15), local(29, 13)],
            id="heading-without-text-is-dropped",
        ),
    ],
)
def test_sections_get_their_local_time(
    fragment: str, reference: datetime, expected: list[datetime]
) -> None:
    article = split(fragment, reference, NY)
    assert article is not None
    assert [when for when, _body in article.sections] == expected


@pytest.mark.parametrize(
    "fragment",
    [
        pytest.param("<p>Just a story.</p><p>With two paragraphs.</p>", id="no-headings"),
        pytest.param("<p>Noon</p><p>That is when it sold out.</p>", id="one-heading"),
        pytest.param(
            "<p>3 p.m.</p><p>Text.</p><p>2 p.m.</p><p>1 p.m.</p>", id="one-section-with-text"
        ),
        pytest.param("", id="empty"),
    ],
)
def test_fewer_than_two_sections_is_not_a_rolling_article(fragment: str) -> None:
    assert split(fragment, REFERENCE, NY) is None


def test_the_intro_is_everything_above_the_first_heading() -> None:
    article = split(
        "<p>One.</p><p>Two.</p><p>3 p.m.</p><p>A.</p><p>2 p.m.</p><p>B.</p>", REFERENCE, NY
    )
    assert article is not None
    assert article.intro_html == "<p>One.</p><p>Two.</p>"
    assert [body for _when, body in article.sections] == ["<p>A.</p>", "<p>B.</p>"]


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    article = split("<p>3 p.m.</p><p>A.</p><p>2 p.m.</p><p>B.</p>", REFERENCE, "Mars/Olympus")
    assert article is not None
    assert article.sections[0][0] == datetime(2026, 11, 29, 15, tzinfo=ZoneInfo("UTC"))


# -- section items ------------------------------------------------------------------------------


def article_item(
    title: str, html: str, updated: datetime, *, status: str = "usable", stem: str = "spill"
) -> Item:
    raw = RawEntry(
        native_id=f"urn:invented:{stem}",
        title=title,
        link=f"https://harbor.example/live/{stem}",
        content=html,
        published=updated - timedelta(hours=6),
        updated=updated,
        status=status,
    )
    return normalize(raw, SOURCE, now=updated)


SPILL = (
    "<p>The terminal is closed.</p><p><strong>4:10 p.m.</strong></p><p>The leak is contained."
    " Nobody was hurt.</p><p><strong>noon</strong></p><p>A tank began leaking.</p>"
)


def test_section_items_carry_the_article_identity_and_the_heading_time() -> None:
    item = article_item("The Latest: Harbor closes terminal", SPILL, REFERENCE)
    found = sections(item, NY)
    assert found is not None
    intro, parts = found
    assert intro == "<p>The terminal is closed.</p>"
    assert [p.identity for p in parts] == [
        "urn:invented:spill#2026-11-29T16:10",
        "urn:invented:spill#2026-11-29T12:00",
    ]
    assert [p.title for p in parts] == ["The leak is contained", "A tank began leaking"]
    assert [p.published for p in parts] == [local(29, 16, 10), local(29, 12)]
    assert all(p.published.tzinfo == UTC and p.updated == p.published for p in parts)
    assert all(p.rolling and p.url is None and p.summary_html == "" for p in parts)
    assert {p.page_url for p in parts} == {"https://harbor.example/live/spill"}
    assert len({p.content_hash for p in parts}) == 2
    assert "contain" in parts[0].terms and "tank" in parts[1].terms


def test_expand_gives_sections_the_headline_without_prefix_and_the_intro() -> None:
    plain = article_item("Harbor closes terminal", "<p>No headings here.</p>", REFERENCE)
    rolling = article_item("Live updates: Harbor closes terminal", SPILL, REFERENCE)
    out = expand([plain, rolling], NY)
    assert out[0] == plain
    assert [(p.article_title, p.article_intro) for p in out[1:]] == [
        ("Harbor closes terminal", "<p>The terminal is closed.</p>")
    ] * 2


def test_expand_keeps_a_lookalike_headline_whole() -> None:
    item = article_item("The Latest Trend in Sneakers", SPILL, REFERENCE)
    assert {p.article_title for p in expand([item], NY)} == {"The Latest Trend in Sneakers"}


def test_a_killed_article_is_not_split() -> None:
    item = article_item("The Latest: Harbor closes terminal", SPILL, REFERENCE, status="canceled")
    assert expand([item], NY) == [item]


def test_a_section_changes_only_when_its_own_text_changes() -> None:
    before = sections(article_item("The Latest: Spill", SPILL, REFERENCE), NY)
    edited = SPILL.replace("The terminal is closed.", "The terminal stays closed.").replace(
        "A tank began leaking.", "A storage tank began leaking."
    )
    after = sections(article_item("The Latest: Spill", edited, REFERENCE + timedelta(hours=1)), NY)
    assert before is not None and after is not None
    hashes = [[(p.identity, p.content_hash) for p in found[1]] for found in (before, after)]
    assert hashes[0][0] == hashes[1][0]  # the 4:10 p.m. section: intro edits do not touch it
    assert hashes[0][1][0] == hashes[1][1][0] and hashes[0][1][1] != hashes[1][1][1]


def test_section_titles_survive_abbreviations() -> None:
    html = (
        "<p>3 p.m.</p><p>Gov. Maria Alvarez says the port will reopen.</p>"
        "<p>2 p.m.</p><p>The U.S. Coast Guard says crews are on scene.</p>"
    )
    parts = expand([article_item("The Latest: Port", html, REFERENCE)], NY)
    assert [p.title for p in parts] == [
        "Gov. Maria Alvarez says the port will reopen",
        "The U.S. Coast Guard says crews are on scene",
    ]


def test_a_section_of_two_paragraphs_is_titled_by_its_first_sentence() -> None:
    html = (
        "<p>3 p.m.</p><p>Pilots moved 12 ships.</p><p>They may return tonight.</p>"
        "<p>2 p.m.</p><p>A tank began leaking.</p>"
    )
    parts = expand([article_item("The Latest: Port", html, REFERENCE)], NY)
    assert [p.title for p in parts] == ["Pilots moved 12 ships", "A tank began leaking"]


def test_two_sections_under_one_time_are_two_entries() -> None:
    html = (
        "<p>3 p.m.</p><p>The mayor says schools will close.</p>"
        "<p>3 p.m.</p><p>Police close the Route 9 bridge.</p><p>2 p.m.</p><p>Rain starts.</p>"
    )
    parts = expand([article_item("The Latest: Storm", html, REFERENCE)], NY)
    assert len({p.identity for p in parts}) == 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=23 * 60 + 59), min_size=3, max_size=8, unique=True),
    st.integers(min_value=2, max_value=8),
)
def test_an_older_version_names_its_sections_like_the_newest(minutes: list[int], keep: int) -> None:
    """Whatever version of the article we see, a section gets the same identity: a new version
    adds only its new sections (times within one day, headings AP style, newest first)."""
    minutes = sorted(minutes, reverse=True)

    def version(shown: list[int]) -> dict[str, str]:
        updated = local(29, 0) + timedelta(minutes=shown[0] + 3)
        html = "".join(f"<p>{ap(m)}</p><p>Update at minute {m}.</p>" for m in shown)
        item = article_item("The Latest: Spill", html, updated.astimezone(UTC))
        return {p.identity: p.content_hash for p in expand([item], NY)}

    newest, older = version(minutes), version(minutes[-min(keep, len(minutes)) :])
    assert older.items() <= newest.items()
    assert sorted(newest) == sorted(
        f"urn:invented:spill#2026-11-29T{m // 60:02d}:{m % 60:02d}" for m in minutes
    )


def ap(minute_of_day: int) -> str:
    """An AP-style heading for a minute of the day ("9:40 p.m.", "3 p.m.", "noon")."""
    hour, minute = divmod(minute_of_day, 60)
    if (hour, minute) == (12, 0):
        return "noon"
    if (hour, minute) == (0, 0):
        return "midnight"
    clock = f"{hour % 12 or 12}" + (f":{minute:02d}" if minute else "")
    return f"{clock} {'a.m.' if hour < 12 else 'p.m.'}"


# -- golden files: invented articles, several versions each ---------------------------------------


@dataclass(frozen=True)
class Version:
    """What the splitter made of one version: section identity (after '#') -> item."""

    rolling: bool
    items: list[Item]

    def sections(self) -> dict[str, Item]:
        return {i.identity.split("#", 1)[1]: i for i in self.items} if self.rolling else {}


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    return doc


def versions(name: str) -> list[Version]:
    doc = load(name)
    first = datetime.fromisoformat(doc["versions"][0]["updated"])
    out = []
    for v in doc["versions"]:
        updated = datetime.fromisoformat(v["updated"])
        raw = RawEntry(
            native_id=f"urn:invented:{name}",
            title=doc["title"],
            link=f"https://wire.example/live/{name}",
            content=v["html"],
            published=first,
            updated=updated,
        )
        item = normalize(raw, SOURCE, now=updated)
        found = expand([item], doc["timezone"])
        out.append(Version(found[0].rolling, found))
    return out


def changes(before: Version | None, after: Version) -> dict[str, list[str]]:
    """Section identities the newer version added, changed, kept the same, and dropped."""
    old, new = before.sections() if before else {}, after.sections()
    return {
        "added": [k for k in new if k not in old],
        "changed": [k for k in new if k in old and new[k].content_hash != old[k].content_hash],
        "same": [k for k in new if k in old and new[k].content_hash == old[k].content_hash],
        "vanished": [k for k in old if k not in new],
    }


def rendered(name: str) -> bytes:
    doc = load(name)
    zone = ZoneInfo(doc["timezone"])
    out = []
    previous: Version | None = None
    for n, (raw, found) in enumerate(zip(doc["versions"], versions(name), strict=True), 1):
        entry: dict[str, Any] = {"version": n, "updated": raw["updated"], "rolling": found.rolling}
        if not found.rolling:
            entry["title"] = found.items[0].title
        else:
            delta = changes(previous, found)
            status = {k: kind for kind in ("added", "changed", "same") for k in delta[kind]}
            entry["headline"] = found.items[0].article_title
            entry["intro"] = found.items[0].article_intro
            entry["sections"] = [
                {
                    "id": key,
                    "local": item.published.astimezone(zone).isoformat(),
                    "utc": item.published.isoformat(),
                    "title": item.title,
                    "html": item.content_html,
                    "change": status[key],
                }
                for key, item in found.sections().items()
            ]
            entry["vanished"] = delta["vanished"]
        out.append(entry)
        previous = found
    return (json.dumps(out, indent=2, ensure_ascii=False) + "\n").encode()


def assert_golden(name: str, actual: bytes) -> None:
    path = FIXTURES / name
    if os.environ.get("WIREFEED_UPDATE_GOLDEN") == "1":
        path.write_bytes(actual)
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; create it with WIREFEED_UPDATE_GOLDEN=1")
    expected = json.loads(path.read_bytes())
    assert json.loads(actual) == expected, (
        f"{name} differs from {path}; if intended, rerun with WIREFEED_UPDATE_GOLDEN=1 "
        "and review the diff"
    )


def test_every_fixture_is_tested() -> None:
    assert set(ARTICLES) == {name for name, _v in CHANGES}


@pytest.mark.parametrize("name", ARTICLES)
def test_golden(name: str) -> None:
    assert_golden(f"{name}.expected.json", rendered(name))


# (article, version) -> sections added, sections changed, sections that vanished. Newest first.
CHANGES = {
    ("harbor-spill", 1): (["2026-11-29T12:30", "2026-11-29T12:00"], [], []),
    ("harbor-spill", 2): (["2026-11-29T15:00"], [], []),
    ("harbor-spill", 3): (["2026-11-29T16:10"], ["2026-11-29T12:30"], []),
    ("harbor-spill", 4): (["2026-11-29T18:40"], [], ["2026-11-29T12:00"]),
    ("night-storm", 1): (["2026-11-28T23:45", "2026-11-28T22:20"], [], []),
    ("night-storm", 2): (["2026-11-29T00:35", "2026-11-29T00:00"], [], []),
    ("night-storm", 3): (["2026-11-29T02:05"], [], []),
    ("tram-strike-live", 1): (
        ["2026-11-29T21:40", "2026-11-29T20:15", "2026-11-29T18:05"],
        [],
        [],
    ),
    ("tram-strike-live", 2): (["2026-11-29T23:05", "2026-11-29T22:30"], [], []),
    ("tram-strike-live", 3): (["2026-11-30T00:10"], [], []),
    ("summit-liveblog", 1): (
        ["2026-11-29T09:15", "2026-11-28T17:40", "2026-11-28T16:05"],
        [],
        [],
    ),
    ("summit-liveblog", 2): (["2026-11-29T10:55"], ["2026-11-28T16:05"], []),
    ("ferry-ap-dated", 1): (["2026-11-29T01:15", "2026-11-28T21:40"], [], []),
    ("ferry-ap-dated", 2): (["2026-11-29T07:30"], [], []),
    ("sneakers-lookalike", 1): ([], [], []),
}


@pytest.mark.parametrize(
    ("name", "number"), [pytest.param(n, v, id=f"{n}-v{v}") for n, v in CHANGES]
)
def test_each_version_adds_only_its_new_sections(name: str, number: int) -> None:
    found = versions(name)
    delta = changes(found[number - 2] if number > 1 else None, found[number - 1])
    added, changed, vanished = CHANGES[(name, number)]
    assert (delta["added"], delta["changed"], delta["vanished"]) == (added, changed, vanished)


def test_the_lookalike_is_one_plain_item() -> None:
    (only,) = versions("sneakers-lookalike")
    assert not only.rolling
    (item,) = only.items
    assert (item.identity, item.article_title) == ("urn:invented:sneakers-lookalike", None)


@pytest.mark.parametrize(
    ("name", "headline"),
    [
        ("harbor-spill", "Westhaven harbor closes main terminal after chemical spill"),
        ("tram-strike-live", "Tram drivers in Oberwald strike over night shifts"),
        ("summit-liveblog", "Northern ports summit in Ardrossan"),
    ],
)
def test_the_story_headline_drops_the_rolling_prefix(name: str, headline: str) -> None:
    assert {i.article_title for v in versions(name) for i in v.items} == {headline}


# -- the cheap pre-check that keeps the HTML parser off paragraphs -------------------------------

HEADINGS = ("9:40 p.m.", "3 p.m.", "noon", "Nov. 28, 9:40 p.m.", "21:40", "2026-11-28 21:40")
WRAPS = (
    "<p>{}</p>",
    "<h3><b>{}</b></h3>",
    "<li>{}<br></li>",
    "<p>— — {} — —</p>",
    "<div>{}:</div>",
)


def _entities(text: str, every: int) -> str:
    """``text`` with every ``every``-th character written as a numeric reference."""
    return "".join(f"&#{ord(c):07d};" if n % every == 0 else c for n, c in enumerate(text))


@given(
    st.sampled_from(HEADINGS),
    st.sampled_from(WRAPS),
    st.integers(1, 5),
    st.text(alphabet=" \n\t:–-", max_size=30),
)
@settings(max_examples=300, deadline=None)
def test_the_pre_check_never_rules_out_a_heading(heading, wrap, every, padding):
    block = wrap.format(padding + _entities(heading, every) + padding)
    if parse_heading(html_to_text(block)) is not None:
        assert _may_head(block), block


@given(st.text(max_size=120), st.sampled_from(WRAPS))
@settings(max_examples=300, deadline=None)
def test_the_pre_check_agrees_with_the_full_path_on_any_text(text, wrap):
    block = wrap.format(text)
    if parse_heading(html_to_text(block)) is not None:
        assert _may_head(block), block


def test_the_pre_check_rules_out_paragraphs_and_keeps_opaque_markup():
    paragraph = "<p>Crews worked through the night to clear the <b>harbor road</b> of debris.</p>"
    assert not _may_head(paragraph)
    assert _may_head("<p><!-- long comment that a regex would read as text > x -->9:40 p.m.</p>")
    assert _may_head(
        "<p><script>var a = 'a long script that is no text at all';</script>3 p.m.</p>"
    )
