"""The sources file: its schema, its loader and its error messages.

The file is YAML::

    demo: {port: 8181}          # optional: start the demo wire simulator on this loopback port
    stories:                    # optional: editor rules, a headline pattern names a story
      - key: harbor-spill
        match: "(?i)harbor.*(spill|leak)"
        title: Harbor chemical spill   # optional: the story's headline
        sources: [wire-a]              # optional: only items of these sources
    sources:
      - id: wire-a              # [a-z0-9][a-z0-9._-]*, unique
        url: https://example.org/wire.xml
        title: Wire A
        kind: auto              # auto | rss | atom | jsonfeed | ninjs | newsml | folder
        ninjs_version: "2.1"    # optional: the ninjs schema every document must conform to
      - id: drop-a              # a drop folder: no url, a path; files in any wire format
        kind: folder
        path: /srv/wire/drop-a  # read DIR/*, moved to DIR/done/ or DIR/failed/ (+ NAME.error)
        interval: 60            # seconds between polls, >= 1: the base of the schedule
        min_interval: 30        # adaptive polling stays within these bounds; by default
        max_interval: 240       #   [interval, 4 x interval]
        enabled: true
        timezone: America/New_York   # IANA name; story times are rendered in it
        tags: [world, weather]
        headers: {X-Api-Key: secret}
        keep: {title: "harbor|port"}          # optional filters (words or regular expressions,
        block: {category: "^horoscopes?$"}    #   case-insensitive) on title, text, author, category

Every problem is reported as ``FILE: source "ID": FIELD: what is wrong, got VALUE``, and all
problems of a file are reported together so an editor can fix them in one pass.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

KINDS = ("auto", "rss", "atom", "jsonfeed", "ninjs", "newsml", "folder")
NINJS_VERSIONS = (
    "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.0", "2.1", "2.2", "3.0", "3.1",
    "1.x-dev", "2.x-dev",
)  # fmt: skip
"""The ninjs schemas wirefeed ships (ingest/parse/schemas), for ``ninjs_version``."""
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, space, tab: what httpx can send
FIELDS = _FIELDS = (
    "id",
    "url",
    "title",
    "kind",
    "interval",
    "min_interval",
    "max_interval",
    "enabled",
    "timezone",
    "tags",
    "headers",
    "keep",
    "block",
    "ninjs_version",
    "path",
)
FILTER_FIELDS = ("title", "text", "author", "category")
"""What keep and block rules look at: the headline, the text (summary and content, without
markup), the authors' names, the wire's categories and subjects (each matched on its own)."""
_RULE_FIELDS = ", ".join(FILTER_FIELDS)
ADAPTIVE_SPAN = 4.0
"""Without explicit bounds, adaptive polling may slow a source down to this many intervals."""


class SourcesError(ValueError):
    """A sources file that cannot be used; ``problems`` lists every message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Source:
    """One configured wire source. Plain values only; see the module docstring for fields."""

    id: str
    url: str
    title: str = ""
    kind: str = "auto"
    interval: float = 60.0
    min_interval: float | None = None
    max_interval: float | None = None
    enabled: bool = True
    timezone: str = "UTC"
    tags: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    keep: Mapping[str, str] = field(default_factory=dict)
    """Filter rules, field -> regular expression (a word is one), case-insensitive: with any,
    an item must match one of them to be taken."""
    block: Mapping[str, str] = field(default_factory=dict)
    """An item matching any of these is not taken (counted as filtered, never stored)."""
    ninjs_version: str | None = None
    path: str | None = None
    """A drop folder's directory (kind ``folder``); ``url`` is then its ``file:`` URI."""

    @property
    def interval_bounds(self) -> tuple[float, float]:
        """The range adaptive polling may move this source's interval within."""
        low = self.min_interval if self.min_interval is not None else self.interval
        high = self.max_interval if self.max_interval is not None else self.interval * ADAPTIVE_SPAN
        return min(low, self.interval), max(high, self.interval)

    def to_json(self) -> str:
        """A stable JSON form, for storing the source where other processes can read it."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["tags"] = list(self.tags)
        data["headers"] = dict(self.headers)
        for name in ("keep", "block"):
            data[name] = dict(getattr(self, name))
            if not data[name]:
                del data[name]  # the same JSON as before filters existed: no revision bump
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Source:
        data = json.loads(text)
        data["tags"] = tuple(data.get("tags", ()))
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})


@dataclass(frozen=True, slots=True)
class StoryRule:
    """An editor's rule: items whose headline matches ``match`` (a regular expression) belong
    to the story named ``key``; ``title`` fixes that story's headline; ``sources`` limits the
    rule to those sources."""

    key: str
    match: str
    title: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SourcesFile:
    """A validated sources file."""

    path: Path
    sources: tuple[Source, ...]
    demo_port: int | None = None
    stories: tuple[StoryRule, ...] = ()


def load_sources(path: Path) -> SourcesFile:
    """Read and validate ``path``; raise :class:`SourcesError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesError([f"{path}: cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise SourcesError([f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}"]) from None
    return parse_sources(text, path)


def parse_sources(text: str, path: Path) -> SourcesFile:
    """Validate the YAML ``text`` of a sources file named ``path`` (used in messages)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourcesError([f"{path}: invalid YAML: {_yaml_message(exc)}"]) from None
    except ValueError as exc:  # a scalar the YAML resolver accepted but cannot build: 2024-13-01
        raise SourcesError([f"{path}: invalid YAML: {exc}"]) from None
    problems: list[str] = []
    if doc is None:
        doc = {"sources": []}
    if not isinstance(doc, dict):
        raise SourcesError([f"{path}: must be a mapping with a 'sources' list, got {_show(doc)}"])
    for key in doc:
        if key not in ("sources", "demo", "stories"):
            problems.append(
                f"{path}: {key}: unknown top-level key (expected 'sources', 'demo', 'stories')"
            )
    demo_port = _demo_port(doc.get("demo"), path, problems)
    raw_sources = doc.get("sources", [])
    if not isinstance(raw_sources, list):
        problems.append(f"{path}: sources: must be a list, got {_show(raw_sources)}")
        raw_sources = []
    sources = _check_sources(raw_sources, path, problems)
    rules = _check_rules(doc.get("stories", []), path, {s.id for s in sources}, problems)
    if problems:
        raise SourcesError(problems)
    return SourcesFile(path=path, sources=tuple(sources), demo_port=demo_port, stories=tuple(rules))


def _check_rules(
    raw: object, path: Path, source_ids: set[str], problems: list[str]
) -> list[StoryRule]:
    """The ``stories:`` section: editor rules mapping headline patterns to named stories."""
    if not isinstance(raw, list):
        problems.append(f"{path}: stories: must be a list of rules, got {_show(raw)}")
        return []
    rules = []
    for index, entry in enumerate(raw, start=1):
        key = entry.get("key") if isinstance(entry, dict) else None
        label = (
            f'{path}: story rule "{key}"'
            if isinstance(key, str)
            else (f"{path}: story rule #{index}")
        )
        if not isinstance(entry, dict):
            problems.append(f"{label}: must be a mapping with key and match, got {_show(entry)}")
            continue
        found = _rule(entry, label, source_ids, problems)
        if found is not None:
            rules.append(found)
    return rules


def _rule(
    entry: dict[str, Any], label: str, source_ids: set[str], problems: list[str]
) -> StoryRule | None:
    before = len(problems)
    for name in entry:
        if name not in ("key", "match", "title", "sources"):
            problems.append(f"{label}: {name}: unknown field (expected key, match, title, sources)")
    key, match = entry.get("key"), entry.get("match")
    if not isinstance(key, str) or not _ID.fullmatch(key):
        problems.append(
            f"{label}: key: must be lowercase letters, digits, '.', '_' or '-', got {_show(key)}"
        )
    if not isinstance(match, str) or not match:
        problems.append(f"{label}: match: must be a regular expression, got {_show(match)}")
    else:
        try:
            re.compile(match)
        except re.error as exc:
            problems.append(
                f"{label}: match: not a valid regular expression ({exc}), got {_show(match)}"
            )
    title = entry.get("title", "")
    if not isinstance(title, str):
        problems.append(f"{label}: title: must be text, got {_show(title)}")
    sources = entry.get("sources", [])
    if not isinstance(sources, list) or any(s not in source_ids for s in sources):
        problems.append(
            f"{label}: sources: must list ids of configured sources, got {_show(sources)}"
        )
    if len(problems) > before:
        return None
    return StoryRule(str(key), str(match), str(title).strip(), tuple(sources))


def check_source(raw: object, label: str) -> Source:
    """Validate one source given as a mapping (from the admin API or an OPML outline) exactly
    as the file's entries are; raise :class:`SourcesError` with every problem, each message
    starting with ``label`` where the file's name the file."""
    checker = _SourceChecker(Path(label), 1, raw)
    source = checker.build()
    if source is None:
        raise SourcesError(checker.problems)
    return source


def source_fields(source: Source) -> dict[str, Any]:
    """``source`` as the mapping the file and the admin API spell it (plain JSON values)."""
    return json.loads(source.to_json())  # type: ignore[no-any-return]


def _check_sources(raw_sources: list[Any], path: Path, problems: list[str]) -> list[Source]:
    sources: list[Source] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources, start=1):
        checker = _SourceChecker(path, index, raw)
        source = checker.build()
        problems.extend(checker.problems)
        if source is None:
            continue
        if source.id in seen:
            problems.append(f'{path}: source "{source.id}": id: duplicate id')
        seen.add(source.id)
        sources.append(source)
    return sources


def _demo_port(raw: object, path: Path, problems: list[str]) -> int | None:
    if raw is None:
        return None
    port = raw.get("port") if isinstance(raw, dict) else None
    if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535:
        return port
    shown = _show(port if isinstance(raw, dict) and "port" in raw else raw)
    problems.append(f"{path}: demo: port: must be a whole number from 1 to 65535, got {shown}")
    return None


class _SourceChecker:
    """Validates one entry of the ``sources`` list, collecting messages instead of raising."""

    def __init__(self, path: Path, index: int, raw: object) -> None:
        self.path = path
        self.raw = raw
        self.problems: list[str] = []
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        self.label = f'source "{raw_id}"' if isinstance(raw_id, str) else f"source #{index}"

    def fail(self, name: str, what: str, value: object = None, *, show: bool = True) -> None:
        got = f", got {_show(value)}" if show else ""
        self.problems.append(f"{self.path}: {self.label}: {name}: {what}{got}")

    def build(self) -> Source | None:
        if not isinstance(self.raw, dict):
            self.problems.append(
                f"{self.path}: {self.label}: must be a mapping of fields, got {_show(self.raw)}"
            )
            return None
        raw: dict[str, Any] = self.raw
        for key in raw:
            if key not in _FIELDS:
                self.fail(
                    str(key),
                    "unknown field (expected one of " + ", ".join(_FIELDS) + ")",
                    show=False,
                )
        kind = self._kind(raw.get("kind", "auto"))
        path = self._path(kind, raw.get("path"))
        source = Source(
            id=self._id(raw.get("id")),
            url=self._folder_url(raw.get("url"), path)
            if kind == "folder"
            else self._url(raw.get("url")),
            title=self._title(raw.get("title")),
            kind=kind,
            interval=self._interval(raw.get("interval", 60)),
            min_interval=self._bound("min_interval", raw.get("min_interval")),
            max_interval=self._bound("max_interval", raw.get("max_interval")),
            enabled=self._enabled(raw.get("enabled", True)),
            timezone=self._timezone(raw.get("timezone", "UTC")),
            tags=self._tags(raw.get("tags", [])),
            headers=self._headers(raw.get("headers", {})),
            keep=self._filters("keep", raw.get("keep", {})),
            block=self._filters("block", raw.get("block", {})),
            ninjs_version=self._ninjs_version(raw.get("ninjs_version")),
            path=path,
        )
        self._check_bounds(source)
        return None if self.problems else source

    def _id(self, value: object) -> str:
        if value is None:
            self.fail("id", "required", show=False)
        elif not isinstance(value, str) or not _ID.fullmatch(value):
            self.fail(
                "id",
                "must be lowercase letters, digits, '.', '_' or '-' "
                "(at most 64, starting with a letter or digit)",
                value,
            )
        return value if isinstance(value, str) else ""

    def _url(self, value: object) -> str:
        if value is None:
            self.fail("url", "required", show=False)
            return ""
        try:
            parts = urlsplit(value) if isinstance(value, str) else None
        except ValueError:  # e.g. an unclosed IPv6 bracket
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail("url", "must be an absolute http:// or https:// URL", value)
        return value if isinstance(value, str) else ""

    def _title(self, value: object) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail("title", "must be text", value)
            return ""
        return value.strip()

    def _kind(self, value: object) -> str:
        if value not in KINDS:
            self.fail("kind", "must be one of " + ", ".join(KINDS), value)
            return "auto"
        return str(value)

    def _path(self, kind: str, value: object) -> str | None:
        if kind != "folder":
            if value is not None:
                self.fail("path", "only for kind folder (a drop folder's directory)", value)
            return None
        if value is None:
            self.fail("path", "required for kind folder (the directory to watch)", show=False)
            return None
        if not isinstance(value, str) or not value.strip() or "\x00" in value:
            self.fail("path", "must be a directory path", value)
            return None
        return str(Path(value).expanduser())

    def _folder_url(self, value: object, path: str | None) -> str:
        if value is not None:
            self.fail("url", "not used by kind folder (give path instead)", value)
        return Path(path).absolute().as_uri() if path else ""

    def _ninjs_version(self, value: object) -> str | None:
        if value is None:
            return None
        text = str(value) if isinstance(value, str | float) else value
        if text not in NINJS_VERSIONS:
            self.fail("ninjs_version", "must be one of " + ", ".join(NINJS_VERSIONS), value)
            return None
        return str(text)

    def _interval(self, value: object) -> float:
        seconds = _finite(value)
        if seconds is None or not seconds >= 1:
            self.fail("interval", "must be a number of seconds >= 1", value)
            return 60.0
        return seconds

    def _bound(self, name: str, value: object) -> float | None:
        if value is None:
            return None
        seconds = _finite(value)
        if seconds is None or not seconds >= 1:
            self.fail(name, "must be a number of seconds >= 1", value)
            return None
        return seconds

    def _check_bounds(self, source: Source) -> None:
        if source.min_interval is not None and source.min_interval > source.interval:
            self.fail(
                "min_interval",
                f"must not exceed interval ({source.interval:g})",
                source.min_interval,
            )
        if source.max_interval is not None and source.max_interval < source.interval:
            self.fail(
                "max_interval",
                f"must not be below interval ({source.interval:g})",
                source.max_interval,
            )

    def _enabled(self, value: object) -> bool:
        if not isinstance(value, bool):
            self.fail("enabled", "must be true or false", value)
            return True
        return value

    def _timezone(self, value: object) -> str:
        try:
            if not isinstance(value, str) or not value:
                raise ValueError
            ZoneInfo(value)
        except (ValueError, OSError, ZoneInfoNotFoundError):  # "America" is a directory: OSError
            self.fail("timezone", "must be an IANA time zone name such as America/New_York", value)
            return "UTC"
        return value

    def _tags(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail("tags", "must be a list of tags", value)
            return ()
        for tag in value:
            if not isinstance(tag, str) or not _TAG.fullmatch(tag):
                self.fail("tags", "each tag must be lowercase letters, digits, '_' or '-'", tag)
                return ()
        return tuple(value)

    def _filters(self, name: str, value: object) -> dict[str, str]:
        if not isinstance(value, dict):
            self.fail(name, f"must be a mapping of field ({_RULE_FIELDS}) to a pattern", value)
            return {}
        for key, pattern in value.items():
            if key not in FILTER_FIELDS:
                self.fail(
                    f"{name}: {key}",
                    f"unknown field (expected {_RULE_FIELDS})",
                    None,
                    show=False,
                )
            elif not isinstance(pattern, str) or not pattern:
                self.fail(f"{name}: {key}", "must be a word or a regular expression", pattern)
            else:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    self.fail(f"{name}: {key}", f"not a valid regular expression ({exc})", pattern)
        return {str(k): str(v) for k, v in value.items()}

    def _headers(self, value: object) -> dict[str, str]:
        if not isinstance(value, dict):
            self.fail("headers", "must be a mapping of header name to value", value)
            return {}
        for name, text in value.items():
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
                self.fail("headers", "header names must be HTTP tokens", name)
            elif not isinstance(text, str) or not _HEADER_VALUE.fullmatch(text):
                self.fail(f"headers: {name}", "must be a single line of ASCII text", text)
        return {str(k): str(v) for k, v in value.items()}


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` for booleans, non-numbers, infinities and NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _show(value: object) -> str:
    """Render a bad value for a message: JSON style, so strings show in double quotes."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(problem)
