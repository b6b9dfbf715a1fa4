"""Reading what the app serves as a reader would."""

from __future__ import annotations

import lxml.html


def text_of(html: str) -> str:
    """What a reader sees of an HTML fragment (credits link their sources' names)."""
    return str(lxml.html.fragment_fromstring(html, create_parent="div").text_content())
