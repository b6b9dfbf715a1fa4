"""Loaded by every Python process of ``make test-clock`` (``PYTHONPATH=tests/faketime``), and
only there: it works around one libfaketime 0.9.10 pitfall so the suite can run on a shifted
clock.

The target fakes the wall clock only (``FAKETIME_DONT_FAKE_MONOTONIC=1``): with the monotonic
clock faked too, every timed wait on a lock (``threading.Event.wait``, ``Thread.join``,
``queue.get``) hangs, since Python waits with ``sem_clockwait``, which libfaketime does not
intercept. With the monotonic clock left alone those work, but libfaketime still rewrites the
absolute deadline of ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` as if it were a wall
clock time, so ``time.sleep`` fails with EINVAL. Here ``time.sleep`` waits with ``select``
instead (a relative timeout, which libfaketime passes through unchanged).
"""

from __future__ import annotations

import os
import select
import time

if "libfaketime" in os.environ.get("LD_PRELOAD", ""):

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
