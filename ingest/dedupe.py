"""Is this item new, a new version of one we have, or nothing new? A pure decision.

The decision looks only at the item and what the store knows about the item's identity
(:class:`~ingest.model.Known`). It never uses a time high-water mark: a back-dated item that we
have not seen is new, whatever its date.
"""

from __future__ import annotations

import hashlib

from ingest.model import Action, Decision, Item, Known


def entry_id(source_id: str, identity: str) -> str:
    """The stable id of the entry an identity maps to: the same input always gives the same id."""
    digest = hashlib.sha256(f"{source_id}\x00{identity}".encode()).hexdigest()
    return digest[:20]


def decide(item: Item, known: Known | None) -> Decision:
    """Same identity and same content: UNCHANGED. Same identity, other content: UPDATE to the
    next version of the same entry (never a second entry). Unknown identity: NEW, version 1.
    """
    if known is None:
        return Decision(Action.NEW, entry_id(item.source_id, item.identity), 1)
    if known.content_hash == item.content_hash:
        return Decision(Action.UNCHANGED, known.entry_id, known.version)
    return Decision(Action.UPDATE, known.entry_id, known.version + 1)
