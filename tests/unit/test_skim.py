"""Cutting an RSS or Atom document into its entries' bytes (ingest.parse.skim)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parse import parse, skim

PROLOG = b'<?xml version="1.0" encoding="utf-8"?>\n'
CHANNEL = b'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'


def rss(*items: bytes, title: bytes = b"Harbor wire") -> bytes:
    return (
        PROLOG + CHANNEL + b"<title>" + title + b"</title>" + b"".join(items) + b"</channel></rss>"
    )


def item(n: int, text: bytes = b"Crews cleared the landing.") -> bytes:
    return (
        b"<item><guid>h-%d</guid><title>Ferry update %d</title>"
        b"<description>%s</description></item>" % (n, n, text)
    )


def test_an_rss_channel_is_cut_into_its_items() -> None:
    items = [item(1), item(2), item(3)]
    found = skim.split(rss(*items))
    assert found is not None
    assert [found.entry(n) for n in range(3)] == items
    # what every item's parsing depends on: the prolog and the start tags around the items
    assert found.context == PROLOG + CHANNEL


def test_the_context_leaves_out_the_channel_s_own_fields() -> None:
    one, other = skim.split(rss(item(1))), skim.split(rss(item(1), title=b"Harbor wire, 3 pm"))
    assert one is not None and other is not None
    assert one.context == other.context


def test_atom_entries_and_rss_1_items_are_cut_too() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://harbor.example/">'
        b"<title>T</title><entry><id>a</id></entry><entry><id>b</id></entry></feed>"
    )
    found = skim.split(atom)
    assert found is not None and [found.entry(n) for n in (0, 1)] == [
        b"<entry><id>a</id></entry>",
        b"<entry><id>b</id></entry>",
    ]
    assert b"xml:base" in found.context
    rdf = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><items/></channel>'
        b'<item rdf:about="a"><title>A</title></item></rdf:RDF>'
    )
    found = skim.split(rdf)
    assert found is not None and found.entry(0).startswith(b'<item rdf:about="a">')
    assert b"<channel" not in found.context  # closed before the items


def test_markup_inside_cdata_comments_and_attributes_is_not_an_entry() -> None:
    tricky = [
        item(1, b"<![CDATA[<p>an </item> in the text</p>]]>"),
        b"<!-- <item>commented out</item> -->",
        b'<item><title a="x > y">T</title><guid>h-2</guid></item>',
        b"<?pi <item> ?>",
    ]
    found = skim.split(rss(*tricky))
    assert found is not None
    assert [found.entry(n) for n in range(2)] == [tricky[0], tricky[2]]


def test_whatever_the_scan_is_unsure_of_is_parsed_whole() -> None:
    atom_ns = b'xmlns:atom="http://www.w3.org/2005/Atom"'
    unsure = {
        "prefixed entry": b"<rss " + atom_ns + b"><atom:entry></atom:entry></rss>",
        "entry in an entry": rss(b"<item><item></item></item>"),
        "self-closing": rss(b"<item/>"),
        "never closed": rss(b"<item><title>T</title>"),
        "items and entries": rss(item(1), b"<entry></entry>"),
        "utf-16": rss(item(1)).decode().encode("utf-16"),
        "end tag closing nothing": rss(item(1)) + b"</rss>",
        "a declaration in the body": rss(b"<!ELEMENT x ANY>", item(1)),
        "an unclosed CDATA section": rss(b"<![CDATA[ ", item(1)),
        "no entries": rss(),
        "not XML": b"just text, no markup",
    }
    for why, body in unsure.items():
        assert skim.split(body) is None, why


def test_a_doctype_with_entities_is_part_of_the_context() -> None:
    body = (
        b'<!DOCTYPE rss [<!ENTITY wire "Harbor wire">]><rss version="2.0"><channel>'
        b"<item><title>&wire; update</title></item></channel></rss>"
    )
    found = skim.split(body)
    assert found is not None and b"<!ENTITY wire" in found.context


def test_cutting_out_entries_leaves_the_rest_byte_for_byte() -> None:
    items = [item(n) for n in range(5)]
    body = rss(*items)
    found = skim.split(body)
    assert found is not None
    assert found.without(set()) == body
    assert found.without({0, 2, 4}) == rss(items[1], items[3])
    assert found.without(set(range(5))) == rss()


TEXT = st.text(
    st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"
    ),
    max_size=40,
)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, int]:
    rows = []
    for n in range(draw(st.integers(1, 5))):
        title, body = draw(TEXT), draw(TEXT)
        wrapped = f"<![CDATA[{body.replace(']]>', '')}]]>" if draw(st.booleans()) else escape(body)
        rows.append(
            f"<item><guid>g{n}</guid><title>{escape(title)}</title>"
            f"<description>{wrapped}</description></item>"
        )
    doc = f'<rss version="2.0"><channel><title>T</title>{"".join(rows)}</channel></rss>'
    return doc.encode(), len(rows)


@settings(max_examples=60, deadline=None)
@given(documents(), st.data())
def test_the_entries_left_parse_as_they_do_in_the_whole_document(
    doc: tuple[bytes, int], data: st.DataObject
) -> None:
    body, count = doc
    found = skim.split(body)
    assert found is not None and len(found.spans) == count
    dropped = data.draw(st.sets(st.integers(0, count - 1)))
    whole = parse(body, {}).entries
    part = parse(found.without(dropped), {}).entries
    assert list(part) == [e for n, e in enumerate(whole) if n not in dropped]
