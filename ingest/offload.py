"""Where the CPU-bound steps of a poll run: parsing a document and normalizing its entries.

By default they run in a thread, which keeps the event loop answering but shares one core
with everything else the process does (the GIL). With ``WIREFEED_PARSE_PROCESSES`` a worker
starts a :class:`ProcessPool`, so documents are parsed and normalized on another core while
the worker's own process talks to Redis. (More worker processes use more cores better:
``wirefeed run`` starts one per core, see ``WIREFEED_RUN_WORKERS``.) Only plain data
crosses: the fetched bytes and the source go out, the parsed feed and the items come back.

A pool process that dies (killed, out of memory) fails the document it was reading, which
is then read in a thread instead; the pool is started again for the next one. Nothing is
lost: the poll's items are stored only after they come back.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Offload(Protocol):
    """Runs a CPU-bound function (module-level, with picklable arguments) off the loop."""

    async def __call__(self, fn: Callable[..., T], /, *args: object) -> T: ...


async def in_thread(fn: Callable[..., T], /, *args: object) -> T:
    """The default: a thread of this process."""
    return await asyncio.to_thread(fn, *args)


class ProcessPool:
    """A pool of ``processes`` worker processes, started with ``spawn`` (a fork of a process
    running an event loop and threads is not safe). Call :meth:`close` when done."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"a process pool needs at least one process, not {processes}")
        self.processes = processes
        self.restarts = 0
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self.processes, mp_context=context, initializer=_child
        )

    async def __call__(self, fn: Callable[..., T], /, *args: object) -> T:
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool:
            if executor is self._executor:  # the first of its callers to notice restarts it
                log.warning(
                    "a parse process stopped; starting the pool again (this document is "
                    "read in a thread)",
                    extra={"event": "parse_pool_restarted"},
                )
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
                self.restarts += 1
            return await asyncio.to_thread(fn, *args)

    def pids(self) -> list[int]:
        """The pool's live process ids (empty until its first task starts them)."""
        return [p.pid for p in list(getattr(self._executor, "_processes", {}).values()) if p.pid]

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _child() -> None:
    """A pool process leaves Ctrl-C to its worker, which stops it in order (a terminal's
    Ctrl-C reaches the whole process group, and would print a traceback from each child)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
