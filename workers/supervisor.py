"""``wirefeed run``: start the whole service on one machine and stop all of it on Ctrl-C.

::

    embedded Redis (unless WIREFEED_REDIS_URL is set)      started first, stopped last
    demo wire       python -m workers.cli demo             only with a `demo:` sources section
    worker          python -m workers.cli worker
    web             python -m feeds

Each part runs as its own process, exactly as it would under docker-compose or systemd, so what
a newcomer runs is the production shape. Children run in their own sessions: Ctrl-C reaches only
this supervisor, which then stops them in reverse order (web and worker finish their writes
before Redis goes away). If any child dies, the supervisor stops the rest and exits non-zero,
naming the child: a half-running service is worse than a stopped one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType

from config.settings import PREFIX, Settings
from workers.embedded import EmbeddedRedis

STOP_TIMEOUT = 15.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            self.argv, env=dict(env), start_new_session=True
        )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

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
    """Start Redis (if needed) and ``children``; block until a signal or a child's death."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    try:
        env = dict(os.environ) | dict(extra_env or {})
        env[PREFIX + "REDIS_URL"] = settings.redis_url or embedded.start()  # type: ignore[union-attr]
        for child in children:
            child.start(env)
        if banner:
            print(banner, flush=True)
        return _watch(children, stopping)
    finally:
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in reversed(children):
            child.stop(deadline)
        if embedded is not None:
            embedded.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _watch(children: Sequence[Child], stopping: list[int]) -> int:
    while not stopping:
        for child in children:
            status = child.exited()
            if status is not None:
                print(
                    f"wirefeed: the {child.name} process exited with status {status}; "
                    "stopping the service",
                    file=sys.stderr,
                )
                return 1
        time.sleep(0.2)
    print("wirefeed: stopping", file=sys.stderr, flush=True)
    return 0
