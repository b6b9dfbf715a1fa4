"""config.sources: the schema, its messages (``FILE: source "ID": FIELD: what, got VALUE``),
and the loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from config.sources import Source, SourcesError, SourcesFile, load_sources, parse_sources

ROOT = Path(__file__).resolve().parents[2]
FILE = Path("config/sources.yaml")
URL = "https://example.org/wire.xml"
DROP = object()
"""A field value meaning "leave the field out"."""

ID_RULE = (
    "must be lowercase letters, digits, '.', '_' or '-' "
    "(at most 64, starting with a letter or digit)"
)
KIND_RULE = "must be one of auto, rss, atom, jsonfeed, ninjs, newsml, folder"
ZONE_RULE = "must be an IANA time zone name such as America/New_York"
TAG_RULE = "each tag must be lowercase letters, digits, '_' or '-'"
FIELDS = (
    "id, url, title, kind, interval, min_interval, max_interval, enabled, timezone, tags, headers, "
    "keep, block, ninjs_version, path"
)


def source_yaml(**fields: Any) -> str:
    """A sources file with one source: wire-a at URL, with ``fields`` changed (DROP removes)."""
    raw: dict[str, Any] = {"id": "wire-a", "url": URL}
    raw.update(fields)
    return yaml.safe_dump({"sources": [{k: v for k, v in raw.items() if v is not DROP}]})


def problems_of(text: str, path: Path = FILE) -> list[str]:
    with pytest.raises(SourcesError) as caught:
        parse_sources(text, path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_the_canonical_example() -> None:
    text = "sources:\n  - id: wire-a\n    url: https://example.org/wire.xml\n    interval: soon\n"
    assert problems_of(text, Path("config/sources.yaml")) == [
        'config/sources.yaml: source "wire-a": interval: must be a number of seconds >= 1, '
        'got "soon"'
    ]


# ---------------------------------------------------------------------------------------------
# one bad field at a time

W = 'config/sources.yaml: source "wire-a"'
N = "config/sources.yaml: source #1"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # id
        pytest.param({"id": DROP}, f"{N}: id: required", id="id-missing"),
        pytest.param({"id": None}, f"{N}: id: required", id="id-null"),
        pytest.param(
            {"id": "Wire A"},
            f'config/sources.yaml: source "Wire A": id: {ID_RULE}, got "Wire A"',
            id="id-uppercase-and-space",
        ),
        pytest.param(
            {"id": "-wire"},
            f'config/sources.yaml: source "-wire": id: {ID_RULE}, got "-wire"',
            id="id-leading-dash",
        ),
        pytest.param(
            {"id": "a" * 65},
            f'config/sources.yaml: source "{"a" * 65}": id: {ID_RULE}, got "{"a" * 65}"',
            id="id-too-long",
        ),
        pytest.param({"id": 42}, f"{N}: id: {ID_RULE}, got 42", id="id-number"),
        pytest.param(
            {"id": ""}, f'config/sources.yaml: source "": id: {ID_RULE}, got ""', id="id-empty"
        ),
        # url
        pytest.param({"url": DROP}, f"{W}: url: required", id="url-missing"),
        pytest.param(
            {"url": "ftp://example.org/wire.xml"},
            f'{W}: url: must be an absolute http:// or https:// URL, got "ftp://example.org/wire.xml"',
            id="url-ftp",
        ),
        pytest.param(
            {"url": "/wire.xml"},
            f'{W}: url: must be an absolute http:// or https:// URL, got "/wire.xml"',
            id="url-relative",
        ),
        pytest.param(
            {"url": "https://"},
            f'{W}: url: must be an absolute http:// or https:// URL, got "https://"',
            id="url-no-host",
        ),
        pytest.param(
            {"url": "http://[::1/wire"},
            f'{W}: url: must be an absolute http:// or https:// URL, got "http://[::1/wire"',
            id="url-unclosed-ipv6",
        ),
        pytest.param(
            {"url": 5},
            f"{W}: url: must be an absolute http:// or https:// URL, got 5",
            id="url-number",
        ),
        # title
        pytest.param({"title": 5}, f"{W}: title: must be text, got 5", id="title-number"),
        pytest.param({"title": ["a"]}, f'{W}: title: must be text, got ["a"]', id="title-list"),
        # kind
        pytest.param(
            {"kind": "gopher"}, f'{W}: kind: {KIND_RULE}, got "gopher"', id="kind-unknown"
        ),
        pytest.param({"kind": "RSS"}, f'{W}: kind: {KIND_RULE}, got "RSS"', id="kind-case"),
        pytest.param({"kind": None}, f"{W}: kind: {KIND_RULE}, got null", id="kind-null"),
        # interval
        pytest.param(
            {"interval": "soon"},
            f'{W}: interval: must be a number of seconds >= 1, got "soon"',
            id="interval-text",
        ),
        pytest.param(
            {"interval": "60"},
            f'{W}: interval: must be a number of seconds >= 1, got "60"',
            id="interval-quoted-number",
        ),
        pytest.param(
            {"interval": 0},
            f"{W}: interval: must be a number of seconds >= 1, got 0",
            id="interval-zero",
        ),
        pytest.param(
            {"interval": 0.5},
            f"{W}: interval: must be a number of seconds >= 1, got 0.5",
            id="interval-fraction-below-one",
        ),
        pytest.param(
            {"interval": -5},
            f"{W}: interval: must be a number of seconds >= 1, got -5",
            id="interval-negative",
        ),
        pytest.param(
            {"interval": True},
            f"{W}: interval: must be a number of seconds >= 1, got true",
            id="interval-boolean",
        ),
        pytest.param(
            {"interval": None},
            f"{W}: interval: must be a number of seconds >= 1, got null",
            id="interval-null",
        ),
        pytest.param(
            {"interval": float("inf")},
            f"{W}: interval: must be a number of seconds >= 1, got Infinity",
            id="interval-infinite",
        ),
        pytest.param(
            {"interval": float("nan")},
            f"{W}: interval: must be a number of seconds >= 1, got NaN",
            id="interval-nan",
        ),
        pytest.param(
            {"interval": 10**400},
            f"{W}: interval: must be a number of seconds >= 1, got {str(10**400)[:77]}...",
            id="interval-too-large-for-a-float",
        ),
        # enabled
        pytest.param(
            {"enabled": "yes"},
            f'{W}: enabled: must be true or false, got "yes"',
            id="enabled-quoted",
        ),
        pytest.param(
            {"enabled": 1}, f"{W}: enabled: must be true or false, got 1", id="enabled-number"
        ),
        # timezone
        pytest.param(
            {"timezone": "Mars/Olympus"},
            f'{W}: timezone: {ZONE_RULE}, got "Mars/Olympus"',
            id="timezone-unknown",
        ),
        pytest.param(
            {"timezone": "America"},
            f'{W}: timezone: {ZONE_RULE}, got "America"',
            id="timezone-directory",
        ),
        pytest.param(
            {"timezone": "../etc/passwd"},
            f'{W}: timezone: {ZONE_RULE}, got "../etc/passwd"',
            id="timezone-path",
        ),
        pytest.param({"timezone": ""}, f'{W}: timezone: {ZONE_RULE}, got ""', id="timezone-empty"),
        pytest.param({"timezone": -5}, f"{W}: timezone: {ZONE_RULE}, got -5", id="timezone-offset"),
        # tags
        pytest.param(
            {"tags": "world"}, f'{W}: tags: must be a list of tags, got "world"', id="tags-text"
        ),
        pytest.param({"tags": ["World"]}, f'{W}: tags: {TAG_RULE}, got "World"', id="tags-case"),
        pytest.param({"tags": ["a.b"]}, f'{W}: tags: {TAG_RULE}, got "a.b"', id="tags-dot"),
        pytest.param({"tags": [7]}, f"{W}: tags: {TAG_RULE}, got 7", id="tags-number"),
        # headers
        pytest.param(
            {"headers": ["X-Key: a"]},
            f'{W}: headers: must be a mapping of header name to value, got ["X-Key: a"]',
            id="headers-list",
        ),
        pytest.param(
            {"headers": {"Bad Name": "x"}},
            f'{W}: headers: header names must be HTTP tokens, got "Bad Name"',
            id="headers-name-with-space",
        ),
        pytest.param(
            {"headers": {"X-Key": "a\r\nX-Evil: 1"}},
            f'{W}: headers: X-Key: must be a single line of ASCII text, got "a\\r\\nX-Evil: 1"',
            id="headers-injection",
        ),
        pytest.param(
            {"headers": {"X-Key": 5}},
            f"{W}: headers: X-Key: must be a single line of ASCII text, got 5",
            id="headers-number-value",
        ),
        pytest.param(
            {"headers": {"X-Key": "clé"}},
            f'{W}: headers: X-Key: must be a single line of ASCII text, got "clé"',
            id="headers-non-ascii",
        ),
        # unknown fields
        pytest.param(
            {"intervall": 5},
            f"{W}: intervall: unknown field (expected one of {FIELDS})",
            id="unknown-field",
        ),
    ],
)
def test_field_validation(fields: dict[str, Any], message: str) -> None:
    assert problems_of(source_yaml(**fields)) == [message]


@pytest.mark.parametrize(
    ("fields", "attribute", "value"),
    [
        pytest.param({}, "kind", "auto", id="kind-default"),
        pytest.param({}, "interval", 60.0, id="interval-default"),
        pytest.param({}, "enabled", True, id="enabled-default"),
        pytest.param({}, "timezone", "UTC", id="timezone-default"),
        pytest.param({}, "title", "", id="title-default"),
        pytest.param({}, "tags", (), id="tags-default"),
        pytest.param({}, "headers", {}, id="headers-default"),
        pytest.param({"title": "  Wire A  "}, "title", "Wire A", id="title-stripped"),
        pytest.param({"title": None}, "title", "", id="title-null"),
        pytest.param({"kind": "jsonfeed"}, "kind", "jsonfeed", id="kind-jsonfeed"),
        pytest.param({"interval": 1}, "interval", 1.0, id="interval-minimum"),
        pytest.param({"interval": 2.5}, "interval", 2.5, id="interval-fraction"),
        pytest.param({"enabled": False}, "enabled", False, id="enabled-false"),
        pytest.param(
            {"timezone": "America/New_York"}, "timezone", "America/New_York", id="timezone"
        ),
        pytest.param({"tags": ["world", "a_b-1"]}, "tags", ("world", "a_b-1"), id="tags"),
        pytest.param(
            {"headers": {"X-Api-Key": "s3cret\tvalue"}},
            "headers",
            {"X-Api-Key": "s3cret\tvalue"},
            id="headers",
        ),
        pytest.param({"id": "a.b_c-9"}, "id", "a.b_c-9", id="id-punctuation"),
        pytest.param(
            {"url": "HTTPS://EXAMPLE.org/x"},
            "url",
            "HTTPS://EXAMPLE.org/x",
            id="url-kept-as-written",
        ),
    ],
)
def test_valid_values(fields: dict[str, Any], attribute: str, value: Any) -> None:
    (source,) = parse_sources(source_yaml(**fields), FILE).sources
    got = getattr(source, attribute)
    assert got == value
    assert type(got) is type(value)


# ---------------------------------------------------------------------------------------------
# whole files


def test_all_problems_are_reported_together() -> None:
    text = """\
