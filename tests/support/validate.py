"""Validators for the feeds we publish, for any test to import.

``validate_atom(xml_bytes)`` checks an Atom feed document against the RFC 4287 RELAX NG schema
(Appendix B) and then the rules of RFC 4287 that the schema cannot express:

* every date construct is an RFC 3339 ``date-time`` with ``Z`` or an offset (section 3.3);
* the feed has an ``atom:author``, or every entry has one (4.1.1, 4.1.2);
* every entry has ``atom:content`` or a ``rel="alternate"`` link (4.1.2);
* no feed or entry has two alternate links with the same ``type`` and ``hreflang`` (4.1.1, 4.1.2);
* ``atom:id`` values are unique in the document;
* the feed has exactly one ``rel="self"`` link (RFC 4287 4.2.7.2 recommends it; we require it).

``validate_jsonfeed(json_bytes)`` checks a JSON Feed against the 1.1 JSON Schema (draft-07) with a
format checker, plus unique item ids and RFC 3339 item dates (https://www.jsonfeed.org/version/1.1/).

``validate_rss(xml_bytes)`` checks an RSS 2.0 document (https://www.rssboard.org/rss-specification):

* well-formed XML whose root is ``<rss version="2.0">`` holding exactly one ``<channel>``;
* the channel's required ``title``, ``link`` and ``description``, with ``link`` an absolute URL;
* every item has a ``title`` or a ``description`` (the specification's one item rule);
* ``guid`` values are unique, and a permalink guid (the default) is an absolute URL;
* every date (``pubDate``, ``lastBuildDate``) is an RFC 822 date-time (section 5, with the
  four-digit years RSS allows), a real calendar date whose weekday, if given, is right;
* ``ttl`` is a whole number of minutes; every ``atom:link`` has an absolute ``href``;
* the channel has exactly one ``atom:link rel="self"`` (RSS Best Practices Profile).

All three raise :class:`AssertionError` with a message naming the rule and where it broke. The
schemas come from ``../shared/corpora``; a test that calls the first two skips when that folder is
absent (the RSS checks need nothing from it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from lxml import etree

from tests.support.paths import corpus

ATOM_NS = "http://www.w3.org/2005/Atom"
_A = f"{{{ATOM_NS}}}"
_DATE_ELEMENTS = ("updated", "published")

# RFC 3339 section 5.6 date-time: a full date, "T", a full time, and "Z" or a numeric offset.
_RFC3339 = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]"
    r"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
    r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
)


def is_rfc3339(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 date-time with a time zone, and a real calendar date."""
    if not _RFC3339.fullmatch(text):
        return False
    try:  # the pattern allows Feb. 31 and a leap second; the calendar decides the first
        datetime.fromisoformat(text[:17] + "00" + text[19:].replace("z", "Z"))
    except ValueError:
        return False
    return True


# -- Atom --------------------------------------------------------------------------------------


@cache
def _atom_schema() -> etree.RelaxNG:
    path = corpus("atom-relaxng", "atom-rfc4287.rng")
    return etree.RelaxNG(etree.parse(str(path)))


def _parse_xml(xml_bytes: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(xml_bytes, parser)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"Atom: not well-formed XML: {exc}") from None


def validate_atom(xml_bytes: bytes) -> None:
    """Raise AssertionError unless ``xml_bytes`` is a valid Atom feed document (RFC 4287)."""
    root = _parse_xml(xml_bytes)
    if root.tag != _A + "feed":
        raise AssertionError(f"Atom: the root element is {root.tag}, expected {_A}feed")
    schema = _atom_schema()
    if not schema.validate(root):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"Atom: RELAX NG (RFC 4287 appendix B): {errors}")
    problems = [
        *_date_problems(root),
        *_author_problems(root),
        *_entry_link_problems(root),
        *_id_problems(root),
        *_self_link_problems(root),
    ]
    if problems:
        raise AssertionError("Atom: " + "; ".join(problems))


def _where(element: etree._Element) -> str:
    """A short label for messages: the element and, for an entry, its id."""
    node: etree._Element | None = element
    while node is not None and node.tag != _A + "entry":
        node = node.getparent()
    name = etree.QName(element).localname
    if node is None:
        return f"feed/{name}" if element.tag != _A + "feed" else "feed"
    entry_id = node.findtext(_A + "id") or "?"
    return f"entry {entry_id}" + ("" if element is node else f"/{name}")


