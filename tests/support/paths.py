"""Where things are: the project root and the shared corpora (outside the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()


def corpus(*parts: str) -> Path:
    """A path under ../shared/corpora; skips the test with a reason when the folder is absent."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the shared corpora at {path} (absent in this clone)")
    return path


_HEADER = re.compile(rb"^Header:\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)\s*$", re.MULTILINE)


def declared_headers(body: bytes) -> dict[str, str]:
    """``Header: Name: value`` lines of a corpus file's opening comment, as response headers."""
    head = body[: body.find(b"-->") + 1] if b"-->" in body else b""
    return {m[1].decode(): m[2].decode("latin-1") for m in _HEADER.finditer(head)}
