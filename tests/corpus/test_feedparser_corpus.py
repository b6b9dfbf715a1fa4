"""Robustness over feedparser's own test corpus (../shared/corpora/feedparser-tests/tests).

Every file goes through ``parse`` and every entry through ``normalize``, as the pipeline runs
them. The only exceptions allowed out are ``ParseError`` (the document) and ``EntryError`` (one
entry); anything else would reach the worker. The files' ``Expect:`` lines describe feedparser's
result dict and are not evaluated here. Files that declare HTTP headers in their opening comment
(``Header: Content-type: ...``) get those headers, as a fetch would deliver them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.errors import EntryError, ParseError
from ingest.model import Item, ParsedFeed
from ingest.normalize import normalize
from ingest.parse import parse
from tests.support import CORPORA, corpus, declared_headers

pytestmark = pytest.mark.corpus

PARTS = ("feedparser-tests", "tests")
NOW = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
FETCHED_FROM = "http://corpus.example/feed.xml"
EXPECTED_FILES = 2107
MIN_PARSED = 0.98
"""Measured with feedparser 6.0: 2,099 of 2,107 files parse (99.6%); the 8 that do not are an
empty document and seven CDF channels without items, which are indeed not feeds we can read."""


def ingest(path: Path) -> tuple[ParsedFeed | None, list[Item], int]:
    """parse | normalize one file; returns the feed (None on ParseError), items, bad entries."""
    body = path.read_bytes()
    try:
        feed = parse(body, declared_headers(body), kind="auto")
    except ParseError as exc:
        assert str(exc), "a ParseError must say what is wrong"
        return None, [], 0
    items: list[Item] = []
    bad = 0
    for raw in feed.entries:
        try:
            items.append(normalize(raw, "corpus", now=NOW, base_url=feed.link or FETCHED_FROM))
        except EntryError:
            bad += 1
    return feed, items, bad


def check_item(item: Item) -> None:
    assert item.identity
    assert item.title or item.url
    assert item.published.tzinfo is UTC and item.updated.tzinfo is UTC
    assert item.published <= item.updated <= NOW
    assert item.url is None or item.url.startswith(("http://", "https://"))


def corpus_files() -> list[object]:
    root = CORPORA.joinpath(*PARTS)
    if not root.is_dir():
        return [pytest.param(None, id="corpus-absent")]
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return [pytest.param(name, id=name) for name in files]


@pytest.mark.parametrize("name", corpus_files())
def test_file_ingests_without_escaping_errors(name: str | None) -> None:
    root = corpus(*PARTS)
    assert name is not None
    feed, items, bad = ingest(root / name)
    if feed is not None:
        assert len(items) + bad == len(feed.entries)
        assert feed.format
    for item in items:
        check_item(item)


def test_nearly_every_file_is_a_feed() -> None:
    root = corpus(*PARTS)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) == EXPECTED_FILES
    results = [ingest(p) for p in files]
    parsed = [r for r in results if r[0] is not None]
    assert len(parsed) / len(files) >= MIN_PARSED, f"{len(parsed)} of {len(files)} parsed"
    assert sum(len(items) for _, items, _ in parsed) >= 500  # measured: 570 items


@pytest.mark.parametrize(
    ("comment", "headers"),
    [
        pytest.param(
            b"<!--\nHeader:      Content-type: text/xml\n-->",
            {"Content-type": "text/xml"},
            id="one",
        ),
        pytest.param(
            b'<!--\nHeader: Content-type: application/rss+xml;charset= "us-ascii"\n'
            b"Header: Content-Location: http://x.example/\n-->",
            {
                "Content-type": 'application/rss+xml;charset= "us-ascii"',
                "Content-Location": "http://x.example/",
            },
            id="two",
        ),
        pytest.param(b"<!--\nDescription: x\n-->", {}, id="none"),
        pytest.param(b"<rss/>\n<!--\nHeader: X: y\n", {}, id="unclosed-comment"),
    ],
)
def test_declared_headers(comment: bytes, headers: dict[str, str]) -> None:
    assert declared_headers(comment) == headers
