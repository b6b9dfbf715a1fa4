"""Our own data model: frozen dataclasses that every stage passes along.

Nothing from feedparser, httpx or Redis leaves the module that talks to it; those modules build
these classes instead. All datetimes here are timezone-aware and, after normalization, UTC.
"""

from __future__ import annotations

import base64
import enum
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

IdentityKind = Literal["native", "url", "hash"]


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators remembered from the last successful fetch (RFC 9110 section 8.8)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch brought back. ``headers`` names are lowercase."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    redirects: tuple[tuple[int, str], ...] = ()
    """Each redirect followed: (its status, the URL it pointed to), in order."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def validators(self) -> Validators:
        """The validators to send next time. A ``Last-Modified`` that is not at least a second
        before the answer's own ``Date`` is left out: the document may change again within
        that second under the same date, and a server comparing whole seconds would answer
        304 to it until the next change, hiding the last one (RFC 9110 section 8.8.2.2
        counts such a date as weak). The poll after goes out unconditionally."""
        modified = self.headers.get("last-modified")
        if modified and _same_second_or_later(modified, self.headers.get("date")):
            modified = None
        return Validators(self.headers.get("etag"), modified)


def _same_second_or_later(modified: str, date: str | None) -> bool:
    """Whether HTTP-date ``modified`` is no earlier than the second of ``date``; False when
    either is absent or unreadable (the date is then kept as it is)."""
    if not date:
        return False
    try:
        when, sent = (parsedate_to_datetime(v.strip()) for v in (modified, date))
    except (TypeError, ValueError, IndexError):
        return False
    return _aware(when) >= _aware(sent)  # HTTP dates are whole seconds


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as a parser read it, before normalization. Times are aware or ``None``."""

    native_id: str | None = None
    title: str | None = None
    link: str | None = None
    summary: str | None = None
    content: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    version: int | None = None
    """An explicit version number from the wire format (ninjs ``version``), if any."""
    status: str = "usable"
    """``usable``, or a withdrawal: ``canceled``/``withheld`` (ninjs) or ``deleted`` (an Atom
    tombstone, RFC 6721)."""
    correction: bool = False
    """The source itself marks this version as a correction (a signal, not our guess)."""
    note: str | None = None
    """An editorial note that came with the item (ninjs ``ednote``)."""
    slugline: str | None = None
    links: tuple[str, ...] = ()
    """Native ids of items this one belongs with (ninjs ``associations``)."""
    embargoed: datetime | None = None
    """Not to be published before this time (ninjs ``embargoed``/``embargoedUntil``, NewsML-G2
    ``<embargoed>``); ``None`` when the item is free to publish."""
    located: str | None = None
    """Where the news happened, as the wire says (NewsML-G2 ``located``, ninjs ``located``)."""
    subjects: tuple[str, ...] = ()
    """Categories and subjects the wire gave: RSS and Atom ``category``, JSON Feed ``tags``,
    ninjs ``subjects`` (``subject`` in 1.x), NewsML-G2 ``subject`` names."""
    signals: tuple[str, ...] = ()
    """Processing signals (NewsML-G2 ``signal`` qcodes, e.g. ``update``, ``correction``)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed document: its format, a few feed-level fields and its entries in document order."""

    format: str
    title: str | None = None
    link: str | None = None
    entries: tuple[RawEntry, ...] = ()
    warnings: tuple[str, ...] = ()
    ttl: float | None = None
    """RSS 2.0 ``<ttl>``: minutes the publisher asks readers to wait, here in seconds."""


