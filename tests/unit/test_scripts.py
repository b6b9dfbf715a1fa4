"""ingest.store.scripts: every Lua script declared once, its KEYS and ARGV as its source uses
them, and the one way of calling checking what it sends (pure: hand-written fakes, no Redis)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import NoScriptError

from ingest.store import scripts
from ingest.store.scripts import Script

ROOT = Path(__file__).resolve().parents[2]
DECLARED = {name: value for name, value in vars(scripts).items() if isinstance(value, Script)}
BY_ID = [pytest.param(s, id=s.name) for s in scripts.ALL]


def indices(pattern: str, source: str) -> set[int]:
    return {int(n) for n in re.findall(pattern, source)}


def test_every_script_is_in_all_once() -> None:
    assert len(scripts.ALL) == len(set(map(id, scripts.ALL)))
    assert {id(s) for s in scripts.ALL} == {id(s) for s in DECLARED.values()}
    assert len(DECLARED) == len(scripts.ALL)  # no script bound to two names


def test_names_sources_and_shas_are_unique() -> None:
    for attribute in ("name", "source", "sha"):
        values = [getattr(s, attribute) for s in scripts.ALL]
        assert len(values) == len(set(values)), attribute


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_a_script_is_named_as_its_constant(name: str) -> None:
    assert DECLARED[name].name == name.lower()


@pytest.mark.parametrize("script", BY_ID)
def test_keys_used_are_the_keys_declared(script: Script) -> None:
    if script.many:  # any number of keys of one kind, taken in a loop
        assert len(script.keys) == 1 and "ipairs(KEYS)" in script.source
        assert indices(r"KEYS\[(\d+)\]", script.source) == set()
        return
    assert "ipairs(KEYS)" not in script.source and "#KEYS" not in script.source
    assert indices(r"KEYS\[(\d+)\]", script.source) == set(range(1, len(script.keys) + 1))


@pytest.mark.parametrize("script", BY_ID)
def test_numbered_argv_used_are_the_args_declared(script: Script) -> None:
    assert indices(r"ARGV\[(\d+)\]", script.source) == set(range(1, len(script.args) + 1))


@pytest.mark.parametrize("script", BY_ID)
def test_only_a_script_with_a_rest_loops_over_argv(script: Script) -> None:
    loops = bool(re.search(r"#ARGV|ipairs\(ARGV\)|ARGV\[[^\]\d]", script.source))
    assert loops == bool(script.rest)


@pytest.mark.parametrize("script", BY_ID)
def test_every_key_and_argv_name_is_described(script: Script) -> None:
    text = " ".join(script.doc.split())
    assert set(script.keys + script.args + script.rest) <= set(re.findall(r"\w+", text))
    assert (
        ("Many keys: one server only" in text)
        if script.many
        else ("One slot" in text or "One key" in text)
    )
    assert "Returns" in text


@pytest.mark.parametrize("script", BY_ID)
def test_a_sha_is_the_sha1_of_the_source(script: Script) -> None:
    assert script.sha == hashlib.sha1(script.source.encode()).hexdigest()
    assert (script.loadable.sha, script.loadable.script) == (script.sha, script.source)


def test_no_lua_outside_the_scripts_module() -> None:
    found = [
        path.relative_to(ROOT)
        for package in ("ingest", "feeds", "workers", "config")
        for path in (ROOT / package).rglob("*.py")
        if "redis.call(" in path.read_text() and path.name != "scripts.py"
    ]
    assert found == []


EXAMPLE = Script(
    "example",
    keys=("first", "second"),
    args=("a", "b"),
    rest=("x", "y"),
    source="return 1",
    doc="first second a b x y",
)
FIXED = scripts.DROP


@pytest.mark.parametrize(
    ("script", "keys", "args", "rest", "message"),
    [
        pytest.param(FIXED, [], {"source_id": "s", "lease": 1}, (), "0 keys given", id="no-keys"),
        pytest.param(
            FIXED, ["k", "k2"], {"source_id": "s", "lease": 1}, (), "2 keys", id="extra-key"
        ),
        pytest.param(FIXED, ["k"], {"source_id": "s"}, (), "missing ['lease']", id="missing"),
        pytest.param(
            FIXED,
            ["k"],
            {"source_id": "s", "lease": 1, "delay": 2},
            (),
            "unknown ['delay']",
            id="unknown",
        ),
        pytest.param(
            FIXED, ["k"], {"source_id": "s", "lease": 1}, ("x",), "takes none", id="rest-on-fixed"
        ),
        pytest.param(
            EXAMPLE, ["k", "k"], {"a": 1, "b": 2}, ("x",), "not whole groups", id="half-group"
        ),
    ],
)
def test_a_call_that_does_not_match_the_declaration_is_refused(
    script: Script,
    keys: Sequence[str],
    args: Mapping[str, Any],
    rest: Sequence[str],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        script.argv(keys, args, rest)
    assert f"script {script.name}:" in str(raised.value)


def test_args_go_in_declared_order_whatever_the_mapping_order() -> None:
    sent = EXAMPLE.argv(["k1", "k2"], {"b": 2, "a": 1}, ["x1", "y1", "x2", "y2"])
    assert sent == ["k1", "k2", 1, 2, "x1", "y1", "x2", "y2"]
    assert EXAMPLE.argv(["k1", "k2"], {"a": 1, "b": 2}, []) == ["k1", "k2", 1, 2]


class FakePipe:
    """Records what is queued, as a redis-py pipeline would queue it."""

    def __init__(self, *, loads: bool = True) -> None:
        self.sent: list[tuple[Any, ...]] = []
        if loads:
            self.scripts: set[Any] = set()

    def evalsha(self, *args: Any) -> None:
        self.sent.append(("EVALSHA", *args))

    def eval(self, *args: Any) -> None:
        self.sent.append(("EVAL", *args))


def test_queue_sends_the_sha_and_has_the_pipeline_load_each_script_once() -> None:
    pipe = FakePipe()
    for n in range(2):
        scripts.queue(pipe, EXAMPLE, keys=["k1", "k2"], args={"a": n, "b": 0})
    assert pipe.sent == [("EVALSHA", EXAMPLE.sha, 2, "k1", "k2", n, 0) for n in range(2)]
    assert pipe.scripts == {EXAMPLE.loadable}


def test_queue_unchecked_sends_the_sha_alone() -> None:
    pipe = FakePipe()
    scripts.queue(pipe, scripts.SYNC, keys=["s"], rest=["a", "b"], check=False)
    assert pipe.sent == [("EVALSHA", scripts.SYNC.sha, 1, "s", "a", "b")]
    assert pipe.scripts == set()


def test_queue_on_a_pipeline_that_cannot_load_scripts_sends_the_body() -> None:
    pipe = FakePipe(loads=False)
    scripts.queue(pipe, scripts.SYNC, keys=["s"], rest=["a"])
    assert pipe.sent == [("EVAL", scripts.SYNC.source, 1, "s", "a")]


def test_a_pipelines_load_writing_back_the_sha_keeps_ours() -> None:
    scripts.SYNC.loadable.sha = scripts.SYNC.sha.encode()  # what redis-py's loader does
    assert scripts.SYNC.loadable.sha == scripts.SYNC.sha


class ForgetfulClient:
    """A server that has lost every script until one is loaded."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.calls: list[tuple[Any, ...]] = []

    async def evalsha(self, sha: str, numkeys: int, *argv: Any) -> Any:
        self.calls.append((sha, numkeys, *argv))
        if not self.loaded:
            raise NoScriptError("NOSCRIPT No matching script.")
        return "ran"

    async def script_load(self, source: str) -> str:
        self.loaded.append(source)
        return hashlib.sha1(source.encode()).hexdigest()


async def test_run_loads_a_script_the_server_forgot_and_runs_it_again() -> None:
    client = ForgetfulClient()
    reply = await scripts.run(
        client, scripts.DROP, keys=["sched"], args={"lease": 7, "source_id": "s"}
    )
    assert reply == "ran"
    assert client.loaded == [scripts.DROP.source]
    assert client.calls == [(scripts.DROP.sha, 1, "sched", "s", 7)] * 2


async def test_run_refuses_a_wrong_call_before_sending() -> None:
    client = ForgetfulClient()
    with pytest.raises(ValueError, match="script drop"):
        await scripts.run(client, scripts.DROP, keys=["sched"], args={"source_id": "s"})
    assert client.calls == []