feeds: []
sources:
  - id: wire-a
    url: ftp://example.org/a
    interval: 0
    colour: red
  - id: wire-b
    url: https://example.org/b
    kind: gopher
  - plain text
"""
    assert problems_of(text) == [
        "config/sources.yaml: feeds: unknown top-level key (expected 'sources', 'demo', 'stories')",
        f"{W}: colour: unknown field (expected one of {FIELDS})",
        f'{W}: url: must be an absolute http:// or https:// URL, got "ftp://example.org/a"',
        f"{W}: interval: must be a number of seconds >= 1, got 0",
        f'config/sources.yaml: source "wire-b": kind: {KIND_RULE}, got "gopher"',
        'config/sources.yaml: source #3: must be a mapping of fields, got "plain text"',
    ]


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param(
            "sources:\n  - id: a\n    url: https://x.org/1\n  - id: a\n    url: https://x.org/2\n",
            ['config/sources.yaml: source "a": id: duplicate id'],
            id="duplicate-id",
        ),
        pytest.param(
            "- id: a\n",
            ['config/sources.yaml: must be a mapping with a \'sources\' list, got [{"id": "a"}]'],
            id="top-level-list",
        ),
        pytest.param(
            "just words\n",
            ["config/sources.yaml: must be a mapping with a 'sources' list, got \"just words\""],
            id="top-level-text",
        ),
        pytest.param(
            "sources: {id: a}\n",
            ['config/sources.yaml: sources: must be a list, got {"id": "a"}'],
            id="sources-not-a-list",
        ),
        pytest.param(
            "sources:\n  - 5\n",
            ["config/sources.yaml: source #1: must be a mapping of fields, got 5"],
            id="source-not-a-mapping",
        ),
        pytest.param(
            "sources:\n  - id: a\n   url: [x\n",
            [
                "config/sources.yaml: invalid YAML: line 3, column 4: "
                "expected <block end>, but found '<block mapping start>'"
            ],
            id="yaml-bad-indent",
        ),
        pytest.param(
            "sources:\n  - id: a\n\turl: x\n",
            [
                "config/sources.yaml: invalid YAML: line 3, column 1: "
                "found character '\\t' that cannot start any token"
            ],
            id="yaml-tab",
        ),
        pytest.param(
            "sources: [\n",
            [
                "config/sources.yaml: invalid YAML: line 2, column 1: "
                "expected the node content, but found '<stream end>'"
            ],
            id="yaml-unclosed-list",
        ),
        pytest.param(
            "sources:\n  - !!python/object/apply:os.system [echo]\n",
            [
                "config/sources.yaml: invalid YAML: line 2, column 5: could not determine a "
                "constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
            ],
            id="yaml-python-tag-refused",
        ),
        pytest.param(
            "sources:\n  - id: a\n    title: 2024-13-01\n",
            ["config/sources.yaml: invalid YAML: month must be in 1..12"],
            id="yaml-impossible-date",
        ),
        pytest.param(
            "sources:\n  - id: a\n    interval: !!int soon\n",
            ["config/sources.yaml: invalid YAML: invalid literal for int() with base 10: 'soon'"],
            id="yaml-bad-explicit-tag",
        ),
        pytest.param(
            "demo: {port: 0}\n",
            ["config/sources.yaml: demo: port: must be a whole number from 1 to 65535, got 0"],
            id="demo-port-zero",
        ),
        pytest.param(
            "demo: {port: '8181'}\n",
            ['config/sources.yaml: demo: port: must be a whole number from 1 to 65535, got "8181"'],
            id="demo-port-quoted",
        ),
        pytest.param(
            "demo: {port: true}\n",
            ["config/sources.yaml: demo: port: must be a whole number from 1 to 65535, got true"],
            id="demo-port-boolean",
        ),
        pytest.param(
            "demo: 8181\n",
            ["config/sources.yaml: demo: port: must be a whole number from 1 to 65535, got 8181"],
            id="demo-not-a-mapping",
        ),
        pytest.param(
            "demo: {prt: 8181}\n",
            [
                "config/sources.yaml: demo: port: must be a whole number from 1 to 65535, "
                'got {"prt": 8181}'
            ],
            id="demo-port-missing",
        ),
    ],
)
def test_file_problems(text: str, problems: list[str]) -> None:
    assert problems_of(text) == problems


@pytest.mark.parametrize(
    ("text", "count", "demo_port"),
    [
        pytest.param("", 0, None, id="empty-file"),
        pytest.param("# only a comment\n", 0, None, id="comment-only"),
        pytest.param("sources: []\n", 0, None, id="no-sources"),
        pytest.param("demo: {port: 8181}\n", 0, 8181, id="demo-only"),
        pytest.param("demo:\nsources: []\n", 0, None, id="demo-empty"),
        pytest.param(source_yaml(), 1, None, id="one-source"),
    ],
)
def test_valid_files(text: str, count: int, demo_port: int | None) -> None:
    parsed = parse_sources(text, FILE)
    assert (len(parsed.sources), parsed.demo_port, parsed.path) == (count, demo_port, FILE)


def test_source_messages_use_the_given_path() -> None:
    (message,) = problems_of(source_yaml(interval="soon"), Path("/etc/wirefeed/prod.yaml"))
    assert message.startswith('/etc/wirefeed/prod.yaml: source "wire-a": interval: ')


# ---------------------------------------------------------------------------------------------
# load_sources


def test_load_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SourcesError) as caught:
        load_sources(path)
    assert caught.value.problems == [f"{path}: cannot read the file: No such file or directory"]


def test_load_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SourcesError) as caught:
        load_sources(tmp_path)
    assert caught.value.problems == [f"{tmp_path}: cannot read the file: Is a directory"]


def test_load_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sources: []\n# caf\u00e9\n".encode("latin-1"))
    with pytest.raises(SourcesError) as caught:
        load_sources(path)
    assert caught.value.problems == [
        f"{path}: not UTF-8 text: invalid continuation byte at byte 17"
    ]


def test_load_names_the_file_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(source_yaml(kind="x"), encoding="utf-8")
    with pytest.raises(SourcesError) as caught:
        load_sources(path)
    assert caught.value.problems == [f'{path}: source "wire-a": kind: {KIND_RULE}, got "x"']


def test_load_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "demo: {port: 8181}\n" + source_yaml(title="Wire A", tags=["world"]), encoding="utf-8"
    )
    assert load_sources(path) == SourcesFile(
        path=path,
        sources=(Source(id="wire-a", url=URL, title="Wire A", tags=("world",)),),
        demo_port=8181,
    )


def test_the_shipped_sources_file_is_valid() -> None:
    parsed = load_sources(ROOT / "config" / "sources.yaml")
    ids = [s.id for s in parsed.sources]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------------------------
# JSON round trip

FULL = """\
sources:
  - id: wire-a
    url: https://example.org/wire.xml
    title: Wire A
    kind: rss
    interval: 90
    enabled: false
    timezone: America/Chicago
    tags: [world, weather]
    headers: {X-Api-Key: secret, Accept-Language: en}
  - id: wire-b
    url: http://127.0.0.1:8181/b.json
    interval: 2.5
