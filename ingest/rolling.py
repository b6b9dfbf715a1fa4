"""Rolling articles: one item re-sent again and again with a new timestamped section on top.
Split into one timeline entry per section. Pure.

A rolling article reads like this (an AP-style "The Latest")::

    <p>The port authority says the terminal will stay shut overnight ...</p>   <- intro
    <p><strong>4:10 p.m.</strong></p>                                           <- time heading
    <p>The authority's director says the leak has been contained ...</p>        <- section
    <p><strong>1:25 p.m.</strong></p>
    <p>Firefighters have ordered ships at the north berths to move ...</p>

Headings are blocks whose whole text is a time: AP style ("9:40 p.m.", "3 p.m.", "noon",
"midnight", optionally after a date: "Nov. 28, 9:40 p.m."), a 24-hour clock ("21:40"), or a
live-blog stamp with a date ("2026-11-28 21:40", "28 November 2026, 21:40"). An article needs
two headings to count as rolling. Times without a date belong to the day the item was last
updated (in the source's time zone), stepping back a day whenever a section lower down shows a
later time than the one above it.

Each section becomes an item of its own, identified by the article's identity and the
section's local date and time, so a new version of the article adds only its new sections, a
changed section is a new version of its entry (marked as a correction), and a section that
vanished from the article is simply not mentioned again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest import fingerprint
from ingest.model import Item
from ingest.normalize import copy_key, hash_content
from ingest.stories import rolling_headline
from ingest.text import collapse, first_sentence, html_to_text, shorten

MIN_HEADINGS = 2
NO_YEAR = 4
"""Placeholder year of a heading that gave month and day only: a leap year, so Feb. 29 works."""
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5, "jun": 6,
    "june": 6, "jul": 7, "july": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11,
    "dec": 12, "january": 1, "february": 2, "august": 8, "september": 9, "october": 10,
    "november": 11, "december": 12,
}  # fmt: skip
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_AP_CLOCK = (
    r"(?:(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>a\.?\s?m\.?|p\.?\s?m\.?)"
    r"|(?P<noon>noon|midnight))"
)
_H24 = r"(?P<h24>\d{1,2})[:.h](?P<m24>\d{2})"
_ZONE = r"(?:\s+[A-Z]{2,5})?"
_PATTERNS = [
    re.compile(rf"^(?:{_MONTH}\s+(?P<day>\d{{1,2}}),?\s+)?{_AP_CLOCK}{_ZONE}$", re.I),
    re.compile(
        rf"^(?:{_MONTH}\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}}),?\s+)?{_AP_CLOCK}{_ZONE}$", re.I
    ),
    re.compile(rf"^(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})[ T]{_H24}{_ZONE}$"),
    re.compile(rf"^(?P<day>\d{{1,2}})\s+{_MONTH}\s+(?P<year>\d{{4}}),?\s+{_H24}{_ZONE}$"),
    re.compile(rf"^{_H24}{_ZONE}$"),
]
_BLOCKS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "div",
        "blockquote",
        "ul",
        "ol",
        "table",
        "figure",
        "pre",
        "section",
        "hr",
    }
)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A parsed time heading: the clock time and, when the heading said so, the date."""

    clock: time
    day: date | None = None


def parse_heading(text: str) -> Stamp | None:
    """The time a heading states, or ``None`` if the text is not a time heading."""
    text = collapse(text).strip(" :–—-")
    if not text or len(text) > 40:
        return None
    for pattern in _PATTERNS:
        found = pattern.match(text)
        if found:
            return _stamp(found.groupdict())
    return None


def _stamp(parts: dict[str, str | None]) -> Stamp | None:
    clock = _clock(parts)
    if clock is None:
        return None
    if parts.get("iso"):
        try:
            return Stamp(clock, date.fromisoformat(parts["iso"] or ""))
        except ValueError:
            return None
    if parts.get("month") and parts.get("day"):
        month = _MONTHS.get((parts["month"] or "").lower().rstrip("."))
        if month is None:
            return None
        year = int(parts.get("year") or NO_YEAR)
        try:
            return Stamp(clock, date(year, month, int(parts.get("day") or 0)))
        except ValueError:
            return None
    return Stamp(clock)


def _clock(parts: dict[str, str | None]) -> time | None:
    if parts.get("noon"):
        return time(12) if (parts["noon"] or "").lower() == "noon" else time(0)
    if parts.get("h24") is not None:
        hour, minute = int(parts["h24"] or 0), int(parts["m24"] or 0)
        return time(hour, minute) if hour < 24 and minute < 60 else None
    if parts.get("hour") is None:
        return None
    hour, minute = int(parts["hour"] or 0), int(parts.get("minute") or 0)
    if not 1 <= hour <= 12 or minute >= 60:
        return None
    pm = (parts.get("ampm") or "").lower().startswith("p")
    return time(hour % 12 + (12 if pm else 0), minute)


