"""IPTC's own test material (../shared/corpora/iptc): ninjs 1.0-3.1 and NewsML-G2.

ninjs: every ``should_pass`` file and every example ingests with ``kind: auto``; every
``should_fail`` file is refused when the source pins the version of its folder (the test suite
is organised by version, and several files are valid ninjs of a later version than their
folder's, so only the pin can refuse them); without a pin, all but those are refused too. Every
refusal names the field (a JSON path or the JSON position) and the rule.

NewsML-G2: every ``should_pass`` file parses (news items into entries, other items into none),
every ``should_fail`` file is refused with the schema's reason, except those that are valid
NewsML-G2 2.35 and fail only the older schema of their folder (listed below with the reason).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.errors import EntryError, ParseError
from ingest.model import RawEntry
from ingest.normalize import normalize
from ingest.parse import parse
from tests.support import corpus

pytestmark = pytest.mark.corpus

NOW = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
PIN = {"1.x_dev": "1.x-dev", "2.x_dev": "2.x-dev"}
"""Test-suite folders whose name is not the version string a source would pin."""

NINJS_LATER_VERSION = {
    "1.0/should_fail/014_type_component.json": "type 'component' is valid from ninjs 1.2",
    "1.0/should_fail/016_infosource.json": "infosource is valid from ninjs 1.2",
    "1.1/should_fail/001_type_component.json": "type 'component' is valid from ninjs 1.2",
    "1.1/should_fail/002_infosource.json": "infosource is valid from ninjs 1.2",
    "2.1/should_fail/001_bad_association.json": "valid ninjs 2.0 (open associations)",
    "2.1/should_fail/002_good_association_but_no_name.json": "valid ninjs 2.0",
    "2.1/should_fail/003_good_association_but_no_uri.json": "valid ninjs 2.0",
    "3.0/should_fail/006_bad_urgency.json": "a fractional urgency is valid before 3.0",
}
"""should_fail files that conform to another ninjs version: refused only with the pin."""

NINJS_EXAMPLES_OFF_SCHEMA = {
    "2.1/schema-extension/extension-schema.json": "a JSON Schema, not a ninjs document",
    "2.1/schema-extension/extension-example.json": (
        "carries 'foofoo', valid only under its own extension schema beside it"
    ),
    "3.0/collection/20231016-event-timeline-sample.json": (
        "uses 'estimatedStartDate', a draft name the released 3.0 schema calls "
        "'expectedStartDate', and an object where 3.0 wants a list of events"
    ),
}
"""Examples that do not conform to any released schema: refused, with the reason."""

NEWSML_LATER_VERSION = {
    "2.28/should_fail/2.29_affiliation_org_org.xml": "valid from 2.29 (declares 2.29)",
    "2.28/should_fail/2.29_retiring_scheme_scheme.xml": "valid from 2.29 (declares 2.29)",
    "2.28/should_fail/2.29_retiring_scheme_schememeta.xml": "valid from 2.29 (declares 2.29)",
    "2.29/should_fail/002_newsitem_with_no_catalog.xml": "catalogRef is optional in 2.35",
    "2.30/should_fail/CR00215_hasInstrument_on_concept.xml": "valid from 2.31 (declares 2.31)",
}
"""should_fail files that are valid NewsML-G2 2.35, the schema wirefeed validates against."""

_REASON = re.compile(r"(\$[\w.\[\]'-]*: \w+: )|(line \d+, column \d+)")


def _normalized(raw: RawEntry) -> bool:
    """Whether the entry normalizes; only an entry with nothing to show may not (the
    pipeline skips and counts it, as for any feed)."""
    try:
        item = normalize(raw, "iptc", now=NOW, base_url="http://corpus.example/")
    except EntryError:
        assert not (raw.title or raw.summary or raw.content or raw.link)
        return False
    assert item.identity
    return True


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _ninjs_root() -> Path:
    return corpus("iptc", "ninjs")


def test_every_ninjs_should_pass_file_ingests_with_kind_auto() -> None:
    suite = _ninjs_root() / "validation" / "test_suite"
    files = _files(suite, "*/should_pass/*.json")
    assert len(files) == 158
    for path in files:
        feed = parse(path.read_bytes(), {}, "auto")
        assert feed.format.startswith("ninjs"), _rel(path, suite)
        assert len(feed.entries) == 1, _rel(path, suite)
        _normalized(feed.entries[0])


def test_every_ninjs_should_fail_file_is_refused_against_its_version() -> None:
    suite = _ninjs_root() / "validation" / "test_suite"
    files = _files(suite, "*/should_fail/*.json")
    assert len(files) == 70
    for path in files:
        folder = path.parent.parent.name
        with pytest.raises(ParseError) as caught:
            parse(path.read_bytes(), {}, "auto", ninjs_version=PIN.get(folder, folder))
        message = str(caught.value)
        assert _REASON.search(message), (_rel(path, suite), message)
        assert "\n" not in message


def test_ninjs_should_fail_files_are_refused_without_a_pin_unless_valid_elsewhere() -> None:
    suite = _ninjs_root() / "validation" / "test_suite"
    accepted = []
    for path in _files(suite, "*/should_fail/*.json"):
        try:
            parse(path.read_bytes(), {}, "auto")
        except ParseError:
            continue
        accepted.append(_rel(path, suite))
    assert accepted == sorted(NINJS_LATER_VERSION)


def test_every_ninjs_example_ingests() -> None:
    examples = _ninjs_root() / "examples"
    files = _files(examples, "**/*.json")
    assert len(files) >= 40
    for path in files:
        name = _rel(path, examples)
        if name in NINJS_EXAMPLES_OFF_SCHEMA:
            with pytest.raises(ParseError):
                parse(path.read_bytes(), {}, "auto")
            continue
        feed = parse(path.read_bytes(), {}, "auto")
        assert feed.entries, name
        shown = [_normalized(raw) for raw in feed.entries]
        assert any(shown), name


def test_ninjs_fields_of_a_3_0_example() -> None:
    path = _ninjs_root() / "examples" / "3.0" / "ap_video.json"
    (raw,) = parse(path.read_bytes(), {}, "auto").entries
    assert raw.native_id and raw.native_id.startswith("http")
    assert raw.title and raw.updated is not None and raw.published is not None
    assert raw.status == "usable"


def _newsml_suite() -> Path:
    return corpus("iptc", "newsml-g2", "tests", "unit_test_files")


def test_every_newsml_should_pass_file_parses() -> None:
    suite = _newsml_suite()
    files = _files(suite, "**/should_pass/*.xml")
    assert len(files) >= 140
    with_news = 0
    for path in files:
        feed = parse(path.read_bytes(), {}, "auto")
        assert feed.format == "newsml-g2", _rel(path, suite)
        with_news += bool(feed.entries)
        for raw in feed.entries:
            _normalized(raw)
    assert with_news >= 100


def test_every_newsml_should_fail_file_is_refused_with_the_reason() -> None:
    suite = _newsml_suite()
    accepted = []
    for path in _files(suite, "**/should_fail/*.xml"):
        try:
            parse(path.read_bytes(), {}, "auto")
        except ParseError as exc:
            assert "NewsML-G2" in str(exc) and "\n" not in str(exc)
            continue
        accepted.append(_rel(path, suite))
    assert accepted == sorted(NEWSML_LATER_VERSION)


def test_newsml_fields_of_the_news_item_listing() -> None:
    path = corpus("iptc", "newsml-g2", "examples", "LISTING_1_A_NewsML-G2_News_Item.xml")
    (raw,) = parse(path.read_bytes(), {}, "auto").entries
    assert raw.native_id == "urn:newsml:acmenews.com:20161018:US-FINANCE-FED"
    assert raw.version == 11
    assert raw.title == 'Fed to halt QE to avert "bubble"'
    assert raw.slugline == "US-Finance-Fed"
    assert raw.embargoed == datetime(2018, 10, 23, 12, 0, tzinfo=UTC)
    assert raw.status == "usable"
    assert raw.note and raw.note.startswith("Note to editors")
    assert raw.signals == ("update",)
    assert raw.located == "Berlin"
    assert "labour market" in raw.subjects
    assert raw.authors == ("Meredith Jameson",)
