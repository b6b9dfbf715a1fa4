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


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment, entities decoded, whitespace collapsed."""
    stripped = nh3.clean(fragment, tags=set(), clean_content_tags={"script", "style"})
    return collapse(html.unescape(stripped))


def collapse(text: str) -> str:
    """Collapse runs of whitespace to single spaces and strip the ends."""
    return _SPACE.sub(" ", text).strip()


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:. ")
    return cut + "…"
