"""Headless Chromium for the page tests: the system's binary (Debian's ``chromium``), never one
Playwright downloads, started with the flags this closed network needs; and where a test keeps
its screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Without the background-networking flags Chromium keeps dialling hosts it cannot reach."""


def chromium() -> str:
    """The system Chromium, or skip (it lies outside the project: apt-get install chromium)."""
    path = "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    path = path or shutil.which("chromium")
    if path is None:
        pytest.skip("needs Debian chromium: apt-get install chromium")
    return path


def keep_artifact(shot: Path) -> None:
    """Copy a screenshot into ``$WIREFEED_TEST_ARTIFACTS`` when that is set (CI collects it);
    it stays in the test's temporary directory either way."""
    folder = os.environ.get("WIREFEED_TEST_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(folder) / shot.name)
