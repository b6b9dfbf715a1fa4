"""OPML 2.0: export then import gives back the same sources; another reader's OPML imports
with folders and categories as tags; a broken file names every problem with its line and
yields nothing; a document declaring entities is refused."""

from __future__ import annotations

import pytest

from config.opml import export_opml, parse_opml
from config.sources import Source, SourcesError

SOURCES = [
    Source(
        id="harbor",
        url="https://harbor.example/wire.xml",
        title="Harbor Wire",
        kind="atom",
        interval=90,
        min_interval=60,
        max_interval=600,
        timezone="America/New_York",
        tags=("harbor", "world"),
        headers={"X-Api-Key": "k"},
    ),
    Source(id="plain", url="https://plain.example/feed", enabled=False),
]

READER = b"""<?xml version="1.0"?>
<opml version="2.0"><head><title>my feeds</title></head><body>
  <outline text="World News">
    <outline type="rss" text="Bay Press" xmlUrl="https://bay.example/rss"
             category="/Local/Weather"/>
  </outline>
  <outline type="rss" text="Coast Desk" title="Coast Desk"
           xmlUrl="https://coast.example/feed.json"/>
</body></opml>
"""


def test_export_then_import_gives_back_the_same_sources() -> None:
    assert parse_opml(export_opml(SOURCES)) == SOURCES


def test_a_reader_s_folders_and_categories_become_tags() -> None:
    bay, coast = parse_opml(READER)
    assert (bay.id, bay.title, bay.url) == ("bay-press", "Bay Press", "https://bay.example/rss")
    assert bay.tags == ("world-news", "local", "weather")
    assert (coast.id, coast.tags) == ("coast-desk", ())


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        pytest.param(b"<opml><body>", ["feeds.opml: line 1: not well-formed XML: "], id="cut"),
        pytest.param(b"<rss/>", ["feeds.opml: not an OPML document"], id="not-opml"),
        pytest.param(
            b'<opml version="2.0"><body>\n<outline xmlUrl="ftp://x.example/" text="X"/>\n'
            b'<outline xmlUrl="https://y.example/" text="Y"'
            b' xmlns:wf="https://wirefeed.invalid/ns/opml" wf:interval="0"/>'
            b"\n</body></opml>",
            [
                'feeds.opml: line 2: source "x": url: must be an absolute http',
                'feeds.opml: line 3: source "y": interval: must be a number of seconds >= 1',
            ],
            id="bad-outlines",
        ),
        pytest.param(
            b'<opml version="2.0"><body><outline xmlUrl="https://a.example/" text="A"/>'
            b'<outline xmlUrl="https://b.example/" text="A"/></body></opml>',
            ['feeds.opml: line 1: source "a": id: listed twice'],
            id="same-id",
        ),
    ],
)
def test_a_broken_file_names_each_problem_and_imports_nothing(
    document: bytes, problems: list[str]
) -> None:
    with pytest.raises(SourcesError) as caught:
        parse_opml(document, "feeds.opml")
    assert len(caught.value.problems) == len(problems)
    for found, expected in zip(caught.value.problems, problems, strict=True):
        assert found.startswith(expected), found


def test_documents_declaring_entities_are_refused() -> None:
    doctype = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY x SYSTEM "file:///etc/passwd">]>'
    )
    inner = b'<opml version="2.0"><body><outline xmlUrl="https://a.example/" text="&b;"/>'
    with pytest.raises(SourcesError, match="declares XML entities, which are refused"):
        parse_opml(doctype + inner + b"</body></opml>")
    outer = b'<opml version="2.0"><body><outline xmlUrl="https://a.example/" text="&x;"/>'
    with pytest.raises(SourcesError, match="external entity"):
        parse_opml(doctype + outer + b"</body></opml>")
