"""Small pure helpers for text and HTML shared by the parsers and normalization."""

from __future__ import annotations

import html
import re
from typing import Any

import nh3

_SPACE = re.compile(r"\s+")
# XML 1.0 section 2.2, production Char: every character a document may contain.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value: str) -> str:
    """``value`` without the characters XML cannot carry (controls, lone surrogates, U+FFFE).

    Applied to everything we ingest, so nothing stored can break a feed we render later.
    """
    return _NOT_XML_CHAR.sub("", value)


def clean_str(value: Any) -> str | None:
    """A stripped, non-empty string, or ``None`` for anything else."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def paragraphs(text: str | None) -> str | None:
    """Plain text to HTML: escaped, one ``<p>`` per blank-line-separated paragraph."""
    if text is None:
        return None
    blocks = (b.strip() for b in text.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{html.escape(b, quote=False)}</p>" for b in blocks if b) or None


_BLOCK_END = re.compile(
    r"(</(?:p|div|h[1-6]|li|blockquote|td|th|tr|pre|section)\s*>|<br\s*/?>)", re.IGNORECASE
)
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr gov sen rep gen col lt sgt st mt ft jr sr inc co corp ltd no vs etc
    jan feb mar apr aug sept sep oct nov dec a.m p.m u.s u.k u.n""".split()  # noqa: SIM905
)


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment, entities decoded, whitespace collapsed; blocks
    (paragraphs, headings, list items, line breaks) are kept apart by a space."""
    if not fragment:
        return ""
    spaced = _BLOCK_END.sub(r"\1 ", fragment)
    stripped = nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style"})
    return collapse(html.unescape(stripped))


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, not fooled by "Gov. Alvarez" or "6 a.m. Monday"."""
    words = text.split(" ")
    for n, word in enumerate(words[:-1]):
        if word.endswith((".", "!", "?")) and words[n + 1][:1].isupper():
            token = word.rstrip(".!?").lower()
            if word.endswith(".") and (token in _ABBREVIATIONS or len(token) <= 1):
                continue
            return " ".join(words[: n + 1]).rstrip(".")
    return text.rstrip(".")


def collapse(text: str) -> str:
    """Collapse runs of whitespace to single spaces and strip the ends."""
    return _SPACE.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:. ")
    return cut + "…"
