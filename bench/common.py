"""Helpers shared by the benchmarks: a Redis server, a loopback file server, result files."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/ingest.py is named like the `ingest` package and this folder comes first on sys.path
# when a benchmark runs; put the project root ahead of it so `import ingest` finds the package.
sys.path.insert(0, str(ROOT))

from workers.embedded import EmbeddedRedis

RESULTS = ROOT / "bench" / "results"
RUN_CLOCK = datetime.now(UTC).replace(microsecond=0)
"""The run's clock, read once: every date a benchmark generates derives from it, so material is
as old (inside the retention window, not in the future) whatever day the benchmark runs."""


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """The server at WIREFEED_REDIS_URL if set (its database is flushed), else a private one."""
    given = os.environ.get("WIREFEED_REDIS_URL")
    if given:
        yield given
        return
    server = EmbeddedRedis(tmp)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on loopback from a separate process (not our GIL)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


def write_results(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        **figures,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
