"""ingest.parse: golden files for every format we read, then the ways a document can be unusable.

Goldens live in tests/fixtures/parse: ``NAME.xml`` or ``NAME.json`` (invented content) beside
``NAME.expected.json``, the ParsedFeed as JSON. Regenerate them after a deliberate change with
``WIREFEED_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_parse.py`` and review the diff.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import ParseError
from ingest.model import ParsedFeed
from ingest.parse import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parse"
UPDATE = os.environ.get("WIREFEED_UPDATE_GOLDEN") == "1"


def to_plain(value: Any) -> Any:
    """Dataclasses, datetimes, enums and containers as plain JSON values, deterministically."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_plain(v) for v in value)
    return value


def golden_text(value: Any) -> str:
    return json.dumps(to_plain(value), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_golden(actual: Any, golden: Path) -> None:
    text = golden_text(actual)
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    if not golden.exists():
        pytest.fail(f"{golden.name} is missing; create it with WIREFEED_UPDATE_GOLDEN=1")
    assert json.loads(text) == json.loads(golden.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# golden files

GOLDEN = [
    pytest.param("rss20.xml", "rss", "rss20", id="rss-2.0"),
    pytest.param("atom10.xml", "atom", "atom10", id="atom-1.0"),
    pytest.param("rss10.xml", "rss", "rss10", id="rss-1.0-rdf"),
    pytest.param("jsonfeed10.json", "jsonfeed", "jsonfeed10", id="jsonfeed-1.0"),
    pytest.param("jsonfeed11.json", "jsonfeed", "jsonfeed11", id="jsonfeed-1.1"),
]


@pytest.mark.parametrize(("name", "kind", "fmt"), GOLDEN)
def test_golden(name: str, kind: str, fmt: str) -> None:
    body = (FIXTURES / name).read_bytes()
    feed = parse(body, headers={}, kind="auto")
    assert feed.format == fmt
    check_golden(feed, FIXTURES / (name.rsplit(".", 1)[0] + ".expected.json"))


@pytest.mark.parametrize(("name", "kind", "fmt"), GOLDEN)
def test_configured_kind_gives_the_same_result(name: str, kind: str, fmt: str) -> None:
    body = (FIXTURES / name).read_bytes()
    assert parse(body, headers={}, kind=kind) == parse(body, headers={}, kind="auto")


def test_golden_helper_is_deterministic() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    feed = ParsedFeed("x", entries=(), warnings=("b", "a"))
    assert golden_text({"b": when, "a": feed}) == golden_text({"a": feed, "b": when})
    assert '"b": "2024-05-01T12:00:00+00:00"' in golden_text({"b": when})


# ---------------------------------------------------------------------------------------------
# field mapping details


def rss_item(inner: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"{channel}<item>{inner}</item></channel></rss>"
    ).encode()


def atom_entry(inner: str) -> bytes:
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        f"<id>urn:x:feed</id><entry><id>urn:x:1</id>{inner}</entry></feed>"
    ).encode()


@pytest.mark.parametrize(
    ("inner", "native_id", "link"),
    [
        pytest.param(
            "<guid>https://w.example/a</guid>",
            "https://w.example/a",
            "https://w.example/a",
            id="permalink-guid-becomes-link",
        ),
        pytest.param(
            "<guid>tag:w.example,2024:b</guid>",
            "tag:w.example,2024:b",
            None,
            id="non-url-guid-is-not-a-link",
        ),
        pytest.param(
            "<guid>urn:uuid:6f2a</guid>", "urn:uuid:6f2a", None, id="urn-guid-is-not-a-link"
        ),
        pytest.param(
            '<guid isPermaLink="false">https://w.example/c</guid>',
            "https://w.example/c",
            None,
            id="not-permalink-guid-is-not-a-link",
        ),
        pytest.param(
            "<guid>https://w.example/d</guid><link>https://w.example/d-page</link>",
            "https://w.example/d",
            "https://w.example/d-page",
            id="explicit-link-wins",
        ),
        pytest.param(
            "<guid>urn:x:e</guid><link>https://w.example/e</link>",
            "urn:x:e",
            "https://w.example/e",
            id="explicit-link-with-urn-guid",
        ),
        pytest.param("<link>https://w.example/f</link>", None, "https://w.example/f", id="no-guid"),
    ],
)
def test_guidislink(inner: str, native_id: str | None, link: str | None) -> None:
    (entry,) = parse(rss_item("<title>t</title>" + inner), {}).entries
    assert (entry.native_id, entry.link) == (native_id, link)


@pytest.mark.parametrize(
    ("body", "title"),
    [
        pytest.param(
            atom_entry('<title type="html">A &lt;b&gt;bold&lt;/b&gt; move</title>'),
            "A bold move",
            id="atom-html-title",
        ),
        pytest.param(
            atom_entry('<title type="html">Fish &amp;amp; chips &lt;br/&gt;today</title>'),
            "Fish & chips today",
            id="atom-html-title-entities",
        ),
        pytest.param(
            atom_entry(
                '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                "An <em>xhtml</em> title</div></title>"
            ),
            "An xhtml title",
            id="atom-xhtml-title",
        ),
        pytest.param(
            atom_entry('<title type="html">&lt;script&gt;alert(1)&lt;/script&gt;Quiet</title>'),
            "Quiet",
            id="atom-html-title-script-dropped",
        ),
        pytest.param(
            atom_entry('<title type="text">5 &lt; 6 &amp; 7 &gt; 2</title>'),
            "5 < 6 & 7 > 2",
            id="atom-text-title-keeps-characters",
        ),
        pytest.param(
            rss_item("<title>Ferry &amp; bus &lt;b&gt;resume&lt;/b&gt;</title>"),
            "Ferry & bus resume",
            id="rss-title-markup",
        ),
    ],
)
def test_titles_are_plain_text(body: bytes, title: str) -> None:
    (entry,) = parse(body, {}).entries
    assert entry.title == title


@pytest.mark.parametrize(
    ("body", "summary", "content"),
    [
        pytest.param(
            atom_entry('<summary type="text">a &lt; b</summary>'),
            "<p>a &lt; b</p>",
            None,
            id="atom-text-summary-escaped",
        ),
        # feedparser copies content into a missing summary; the copy must not come through
        pytest.param(
            atom_entry('<content type="text">one &lt;b&gt;\n\ntwo</content>'),
            None,
            "<p>one &lt;b&gt;</p><p>two</p>",
            id="atom-text-content-paragraphs",
        ),
        pytest.param(
            atom_entry('<content type="html">&lt;p&gt;hi&lt;/p&gt;</content>'),
            None,
            "<p>hi</p>",
            id="atom-html-content",
        ),
        pytest.param(
            rss_item(
                "<title>t</title><content:encoded xmlns:content="
                '"http://purl.org/rss/1.0/modules/content/">&lt;p&gt;c&lt;/p&gt;'
                "</content:encoded>"
            ),
            None,
            "<p>c</p>",
            id="rss-content-encoded-only",
        ),
        pytest.param(
            atom_entry('<summary>s</summary><content type="html">&lt;p&gt;c&lt;/p&gt;</content>'),
            "<p>s</p>",
            "<p>c</p>",
            id="atom-summary-and-content",
        ),
        pytest.param(
            rss_item("<title>t</title><description>&lt;p&gt;x&lt;/p&gt;</description>"),
            "<p>x</p>",
            None,
            id="rss-description-html",
        ),
        pytest.param(
            rss_item("<title>t</title><description>   </description>"),
            None,
            None,
            id="rss-blank-description",
        ),
    ],
)
def test_summary_and_content(body: bytes, summary: str | None, content: str | None) -> None:
    (entry,) = parse(body, {}).entries
    assert (entry.summary, entry.content) == (summary, content)


@pytest.mark.parametrize(
    ("inner", "published", "updated"),
    [
        pytest.param(
            "<pubDate>Wed, 01 May 2024 16:10:00 -0500</pubDate>",
            datetime(2024, 5, 1, 21, 10, tzinfo=UTC),
            None,
            id="rss-pubdate-to-utc",
        ),
        pytest.param(
            "<pubDate>not a date</pubDate>", None, None, id="rss-unparseable-date-dropped"
        ),
        pytest.param(
            "<pubDate>Wed, 01 May 2024 16:10:00 GMT</pubDate>"
            '<atom:updated xmlns:atom="http://www.w3.org/2005/Atom">2024-05-02T00:00:00Z'
            "</atom:updated>",
            datetime(2024, 5, 1, 16, 10, tzinfo=UTC),
            datetime(2024, 5, 2, tzinfo=UTC),
            id="rss-with-atom-updated",
        ),
    ],
)
def test_rss_dates(inner: str, published: datetime | None, updated: datetime | None) -> None:
    (entry,) = parse(rss_item("<title>t</title>" + inner), {}).entries
    assert (entry.published, entry.updated) == (published, updated)


def test_updated_does_not_fall_back_to_published() -> None:
    """feedparser's dict would answer ``updated_parsed`` with the published date (#310)."""
    body = atom_entry("<title>t</title><published>2024-05-01T10:00:00Z</published>")
    (entry,) = parse(body, {}).entries
    assert entry.published == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert entry.updated is None


@pytest.mark.parametrize(
    ("item", "field", "expected"),
    [
        pytest.param({"id": 7}, "native_id", "7", id="numeric-id"),
        pytest.param({"id": True}, "native_id", None, id="boolean-id-ignored"),
        pytest.param({"id": "  "}, "native_id", None, id="blank-id"),
        pytest.param(
            {"url": "https://a.example/1", "external_url": "https://b.example/"},
            "link",
            "https://a.example/1",
            id="url-wins-over-external",
        ),
        pytest.param({"content_text": "a < b"}, "content", "<p>a &lt; b</p>", id="text-escaped"),
        pytest.param(
            {"content_html": "<p>h</p>", "content_text": "t"},
            "content",
            "<p>h</p>",
            id="html-wins-over-text",
        ),
        pytest.param(
            {"author": {"name": "One"}, "authors": [{"name": "Two"}]},
            "authors",
            ("Two",),
            id="authors-wins-over-author",
        ),
        pytest.param(
            {"date_published": "2024-05-01T10:00:00"},
            "published",
            datetime(2024, 5, 1, 10, tzinfo=UTC),
            id="naive-date-read-as-utc",
        ),
        pytest.param({"date_published": 1714557600}, "published", None, id="numeric-date"),
    ],
)
def test_jsonfeed_fields(item: dict[str, Any], field: str, expected: Any) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [item]}
    (entry,) = parse(json.dumps(doc).encode(), {}).entries
    assert getattr(entry, field) == expected


