"""The rules of the test suite itself (tests/support/clock.py and tests/support/__init__.py):
test modules import no other test module, take time only from tests/support/clock.py, and skip
only for what lies outside the project."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support import ROOT, at_local, local_day

TESTS = ROOT / "tests"
MODULES = sorted(p for p in TESTS.rglob("*.py") if "fixtures" not in p.parts)
TEST_MODULE = re.compile(r"tests\.(\w+\.)*test_\w+")
CLOCK_READS = ("datetime.now", "datetime.utcnow", "date.today", "time.time")
READS_THE_CLOCK = {
    TESTS / "support" / "clock.py": "SESSION: the one reading",
    TESTS / "support" / "hostile.py": "a stand-in for a remote server, which has its own clock",
    TESTS / "integration" / "test_clock.py": "compares Redis's clock with the process's",
    TESTS / "faketime" / "shift.py": "computes make test-clock's offsets from now",
    TESTS / "integration" / "test_embargo_workers.py": "embargoes lift on the real clock",
    TESTS / "integration" / "test_websub_subscriber.py": "the callback ingests at the real time",
}
SKIPS = {  # module -> why its skip is about something outside the project
    TESTS / "support" / "paths.py": "the shared corpora",
    TESTS / "support" / "browser.py": "Debian Chromium",
    TESTS / "unit" / "test_operations.py": "promtool, from Debian's prometheus",
    TESTS / "e2e" / "test_race.py": "Linux /proc",
    TESTS / "integration" / "test_guard_network.py": "the OS's loopback aliases and resolver",
}


def calls(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found.add(ast.unparse(node.func))
        elif isinstance(node, ast.Attribute):
            found.add(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_module_imports_a_test_module(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [m for m in imported if TEST_MODULE.fullmatch(m)] == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_only_the_clock_module_reads_the_clock(path: Path) -> None:
    if path in READS_THE_CLOCK:
        return
    assert sorted(calls(path) & set(CLOCK_READS)) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_skips_are_for_what_lies_outside_the_project(path: Path) -> None:
    skips = {c for c in calls(path) if c.startswith("pytest.") and "skip" in c}
    if path not in SKIPS:
        assert skips == set()


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Sydney"])
@pytest.mark.parametrize(
    "before",
    [
        datetime(2027, 3, 16, 12, tzinfo=UTC),  # two days after the US change
        datetime(2027, 3, 30, 1, tzinfo=UTC),  # two days after the UK change
        datetime(2026, 11, 29, 15, tzinfo=UTC),
    ],
)
def test_local_day_keeps_one_offset_around_it(zone: str, before: datetime) -> None:
    day = local_day(zone, before=before)
    assert day <= before.astimezone(ZoneInfo(zone)).date() - timedelta(days=2)
    offsets = {
        at_local(day + timedelta(days=d), 12, 0, zone).astimezone(ZoneInfo(zone)).utcoffset()
        for d in (-1, 0, 1)
    }
    assert len(offsets) == 1


def test_at_local_is_the_wall_time_of_the_zone() -> None:
    at = at_local(date(2026, 11, 29), 12, 40, "America/New_York")
    assert at == datetime(2026, 11, 29, 17, 40, tzinfo=UTC)
