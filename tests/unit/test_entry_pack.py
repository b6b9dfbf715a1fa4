"""Entries are stored packed (compressed JSON); what was stored before packing still reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.model import PACKED, Entry
from tests.support.stories import CHENNAI_ENTRY

AT = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)

SUMMARY = (
    "<p>The harbor authority closed the east terminal after a fuel tank began leaking early on"
    " Saturday, officials said.</p><p>Crews from three towns worked through the night.</p>"
)


def entry(summary: str = SUMMARY, *, title: str = "Harbor closes east terminal") -> Entry:
    """An entry with every field set (a correction, two versions, an author)."""
    return replace(
        CHENNAI_ENTRY,
        title=title,
        summary_html=summary,
        authors=("Ida Marsh",),
        version=2,
        versions=((1, "1e" * 16, AT), (2, "0f" * 16, AT + timedelta(minutes=5))),
        copy_key="3c" * 16,
        correction_note="Corrects the number of towns.",
        corrected_at=AT + timedelta(minutes=5),
    )


def test_a_long_entry_is_stored_packed_and_much_smaller() -> None:
    e = entry()
    packed = e.pack()
    assert packed.startswith(PACKED)
    assert len(packed) < 0.75 * len(e.to_json())
    assert Entry.unpack(packed) == e
    assert Entry.unpack(packed.encode()) == e  # a bytes client reads it too


def test_even_a_short_entry_packs_to_under_half() -> None:
    e = entry("<p>Short.</p>", title="Short")
    assert len(e.pack()) < 0.5 * len(e.to_json())
    assert Entry.unpack(e.pack()) == e


def test_entries_stored_before_packing_read_as_they_were() -> None:
    e = entry()
    assert Entry.unpack(e.to_json()) == e
    assert Entry.unpack(e.to_json().encode()) == e


def test_packing_is_deterministic() -> None:
    assert entry().pack() == entry().pack()


@settings(max_examples=200, deadline=None)
@given(summary=st.text(max_size=3000), title=st.text(max_size=200))
def test_any_text_survives_packing(summary: str, title: str) -> None:
    e = entry(summary, title=title)
    assert Entry.unpack(e.pack()) == e
