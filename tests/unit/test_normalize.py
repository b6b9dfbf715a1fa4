"""ingest.normalize: canonical URLs, HTML sanitizing, identity, content hash, dates, titles.

The sanitizer also runs over feedparser's XSS cases in ../shared/corpora (their ``Expect:``
lines are feedparser expressions and are not evaluated; we check our own output instead).
"""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from ingest.errors import EntryError
from ingest.model import RawEntry
from ingest.normalize import (
    FUTURE_SKEW,
    MAX_ID,
    canonical_url,
    hash_content,
    identity_of,
    normalize,
    sanitize,
)
from ingest.parse import parse
from ingest.text import xml_safe
from tests.support import CORPORA, corpus

NOW = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
BASE = "https://w.example/news/1"
REL = ' rel="noopener noreferrer nofollow"'

# ---------------------------------------------------------------------------------------------
# canonical_url


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        pytest.param(
            "HTTP://Example.ORG/Path?Q=1",
            None,
            "http://example.org/Path?Q=1",
            id="scheme-and-host-lowercased-path-kept",
        ),
        pytest.param("http://example.org", None, "http://example.org/", id="empty-path"),
        pytest.param("  http://e.org/a \n", None, "http://e.org/a", id="surrounding-space"),
        pytest.param("http://e.org:80/a", None, "http://e.org/a", id="default-http-port"),
        pytest.param("https://e.org:443/a", None, "https://e.org/a", id="default-https-port"),
        pytest.param("http://e.org:443/a", None, "http://e.org:443/a", id="https-port-on-http"),
        pytest.param("https://e.org:8443/a", None, "https://e.org:8443/a", id="other-port"),
        pytest.param("http://e.org/a#frag", None, "http://e.org/a", id="fragment"),
        pytest.param(
            "http://e.org/a?utm_source=x&utm_medium=y&id=3&fbclid=abc",
            None,
            "http://e.org/a?id=3",
            id="utm-and-fbclid",
        ),
        pytest.param("http://e.org/a?UTM_Campaign=1", None, "http://e.org/a", id="utm-any-case"),
        pytest.param(
            "http://e.org/a?gclid=1&mc_cid=2&pk_campaign=3&_ga=4&msclkid=5",
            None,
            "http://e.org/a",
            id="other-trackers",
        ),
        pytest.param(
            "http://e.org/?utm%5Fsource=1&q=2", None, "http://e.org/?q=2", id="escaped-tracker-name"
        ),
        pytest.param(
            "http://e.org/story?12345", None, "http://e.org/story?12345", id="bare-query-kept"
        ),
        pytest.param(
            "http://e.org/a?q=a%20b&r=c+d",
            None,
            "http://e.org/a?q=a%20b&r=c+d",
            id="query-spelling-kept",
        ),
        pytest.param(
            "http://e.org/?a=1&&b=2&", None, "http://e.org/?a=1&b=2", id="empty-query-parts"
        ),
        pytest.param("http://e.org/a?", None, "http://e.org/a", id="empty-query"),
        pytest.param(
            "http://e.org/a?utm_x=1#top", None, "http://e.org/a", id="only-trackers-and-fragment"
        ),
        pytest.param("http://user:pw@e.org/a", None, "http://e.org/a", id="credentials-dropped"),
        pytest.param("/news/2", BASE, "https://w.example/news/2", id="relative-root"),
        pytest.param("2?x=1", BASE, "https://w.example/news/2?x=1", id="relative-sibling"),
        pytest.param("../x", "https://e.org/a/b/c", "https://e.org/a/x", id="relative-parent"),
        pytest.param("//cdn.e.org/p", BASE, "https://cdn.e.org/p", id="protocol-relative"),
        pytest.param("#top", BASE, BASE, id="fragment-only"),
        pytest.param(
            "http://other.example/x", BASE, "http://other.example/x", id="absolute-ignores-base"
        ),
        pytest.param("/news/2", None, None, id="relative-without-base"),
        pytest.param("ftp://e.org/x", None, None, id="ftp"),
        pytest.param("mailto:desk@e.org", None, None, id="mailto"),
        pytest.param("javascript:alert(1)", None, None, id="javascript"),
        pytest.param("javascript:alert(1)", BASE, None, id="javascript-with-base"),
        pytest.param("data:text/html,x", None, None, id="data"),
        pytest.param("tag:e.org,2024:1", None, None, id="tag-uri"),
        pytest.param("http:///nohost", None, None, id="no-host"),
        pytest.param("http://[::1", None, None, id="broken-ipv6"),
        pytest.param("http://e.org:99999/", None, None, id="port-out-of-range"),
        pytest.param("http://e.org:port/", None, None, id="port-not-a-number"),
        pytest.param(
            "http://bücher.example/a", None, "http://xn--bcher-kva.example/a", id="idn-host"
        ),
        pytest.param(
            "http://XN--BCHER-KVA.example/a",
            None,
            "http://xn--bcher-kva.example/a",
            id="punycode-host-lowercased",
        ),
        pytest.param(
            "http://e.org/straße?q=ä",
            None,
            "http://e.org/stra%C3%9Fe?q=%C3%A4",
            id="non-ascii-path-and-query-escaped",
        ),
        pytest.param(
            "http://e.org/a%2Fb?c=%26", None, "http://e.org/a%2Fb?c=%26", id="existing-escapes-kept"
        ),
        pytest.param(
            "http://[2001:DB8::1]:8080/a", None, "http://[2001:db8::1]:8080/a", id="ipv6-with-port"
        ),
        pytest.param(
            "https://[2001:db8::1]:443/a", None, "https://[2001:db8::1]/a", id="ipv6-default-port"
        ),
        pytest.param("http://127.0.0.1:8181/wire", None, "http://127.0.0.1:8181/wire", id="ipv4"),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("HTTP://Example.ORG:80/a?utm_source=x&b=2#f", id="messy"),
        pytest.param("http://bücher.example/straße?q=ä b", id="iri"),
        pytest.param("https://[2001:DB8::1]:443/", id="ipv6"),
    ],
)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert once is not None
    assert canonical_url(once) == once


