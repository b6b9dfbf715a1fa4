"""The `wirefeed` command: a broken sources file is refused with a precise message."""

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


def test_bad_setting_is_reported(tmp_path: Path) -> None:
    result = wirefeed("sources", "check", cwd=tmp_path, WIREFEED_HTTP_PORT="eighty")
    assert result.returncode == 2
    assert "WIREFEED_HTTP_PORT" in result.stderr