@dataclass(frozen=True, slots=True)
class Item:
    """A normalized entry: UTC times, sanitized HTML, canonical URL and an identity.

    ``identity`` names the item within its source (see ``normalize.identity_of`` for the fallback
    chain); ``content_hash`` covers what a reader sees, never dates, so a re-sent item with a new
    timestamp but the same words is not a new version.
    """

    source_id: str
    identity: str
    identity_kind: IdentityKind
    url: str | None
    """The item's own canonical address, fragment kept (a live page's #update-12 is an item)."""
    title: str
    summary_html: str
    content_html: str
    published: datetime
    updated: datetime
    authors: tuple[str, ...]
    content_hash: str
    dated: bool = True
    page_url: str | None = None
    """The page the item lives on: ``url`` without its fragment."""
    version: int | None = None
    status: str = "usable"
    correction: bool = False
    note: str | None = None
    copy_key: str = ""
    """A hash of the item's words alone (no markup, no URL): equal for identical wire copy."""
    terms: tuple[str, ...] = ()
    """The content words of title and lead, sorted: what near-duplicate detection compares."""
    slugline: str | None = None
    rolling: bool = False
    """A section of a rolling article (see ingest.rolling): a changed section is a correction."""
    links: tuple[str, ...] = ()
    """Identities of other items of the same source this one says it belongs with (ninjs
    associations, for example)."""
    names: tuple[str, ...] = ()
    """Terms that are names (capitalized mid-sentence): they weigh double in story matching."""
    article_title: str | None = None
    """For a section of a rolling article: the article's headline, the story's newest news."""
    categories: tuple[str, ...] = ()
    """The wire's categories and subjects (see ``RawEntry.subjects``): what keep and block
    rules on ``category`` look at."""
    article_intro: str | None = None
    """For a section of a rolling article: the article's intro, the story's lede."""
    embargoed: datetime | None = None
    """Not to be published before this time (UTC); see :mod:`ingest.store.embargo`."""
    raw_digest: str | None = None
    """The digest of the raw entry this item was made from (see :mod:`ingest.unchanged`)."""

    @property
    def killed(self) -> bool:
        return self.status in ("canceled", "deleted")


