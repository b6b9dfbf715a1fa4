"""Per-source keep and block rules, as Miniflux offers them. Pure.

A source's ``block`` rules (field -> pattern) drop an item that matches any of them; its
``keep`` rules, when it has any, drop an item that matches none. Patterns are regular
expressions (a plain word is one), matched anywhere and case-insensitively against the
headline (``title``), the text without markup (``text``: summary and content), the authors'
names (``author``) or the wire's categories and subjects (``category``: each on its own, so
``^sports$`` names one category exactly). A dropped item is counted as filtered and never
stored. Kills pass whatever the rules say: a withdrawal must reach an item that was taken
before a rule changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from config.sources import Source
from ingest.model import Item

_MARKUP = re.compile(r"<[^>]*>")


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _values(item: Item, name: str) -> Sequence[str]:
    if name == "title":
        return (item.title,)
    if name == "author":
        return (" ".join(item.authors),)
    if name == "category":
        return item.categories
    return (_MARKUP.sub(" ", f"{item.summary_html} {item.content_html}"),)


def _matches(item: Item, rules: Mapping[str, str]) -> bool:
    return any(
        _compiled(p).search(value) for name, p in rules.items() for value in _values(item, name)
    )


def taken(source: Source, item: Item) -> bool:
    """Whether the source's rules let ``item`` in."""
    if item.killed:
        return True
    if source.block and _matches(item, source.block):
        return False
    return not source.keep or _matches(item, source.keep)


def apply(source: Source, items: Sequence[Item]) -> tuple[list[Item], int]:
    """The items the rules let in, and how many they dropped."""
    if not source.keep and not source.block:
        return list(items), 0
    kept = [i for i in items if taken(source, i)]
    return kept, len(items) - len(kept)
