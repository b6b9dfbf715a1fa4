"""Raw-entry digests (ingest.unchanged): what makes an entry the same one the source sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from config.sources import Source
from ingest.model import RawEntry
from ingest.unchanged import raw_digests

SOURCE = Source(id="harbor", url="https://harbor.example/wire.rss")
BASE = "https://harbor.example/wire.rss"
WHEN = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)
ENTRY = RawEntry(
    native_id="h-1",
    title="Ferry service resumes",
    link="https://harbor.example/h-1",
    summary="<p>Crews cleared the landing.</p>",
    published=WHEN,
)


def digest(entry: RawEntry, source: Source = SOURCE, base: str = BASE) -> str | None:
    (found,) = raw_digests(source, base, [entry])
    return found


def test_the_same_entry_has_the_same_digest_and_any_change_another():
    assert digest(ENTRY) == digest(replace(ENTRY))
    assert digest(ENTRY) is not None
    changes = [
        replace(ENTRY, title="Ferry service resumes at noon"),
        replace(ENTRY, summary="<p>Crews cleared the landing overnight.</p>"),
        replace(ENTRY, updated=WHEN),
        replace(ENTRY, status="canceled"),
        replace(ENTRY, subjects=("transport",)),
        replace(ENTRY, native_id="h-2"),
    ]
    found = {digest(e) for e in changes}
    assert len(found) == len(changes) and digest(ENTRY) not in found


def test_the_source_config_and_the_document_url_are_part_of_the_digest():
    assert digest(ENTRY, replace(SOURCE, timezone="America/New_York")) != digest(ENTRY)
    assert digest(ENTRY, replace(SOURCE, block={"title": "ferry"})) != digest(ENTRY)
    assert digest(ENTRY, base="https://harbor.example/other.rss") != digest(ENTRY)


def test_entries_sharing_an_id_or_a_link_always_take_the_full_path():
    other = replace(ENTRY, title="Ferry service halted")
    assert raw_digests(SOURCE, BASE, [ENTRY, other])[:2] == [None, None]
    unnamed = replace(ENTRY, native_id=None)
    twin = replace(other, native_id=None)
    lone = replace(ENTRY, native_id="h-3", link="https://harbor.example/h-3")
    first, second, third = raw_digests(SOURCE, BASE, [unnamed, twin, lone])
    assert (first, second) == (None, None) and third is not None
    # Ids count as the identity does: blank-padded ids are one id.
    padded = replace(other, native_id=" h-1 ")
    assert raw_digests(SOURCE, BASE, [ENTRY, padded]) == [None, None]
