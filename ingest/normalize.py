"""RawEntry -> Item: UTC times, sanitized HTML, a canonical URL and an identity. Pure.

Identity (who is this item?) and version (which edition of it?) are kept apart:

* identity, first match wins: the native id (RSS ``guid``, Atom ``id``, JSON Feed ``id``), then
  the canonical URL, then a hash of the content. ``Item.identity_kind`` records which one.
* ``Item.content_hash`` covers the title, text and URL a reader sees and never the dates, so an
  item re-sent with a fresh timestamp is not a new version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

import nh3

from ingest import fingerprint, similar
from ingest.errors import EntryError
from ingest.model import IdentityKind, Item, RawEntry
from ingest.stories import rolling_headline
from ingest.text import collapse, html_to_text, shorten, xml_safe

MAX_TITLE = 300
MAX_ID = 512
FUTURE_SKEW = timedelta(minutes=10)
"""Clocks drift; a date further ahead than this is clamped to the time we saw the item."""

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "_ga",
        "_gl",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "cmpid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_SCHEMES = {"http", "https", "mailto"}
_URL_SAFE = "/?:@!$&'()*+,;=-._~%"
"""RFC 3986 reserved and unreserved characters, and ``%`` to keep existing escapes as written."""


def normalize(raw: RawEntry, source_id: str, *, now: datetime, base_url: str | None = None) -> Item:
    """Normalize one parsed entry of ``source_id`` as seen at ``now`` (aware).

    Deterministic: the same entry and ``now`` give the same Item. Raises :class:`EntryError`
    for an entry with nothing to show (no title, no text and no link).
    """
    raw = _xml_safe_entry(raw)
    page = canonical_url(raw.link, base_url) if raw.link else None
    url = canonical_url(raw.link, base_url, keep_fragment=True) if raw.link else None
    summary = sanitize(raw.summary or "", page or base_url)
    content = sanitize(raw.content or "", page or base_url)
    # Each field is converted to text once: the text serves the repeat check, the title,
    # the content hash and the item's own text.
    summary_text, content_text = html_to_text(summary), html_to_text(content)
    if content and content_text == summary_text:
        summary, summary_text = "", ""  # RSS feeds often repeat the description as content
    text = content_text if content else summary_text
    title = _title(raw.title, text if content or summary else None)
    if not title and not url and raw.status == "usable":
        raise EntryError("entry has no title, no text and no link")
    published, updated, dated = _times(raw, now)
    content_hash = _hash_texts(title, summary_text, content_text, url)
    identity, kind = identity_of(raw.native_id, url, content_hash)
    correction, note = correction_of(raw, title, text)
    return Item(
        source_id=source_id,
        identity=identity,
        identity_kind=kind,
        url=url,
        title=title,
        summary_html=summary,
        content_html=content,
        published=published,
        updated=updated,
        authors=tuple(collapse(a) for a in raw.authors if collapse(a))[:10],
        categories=_categories(raw.subjects),
        content_hash=content_hash,
        dated=dated,
        page_url=page,
        version=raw.version,
        status=raw.status,
        correction=correction,
        note=note,
        copy_key=copy_key(title, text),
        # A rolling prefix ("The Latest:") is a label, not what the item is about.
        terms=tuple(sorted(fingerprint.words(fingerprint.lead(_subject(title), text)))),
        slugline=collapse(raw.slugline) if raw.slugline else None,
        links=tuple(collapse(link) for link in raw.links if collapse(link)),
        names=tuple(sorted(similar.names(_name_source(title, text)))),
        embargoed=raw.embargoed.astimezone(UTC) if raw.embargoed else None,
    )


def _subject(title: str) -> str:
    return rolling_headline(title) or title


# Wire style: an upper-case marker ("CORRECTION:", "CORRECTS spelling of ...") or a
# "Correction:" label. "Corrections officers strike" is news about prisons, not a correction.
_MARKER = re.compile(r"^\W*(?:(CORRECTION|CORRECTED|CORRECTS)\b|(?i:(correction|corrected))\s*:)")


def correction_of(raw: RawEntry, title: str, text: str) -> tuple[bool, str | None]:
    """Whether this version is a correction, and the note to show with it.

    Signals, in order: the source's own flag (a ninjs signal or an editorial note saying so),
    then a wire marker opening the headline or the text ("CORRECTION:", "CORRECTS spelling
    of ..."). A "CORRECTS ..." sentence is itself the note; a bare "CORRECTION:" has none.
    """
    if raw.correction:
        return True, raw.note
    for part in (title, text):
        found = _MARKER.match(part)
        if found:
            sentence = part.split(". ")[0].strip().rstrip(".")
            return True, (sentence + ".") if found.group(1) == "CORRECTS" else None
    return False, None


def copy_key(title: str, text: str) -> str:
    """Identical wire copy, however it was marked up or linked, hashes alike."""
    words = " ".join(re.findall(r"\w+", f"{title} {text}".lower()))
    if not words:
        return ""  # no words, no copy: link-only items are not all one copy of each other
    return hashlib.sha256(words.encode()).hexdigest()[:32]


MAX_CATEGORIES = 20


def _categories(names: Sequence[str]) -> tuple[str, ...]:
    """Distinct category names, blanks dropped, at most :data:`MAX_CATEGORIES`."""
    kept = (collapse(n) for n in names)
    return tuple(dict.fromkeys(n for n in kept if n))[:MAX_CATEGORIES]


def _xml_safe_entry(raw: RawEntry) -> RawEntry:
    """Drop characters no feed can carry (see :func:`ingest.text.xml_safe`) from every field."""

    def safe(value: str | None) -> str | None:
        return None if value is None else xml_safe(value)

    return replace(
        raw,
        native_id=safe(raw.native_id),
        title=safe(raw.title),
        link=safe(raw.link),
        summary=safe(raw.summary),
        content=safe(raw.content),
        authors=tuple(xml_safe(a) for a in raw.authors),
        subjects=tuple(xml_safe(s) for s in raw.subjects),
    )


def identity_of(
    native_id: str | None, url: str | None, content_hash: str
) -> tuple[str, IdentityKind]:
    """The fallback chain: native id, then canonical URL, then content hash."""
    ident = collapse(native_id or "")
    if ident:  # a blank id is no id
        if len(ident) > MAX_ID:
            ident = "sha256:" + hashlib.sha256(ident.encode()).hexdigest()
        return ident, "native"
    if url:
        return url, "url"
    return "hash:" + content_hash, "hash"


def hash_content(title: str, summary: str, content: str, url: str | None) -> str:
    """A hash of what a reader sees, leaving dates out, so re-sent copies hash alike."""
    return _hash_texts(title, html_to_text(summary), html_to_text(content), url)


def _hash_texts(title: str, summary_text: str, content_text: str, url: str | None) -> str:
    """:func:`hash_content` of fields already converted to text."""
    material = "\x1f".join((title, summary_text, content_text, url or ""))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def canonical_url(url: str, base: str | None = None, *, keep_fragment: bool = False) -> str | None:
    """An absolute http(s) URL in one spelling: lowercase scheme and host, no default port,
    no tracking parameters, and no fragment unless ``keep_fragment`` (a live page's
    ``#update-12`` names one item of the page). ``None`` if ``url`` is not a web address.
    """
    if base:
        url = urljoin(base, url.strip())
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # Drop tracking parameters but keep the others exactly as written: re-encoding would turn
    # "?1234" into "?1234=" and "a%20b" into "a+b", spellings some servers treat differently.
    query = "&".join(p for p in parts.query.split("&") if p and not _tracking(p.split("=")[0]))
    path = quote(parts.path or "/", safe=_URL_SAFE)  # IRI to URI: "/straße" -> "/stra%C3%9Fe"
    fragment = quote(parts.fragment, safe=_URL_SAFE) if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, quote(query, safe=_URL_SAFE), fragment))


def _tracking(name: str) -> bool:
    lowered = unquote_plus(name).lower()
    return lowered.startswith(_TRACKING_PREFIXES) or lowered in _TRACKING_NAMES


def sanitize(fragment: str, base_url: str | None = None) -> str:
    """HTML safe to republish: no scripts, handlers, styles or dangerous URL schemes.

    Relative URLs are resolved against ``base_url`` when known, and dropped otherwise, since a
    relative link is meaningless once the HTML leaves its original page.
    """
    if not fragment.strip():
        return ""
    # Only a web address may serve as the base: nh3 would happily resolve "#x" against a
    # "javascript:" base into a javascript: link, and raises on a base it cannot parse.
    base = canonical_url(base_url) if base_url else None
    if base:
        try:
            return _clean(fragment, ("rewrite_with_base", base), base)
        except ValueError:  # a host the URL parser behind nh3 rejects
            pass
    return _clean(fragment, "deny", None)


def _clean(fragment: str, relative: Any, base: str | None) -> str:
    def only_web_cite(tag: str, attribute: str, value: str) -> str | None:
        # nh3 lets any ``cite`` through, "javascript:" included; keep absolute web addresses only
        return canonical_url(value, base) if attribute == "cite" else value

    cleaned: str = nh3.clean(
        fragment,
        attribute_filter=only_web_cite,
        url_schemes=_URL_SCHEMES,
        url_relative=relative,
        link_rel="noopener noreferrer nofollow",
    )
    return cleaned.strip()


def _name_source(title: str, text: str) -> str:
    """The text to find names in: the body, and the headline only when it is in sentence case
    (in a Title Case Headline every word looks like a name)."""
    words = [w for w in title.split() if w[:1].isalpha()]
    capitals = sum(1 for w in words[1:] if w[:1].isupper())
    title_case = len(words) > 2 and capitals >= 0.6 * (len(words) - 1)
    return text if title_case else f"{title}. {text}"


def _title(raw_title: str | None, body_text: str | None) -> str:
    """The entry's title, or the opening words of its text (``None``: it has no body)."""
    title = collapse(raw_title or "")
    if title:
        return shorten(title, MAX_TITLE)  # parsers hand us plain text
    # JSON Feed and some RSS items have no title: use the opening words of the text.
    return shorten(body_text, 90) if body_text is not None else ""


def _times(raw: RawEntry, now: datetime) -> tuple[datetime, datetime, bool]:
    limit = now + FUTURE_SKEW
    published = _utc(raw.published, limit, now)
    updated = _utc(raw.updated, limit, now)
    dated = published is not None or updated is not None
    first = published or updated or now.astimezone(UTC)
    last = max(updated or first, first)
    return first, last, dated


def _utc(value: datetime | None, limit: datetime, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (now if value > limit else value).astimezone(UTC)