@pytest.mark.parametrize(
    ("doc", "warning"),
    [
        pytest.param(
            {"version": "https://jsonfeed.org/version/2", "items": []},
            "unknown JSON Feed version https://jsonfeed.org/version/2, read as 1.1",
            id="unknown-version",
        ),
        pytest.param(
            {"version": "https://jsonfeed.org/version/1.1", "items": [3]},
            "items[0]: not an object, skipped",
            id="item-not-object",
        ),
        pytest.param(
            {"version": "https://jsonfeed.org/version/1.1", "items": [{"date_modified": "x"}]},
            'items[0]: date "x" is not RFC 3339, ignored',
            id="bad-date",
        ),
    ],
)
def test_jsonfeed_warnings(doc: dict[str, Any], warning: str) -> None:
    assert parse(json.dumps(doc).encode(), {}).warnings == (warning,)


def test_json_with_bom_and_whitespace_is_detected() -> None:
    body = b'\xef\xbb\xbf \n {"version": "https://jsonfeed.org/version/1", "items": []}'
    assert parse(body, {}).format == "jsonfeed10"


def test_response_headers_are_case_insensitive() -> None:
    """A Content-Location header is the base for relative links, however it is spelled."""
    body = rss_item("<title>t</title><link>/news/1</link>")
    for name in ("content-location", "Content-Location"):
        (entry,) = parse(body, {name: "https://w.example/feed.xml"}).entries
        assert entry.link == "https://w.example/news/1"


