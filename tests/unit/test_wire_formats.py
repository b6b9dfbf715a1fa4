"""Pure pieces of issue 15: WebSub discovery and signatures, embargo splitting, ninjs version
detection and its messages, and the sources-file fields of the new kinds. Table-driven."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.sources import SourcesError, parse_sources
from ingest.discovery import discover
from ingest.errors import ParseError
from ingest.fetch.subscriber import signature_ok
from ingest.normalize import normalize
from ingest.parse import parse
from ingest.store.embargo import split

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
BASE = "https://wire.example/feed"
HUB = "https://hub.example/"
ATOM = f"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<link rel="hub" href="{HUB}doc"/><link rel="self" href="https://wire.example/self"/></feed>"""


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param(
            {"link": f'<{HUB}>; rel="hub", <https://wire.example/s>; rel="self"'},
            b"",
            ((HUB,), "https://wire.example/s"),
            id="link-header",
        ),
        pytest.param({"link": f"<{HUB}>; rel=hub"}, b"", ((HUB,), BASE), id="header-without-self"),
        pytest.param(
            {}, ATOM.encode(), ((HUB + "doc",), "https://wire.example/self"), id="atom-links"
        ),
        pytest.param(
            {"link": f'<{HUB}>; rel="hub"'},
            ATOM.encode(),
            ((HUB,), BASE),
            id="header-before-document",
        ),
        pytest.param(
            {"content-type": "text/html"},
            b'<html><head><link rel="hub" href="/h"><link rel="self" href="/s"></head></html>',
            (("https://wire.example/h",), "https://wire.example/s"),
            id="html-relative",
        ),
        pytest.param({}, b"<rss version='2.0'><channel/></rss>", None, id="no-hub"),
        pytest.param({}, b"not xml at all <", None, id="garbage"),
    ],
)
def test_discovery(headers: dict[str, str], body: bytes, expected: object) -> None:
    found = discover(BASE, headers, body)
    assert (None if found is None else (found.hubs, found.topic)) == expected


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        pytest.param("sha1=" + hmac.new(b"s", b"body", hashlib.sha1).hexdigest(), True, id="sha1"),
        pytest.param(
            "sha256=" + hmac.new(b"s", b"body", hashlib.sha256).hexdigest(), True, id="sha256"
        ),
        pytest.param(
            "sha512=" + hmac.new(b"s", b"body", hashlib.sha512).hexdigest(), True, id="sha512"
        ),
        pytest.param(
            "sha256=" + hmac.new(b"other", b"body", hashlib.sha256).hexdigest(), False, id="key"
        ),
        pytest.param("md5=abc", False, id="unknown-method"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="missing"),
    ],
)
def test_signatures(header: str | None, ok: bool) -> None:
    assert signature_ok("s", b"body", header) is ok


def _item(embargo: datetime | None) -> object:
    doc = {"uri": "urn:x:1", "headline": "Embargoed budget figures", "body_text": "Numbers."}
    if embargo is not None:
        doc["embargoed"] = embargo.isoformat()
    (raw,) = parse(json.dumps(doc).encode(), {}, "auto").entries
    return normalize(raw, "agency", now=NOW)


@pytest.mark.parametrize(
    ("embargo", "held"),
    [
        pytest.param(None, False, id="none"),
        pytest.param(NOW - timedelta(seconds=1), False, id="past"),
        pytest.param(NOW, False, id="now"),
        pytest.param(NOW + timedelta(seconds=90), True, id="future"),
    ],
)
def test_embargo_split(embargo: datetime | None, held: bool) -> None:
    item = _item(embargo)
    free, kept = split([item], NOW)  # type: ignore[list-item]
    assert (kept == [item], free == [item]) == (held, not held)


def test_a_kill_is_never_held_by_its_embargo() -> None:
    doc = {
        "uri": "urn:x:1",
        "headline": "Withdrawn",
        "pubstatus": "canceled",
        "embargoed": (NOW + timedelta(hours=1)).isoformat(),
    }
    (raw,) = parse(json.dumps(doc).encode(), {}, "auto").entries
    item = normalize(raw, "agency", now=NOW)
    assert split([item], NOW) == ([item], [])


