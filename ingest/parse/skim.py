"""The entries of an RSS or Atom document found in its bytes, before anything parses it.

A re-poll brings back mostly entries the source sent before, byte for byte, and parsing them
(feedparser takes most of a re-poll's CPU) only to find them unchanged is wasted. So the
pipeline first cuts the document into its entries' byte spans (:func:`split`), asks the store
which spans it has seen (see :mod:`ingest.unchanged`), and hands feedparser the document with
those spans cut out (:meth:`Split.without`): what is left parses as the same feed, with only
the entries that may be new.

The scan knows just enough XML to be sure of the spans: it steps over comments, CDATA
sections, processing instructions and quoted attribute values, and it finds ``<item>`` and
``<entry>`` elements without a namespace prefix. Whenever it is unsure it gives up and the
document is parsed whole, as before: a prefixed entry element (``<atom:entry>``), an entry
inside an entry, one never closed, a self-closing one, RSS items mixed with Atom entries,
an encoding that is not ASCII-compatible, or tags outside the entries that do not nest.

An entry parses the same with or without its neighbours (the suite proves it over
feedparser's own test corpus, ``tests/corpus/test_skim_corpus.py``), given the same
surroundings: the document's prolog (XML declaration, DOCTYPE and its entities) and the start
tags of the elements around the entries, which carry namespaces, ``xml:base`` and
``xml:lang``. Those are :attr:`Split.context`, part of every span's digest; the rest of the
channel (its title, its ``lastBuildDate``) changes without changing any entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

_MARKUP = re.compile(
    rb"<!\[CDATA\[|<!--|<\?|<!|<(/?)([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)",
)
"""What the scan stops at: the openings of markup that is not a tag, and tags (group 1: the
slash of an end tag, group 2: the name)."""
_ENDS = {b"<![CDATA[": b"]]>", b"<!--": b"-->", b"<?": b"?>"}
_TAG_REST = re.compile(rb"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(/?)>""")
"""The rest of a start tag after its name: attributes with quoted values, then ``>`` or
``/>`` (group 1: the slash of a self-closing tag)."""
_END_REST = re.compile(rb"\s*>")
_DOCTYPE_REST = re.compile(rb"""(?:[^\[>"']|"[^"]*"|'[^']*')*(?:\[.*?\]\s*)?>""", re.S)
"""The rest of ``<!DOCTYPE ...>``, an internal subset in brackets included."""
ENTRY_NAMES = (b"item", b"entry")


@dataclass(frozen=True, slots=True)
class Split:
    """A document cut into its entries: ``spans`` are their (start, end) byte offsets, in
    document order; ``context`` the bytes every entry's parsing depends on besides its own."""

    body: bytes
    spans: tuple[tuple[int, int], ...]
    context: bytes

    def entry(self, n: int) -> bytes:
        """The bytes of the ``n``-th entry, its start and end tags included."""
        start, end = self.spans[n]
        return self.body[start:end]

    def without(self, dropped: AbstractSet[int]) -> bytes:
        """The document with the entries numbered in ``dropped`` cut out."""
        return without(self.body, self.spans, dropped)


def without(body: bytes, spans: Sequence[tuple[int, int]], dropped: AbstractSet[int]) -> bytes:
    """``body`` with the spans numbered in ``dropped`` cut out."""
    if not dropped:
        return body
    parts, at = [], 0
    for n, (start, end) in enumerate(spans):
        if n in dropped:
            parts.append(body[at:start])
            at = end
    parts.append(body[at:])
    return b"".join(parts)


def split(body: bytes) -> Split | None:
    """The entries of ``body``, or ``None`` when it cannot be cut safely (parse it whole)."""
    if b"\x00" in body[:512]:  # UTF-16 or UTF-32: the byte patterns below do not apply
        return None
    scan = _Scan(body)
    try:
        scan.run()
    except _Unsure:
        return None
    if not scan.spans:
        return None
    return Split(body, tuple(scan.spans), scan.context)


class _Unsure(Exception):
    """The document is not one the scan can cut with certainty."""


class _Scan:
    """One pass over a document: the entry spans, and the start tags open around them."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.spans: list[tuple[int, int]] = []
        self.context = b""
        self._open: list[tuple[bytes, bytes]] = []  # (name, start tag) open outside entries
        self._prolog_end: int | None = None  # where the root element starts
        self._name: bytes | None = None  # the entry element name: item or entry
        self._entry_start: int | None = None
        self._depth_in_entry = 0

    def run(self) -> None:
        body, at = self.body, 0
        while (m := _MARKUP.search(body, at)) is not None:
            at = self._step(m)
        if self._entry_start is not None or self._open:
            raise _Unsure  # an entry (or the root) never closed

    def _step(self, m: re.Match[bytes]) -> int:
        token = m.group(0)
        if m.group(2) is None:
            return self._skip_special(token, m.start(), m.end())
        name = m.group(2)
        if m.group(1):
            return self._end_tag(name, m.start(), m.end())
        return self._start_tag(name, m.start(), m.end())

    def _skip_special(self, token: bytes, start: int, after: int) -> int:
        if token == b"<!":
            if self.body.startswith(b"DOCTYPE", after) and self._prolog_end is None:
                doctype = _DOCTYPE_REST.match(self.body, after + 7)
                if doctype is None:
                    raise _Unsure
                return doctype.end()
            raise _Unsure  # a declaration anywhere else
        end = self.body.find(_ENDS[token], after)
        if end < 0:
            raise _Unsure
        return end + len(_ENDS[token])

    def _start_tag(self, name: bytes, start: int, after: int) -> int:
        rest = _TAG_REST.match(self.body, after)
        if rest is None:
            raise _Unsure
        closed = bool(rest.group(1))
        local = name.rpartition(b":")[2]
        if self._entry_start is not None:  # inside an entry: only entries matter
            if local in ENTRY_NAMES and (name == self._name or (name == local and not closed)):
                raise _Unsure  # an entry inside an entry
        elif local in ENTRY_NAMES:
            self._open_entry(name, start, unsure=name != local or closed)
        else:
            if self._prolog_end is None:
                self._prolog_end = start
            if not closed:
                self._open.append((name, self.body[start : rest.end()]))
        return rest.end()

    def _open_entry(self, name: bytes, start: int, *, unsure: bool) -> None:
        if unsure or self._name not in (None, name) or not self._open:
            raise _Unsure  # prefixed, self-closing, mixed kinds, or no root around it
        if not self.spans:
            self.context = self._context()
        elif self._context() != self.context:
            raise _Unsure  # entries in different places
        self._name, self._entry_start = name, start

    def _end_tag(self, name: bytes, start: int, after: int) -> int:
        rest = _END_REST.match(self.body, after)
        if rest is None:
            raise _Unsure
        if self._entry_start is not None:
            if name == self._name:
                self.spans.append((self._entry_start, rest.end()))
                self._entry_start = None
            return rest.end()
        if not self._open or self._open[-1][0] != name:
            raise _Unsure  # an end tag that closes nothing open
        self._open.pop()
        return rest.end()

    def _context(self) -> bytes:
        prolog = self.body[: self._prolog_end or 0]
        return prolog + b"".join(tag for _name, tag in self._open)
