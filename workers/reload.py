"""Watching the sources file: an edit (in place, or a new file renamed over it, as editors and
configuration tools do) asks for a reload. watchfiles uses inotify on Linux, so nothing polls."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from watchfiles import awatch

log = logging.getLogger("wirefeed.reload")


async def watch_file(path: Path, changed: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``changed`` whenever ``path`` changes, until ``stop`` is set."""
    target = path.absolute()  # noqa: ASYNC240 - once, before watching
    folder = target.parent

    def ours(_change: object, name: str) -> bool:
        return Path(name).name == target.name

    try:
        async for _changes in awatch(
            folder, watch_filter=ours, stop_event=stop, debounce=300, recursive=False
        ):
            changed.set()
    except (OSError, RuntimeError) as exc:  # no inotify here: SIGHUP still reloads
        log.warning("not watching %s for changes (%s); SIGHUP reloads it", path, exc)
