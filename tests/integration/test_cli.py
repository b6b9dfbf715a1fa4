"""The `wirefeed` command: a broken sources file is refused with a precise message; a bad
setting stops every command except `sources check`, which needs only the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, child_env

BROKEN = """\
sources:
  - id: wire-a
    url: https://wire-a.example/feed.xml
    interval: soon
"""
EXPECTED = (
    'config/sources.yaml: source "wire-a": interval: must be a number of seconds >= 1, got "soon"'
)


def wirefeed(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args],
        cwd=cwd,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def broken_project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.yaml").write_text(BROKEN)
    return tmp_path


def test_sources_check_names_file_source_and_field(broken_project: Path) -> None:
    result = wirefeed("sources", "check", cwd=broken_project)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [EXPECTED]


def test_sources_check_with_explicit_file(broken_project: Path) -> None:
    result = wirefeed("sources", "check", "config/sources.yaml", cwd=broken_project)
    assert (result.returncode, result.stderr.splitlines()) == (1, [EXPECTED])


def test_run_refuses_to_start_on_a_broken_file(broken_project: Path) -> None:
    result = wirefeed("run", cwd=broken_project, WIREFEED_DATA_DIR=str(broken_project / "var"))
    assert result.returncode == 1
    assert EXPECTED in result.stderr.splitlines()
    assert "not starting" in result.stderr
    assert not (broken_project / "var").exists()  # nothing was started


def test_worker_refuses_to_start_on_a_broken_file(broken_project: Path) -> None:
    result = wirefeed("worker", cwd=broken_project, WIREFEED_DATA_DIR=str(broken_project / "var"))
    assert result.returncode == 1
    assert EXPECTED in result.stderr.splitlines()


def test_the_shipped_sources_file_is_valid() -> None:
    result = wirefeed("sources", "check", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_missing_file_is_reported(tmp_path: Path) -> None:
    result = wirefeed("sources", "check", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("nope.yaml: cannot read the file: No such file")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("run",), id="run"),
        pytest.param(("worker",), id="worker"),
        pytest.param(("web",), id="web"),
        pytest.param(("sources", "status"), id="sources-status"),
        pytest.param(("stories", "show", "abc"), id="stories-show"),
    ],
)
def test_a_bad_setting_stops_other_commands(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = wirefeed(
        *command,
        cwd=tmp_path,
        WIREFEED_HTTP_PORT="eighty",
        WIREFEED_DATA_DIR=str(tmp_path / "var"),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "wirefeed: WIREFEED_HTTP_PORT: must be a whole number from 1 to 65535, got 'eighty'"
    ]
    assert not (tmp_path / "var").exists()  # refused before anything started


BAD_UNRELATED = {"WIREFEED_HTTP_PORT": "eighty", "WIREFEED_LOG_LEVEL": "chatty"}


def test_sources_check_ignores_a_bad_unrelated_setting(broken_project: Path) -> None:
    good = broken_project / "good.yaml"
    good.write_text("sources:\n  - id: wire-a\n    url: https://wire-a.example/feed.xml\n")
    checked = wirefeed("sources", "check", "good.yaml", cwd=broken_project, **BAD_UNRELATED)
    assert (checked.returncode, checked.stdout, checked.stderr) == (
        0,
        "good.yaml: 1 sources (1 enabled): OK\n",
        "",
    )
    refused = wirefeed("sources", "check", cwd=broken_project, **BAD_UNRELATED)
    assert (refused.returncode, refused.stderr.splitlines()) == (1, [EXPECTED])


def test_sources_check_reads_the_file_wirefeed_sources_names(broken_project: Path) -> None:
    moved = broken_project / "elsewhere.yaml"
    moved.write_text("sources: []\n")
    result = wirefeed(
        "sources", "check", cwd=broken_project, WIREFEED_SOURCES=str(moved), **BAD_UNRELATED
    )
    assert (result.returncode, result.stdout) == (0, f"{moved}: 0 sources (0 enabled): OK\n")
    # An explicit FILE wins over the variable.
    result = wirefeed(
        "sources", "check", "config/sources.yaml", cwd=broken_project, WIREFEED_SOURCES=str(moved)
    )
    assert (result.returncode, result.stderr.splitlines()) == (1, [EXPECTED])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "missing.yaml", "missing.yaml: cannot read the file: No such file", id="missing"
        ),
        pytest.param("config", "config: cannot read the file: Is a directory", id="directory"),
    ],
)
def test_sources_check_on_a_bad_wirefeed_sources_exits_1(
    broken_project: Path, value: str, message: str
) -> None:
    result = wirefeed(
        "sources", "check", cwd=broken_project, WIREFEED_SOURCES=value, **BAD_UNRELATED
    )
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