class _Blocks(HTMLParser):
    """Cuts sanitized HTML into top-level blocks, keeping each block's markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[str] = []
        self._depth = 0
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS and self._depth == 0:
            self._flush()
        if tag in _BLOCKS and tag != "hr":
            self._depth += 1
        self._buffer.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self._buffer.append(f"</{tag}>")
        if tag in _BLOCKS and self._depth > 0:
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    def handle_data(self, data: str) -> None:
        self._buffer.append(data)  # sanitized input: markup characters arrive as entities

    def handle_entityref(self, name: str) -> None:
        self._buffer.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._buffer.append(f"&#{name};")

    def _flush(self) -> None:
        block = "".join(self._buffer).strip()
        if block:
            self.blocks.append(block)
        self._buffer = []

    def close(self) -> None:
        super().close()
        self._flush()


_TAG = re.compile(r"<[^>]*>")
_OPAQUE = ("<!--", "<script", "<style")
"""Markup whose text a tag-stripping regex gets wrong: such a block takes the full path."""


def _may_head(block: str) -> bool:
    """False when ``block`` cannot be a time heading, found without parsing its HTML.

    A heading's text is at most 40 characters (stripped as :func:`parse_heading` strips it).
    Stripping tags with a regex keeps every
    character of the block's real text, and the real text has at most one more space per tag
    (at block ends), so a stripped text longer than 40 plus the count of tags is no heading.
    Most blocks of most items are paragraphs, and this keeps the HTML parser off them.
    """
    lowered = block.lower()
    if any(mark in lowered for mark in _OPAQUE):
        return True
    rough = collapse(html.unescape(_TAG.sub("", block))).strip(" :–—-")
    return len(rough) - block.count("<") <= 40


def blocks_of(fragment: str) -> list[str]:
    parser = _Blocks()
    parser.feed(fragment)
    parser.close()
    return parser.blocks


@dataclass(frozen=True, slots=True)
class Article:
    """A split rolling article: its intro (HTML, may be empty) and its sections, newest first
    as the article lists them."""

    intro_html: str
    sections: tuple[tuple[datetime, str], ...]


def split(fragment: str, reference: datetime, tz: str) -> Article | None:
    """Split ``fragment`` at its time headings; ``None`` if it is not a rolling article.
    ``reference`` is when the item was last updated (dates for times without one)."""
    blocks = blocks_of(fragment)
    marks = [
        (n, parse_heading(html_to_text(b)) if _may_head(b) else None) for n, b in enumerate(blocks)
    ]
    heads = [(n, stamp) for n, stamp in marks if stamp is not None]
    if len(heads) < MIN_HEADINGS:
        return None
    zone = _zone(tz)
    local = reference.astimezone(zone)
    sections: list[tuple[datetime, str]] = []
    day, previous = local.date(), None
    for index, (n, stamp) in enumerate(heads):
        end = heads[index + 1][0] if index + 1 < len(heads) else len(blocks)
        body = "".join(blocks[n + 1 : end])
        day = _day(stamp, day, previous, local)
        previous = stamp.clock
        when = datetime.combine(day, stamp.clock, tzinfo=zone)
        if body.strip():
            sections.append((when, body))
    if len(sections) < MIN_HEADINGS:
        return None
    return Article("".join(blocks[: heads[0][0]]), tuple(sections))


def _day(stamp: Stamp, day: date, previous: time | None, local: datetime) -> date:
    if stamp.day is not None and stamp.day.year != NO_YEAR:
        return stamp.day
    if stamp.day is not None:  # month and day without a year: the nearest such date back
        candidate = date(local.year, stamp.day.month, stamp.day.day)
        return (
            candidate
            if candidate <= local.date()
            else date(local.year - 1, stamp.day.month, stamp.day.day)
        )
    if previous is not None and stamp.clock > previous:
        return day - timedelta(days=1)  # going down the article, time went up: a day earlier
    if previous is None and stamp.clock > local.time():
        return day - timedelta(days=1)  # the newest section is later than the update: yesterday
    return day


def sections(item: Item, tz: str, now: datetime | None = None) -> tuple[str, list[Item]] | None:
    """The section items of a rolling article and its intro; ``None`` if ``item`` is not one.

    A section item's identity is the article's identity plus the section's local time, its
    text is the section, its time the heading's; it shares the article's page (so the
    sections stay one story) and is flagged ``rolling`` so that a changed section is
    published as a correction.
    """
    body = item.content_html or item.summary_html
    # Times without a date belong to the day of the poll: an RSS pubDate often stays at the
    # article's first publication while sections keep arriving on top.
    article = split(body, max(item.updated, now) if now else item.updated, tz)
    if article is None:
        return None
    parts = []
    stamps = [when.strftime("%Y-%m-%dT%H:%M") for when, _ in article.sections]
    for n, (when, fragment) in enumerate(article.sections):
        text = html_to_text(fragment)
        title = shorten(first_sentence(text), 120) if text else item.title
        # Two sections under one time: tell them apart by their place counted from the
        # bottom, which new sections (added on top) never shift.
        twin = stamps[n + 1 :].count(stamps[n])
        identity = f"{item.identity}#{stamps[n]}" + (f"~{twin}" if twin else "")
        parts.append(
            replace(
                item,
                identity=identity,
                url=None,
                title=title,
                summary_html="",
                content_html=fragment,
                published=when.astimezone(item.published.tzinfo),
                updated=when.astimezone(item.updated.tzinfo),
                content_hash=hash_content(title, "", fragment, None),
                copy_key=copy_key(title, text),
                terms=tuple(sorted(fingerprint.words(fingerprint.lead(title, text)))),
                rolling=True,
            )
        )
    return article.intro_html, parts


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def expand(items: Sequence[Item], tz: str, now: datetime | None = None) -> list[Item]:
    """``items`` with every rolling article replaced by its sections, each carrying the
    article's headline (its rolling prefix dropped) and intro for the story to show."""
    out: list[Item] = []
    for item in items:
        found = None if item.killed else sections(item, tz, now)
        if found is None:
            out.append(item)
            continue
        intro, parts = found
        headline = rolling_headline(item.title) or item.title
        out.extend(replace(p, article_title=headline, article_intro=intro) for p in parts)
    return out