def _date_problems(root: etree._Element) -> list[str]:
    problems = []
    for name in _DATE_ELEMENTS:
        for element in root.iter(_A + name):
            text = (element.text or "").strip()
            if not is_rfc3339(text):
                problems.append(
                    f"{_where(element)}: {text!r} is not an RFC 3339 date-time with an offset or Z "
                    "(RFC 4287 3.3)"
                )
    return problems


def _author_problems(root: etree._Element) -> list[str]:
    if root.find(_A + "author") is not None:
        return []
    return [
        f"{_where(entry)}: no atom:author on the entry, its atom:source or the feed"
        " (RFC 4287 4.1.2)"
        for entry in root.iterfind(_A + "entry")
        if entry.find(_A + "author") is None and entry.find(f"{_A}source/{_A}author") is None
    ]


def _rel(link: etree._Element) -> str:
    return link.get("rel") or "alternate"  # RFC 4287 4.2.7.2: no rel means "alternate"


def _alternate_problems(parent: etree._Element) -> list[str]:
    pairs = Counter(
        (link.get("type"), link.get("hreflang"))
        for link in parent.iterfind(_A + "link")
        if _rel(link) == "alternate"
    )
    return [
        f"{_where(parent)}: {count} alternate links with type={kind!r} hreflang={lang!r} "
        "(RFC 4287 4.1.1/4.1.2 allow one)"
        for (kind, lang), count in pairs.items()
        if count > 1
    ]


def _entry_link_problems(root: etree._Element) -> list[str]:
    problems = _alternate_problems(root)
    for entry in root.iterfind(_A + "entry"):
        problems += _alternate_problems(entry)
        has_alternate = any(_rel(link) == "alternate" for link in entry.iterfind(_A + "link"))
        if entry.find(_A + "content") is None and not has_alternate:
            problems.append(
                f"{_where(entry)}: neither atom:content nor an alternate link (RFC 4287 4.1.2)"
            )
    return problems


def _id_problems(root: etree._Element) -> list[str]:
    ids = Counter((e.text or "").strip() for e in root.iter(_A + "id"))
    return [f"atom:id {i!r} appears {n} times" for i, n in ids.items() if n > 1]


def _self_link_problems(root: etree._Element) -> list[str]:
    links = [link for link in root.iterfind(_A + "link") if _rel(link) == "self"]
    if len(links) != 1:
        return [f"feed: {len(links)} rel=self links, expected exactly one"]
    return []


# -- JSON Feed ---------------------------------------------------------------------------------

_FORMATS = FormatChecker()


@_FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or is_rfc3339(value)


@_FORMATS.checks("uri")
def _uri(value: object) -> bool:
    """RFC 3986 absolute URI, roughly: a scheme, and no spaces or control characters.

    jsonschema checks "uri" and "date-time" only when optional packages are installed; these
    two checkers make the format checks real without them.
    """
    if not isinstance(value, str):
        return True
    if any(c.isspace() or ord(c) < 0x20 for c in value):
        return False
    parts = urlsplit(value)
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme)) and bool(
        parts.netloc or parts.path
    )


