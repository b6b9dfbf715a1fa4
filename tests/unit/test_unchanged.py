"""Raw-entry digests (ingest.unchanged): what makes an entry the same one the source sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from config.sources import Source
from ingest.model import RawEntry
from ingest.unchanged import collides, cut, raw_digests, with_digests

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


def channel(*items: bytes, title: bytes = b"Harbor wire", ns: bytes = b"") -> bytes:
    return (
        b'<rss version="2.0"' + ns + b"><channel><title>" + title + b"</title>"
        b"<lastBuildDate>Sun, 29 Nov 2026 14:00:00 GMT</lastBuildDate>"
        + b"".join(items)
        + b"</channel></rss>"
    )


def item(guid: str, title: str = "Ferry service resumes") -> bytes:
    return f"<item><guid>{guid}</guid><title>{title}</title></item>".encode()


def cut_digests(body: bytes, source: Source = SOURCE, base: str = BASE) -> tuple[str, ...]:
    found = cut(source, base, body, max_entries=500)
    assert found is not None
    return found.digests


def test_an_entry_s_bytes_have_one_digest_wherever_it_stands_and_whatever_the_channel_says():
    (alone,) = cut_digests(channel(item("h-1")))
    moved = cut_digests(channel(item("h-0"), item("h-1"), title=b"Harbor wire at 3 pm"))
    assert moved[1] == alone and moved[0] != alone
    assert cut_digests(channel(item("h-1", "Ferry service resumes at noon"))) != (alone,)
    # what changes how the entry parses changes its digest
    assert cut_digests(channel(item("h-1"), ns=b' xml:base="https://other.example/"')) != (alone,)
    assert cut_digests(channel(item("h-1")), replace(SOURCE, timezone="Asia/Tokyo")) != (alone,)
    assert cut_digests(channel(item("h-1")), base="https://harbor.example/b.rss") != (alone,)


def test_documents_cut_whole_when_past_max_entries_or_with_tombstones():
    body = channel(item("h-1"), item("h-2"))
    assert cut(SOURCE, BASE, body, max_entries=1) is None
    tomb = b' xmlns:at="http://purl.org/atompub/tombstones/1.0"'
    assert cut(SOURCE, BASE, channel(item("h-1"), ns=tomb), max_entries=500) is None


def test_an_entry_sharing_its_id_with_one_cut_out_is_a_collision():
    body = channel(
        item("h-1"),
        item("a&amp;b"),
        item("h-10 and more"),
        item("<![CDATA[c-1]]>"),
        item("stories/s-4"),
        item("h-\u00e9"),
        b'<item rdf:about="r-5"><title>T</title></item>',
    )
    found = cut(SOURCE, BASE, body, max_entries=500)
    assert found is not None
    gone = frozenset(range(len(found.spans)))

    def collides_with(native_id: str) -> bool:
        return collides([replace(ENTRY, native_id=native_id)], body, found, gone)

    for same in ("h-1", "a&b", "c-1", "h-\u00e9", "r-5"):
        assert collides_with(same), same
    # feedparser resolves a permalink guid against the document's URL
    assert collides_with("https://harbor.example/stories/s-4")
    assert not collides_with("https://harbor.example/stories/s-44")
    assert not collides_with("h-2")
    assert not collides_with("h-10")  # only part of another id
    assert not collides([replace(ENTRY, native_id=None)], body, found, gone)
    assert not collides([ENTRY], body, found, frozenset())


def test_entries_repeating_an_id_among_those_parsed_get_no_digest():
    digests = ("d0", "d1", "d2")
    twin = replace(ENTRY, title="Ferry service halted")
    lone = replace(ENTRY, native_id="h-3")
    assert with_digests([(0, ENTRY), (1, twin), (2, lone)], digests) == [None, None, "d2"]