@dataclass(frozen=True, slots=True)
class Known:
    """What the store remembers about an identity (or a URL or a copy): enough to decide
    without reading the entry. ``alias`` marks an item attached to another source's entry;
    ``killed`` a tombstone."""

    entry_id: str
    story_id: str
    version: int
    content_hash: str
    explicit_version: int | None = None
    updated_ms: int = 0
    source_id: str = ""
    alias: bool = False
    killed: bool = False
    hash_changes: tuple[int, ...] = ()
    """When (ms) each recent change without an explicit version arrived, for the cap."""

    def to_json(self) -> str:
        return json.dumps(
            [
                self.entry_id,
                self.story_id,
                self.version,
                self.content_hash,
                self.explicit_version,
                self.updated_ms,
                self.source_id,
                int(self.alias),
                int(self.killed),
                list(self.hash_changes),
            ],
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Known:
        e, s, v, h, x, u, src, alias, killed, changes = json.loads(text)
        return cls(e, s, v, h, x, u, src, bool(alias), bool(killed), tuple(changes))


class Action(enum.Enum):
    NEW = "new"
    """Unknown so far: a new entry."""
    UNCHANGED = "unchanged"
    """Nothing to do (same content, a stale version, or over the cap of hash-only changes)."""
    UPDATE = "update"
    """A new version of an entry we have."""
    DUPLICATE = "duplicate"
    """Another source's copy of an entry we have: credit it, do not add it."""
    KILL = "kill"
    """A withdrawal: remove the entry everywhere and leave a tombstone."""
    BLOCKED = "blocked"
    """A copy of something killed: never ingested again."""
    EXPIRED = "expired"
    """Unknown, but dated before the retention window: purged already or about to be, so not
    ingested (again)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The dedupe verdict for one item: what to do, to which entry (and story, when the
    entry exists already), which version it becomes, and a short reason for logs and counts."""

    action: Action
    entry_id: str
    version: int
    story_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Assignment:
    """Which story an entry belongs to, and whether that story is new. ``merges``: stories
    the entry showed to be one, as (into, merged) pairs (see :func:`ingest.similar.bridged`)."""

    story_id: str
    new_story: bool
    merges: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Linking:
    """What a stored entry adds to the story index: its explicit story keys, its significant
    terms (for the inverted index) and, from an editor rule, the story's headline."""

    keys: tuple[str, ...] = ()
    top_terms: tuple[str, ...] = ()
    title: str = ""
    vector: tuple[tuple[str, float], ...] = ()
    """The entry's unit term vector, added to its story's centroid (see ingest.similar)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """One item's decided fate: the write the store must apply. ``known`` is the record the
    decision was taken against (None for a new identity)."""

    item: Item
    decision: Decision
    assignment: Assignment
    known: Known | None = None
    linking: Linking = Linking()


PACKED = "z1:"
"""How a packed entry starts: raw deflate of its JSON (with :data:`_ENTRY_WORDS` as the preset
dictionary), in base64, as the stores' clients read text. JSON starts with ``{``, so entries
stored before packing read as they are. A new dictionary needs a new prefix."""

_ENTRY_WORDS = (
    b'"authors": [], "content_hash": "", "content_html": "", "copy_key": "", '
    b'"corrected_at": null, "correction_note": null, "explicit_version": null, '
    b'"first_seen": 17, "id": "", "identity": "", "identity_kind": "native", "url", "hash", '
    b'"published": 17, "source_id": "", "story_id": "", "summary_html": "", "title": "", '
    b'"updated": 17, "url": "https://www.", "version": 1, "versions": [[1, "", 17]]} '
    b'<p></p> <a href="https://"></a> <strong></strong> <em></em> <br /> <ul><li></li></ul> '
    b"the of and to in a for on that with is was said at by from as"
)
"""Deflate's preset dictionary: what most entries' JSON and HTML share, so even a short entry
compresses. Never edit it in place: entries packed with it must still unpack."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a story's timeline, as stored and rendered."""

    id: str
    story_id: str
    source_id: str
    identity: str
    identity_kind: IdentityKind
    url: str | None
    title: str
    summary_html: str
    content_html: str
    published: datetime
    updated: datetime
    authors: tuple[str, ...]
    content_hash: str
    version: int
    first_seen: datetime
    versions: tuple[tuple[int, str, datetime], ...] = ()
    explicit_version: int | None = None
    copy_key: str = ""
    correction_note: str | None = None
    corrected_at: datetime | None = None
    """Set once a version was flagged as a correction; kept by later versions."""
    also: tuple[tuple[str, str | None], ...] = ()
    """Other sources that carried this item: (source id, their URL). Filled in at read time."""

    @property
    def corrected(self) -> bool:
        return self.corrected_at is not None

    @property
    def body_html(self) -> str:
        """What a reader reads: the full content when there is one, else the summary."""
        return self.content_html or self.summary_html

    def to_json(self) -> str:
        data: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "id",
                "story_id",
                "source_id",
                "identity",
                "identity_kind",
                "url",
                "title",
                "summary_html",
                "content_html",
                "content_hash",
                "version",
                "explicit_version",
                "copy_key",
                "correction_note",
            )
        }
        data["authors"] = list(self.authors)
        for name in ("published", "updated", "first_seen"):
            data[name] = to_ms(getattr(self, name))
        data["corrected_at"] = to_ms(self.corrected_at) if self.corrected_at else None
        data["versions"] = [[v, h, to_ms(at)] for v, h, at in self.versions]
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    def pack(self) -> str:
        """The entry as stored: its JSON, compressed (see :data:`PACKED`). Even the shortest
        entry's JSON (about 700 bytes of field names, ids and digests) packs to under half."""
        squeeze = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=_ENTRY_WORDS)
        data = squeeze.compress(self.to_json().encode()) + squeeze.flush()
        return PACKED + base64.b64encode(data).decode("ascii")

    @classmethod
    def unpack(cls, raw: str | bytes) -> Entry:
        """An entry from what :meth:`pack` stored (plain JSON, as entries stored before
        packing are, included)."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        if text.startswith(PACKED):
            spring = zlib.decompressobj(-15, zdict=_ENTRY_WORDS)
            data = spring.decompress(base64.b64decode(text[len(PACKED) :])) + spring.flush()
            text = data.decode()
        return cls.from_json(text)

    @classmethod
    def from_json(cls, text: str | bytes) -> Entry:
        data = json.loads(text)
        data["authors"] = tuple(data["authors"])
        for name in ("published", "updated", "first_seen"):
            data[name] = from_ms(data[name])
        corrected = data.get("corrected_at")
        data["corrected_at"] = from_ms(corrected) if corrected else None
        data["versions"] = tuple((v, h, from_ms(at)) for v, h, at in data["versions"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Story:
    """A rolling story: a headline and lede that follow its newest entry, and its timeline."""

    id: str
    title: str
    lede_html: str
    created: datetime
    updated: datetime
    timezone: str
    entry_count: int
    sources: tuple[str, ...] = ()
    entries: tuple[Entry, ...] = field(default=())
    titled_by_editor: bool = False
    """The headline is an editor's (renamed, or named by a rule): shown as is, no prefix."""
    pinned: str | None = None
    """An entry an editor pinned to the top of the story page."""


