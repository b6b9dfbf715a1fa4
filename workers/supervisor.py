"""``wirefeed run``: start the whole service on one machine, heal it, and stop all of it on
Ctrl-C.

::

    embedded Redis (unless WIREFEED_REDIS_URL is set)      started first, stopped last
    demo wire       python -m workers.cli demo             only with a `demo:` sources section
    worker          python -m workers.cli worker
    web             python -m feeds

Each part runs as its own process, exactly as it would under docker-compose or systemd, so what
a newcomer runs is the production shape. Children run in their own sessions: Ctrl-C reaches only
this supervisor, which then stops them in reverse order (web and worker finish their writes
before Redis goes away).

Healing: a child that dies (the embedded Redis included: it comes back from its append-only
file) is started again after a backoff (0.5 s, doubling, at most 10 s), with one log line. One
that dies :data:`MAX_CRASHES` times within :data:`CRASH_WINDOW` seconds keeps crashing: the
supervisor stops the rest and exits 1, naming it. SIGHUP is passed on to the workers (reload
the sources file); it never stops anything.

No child outlives the supervisor, whatever kills it (``kill -9`` included): each child asks
the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``, set between fork and exec,
then a check that the parent did not die in between); see :func:`die_with_parent`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

from config.settings import PREFIX, Settings
from workers.embedded import EmbeddedRedis, EmbeddedRedisError, die_with_parent

STOP_TIMEOUT = 15.0
MAX_CRASHES = 5
CRASH_WINDOW = 60.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 10.0

__all__ = ["Child", "die_with_parent", "python_module", "supervise"]


class Crashes:
    """When a process died lately; how long to wait before its restart."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def backoff(self, now: float) -> float | None:
        """Note a crash at ``now``; the wait before the restart, or ``None`` when it crashed
        :data:`MAX_CRASHES` times within :data:`CRASH_WINDOW` (it keeps crashing)."""
        self.times.append(now)
        while self.times and now - self.times[0] > CRASH_WINDOW:
            self.times.popleft()
        if len(self.times) >= MAX_CRASHES:
            return None
        return float(min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (len(self.times) - 1)))


@dataclass
class Child:
    name: str
    argv: list[str]
    reloads: bool = False
    """Whether SIGHUP is passed on to it (workers reload their sources file)."""
    port: int | None = None
    """A loopback port it listens on: the next child starts once it accepts (the demo wire
    is up before the worker's first poll, so that poll is not a refused connection)."""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    crashes: Crashes = field(default_factory=Crashes, repr=False)
    restart_at: float | None = field(default=None, repr=False)
    pids: list[int] = field(default_factory=list, repr=False)

    def start(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            self.argv,
            env=dict(env),
            start_new_session=True,
            preexec_fn=die_with_parent(os.getpid()),
        )
        self.pids.append(self.process.pid)
        self.restart_at = None

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, deadline: float) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"wirefeed: {self.name} did not stop in time; killing it", file=sys.stderr)
            self.process.kill()
            self.process.wait()


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def supervise(
    settings: Settings,
    children: Sequence[Child],
    *,
    banner: str = "",
    extra_env: Mapping[str, str] | None = None,
) -> int:
    """Start Redis (if needed) and ``children``; heal them until a signal, or until one
    keeps crashing."""
    stopping: list[int] = []
    hangups: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    def on_hangup(signum: int, _frame: FrameType | None) -> None:
        hangups.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    try:
        env = dict(os.environ) | dict(extra_env or {})
        env[PREFIX + "REDIS_URL"] = settings.redis_url or embedded.start()  # type: ignore[union-attr]
        for child in children:
            child.start(env)
            if child.port is not None:
                _wait_for_port(child)
        if banner:
            print(banner, flush=True)
        return _watch(children, env, stopping, hangups, embedded)
    finally:
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in reversed(children):
            child.stop(deadline)
        if embedded is not None:
            embedded.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _watch(
    children: Sequence[Child],
    env: Mapping[str, str],
    stopping: list[int],
    hangups: list[int],
    embedded: EmbeddedRedis | None,
) -> int:
    redis_heal = _RedisHeal(embedded) if embedded is not None else None
    while not stopping:
        if hangups:
            hangups.clear()
            _say("SIGHUP: asking the workers to reload the sources file")
            for child in children:
                if child.reloads:
                    child.signal(signal.SIGHUP)
        if redis_heal is not None and not redis_heal.check():
            return 1
        for child in children:
            if not _heal(child, env):
                return 1
        time.sleep(0.2)
    _say("stopping")
    return 0


def _heal(child: Child, env: Mapping[str, str]) -> bool:
    """Restart ``child`` when it died and its backoff is over; False when it keeps crashing."""
    now = time.monotonic()
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.start(env)
        return True
    status = child.exited()
    if status is None:
        return True
    backoff = child.crashes.backoff(now)
    if backoff is None:
        _say(
            f"the {child.name} process exited with status {status} and keeps crashing "
            f"({MAX_CRASHES} times in {CRASH_WINDOW:g} s); stopping the service"
        )
        return False
    _say(f"the {child.name} process exited with status {status}; restarting it in {backoff:g} s")
    child.restart_at = now + backoff
    return True


class _RedisHeal:
    """The embedded server's crashes, restarts and backoff (it is not a :class:`Child`: the
    worker and web find it by its socket, and it must be back before they give up)."""

    def __init__(self, embedded: EmbeddedRedis) -> None:
        self.embedded = embedded
        self.crashes = Crashes()
        self.restart_at: float | None = None

    def check(self) -> bool:
        now = time.monotonic()
        if self.restart_at is not None:
            if now < self.restart_at:
                return True
            self.restart_at = None
            return self._start()
        status = self.embedded.exit_status()
        if status is None:
            return True
        backoff = self.crashes.backoff(now)
        if backoff is None:
            _say(
                f"the embedded Redis exited with status {status} and keeps crashing "
                f"({MAX_CRASHES} times in {CRASH_WINDOW:g} s); stopping the service"
            )
            return False
        _say(f"the embedded Redis exited with status {status}; restarting it in {backoff:g} s")
        self.restart_at = now + backoff
        return True

    def _start(self) -> bool:
        try:
            self.embedded.restart()
        except EmbeddedRedisError as exc:
            _say(f"the embedded Redis did not come back: {exc}; stopping the service")
            return False
        _say("the embedded Redis is back (from its append-only file)")
        return True


def _wait_for_port(child: Child, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.exited() is None:
        try:
            with socket.create_connection(("127.0.0.1", child.port or 0), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)


def _say(message: str) -> None:
    print(f"wirefeed: {message}", file=sys.stderr, flush=True)