"""


@pytest.mark.parametrize(
    "source",
    [pytest.param(s, id=s.id) for s in parse_sources(FULL, FILE).sources],
)
def test_json_round_trip(source: Source) -> None:
    text = source.to_json()
    assert Source.from_json(text) == source
    assert Source.from_json(text.encode()) == source
    assert Source.from_json(text).to_json() == text


def test_to_json_is_stable() -> None:
    a = Source(id="a", url=URL, headers={"B": "2", "A": "1"}, tags=("x", "y"))
    b = Source(id="a", url=URL, headers={"A": "1", "B": "2"}, tags=("x", "y"))
    assert a.to_json() == b.to_json()
    assert '"headers": {"A": "1", "B": "2"}' in a.to_json()


def test_from_json_ignores_fields_it_does_not_know() -> None:
    """A newer process may store more fields; an older one must still read the source."""
    text = '{"id": "a", "url": "https://example.org/", "added_by": "admin", "tags": ["x"]}'
    assert Source.from_json(text) == Source(id="a", url="https://example.org/", tags=("x",))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            "interval: 60\n    min_interval: 90",
            "min_interval: must not exceed interval (60), got 90.0",
            id="min-above-interval",
        ),
        pytest.param(
            "interval: 60\n    max_interval: 30",
            "max_interval: must not be below interval (60), got 30.0",
            id="max-below-interval",
        ),
        pytest.param(
            "max_interval: fast",
            'max_interval: must be a number of seconds >= 1, got "fast"',
            id="max-not-a-number",
        ),
    ],
)
def test_interval_bounds(fields: str, message: str) -> None:
    text = f"sources:\n  - id: wire-a\n    url: https://a.example/\n    {fields}\n"
    with pytest.raises(SourcesError) as caught:
        parse_sources(text, Path("config/sources.yaml"))
    assert caught.value.problems == [f'config/sources.yaml: source "wire-a": {message}']


@pytest.mark.parametrize(
    ("fields", "bounds"),
    [
        pytest.param("interval: 60", (60.0, 240.0), id="default-span"),
        pytest.param(
            "interval: 60\n    min_interval: 10\n    max_interval: 600",
            (10.0, 600.0),
            id="explicit",
        ),
    ],
)
def test_interval_bounds_defaults(fields: str, bounds: tuple[float, float]) -> None:
    text = f"sources:\n  - id: wire-a\n    url: https://a.example/\n    {fields}\n"
    (source,) = parse_sources(text, Path("x.yaml")).sources
    assert source.interval_bounds == bounds
