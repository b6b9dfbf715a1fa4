"""Sources files (config/sources.yaml's format) for worker processes under test."""

from __future__ import annotations

import json
from pathlib import Path


def sources_text(urls: dict[str, str], interval: float = 1, **fields: str) -> str:
    """A sources file: one source per id -> URL, polled every ``interval`` seconds, with
    ``fields`` (``kind``, ``timezone``...) on every source. Values are JSON-quoted, which YAML
    reads as they are."""
    lines = ["sources:"]
    for sid, url in urls.items():
        lines += [f"  - id: {json.dumps(sid)}", f"    url: {json.dumps(url)}"]
        lines += [f"    interval: {interval:g}"]
        lines += [f"    {name}: {json.dumps(value)}" for name, value in fields.items()]
    return "\n".join(lines) + "\n"


def write_sources(path: Path, urls: dict[str, str], interval: float = 1, **fields: str) -> Path:
    """:func:`sources_text` written at ``path``."""
    path.write_text(sources_text(urls, interval, **fields))
    return path