@pytest.mark.parametrize(
    ("raw", "authors"),
    [
        pytest.param("Lee Park", ("Lee Park",), id="name"),
        pytest.param("desk@wire.example (Lee Park)", ("Lee Park",), id="email-then-name"),
        pytest.param("news@agency.com (Jane Doe)", ("Jane Doe",), id="email-short-tld"),
        pytest.param("Lee Park (desk@wire.agency)", ("Lee Park",), id="name-then-email"),
        pytest.param("Lee Park &lt;desk@wire.media&gt;", ("Lee Park",), id="name-angle-email"),
        pytest.param("Sam (Desk) (s@wire.example)", ("Sam (Desk)",), id="name-with-parens"),
        pytest.param("desk@wire.agency", ("desk@wire.agency",), id="bare-email"),
        pytest.param("  ", (), id="blank"),
    ],
)
def test_rss_author(raw: str, authors: tuple[str, ...]) -> None:
    """feedparser mangles "desk@wire.example (Lee Park)" into "ple (Lee Park"; we do not."""
    (entry,) = parse(rss_item(f"<title>t</title><author>{raw}</author>"), {}).entries
    assert entry.authors == authors


@pytest.mark.parametrize(
    ("inner", "authors"),
    [
        pytest.param(
            "<author><name>A</name><email>a@wire.example</email></author>", ("A",), id="one"
        ),
        pytest.param(
            "<author><name>A</name><email>a@wire.example</email></author>"
            "<author><name>B</name></author>",
            ("A", "B"),
            id="two",
        ),
        pytest.param(
            "<author><email>a@wire.example</email></author>", ("a@wire.example",), id="email-only"
        ),
        pytest.param("<author><uri>https://w.example/a</uri></author>", (), id="uri-only"),
    ],
)
def test_atom_authors(inner: str, authors: tuple[str, ...]) -> None:
    (entry,) = parse(atom_entry("<title>t</title>" + inner), {}).entries
    assert entry.authors == authors