# ---------------------------------------------------------------------------------------------
# sanitize


@pytest.mark.parametrize(
    ("fragment", "base", "expected"),
    [
        pytest.param("<p>Hi<script>alert(1)</script></p>", None, "<p>Hi</p>", id="script"),
        pytest.param("<style>p{color:red}</style><p>x</p>", None, "<p>x</p>", id="style-element"),
        pytest.param('<p style="color:red">x</p>', None, "<p>x</p>", id="style-attribute"),
        pytest.param(
            '<p onclick="x()" onmouseover="y">t</p>', None, "<p>t</p>", id="event-handlers"
        ),
        pytest.param('<svg onload="alert(1)"><circle/></svg><p>k</p>', None, "<p>k</p>", id="svg"),
        pytest.param(
            '<a href="javascript:alert(1)">x</a>', None, f"<a{REL}>x</a>", id="javascript-href"
        ),
        pytest.param(
            '<a href="JaVaScRiPt:alert(1)">x</a>',
            None,
            f"<a{REL}>x</a>",
            id="javascript-mixed-case",
        ),
        pytest.param(
            '<a href="java&#x09;script:alert(1)">x</a>',
            None,
            f"<a{REL}>x</a>",
            id="javascript-with-tab-entity",
        ),
        pytest.param('<a href="vbscript:x">x</a>', None, f"<a{REL}>x</a>", id="vbscript-href"),
        pytest.param(
            '<img src="data:image/png;base64,AAAA" alt="a">', None, '<img alt="a">', id="data-src"
        ),
        pytest.param(
            '<blockquote cite="javascript:alert(1)">q</blockquote>',
            BASE,
            "<blockquote>q</blockquote>",
            id="javascript-cite",
        ),
        pytest.param(
            '<blockquote cite="/q">q</blockquote>',
            BASE,
            '<blockquote cite="https://w.example/q">q</blockquote>',
            id="relative-cite-with-base",
        ),
        pytest.param(
            '<blockquote cite="/q">q</blockquote>',
            None,
            "<blockquote>q</blockquote>",
            id="relative-cite-without-base",
        ),
        pytest.param(
            '<a href="https://o.example/" rel="opener" target="_blank">x</a>',
            None,
            f'<a href="https://o.example/"{REL}>x</a>',
            id="rel-replaced",
        ),
        pytest.param(
            '<a href="mailto:desk@w.example">m</a>',
            None,
            f'<a href="mailto:desk@w.example"{REL}>m</a>',
            id="mailto-kept",
        ),
        pytest.param(
            '<a href="/x">x</a>',
            BASE,
            f'<a href="https://w.example/x"{REL}>x</a>',
            id="relative-href-rewritten",
        ),
        pytest.param(
            '<img src="p.png" alt="a">',
            BASE,
            '<img src="https://w.example/news/p.png" alt="a">',
            id="relative-src-rewritten",
        ),
        pytest.param(
            '<a href="#f">f</a>',
            BASE,
            f'<a href="https://w.example/news/1#f"{REL}>f</a>',
            id="fragment-href-rewritten",
        ),
        pytest.param('<a href="/x">x</a>', None, f"<a{REL}>x</a>", id="relative-href-dropped"),
        pytest.param('<img src="p.png" alt="a">', None, '<img alt="a">', id="relative-src-dropped"),
        pytest.param(
            '<a href="#f">f</a>',
            "javascript:alert(1)",
            f"<a{REL}>f</a>",
            id="javascript-base-ignored",
        ),
        pytest.param('<a href="/x">x</a>', "not a url", f"<a{REL}>x</a>", id="bad-base-ignored"),
        pytest.param(
            '<a href="/x">x</a>', "http://[::1", f"<a{REL}>x</a>", id="broken-base-ignored"
        ),
        pytest.param(
            '<a href="/x">x</a>',
            "http://exa mple.example/",
            f"<a{REL}>x</a>",
            id="unparseable-host-base-ignored",
        ),
        pytest.param(
            '<iframe src="https://e.example/"></iframe><p>k</p>', None, "<p>k</p>", id="iframe"
        ),
        pytest.param('<form action="/"><input name="q"></form>', None, "", id="form"),
        pytest.param("<object data=x></object><embed src=x>", None, "", id="object-embed"),
        pytest.param(
            "<meta http-equiv=refresh><link rel=stylesheet href=x><base href=x>",
            None,
            "",
            id="meta-link-base",
        ),
        pytest.param("plain & text", None, "plain &amp; text", id="plain-text-escaped"),
        pytest.param("  <p>x</p>\n", None, "<p>x</p>", id="stripped"),
        pytest.param(" \n ", None, "", id="blank"),
        pytest.param("", BASE, "", id="empty"),
    ],
)
def test_sanitize(fragment: str, base: str | None, expected: str) -> None:
    assert sanitize(fragment, base) == expected


