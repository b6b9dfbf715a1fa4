"""Running the product for a test: the web app in a thread or as its own process, and the
environment and waiting that child processes need."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette

from config.settings import Settings
from feeds.app import create_app
from ingest import keys
from tests.support.paths import ROOT
from tests.support.servers import free_port

T = TypeVar("T")


def wait_for(check: Callable[[], object], timeout: float = 30.0, every: float = 0.1) -> object:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s: {check}")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a wirefeed child process in a test, without the caller's WIREFEED_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREFEED_")}
    env.update(extra)
    return env


SERVED: list[Starlette] = []
"""The apps :func:`serve_app` runs now, for :func:`web_caught_up`."""


@contextmanager
def serve_app(settings: Settings) -> Iterator[str]:
    """Run the app with uvicorn in a thread, on a loopback socket bound here; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), timeout=30)
        assert server.started, "uvicorn stopped before it started serving"
        SERVED.append(app)
        yield f"http://127.0.0.1:{port}"
    finally:
        if app in SERVED:
            SERVED.remove(app)
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def app_process(redis_url: str, **env: str) -> Iterator[str]:
    """``python -m feeds`` as its own process (its own hash seed), on a loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "feeds"],
        cwd=ROOT,
        env=child_env(
            WIREFEED_REDIS_URL=redis_url,
            WIREFEED_HTTP_HOST="127.0.0.1",
            WIREFEED_HTTP_PORT=str(port),
            WIREFEED_LOG_LEVEL="WARNING",
            PYTHONHASHSEED="4242",
            **env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"python -m feeds exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=30)
        yield url
    finally:
        end_process(process, grace=10)
        process.stderr.close()  # type: ignore[union-attr]


def end_process(process: subprocess.Popen[bytes], grace: float = 30) -> None:
    """SIGTERM a process still running, and SIGKILL it if it has not ended after ``grace``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def wirefeed(redis_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``wirefeed`` command against the test Redis, off the event loop."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "workers.cli", *args],
        env=child_env(WIREFEED_REDIS_URL=redis_url, WIREFEED_LOG_LEVEL="WARNING", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def until(
    check: Callable[[], Awaitable[T | None]], within: float = 8.0, every: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy: a change reaches a web process through
    its event tail, a few milliseconds after the write."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(every)


def _stream_id(raw: str) -> tuple[int, int]:
    ms, _, seq = raw.partition("-")
    return int(ms or 0), int(seq or 0)


async def web_caught_up(client: Any, within: float = 8.0) -> None:
    """Wait until every app :func:`serve_app` runs has handed on the newest event of the
    stream: a feed read after that sees every write before the call (a process's local
    copies of feeds are dropped by its event tail, a few milliseconds after each write; more
    on a cluster, where the event lands on another node)."""
    newest: Any = await client.xrevrange(keys.EVENTS, count=1)
    if not newest or not SERVED:
        return
    raw = newest[0][0]
    target = _stream_id(raw.decode() if isinstance(raw, bytes) else str(raw))

    async def caught_up() -> bool:
        return all(_stream_id(app.state.hub.seen) >= target for app in SERVED)

    await until(caught_up, within)


WORKER_ENV = {
    "WIREFEED_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",  # every test server lives on loopback
    "WIREFEED_LOG_LEVEL": "WARNING",
    # Every test source lives on 127.0.0.1; host politeness has its own tests.
    "WIREFEED_HOST_CONCURRENCY": "0",
    "WIREFEED_HOST_PER_MINUTE": "0",
}


def start_worker(
    redis_url: str, sources: Path, *, log: Path | None = None, **env: str | None
) -> subprocess.Popen[bytes]:
    """``wirefeed worker`` as its own process over ``sources``: ``WORKER_ENV`` with ``env`` on
    top (``None`` leaves a setting out). Its output goes to a pipe (read by ``stop_worker``) or,
    if nobody reads it while it runs, to the file ``log``. The worker reads the real clock: see
    tests/support/clock.py."""
    given = {**WORKER_ENV, **env}
    settings = {k: v for k, v in given.items() if v is not None}
    settings |= {"WIREFEED_REDIS_URL": redis_url, "WIREFEED_SOURCES": str(sources)}
    command = [sys.executable, "-m", "workers.cli", "worker"]
    if log is None:
        return subprocess.Popen(
            command, env=child_env(**settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=child_env(**settings), stdout=out, stderr=subprocess.STDOUT
        )


def stop_worker(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGTERM, then wait (killing it after 30 s); its exit code and output (if piped)."""
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return process.returncode, (out or b"").decode(errors="replace")