def test_feed_title_is_plain_text() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &amp;amp; B '
        b"&lt;i&gt;wire&lt;/i&gt;</title><entry><id>urn:1</id><title>t</title></entry></feed>"
    )
    assert parse(body, {}).title == "A & B wire"


@pytest.mark.parametrize(
    ("body", "warning"),
    [
        pytest.param(
            b"<rss version='2.0'><channel><title>cut",
            "no element found",
            id="truncated-rss",
        ),
        pytest.param(
            rss_item("<title>fish & chips</title>"),
            "not well-formed (invalid token)",
            id="bare-ampersand",
        ),
    ],
)
def test_sloppy_documents_come_back_with_warnings(body: bytes, warning: str) -> None:
    feed = parse(body, {})
    assert feed.format == "rss20"
    (only,) = feed.warnings
    assert only.startswith("SAXParseException: ")
    assert only.endswith(warning)


# ---------------------------------------------------------------------------------------------
# kind forcing

RSS = rss_item("<title>t</title><link>https://w.example/1</link>")
ATOM = atom_entry("<title>t</title>")
JSONFEED = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1"}]}'


@pytest.mark.parametrize(
    ("body", "kind", "fmt", "warnings"),
    [
        pytest.param(RSS, "rss", "rss20", (), id="rss-as-rss"),
        pytest.param(ATOM, "atom", "atom10", (), id="atom-as-atom"),
        pytest.param(
            RSS,
            "atom",
            "rss20",
            ("configured as atom but the document is rss20",),
            id="rss-configured-as-atom",
        ),
        pytest.param(
            ATOM,
            "rss",
            "atom10",
            ("configured as rss but the document is atom10",),
            id="atom-configured-as-rss",
        ),
        pytest.param(JSONFEED, "jsonfeed", "jsonfeed11", (), id="jsonfeed-as-jsonfeed"),
    ],
)
def test_kind(body: bytes, kind: str, fmt: str, warnings: tuple[str, ...]) -> None:
    feed = parse(body, {}, kind=kind)
    assert (feed.format, feed.warnings) == (fmt, warnings)
    assert len(feed.entries) == 1


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        pytest.param(RSS, "jsonfeed", id="xml-forced-to-jsonfeed"),
        pytest.param(JSONFEED, "rss", id="jsonfeed-forced-to-rss"),
        pytest.param(JSONFEED, "atom", id="jsonfeed-forced-to-atom"),
    ],
)
def test_kind_forcing_the_wrong_parser_fails(body: bytes, kind: str) -> None:
    with pytest.raises(ParseError):
        parse(body, {}, kind=kind)