class _Tags(HTMLParser):
    """Collects every start tag and its attributes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


FORBIDDEN_TAGS = ("script", "style", "iframe", "object", "embed", "form", "meta", "link", "base")
URL_ATTRIBUTES = ("href", "src", "cite", "action", "formaction", "background", "poster", "data")
BAD_SCHEMES = ("javascript:", "vbscript:", "data:")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def unsafe_parts(out: str) -> list[str]:
    """What a browser could execute in ``out``: empty for safe HTML."""
    found = [f"<{tag}" for tag in FORBIDDEN_TAGS if f"<{tag}" in out.lower()]
    if re.search(r"<[^>]*\son[a-z]+\s*=", out, re.IGNORECASE):
        found.append("on*= in a tag")
    parser = _Tags()
    parser.feed(out)
    parser.close()
    for tag, attrs in parser.tags:
        if tag in FORBIDDEN_TAGS:
            found.append(f"element {tag}")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"{tag} {name}")
            url = _INVISIBLE.sub("", html.unescape(value or "")).lower()
            if name in URL_ATTRIBUTES and url.startswith(BAD_SCHEMES):
                found.append(f"{tag} {name}={value}")
    return found


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        pytest.param("<script>x</script>", "<script", id="script"),
        pytest.param('<p onclick="x">', "on*= in a tag", id="handler"),
        pytest.param('<a href=" jav&#x61;script:x">', "a href= javascript:x", id="href"),
        pytest.param('<img src="data:x">', "img src=data:x", id="src"),
    ],
)
def test_the_xss_check_itself_catches(out: str, problem: str) -> None:
    assert problem in unsafe_parts(out)


def sanitize_cases() -> list[object]:
    folder = CORPORA / "feedparser-tests" / "tests" / "wellformed" / "sanitize"
    if not folder.is_dir():
        return [pytest.param(None, id="corpus-absent")]
    return [pytest.param(p.name, id=p.name) for p in sorted(folder.glob("*.xml"))]


@pytest.mark.corpus
@pytest.mark.parametrize("name", sanitize_cases())
def test_sanitize_feedparser_xss_cases(name: str | None) -> None:
    folder = corpus("feedparser-tests", "tests", "wellformed", "sanitize")
    assert name is not None
    feed = parse((folder / name).read_bytes(), {})
    checked = 0
    for entry in feed.entries:
        for fragment in (entry.content, entry.summary):
            if fragment is None:
                continue
            for base in (None, BASE):
                out = sanitize(fragment, base)
                assert unsafe_parts(out) == [], (base, fragment, out)
                checked += 1
    for entry in feed.entries:  # and through normalize, as the pipeline runs it
        try:
            item = normalize(entry, "corpus", now=NOW, base_url=feed.link or BASE)
        except EntryError:
            continue
        assert unsafe_parts(item.summary_html) == []
        assert unsafe_parts(item.content_html) == []


# ---------------------------------------------------------------------------------------------
# identity


@pytest.mark.parametrize(
    ("raw", "identity", "kind"),
    [
        pytest.param(
            RawEntry(native_id="nw-17", title="t", link="https://w.example/a"),
            "nw-17",
            "native",
            id="native-id-wins",
        ),
        pytest.param(
            RawEntry(native_id="  tag:w.example,2024:\n 17 ", title="t"),
            "tag:w.example,2024: 17",
            "native",
            id="native-id-whitespace-collapsed",
        ),
        pytest.param(
            RawEntry(native_id=" \t ", title="t", link="https://w.example/a"),
            "https://w.example/a",
            "url",
            id="blank-native-id-falls-to-url",
        ),
        pytest.param(
            RawEntry(title="t", link="HTTPS://W.example/a?utm_source=rss#x"),
            "https://w.example/a#x",  # the fragment names one item of a live page
            "url",
            id="canonical-url",
        ),
        pytest.param(
            RawEntry(title="t", link="javascript:alert(1)"),
            "hash:" + hash_content("t", "", "", None),
            "hash",
            id="unusable-link-falls-to-hash",
        ),
        pytest.param(
            RawEntry(title="t", summary="<p>s</p>"),
            "hash:" + hash_content("t", "<p>s</p>", "", None),
            "hash",
            id="content-hash",
        ),
    ],
)
def test_identity_fallback_chain(raw: RawEntry, identity: str, kind: str) -> None:
    item = normalize(raw, "wire-a", now=NOW)
    assert (item.identity, item.identity_kind) == (identity, kind)


@pytest.mark.parametrize(
    ("native_id", "url", "expected"),
    [
        pytest.param("a", "https://w.example/", ("a", "native"), id="native"),
        pytest.param("", "https://w.example/", ("https://w.example/", "url"), id="empty-native"),
        pytest.param(None, None, ("hash:h", "hash"), id="hash"),
        pytest.param("x" * MAX_ID, None, ("x" * MAX_ID, "native"), id="longest-native-kept"),
    ],
)
def test_identity_of(native_id: str | None, url: str | None, expected: tuple[str, str]) -> None:
    assert identity_of(native_id, url, "h") == expected


def test_long_native_ids_are_hashed() -> None:
    ident, kind = identity_of("x" * (MAX_ID + 1), None, "h")
    assert kind == "native"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ident)
    assert identity_of("x" * (MAX_ID + 1), None, "other")[0] == ident
    assert identity_of("y" * (MAX_ID + 1), None, "h")[0] != ident


# ---------------------------------------------------------------------------------------------
# content hash and versions

ENTRY = RawEntry(
    native_id="nw-1",
    title="Harbor closed",
    link="https://w.example/harbor",
    summary="<p>Port shut overnight.</p>",
    content="<p>The port authority says the terminal will stay shut.</p>",
    published=datetime(2024, 5, 1, 16, 10, tzinfo=UTC),
    updated=datetime(2024, 5, 1, 16, 40, tzinfo=UTC),
    authors=("Dana Ortiz",),
)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"published": datetime(2024, 5, 2, tzinfo=UTC)}, id="published"),
        pytest.param({"updated": datetime(2024, 5, 3, tzinfo=UTC)}, id="updated"),
        pytest.param({"published": None, "updated": None}, id="no-dates"),
        pytest.param({"authors": ("Someone Else",)}, id="authors"),
        pytest.param({"native_id": "nw-2"}, id="native-id"),
        pytest.param({"title": "  Harbor \n closed "}, id="title-whitespace"),
        pytest.param(
            {
                "content": "<p>The port authority says the terminal will stay shut.</p>"
                "<script>x()</script>"
            },
            id="script-added",
        ),
        pytest.param({"link": "https://w.example/harbor?utm_source=x"}, id="tracking-parameter"),
    ],
)
def test_content_hash_ignores(change: dict[str, object]) -> None:
    before = normalize(ENTRY, "wire-a", now=NOW)
    after = normalize(dataclasses.replace(ENTRY, **change), "wire-a", now=NOW)  # type: ignore[arg-type]
    assert after.content_hash == before.content_hash


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"title": "Harbor reopened"}, id="title"),
        pytest.param({"summary": "<p>Port shut until Friday.</p>"}, id="summary"),
        pytest.param({"content": "<p>The terminal reopens at noon.</p>"}, id="content"),
        pytest.param(
            {"content": "<p>The port authority says the terminal will stay open.</p>"},
            id="one-word",
        ),
        pytest.param({"link": "https://w.example/harbor-2"}, id="url"),
    ],
)
def test_content_hash_changes_with(change: dict[str, object]) -> None:
    before = normalize(ENTRY, "wire-a", now=NOW)
    after = normalize(dataclasses.replace(ENTRY, **change), "wire-a", now=NOW)  # type: ignore[arg-type]
    assert after.content_hash != before.content_hash
    assert after.identity == before.identity


def test_content_hash_is_the_documented_function() -> None:
    item = normalize(ENTRY, "wire-a", now=NOW)
    assert item.content_hash == hash_content(
        item.title, item.summary_html, item.content_html, item.url
    )
    assert re.fullmatch(r"[0-9a-f]{32}", item.content_hash)


def test_normalize_is_deterministic() -> None:
    assert normalize(ENTRY, "wire-a", now=NOW) == normalize(ENTRY, "wire-a", now=NOW)


# ---------------------------------------------------------------------------------------------
# dates

EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("published", "updated", "expected", "dated"),
    [
        pytest.param(
            datetime(2024, 5, 1, 11, 10, tzinfo=EST),
            None,
            (datetime(2024, 5, 1, 16, 10, tzinfo=UTC), datetime(2024, 5, 1, 16, 10, tzinfo=UTC)),
            True,
            id="offset-to-utc-and-updated-from-published",
        ),
        pytest.param(
            None,
            datetime(2024, 5, 1, 12, tzinfo=UTC),
            (datetime(2024, 5, 1, 12, tzinfo=UTC), datetime(2024, 5, 1, 12, tzinfo=UTC)),
            True,
            id="published-from-updated",
        ),
        pytest.param(
            datetime(2024, 5, 1, 12),
            None,
            (datetime(2024, 5, 1, 12, tzinfo=UTC), datetime(2024, 5, 1, 12, tzinfo=UTC)),
            True,
            id="naive-read-as-utc",
        ),
        pytest.param(
            datetime(2024, 5, 1, 12, tzinfo=UTC),
            datetime(2024, 5, 1, 9, tzinfo=UTC),
            (datetime(2024, 5, 1, 12, tzinfo=UTC), datetime(2024, 5, 1, 12, tzinfo=UTC)),
            True,
            id="updated-before-published-raised",
        ),
        pytest.param(
            NOW + timedelta(days=1),
            None,
            (NOW, NOW),
            True,
            id="future-published-clamped",
        ),
        pytest.param(
            datetime(2024, 5, 1, 12, tzinfo=UTC),
            NOW + timedelta(days=365),
            (datetime(2024, 5, 1, 12, tzinfo=UTC), NOW),
            True,
            id="future-updated-clamped",
        ),
        pytest.param(
            NOW + FUTURE_SKEW - timedelta(seconds=1),
            None,
            (NOW + FUTURE_SKEW - timedelta(seconds=1),) * 2,
            True,
            id="small-clock-skew-kept",
        ),
        pytest.param(
            NOW + FUTURE_SKEW + timedelta(seconds=1),
            None,
            (NOW, NOW),
            True,
            id="just-over-the-skew-clamped",
        ),
        pytest.param(
            datetime(1999, 12, 31, tzinfo=UTC),
            None,
            (datetime(1999, 12, 31, tzinfo=UTC),) * 2,
            True,
            id="back-dated-kept",
        ),
        pytest.param(None, None, (NOW, NOW), False, id="missing-dates-are-now"),
    ],
)
def test_dates(
    published: datetime | None,
    updated: datetime | None,
    expected: tuple[datetime, datetime],
    dated: bool,
) -> None:
    raw = RawEntry(title="t", published=published, updated=updated)
    item = normalize(raw, "wire-a", now=NOW)
    assert (item.published, item.updated, item.dated) == (*expected, dated)
    assert item.published.tzinfo is UTC
    assert item.updated.tzinfo is UTC


def test_now_in_another_zone_is_converted() -> None:
    item = normalize(RawEntry(title="t"), "wire-a", now=NOW.astimezone(EST))
    assert (item.published, item.updated) == (NOW, NOW)
    assert item.published.tzinfo is UTC


# ---------------------------------------------------------------------------------------------
# titles, bodies, links, authors


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        pytest.param(
            RawEntry(title="  Harbor \n\t closed  "), "Harbor closed", id="whitespace-collapsed"
        ),
        pytest.param(RawEntry(title="5 < 6 & more"), "5 < 6 & more", id="plain-text-kept"),
        pytest.param(
            RawEntry(content="<p>Firefighters have <b>ordered</b> ships to move.</p>"),
            "Firefighters have ordered ships to move.",
            id="from-content",
        ),
        pytest.param(
            RawEntry(summary="<p>Short &amp; sweet</p>"), "Short & sweet", id="from-summary"
        ),
        pytest.param(
            RawEntry(title=" \n ", summary="<p>Blank title</p>"),
            "Blank title",
            id="blank-title-falls-back-to-text",
        ),
        pytest.param(
            RawEntry(content="<p>" + "word " * 40 + "</p>"),
            ("word " * 17).strip() + "…",
            id="from-text-shortened",
        ),
        pytest.param(
            RawEntry(title="long " * 100),
            ("long " * 59).strip() + "…",
            id="long-title-shortened",
        ),
        pytest.param(
            RawEntry(link="https://w.example/only-a-link"), "", id="link-only-has-no-title"
        ),
    ],
)
def test_titles(raw: RawEntry, title: str) -> None:
    assert normalize(raw, "wire-a", now=NOW).title == title


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(RawEntry(), id="nothing"),
        pytest.param(RawEntry(native_id="nw-1"), id="only-an-id"),
        pytest.param(RawEntry(title="   "), id="blank-title"),
        pytest.param(RawEntry(summary="<script>x()</script>"), id="only-a-script"),
        pytest.param(RawEntry(content='<img src="https://w.example/p.png">'), id="only-an-image"),
        pytest.param(RawEntry(link="/relative"), id="relative-link-without-base"),
        pytest.param(RawEntry(link="javascript:alert(1)"), id="javascript-link"),
        pytest.param(RawEntry(published=NOW, authors=("Dana",)), id="dates-and-authors-only"),
    ],
)
def test_entry_with_nothing_to_show(raw: RawEntry) -> None:
    with pytest.raises(EntryError, match="no title, no text and no link"):
        normalize(raw, "wire-a", now=NOW)


@pytest.mark.parametrize(
    ("raw", "base", "url", "content"),
    [
        pytest.param(
            RawEntry(title="t", link="/news/2", content='<a href="3">x</a>'),
            BASE,
            "https://w.example/news/2",
            f'<a href="https://w.example/news/3"{REL}>x</a>',
            id="relative-link-and-body-resolved",
        ),
        pytest.param(
            RawEntry(title="t", content='<a href="3">x</a>'),
            BASE,
            None,
            f'<a href="https://w.example/news/3"{REL}>x</a>',
            id="body-resolved-against-base-without-link",
        ),
        pytest.param(
            RawEntry(title="t", link="https://o.example/a/b", content='<img src="c.png">'),
            BASE,
            "https://o.example/a/b",
            '<img src="https://o.example/a/c.png">',
            id="entry-link-is-the-base-for-its-body",
        ),
        pytest.param(
            RawEntry(title="t", link="/news/2", content='<a href="3">x</a>'),
            None,
            None,
            f"<a{REL}>x</a>",
            id="nothing-resolvable",
        ),
        pytest.param(
            RawEntry(title="t", content='<a href="#x">x</a>'),
            "javascript:alert(1)",
            None,
            f"<a{REL}>x</a>",
            id="hostile-base",
        ),
    ],
)
def test_links(raw: RawEntry, base: str | None, url: str | None, content: str) -> None:
    item = normalize(raw, "wire-a", now=NOW, base_url=base)
    assert (item.url, item.content_html) == (url, content)


@pytest.mark.parametrize(
    ("summary", "content", "expected"),
    [
        pytest.param(
            "<p>Same words</p>",
            "<div>Same   words</div>",
            ("", "<div>Same   words</div>"),
            id="summary-repeating-content-dropped",
        ),
        pytest.param(
            "<p>Short</p>",
            "<p>Long text</p>",
            ("<p>Short</p>", "<p>Long text</p>"),
            id="different-summary-kept",
        ),
        pytest.param("<p>Only</p>", None, ("<p>Only</p>", ""), id="summary-only"),
    ],
)
def test_summary_and_content(summary: str, content: str | None, expected: tuple[str, str]) -> None:
    item = normalize(RawEntry(title="t", summary=summary, content=content), "w", now=NOW)
    assert (item.summary_html, item.content_html) == expected


@pytest.mark.parametrize(
    ("authors", "expected"),
    [
        pytest.param(("  Dana \n Ortiz ",), ("Dana Ortiz",), id="collapsed"),
        pytest.param(("A", " ", "", "B"), ("A", "B"), id="blanks-dropped"),
        pytest.param(
            tuple(f"A{i}" for i in range(15)), tuple(f"A{i}" for i in range(10)), id="at-most-ten"
        ),
    ],
)
def test_authors(authors: tuple[str, ...], expected: tuple[str, ...]) -> None:
    item = normalize(RawEntry(title="t", authors=authors), "w", now=NOW)
    assert item.authors == expected


def test_source_id_is_carried() -> None:
    assert normalize(ENTRY, "wire-b", now=NOW).source_id == "wire-b"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("lone \ud800 surrogate", id="lone-surrogate"),
        pytest.param("nul \x00 and bell \x07", id="control-characters"),
        pytest.param("not a character \ufffe", id="noncharacter"),
    ],
)
def test_characters_xml_cannot_carry_are_dropped(text: str) -> None:
    raw = RawEntry(
        native_id=f"id {text}",
        title=f"Title {text}",
        summary=f"<p>{text}</p>",
        authors=(f"Author {text}",),
    )
    item = normalize(raw, "src", now=NOW)
    for value in (item.identity, item.title, item.summary_html, *item.authors):
        assert xml_safe(value) == value
        value.encode("utf-8")  # would raise on a lone surrogate


@pytest.mark.parametrize(
    ("raw", "correction", "note"),
    [
        pytest.param(
            RawEntry(title="Bridge closed", summary="<p>Police closed it.</p>"),
            False,
            None,
            id="plain",
        ),
        pytest.param(
            RawEntry(title="CORRECTION: Bridge closed", summary="<p>x</p>"),
            True,
            None,
            id="headline-marker",
        ),
        pytest.param(
            RawEntry(
                title="Bridge closed",
                summary="<p>CORRECTS number of residents "
                "to 2,100 from 1,200. Police closed the bridge.</p>",
            ),
            True,
            "CORRECTS number of residents to 2,100 from 1,200.",
            id="corrects-sentence",
        ),
        pytest.param(
            RawEntry(title="Correction: council vote", summary="<p>x</p>"),
            True,
            None,
            id="mixed-case",
        ),
        pytest.param(
            RawEntry(title="Corrections officers strike", summary="<p>x</p>"),
            False,
            None,
            id="news-about-corrections-officers",
        ),
        pytest.param(
            RawEntry(title="CORRECTED: Port reopens", summary="<p>x</p>"),
            True,
            None,
            id="corrected-marker",
        ),
        pytest.param(
            RawEntry(title="Correctional facility opens", summary="<p>x</p>"),
            False,
            None,
            id="lookalike-word",
        ),
        pytest.param(
            RawEntry(title="Bridge", correction=True, note="Fixes the death toll."),
            True,
            "Fixes the death toll.",
            id="source-signal",
        ),
    ],
)
def test_correction_signals(raw: RawEntry, correction: bool, note: str | None) -> None:
    item = normalize(raw, "src", now=NOW)
    assert (item.correction, item.note) == (correction, note)


def test_copy_key_ignores_markup_and_links() -> None:
    a = normalize(
        RawEntry(
            title="Dam cracks",
            summary="<p>Engineers <b>found</b> two cracks.</p>",
            link="https://a.example/1",
        ),
        "a",
        now=NOW,
    )
    b = normalize(
        RawEntry(
            title="Dam cracks", content="Engineers found two cracks.", link="https://b.example/9"
        ),
        "b",
        now=NOW,
    )
    assert a.copy_key == b.copy_key
    assert a.content_hash != b.content_hash