@pytest.mark.parametrize(
    ("doc", "version", "message"),
    [
        pytest.param(
            {"uri": "u", "urgency": 0.1},
            "3.0",
            "ninjs 3.0: $.urgency: type: 0.1 is not of type 'integer'",
            id="pinned-3.0",
        ),
        pytest.param(
            {"uri": "u", "pubstatus": "cancelled"},
            None,
            "conforms to no ninjs schema; as ninjs",
            id="unpinned-names-the-closest",
        ),
        pytest.param(
            {"uri": "u", "random": "x"}, None, "'random' was unexpected", id="unknown-field"
        ),
    ],
)
def test_ninjs_refusals_name_the_field_and_rule(
    doc: dict[str, object], version: str | None, message: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse(json.dumps(doc).encode(), {}, "auto", ninjs_version=version)
    assert message in str(caught.value)


def test_ninjs_mixing_two_versions_is_read_with_a_warning() -> None:
    doc = {"uri": "u", "headlines": [{"value": "Two versions in one"}], "body_text": "Mixed."}
    feed = parse(json.dumps(doc).encode(), {}, "auto")
    (entry,) = feed.entries
    assert entry.title == "Two versions in one" and entry.content == "<p>Mixed.</p>"
    assert feed.warnings and "other ninjs versions" in feed.warnings[0]
    with pytest.raises(ParseError):  # a source that pins its version gets no leniency
        parse(json.dumps(doc).encode(), {}, "auto", ninjs_version="2.1")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param("kind: folder", 'source "a": path: required for kind folder', id="no-path"),
        pytest.param(
            "kind: folder, path: /x, url: 'http://a.example/'",
            'source "a": url: not used by kind folder (give path instead), got "http://a.example/"',
            id="folder-with-url",
        ),
        pytest.param(
            "url: 'http://a.example/', path: /x",
            'source "a": path: only for kind folder',
            id="path-without-folder",
        ),
        pytest.param(
            "url: 'http://a.example/', ninjs_version: 4.0",
            'source "a": ninjs_version: must be one of 1.0, 1.1',
            id="unknown-ninjs-version",
        ),
    ],
)
def test_sources_file_fields_of_the_wire_kinds(fields: str, problem: str) -> None:
    with pytest.raises(SourcesError) as caught:
        parse_sources(f"sources:\n  - {{id: a, {fields}}}\n", Path("sources.yaml"))
    assert problem in str(caught.value)


def test_sources_file_accepts_a_folder_and_a_pinned_ninjs_source() -> None:
    text = (
        "sources:\n  - {id: drop, kind: folder, path: /srv/drop}\n"
        "  - {id: agency, url: 'https://a.example/n.json', kind: ninjs, ninjs_version: '2.1'}\n"
        "  - {id: g2, url: 'https://a.example/g2.xml', kind: newsml}\n"
    )
    drop, agency, g2 = parse_sources(text, Path("sources.yaml")).sources
    assert (drop.path, drop.url) == ("/srv/drop", "file:///srv/drop")
    assert agency.ninjs_version == "2.1" and g2.kind == "newsml"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            b'<rss version="2.0"><channel><title>t</title><item><title>Ferry</title>'
            b"<category>Transport</category><category domain='x'> Harbor </category>"
            b"<category></category></item></channel></rss>",
            ("Transport", "Harbor"),
            id="rss",
        ),
        pytest.param(
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>e</id>'
            b'<title>Ferry</title><category term="transport" label="Transport"/>'
            b'<category term="harbor"/></entry></feed>',
            ("Transport", "harbor"),
            id="atom-label-else-term",
        ),
        pytest.param(
            json.dumps(
                {
                    "version": "https://jsonfeed.org/version/1.1",
                    "title": "t",
                    "items": [{"id": "1", "title": "Ferry", "tags": ["transport", 7, " "]}],
                }
            ).encode(),
            ("transport",),
            id="jsonfeed-tags",
        ),
        pytest.param(
            json.dumps(
                {
                    "uri": "urn:a:1",
                    "headlines": [{"value": "Ferry"}],
                    "subjects": [{"name": "Transport", "uri": "urn:s:1"}, {"uri": "urn:s:2"}],
                }
            ).encode(),
            ("Transport", "urn:s:2"),
            id="ninjs-subjects",
        ),
    ],
)
def test_categories_are_read_from_every_format(body: bytes, expected: tuple[str, ...]) -> None:
    (raw,) = parse(body, {}, "auto").entries
    item = normalize(raw, "s", now=NOW, base_url=BASE)
    assert item.categories == expected