# ---------------------------------------------------------------------------------------------
# unusable documents

HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Welcome</title></head>
<body><h1>Our news</h1><p>Nothing to see here.</p></body></html>
"""


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        pytest.param(b"", "auto", "empty document", id="empty"),
        pytest.param(b" \r\n\t ", "auto", "empty document", id="whitespace"),
        pytest.param(b"", "jsonfeed", "empty document", id="empty-jsonfeed"),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1",\n  "items": [}',
            "auto",
            "invalid JSON at line 2, column 13: Expecting value",
            id="invalid-json",
        ),
        pytest.param(
            b'{"title": "x"}', "auto", "not a JSON Feed: 'version' is null", id="json-no-version"
        ),
        pytest.param(
            b'{"version": "1.1", "items": []}',
            "auto",
            "not a JSON Feed: 'version' is \"1.1\"",
            id="json-foreign-version",
        ),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1"}',
            "auto",
            "not a JSON Feed: 'items' must be a list, got NoneType",
            id="json-no-items",
        ),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
            "auto",
            "not a JSON Feed: 'items' must be a list, got dict",
            id="json-items-object",
        ),
        pytest.param(
            b"[1, 2, 3]",
            "jsonfeed",
            "not a JSON Feed: the document is a JSON list",
            id="json-array",
        ),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            "jsonfeed",
            "invalid JSON: nested too deeply",
            id="json-nested-too-deeply",
        ),
    ],
)
def test_parse_error_messages(body: bytes, kind: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body, {}, kind=kind)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(HTML_PAGE, id="html-page"),
        pytest.param(b"just some words", id="plain-text"),
        pytest.param(b"<?xml version='1.0'?><note><to>x</to></note>", id="other-xml"),
        pytest.param(b"[1, 2, 3]", id="json-array-auto"),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "n": '
            + b"1" * 5000
            + b"}",
            id="json-huge-integer",
        ),
        pytest.param(b"\x00\xff\xfe garbage \x89PNG", id="binary"),
    ],
)
def test_unusable_documents_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body, {})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"/etc/passwd", id="etc-passwd"),
        pytest.param(b"file:///etc/passwd", id="file-url"),
        pytest.param(b"http://127.0.0.1:9/feed.xml", id="http-url"),
    ],
)
def test_a_body_is_never_opened_as_a_path_or_url(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body, {})


def test_a_body_naming_a_real_feed_file_is_not_read(tmp_path: Path) -> None:
    """If the parser opened the path, this would parse as a feed instead of failing."""
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(RSS)
    assert parse(RSS, {}).entries  # the file's content is a good feed
    with pytest.raises(ParseError):
        parse(str(feed_file).encode(), {})


@pytest.mark.parametrize(
    ("ttl", "seconds"),
    [
        pytest.param("<ttl>60</ttl>", 3600.0, id="an-hour"),
        pytest.param("<ttl> 5 </ttl>", 300.0, id="spaces"),
        pytest.param("<ttl>0</ttl>", None, id="zero-ignored"),
        pytest.param("<ttl>soon</ttl>", None, id="not-a-number"),
        pytest.param("<ttl>99999999</ttl>", None, id="over-a-year"),
        pytest.param("", None, id="absent"),
    ],
)
def test_rss_ttl(ttl: str, seconds: float | None) -> None:
    body = f'<rss version="2.0"><channel><title>t</title>{ttl}<item><title>a</title></item>'
    body += "</channel></rss>"
    assert parse(body.encode(), {}).ttl == seconds
