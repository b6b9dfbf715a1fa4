"""Unchanged entries are known before they are normalized: a digest of each raw entry.

Most of a re-poll is entries the source sent before, byte for byte. Normalizing them (HTML
sanitized, converted to text, fingerprinted) only to find them UNCHANGED is most of the cost
of a re-poll, so the pipeline first asks the store which of a document's raw entries it has
seen (one read per document) and normalizes only the others.

A digest covers the parsed entry, the source's configuration (filters, time zone, parser
options: a change to any of them makes every entry new again, so the new rules apply) and
the document's URL, which relative links resolve against. :data:`SCHEME` is bumped whenever
normalization changes what it makes of the same entry, so an upgrade takes every entry once
more. An entry whose native id (or, without one, whose link) appears twice in the document
gets no digest and always takes the full path: the repair of colliding ids
(:func:`ingest.dedupe.repair_identities`) needs to see all of them.

RSS and Atom documents are checked before they are even parsed: :mod:`ingest.parse.skim`
cuts them into their entries' bytes, and :func:`cut` digests those (with the surroundings
each entry's parsing depends on), so only the entries not seen are parsed. After the parse,
:func:`with_digests` applies the rule on repeated ids to the entries parsed, and
:func:`collides` says when one of them shares its id with an entry that was cut out (then
the whole document is parsed after all, so the repair sees both).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from config.sources import Source
from ingest.model import RawEntry
from ingest.parse import skim
from ingest.parse.xml import TOMBSTONES_NS
from ingest.text import collapse

SCHEME = "1"
"""Bumped when normalization changes, so the same raw entry is taken once more."""
SEEN_FOR_MS = 7 * 24 * 3600 * 1000
"""How long a digest is kept after the last document that carried it."""


def raw_digests(source: Source, base_url: str, entries: Sequence[RawEntry]) -> list[str | None]:
    """A digest per entry (``None``: this entry always takes the full path)."""
    salt = f"{SCHEME}\x1f{source.to_json()}\x1f{base_url}\x1f".encode()
    names = [_name(e) for e in entries]
    repeated = Counter(names)
    return [
        None
        if name and repeated[name] > 1
        else hashlib.blake2b(salt + repr(entry).encode(), digest_size=10).hexdigest()
        for name, entry in zip(names, entries, strict=True)
    ]


def _name(entry: RawEntry) -> str:
    return collapse(entry.native_id or "") or collapse(entry.link or "")


@dataclass(frozen=True, slots=True)
class Cut:
    """An RSS or Atom document's entries as bytes: their spans and a digest of each."""

    spans: tuple[tuple[int, int], ...]
    digests: tuple[str, ...]


def cut(source: Source, base_url: str, body: bytes, max_entries: int) -> Cut | None:
    """The document's entries and their digests, or ``None`` when it must be parsed whole
    first: :func:`ingest.parse.skim.split` is unsure of it, it has more than ``max_entries``
    entries (those past it are left out, in document order) or Atom tombstones (they are
    read from the whole document)."""
    if TOMBSTONES_NS.encode() in body:
        return None
    found = skim.split(body)
    if found is None or len(found.spans) > max_entries:
        return None
    salt = hashlib.blake2b(digest_size=10)
    salt.update(f"{SCHEME}\x1fbytes\x1f{source.to_json()}\x1f{base_url}\x1f".encode())
    salt.update(found.context + b"\x1f")
    digests = []
    for n in range(len(found.spans)):
        one = salt.copy()
        one.update(found.entry(n))
        digests.append(one.hexdigest())
    return Cut(found.spans, tuple(digests))


def with_digests(
    entries: Sequence[tuple[int, RawEntry]], digests: Sequence[str]
) -> list[str | None]:
    """For parsed entries (each with the number of the span it was parsed from), their
    span's digest; ``None`` for those whose id (or link) is repeated among them."""
    repeated = Counter(name for _n, e in entries if (name := _name(e)))
    return [None if repeated[_name(e)] > 1 else digests[n] for n, e in entries]


def collides(entries: Sequence[RawEntry], body: bytes, cut: Cut, dropped: frozenset[int]) -> bool:
    """Whether an entry parsed from what was left of the document may share its native id
    with an entry cut out of it. The ids cut out are read from their bytes (``guid``,
    ``id``, ``rdf:about``) as feedparser would take them, save that a relative id counts as
    any id ending in it (feedparser resolves a permalink guid against the document's URL):
    a doubt is a collision, and the whole document is then parsed."""
    ids = {e.native_id for e in entries if e.native_id}
    if not ids or not dropped:
        return False
    spans = [cut.spans[n] for n in dropped]
    written = {w for start, end in spans for w in _written_ids(body[start:end])}
    return any(_may_name(native, w) for native in ids for w in written)


_ID_ELEMENT = re.compile(rb"<(?:[\w.\-]+:)?(guid|id)\b[^>]*>(.*?)</(?:[\w.\-]+:)?\1\s*>", re.S)
_ABOUT = re.compile(rb"""\brdf:about\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_LEADING_DOTS = re.compile(r"^(?:\.{1,2}/|/)+")


def _written_ids(entry: bytes) -> set[str]:
    """The ids an entry's bytes give, as written (CDATA and character references read)."""
    raw = [m.group(2) for m in _ID_ELEMENT.finditer(entry)]
    raw += [m.group(1) or m.group(2) for m in _ABOUT.finditer(entry)]
    texts = (_CDATA.sub(r"\1", r.decode("utf-8", "replace")) for r in raw)
    return {html.unescape(t).strip() for t in texts}


def _may_name(native: str, written: str) -> bool:
    """Whether the id feedparser gave (``native``) may be the one ``written``."""
    if native == written or "\ufffd" in written:  # not UTF-8: cannot tell, so it may be
        return True
    if not written or _ABSOLUTE.match(written):
        return False
    tail = _LEADING_DOTS.sub("", written)
    if not tail or not native.endswith(tail):
        return False
    return tail[0] in "?#" or native[: -len(tail)].endswith(("/", "?", "#"))