@cache
def _jsonfeed_validator() -> Draft7Validator:
    path = corpus("jsonfeed", "sonicdoe-jsonfeed-schema", "schema-v1.1.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=_FORMATS)


def validate_jsonfeed(json_bytes: bytes) -> None:
    """Raise AssertionError unless ``json_bytes`` is a valid JSON Feed 1.1 document."""
    try:
        data: Any = json.loads(json_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AssertionError(f"JSON Feed: not JSON: {exc}") from None
    errors = sorted(_jsonfeed_validator().iter_errors(data), key=lambda e: list(e.path))
    if errors:
        raise AssertionError(
            "JSON Feed: schema 1.1: "
            + "; ".join(f"{_path(e.absolute_path)}: {e.message}" for e in errors)
        )
    if data.get("version") != "https://jsonfeed.org/version/1.1":
        raise AssertionError(f"JSON Feed: version is {data.get('version')!r}, expected 1.1")
    problems = _item_problems(data["items"])
    if problems:
        raise AssertionError("JSON Feed: " + "; ".join(problems))


def _path(parts: Any) -> str:
    return "/".join(str(p) for p in parts) or "(root)"


def _item_problems(items: list[dict[str, Any]]) -> list[str]:
    ids = Counter(item["id"] for item in items)
    problems = [f"item id {i!r} appears {n} times" for i, n in ids.items() if n > 1]
    for index, item in enumerate(items):
        for name in ("date_published", "date_modified"):
            value = item.get(name)
            if value is not None and not is_rfc3339(value):
                problems.append(f"items/{index}/{name}: {value!r} is not an RFC 3339 date-time")
    return problems


# -- RSS 2.0 ------------------------------------------------------------------------------------

_RSS_DATES = ("pubDate", "lastBuildDate")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# RFC 822 section 5 date-time; RSS 2.0 allows (and recommends) four-digit years.
_RFC822 = re.compile(
    r"(?:(?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?"
    r"(?P<day>\d{1,2}) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?:\d{2}|\d{4}) "
    r"(?:[01]\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60))? "
    r"(?:UT|GMT|[ECMP][SD]T|[A-IK-Za-ik-z]|[+-](?:[01]\d|2[0-3])[0-5]\d)"
)


def is_rfc822(text: str) -> bool:
    """Whether ``text`` is an RFC 822 date-time naming a real day (and its right weekday)."""
    found = _RFC822.fullmatch(text)
    if not found:
        return False
    try:
        moment = parsedate_to_datetime(text.replace(":60 ", ":59 "))
    except (TypeError, ValueError):
        return False
    weekday = found["weekday"]
    return weekday is None or _WEEKDAYS[moment.weekday()] == weekday


def _absolute(url: str | None) -> bool:
    if not url or any(c.isspace() for c in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def validate_rss(xml_bytes: bytes) -> None:
    """Raise AssertionError unless ``xml_bytes`` is a valid RSS 2.0 document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml_bytes, parser)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"RSS: not well-formed XML: {exc}") from None
    if root.tag != "rss" or root.get("version") != "2.0":
        raise AssertionError(
            f"RSS: the root element is {root.tag} version={root.get('version')!r}, "
            "expected rss version='2.0'"
        )
    channels = root.findall("channel")
    if len(channels) != 1:
        raise AssertionError(f"RSS: {len(channels)} channel elements, expected exactly one")
    channel = channels[0]
    problems = [
        *_channel_problems(channel),
        *_rss_item_problems(channel),
        *_rss_date_problems(channel),
        *_rss_link_problems(channel),
    ]
    if problems:
        raise AssertionError("RSS: " + "; ".join(problems))


def _channel_problems(channel: etree._Element) -> list[str]:
    problems = [
        f"channel: no {name} (required by RSS 2.0)"
        for name in ("title", "link", "description")
        if channel.find(name) is None
    ]
    link = channel.findtext("link")
    if link is not None and not _absolute(link.strip()):
        problems.append(f"channel/link: {link!r} is not an absolute http(s) URL")
    ttl = channel.findtext("ttl")
    if ttl is not None and not ttl.strip().isdigit():
        problems.append(f"channel/ttl: {ttl!r} is not a whole number of minutes")
    return problems


def _rss_item_problems(channel: etree._Element) -> list[str]:
    problems = []
    guids: Counter[str] = Counter()
    for index, item in enumerate(channel.iterfind("item")):
        where = f"item {index}"
        if (
            not (item.findtext("title") or "").strip()
            and not (item.findtext("description") or "").strip()
        ):
            problems.append(f"{where}: neither title nor description (RSS 2.0 items)")
        link = item.findtext("link")
        if link is not None and not _absolute(link.strip()):
            problems.append(f"{where}/link: {link!r} is not an absolute http(s) URL")
        guid = item.find("guid")
        if guid is not None:
            text = (guid.text or "").strip()
            guids[text] += 1
            if guid.get("isPermaLink", "true") == "true" and not _absolute(text):
                problems.append(f"{where}/guid: permalink {text!r} is not an absolute URL")
    problems += [f"guid {g!r} appears {n} times" for g, n in guids.items() if n > 1]
    return problems


def _rss_date_problems(channel: etree._Element) -> list[str]:
    problems = []
    for name in _RSS_DATES:
        for element in channel.iter(name):
            text = (element.text or "").strip()
            if not is_rfc822(text):
                parent = element.getparent()
                where = "channel" if parent is channel else "item"
                problems.append(f"{where}/{name}: {text!r} is not an RFC 822 date-time")
    return problems


def _rss_link_problems(channel: etree._Element) -> list[str]:
    links = channel.findall(_A + "link")
    problems = [
        f"atom:link rel={link.get('rel')!r}: href {link.get('href')!r} is not absolute"
        for link in links
        if not _absolute(link.get("href"))
    ]
    selves = [link for link in links if link.get("rel") == "self"]
    if len(selves) != 1:
        problems.append(f"channel: {len(selves)} atom:link rel=self, expected exactly one")
    return problems
