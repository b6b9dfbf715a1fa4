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
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from config.sources import Source
from ingest.model import RawEntry
from ingest.text import collapse

SCHEME = "1"
"""Bumped when normalization changes, so the same raw entry is taken once more."""
SEEN_FOR_MS = 7 * 24 * 3600 * 1000
"""How long a digest is kept after the last document that carried it."""


def raw_digests(source: Source, base_url: str, entries: Sequence[RawEntry]) -> list[str | None]:
    """A digest per entry (``None``: this entry always takes the full path)."""
    salt = f"{SCHEME}\x1f{source.to_json()}\x1f{base_url}\x1f".encode()
    names = [collapse(e.native_id or "") or collapse(e.link or "") for e in entries]
    repeated = Counter(names)
    return [
        None
        if name and repeated[name] > 1
        else hashlib.blake2b(salt + repr(entry).encode(), digest_size=10).hexdigest()
        for name, entry in zip(names, entries, strict=True)
    ]