STATES = ("new", "ok", "deferred", "failing", "dead", "gone", "quiet", "paused")
"""Every state a source can be in; see :mod:`ingest.health` for the transitions."""


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source's health and polling memory, as stored in Redis and shown to ops."""

    source_id: str
    state: str = "new"
    http_status: int | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    entries_seen: int = 0
    polls: int = 0
    """Fetch attempts so far; every Nth goes out without validators."""
    url: str | None = None
    """Where the source lives now, after a confirmed permanent redirect (else None)."""
    moved_from: str | None = None
    """The configured URL that ``url`` replaced; a changed configuration overrides the move."""
    aliases: tuple[str, ...] = ()
    redirect_target: str | None = None
    redirect_count: int = 0
    new_items: int = 0
    last_new: datetime | None = None
    mean_gap: float | None = None
    """Smoothed seconds between new items: the observed publishing rate."""
    ttl: float | None = None
    """The feed's own RSS <ttl>, in seconds, from the last parse."""
    interval: float | None = None
    """Seconds until the next poll as last decided (jitter included); see interval_reason."""
    interval_reason: str | None = None
    fetched_url: str | None = None
    """The URL the last poll asked for (the configured one, or where it moved)."""
    ids_unreliable: int = 0
    """1 once the source gave two different items one id: its native ids are set aside."""

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one run of the pipeline did for one source."""

    source_id: str
    status: str
    http_status: int | None = None
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    killed: int = 0
    blocked: int = 0
    filtered: int = 0
    """Items the source's keep and block rules left out (never stored)."""
    expired: int = 0
    """Items dated before the retention window, not taken."""
    held: int = 0
    """Items embargoed past the time of the poll: held until their embargo ends."""
    hubs: tuple[str, ...] = ()
    """WebSub hubs the document advertised (ingest.discovery), and the topic to subscribe to."""
    topic: str | None = None
    skipped: int = 0
    merged: int = 0
    """Stories merged into another because a stored item showed the two to be one."""
    error: str | None = None
    error_class: str | None = None
    """The failure's kind for metrics and logs: an exception class name such as
    ``FetchTimeout`` or ``ParseError`` (a small, fixed set; never a URL or a message)."""
    fetch_seconds: float | None = field(default=None, compare=False)
    parse_seconds: float | None = field(default=None, compare=False)
    """How long the fetch and the parse took (metrics only; not part of what happened)."""
    stories: tuple[str, ...] = ()
    floors: tuple[tuple[str, float], ...] = ()
    """Lower bounds on the next poll the answer asked for: (what, seconds), e.g. Retry-After."""
    wait: float | None = None
    """For a deferred poll: how long until the host's budget allows one."""
    after: SourceStatus | None = None
    """The source's status as saved at the end of the poll."""


def to_ms(value: datetime) -> int:
    """Milliseconds since the epoch: the unit of every time we store."""
    return int(value.timestamp() * 1000)


def from_ms(value: int | float | str | bytes) -> datetime:
    """The inverse of :func:`to_ms`, in UTC."""
    return datetime.fromtimestamp(int(float(value)) / 1000, tz=UTC)
