"""Cutting entries out before parsing changes nothing the parser reads, over feedparser's own
test corpus (../shared/corpora/feedparser-tests/tests).

A re-poll parses an RSS or Atom document with the entries it has seen cut out of its bytes
(:mod:`ingest.parse.skim`). That is only right if every entry left parses exactly as it does
in the whole document, and the feed's own fields too. For every file the skim agrees to cut
(and whose entries it counted right: the pipeline checks the count, and parses the whole
document when it is off), each way of cutting below must give exactly the whole document's
entries at the places kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import ParseError
from ingest.model import ParsedFeed
from ingest.parse import parse, skim
from tests.support import CORPORA, corpus, declared_headers

pytestmark = pytest.mark.corpus

PARTS = ("feedparser-tests", "tests")
FETCHED_FROM = "http://corpus.example/feed.xml"
MIN_CUT = 1150
"""Files the skim cuts. Measured: 1,176 of the 2,111, which is all but 14 of the 1,190 files
with entries that parse; those 14 have prefixed entry elements, an unclosed CDATA section,
tags the scan cannot read, or entries not marked up as item or entry (CDF)."""


def headers(body: bytes) -> dict[str, str]:
    return {"content-location": FETCHED_FROM, **declared_headers(body)}


def cuts(n: int) -> list[set[int]]:
    """Every other entry, all but the last, and all of them."""
    return [{i for i in range(n) if i % 2 == 0}, set(range(n - 1)), set(range(n))]


def feed_fields(feed: ParsedFeed) -> tuple[object, ...]:
    return feed.format, feed.title, feed.link, feed.ttl


def check(path: Path) -> bool:
    """Whether the skim cut the file (asserting that every cut parses as the whole)."""
    body = path.read_bytes()
    try:
        whole = parse(body, headers(body))
    except ParseError:
        return False
    found = skim.split(body)
    if found is None or len(found.spans) != len(whole.entries):
        return False
    for dropped in cuts(len(found.spans)):
        try:
            part = parse(found.without(dropped), headers(body))
        except ParseError:
            # Without entries some documents are no feed (their format is unknown): the
            # pipeline then parses the whole document.
            assert whole.format == "unknown", path
            continue
        kept = [e for n, e in enumerate(whole.entries) if n not in dropped]
        assert list(part.entries) == kept, (path.name, sorted(dropped))
        assert feed_fields(part) == feed_fields(whole), path.name
    return True


def corpus_files() -> list[object]:
    root = CORPORA.joinpath(*PARTS)
    if not root.is_dir():
        return [pytest.param(None, id="corpus-absent")]
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return [pytest.param(p, id=p.relative_to(root).as_posix()) for p in files]


@pytest.mark.parametrize("path", corpus_files())
def test_an_entry_parses_the_same_with_its_neighbours_cut_out(path: Path | None) -> None:
    corpus(*PARTS)
    assert path is not None
    check(path)


def test_the_skim_cuts_nearly_every_file_with_entries() -> None:
    root = corpus(*PARTS)
    cut = sum(skim.split(p.read_bytes()) is not None for p in root.rglob("*") if p.is_file())
    assert cut >= MIN_CUT
