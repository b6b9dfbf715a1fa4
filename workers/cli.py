"""The ``wirefeed`` command: the process entry point. Settings are read here, once.

::

    wirefeed run                  the whole service: Redis, demo wire, worker, web
    wirefeed worker               one worker process (run as many as you like)
    wirefeed web                  the HTTP app
    wirefeed demo [--port N]      only the demo wire simulator
    wirefeed sources check [FILE] validate a sources file; exit 0 if usable, 1 if not
    wirefeed sources status [--json]  every source's state, last error and next poll
    wirefeed sources discover URL     is URL a feed; which feeds does a page advertise
    wirefeed entries kill ID [--reason R]   withdraw an entry from every feed, for good
    wirefeed entries correct ID [--note N]  flag an entry as corrected
    wirefeed sources add|edit|rm|pause|resume|fetch ...  sources owned by the API
    wirefeed stories list|search|show|rename|merge|split|pin ...   editors' overrides
    wirefeed audit [--who --action --target --since --until] [--json]   the audit trail
    wirefeed tokens add NAME ROLE     a per-person token (viewer, editor, admin)
    wirefeed entries held                   items held under embargo, soonest first
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from config import logformat
from config.settings import PREFIX, Settings, SettingsError, sources_path
from config.sources import SourcesError, SourcesFile, load_sources
from ingest.store.outage import reason, redact, unreachable
from workers import desk_cli, editor, status
from workers.demo import create_app
from workers.discover import discover
from workers.embedded import EmbeddedRedis, EmbeddedRedisError, redis_url
from workers.reload import watch_file
from workers.supervisor import Child, python_module, supervise
from workers.worker import Worker

log = logging.getLogger("wirefeed.cli")

DEMO_NETWORKS = "127.0.0.0/8"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "sources" and args.sources_command == "check":
        # Checking a file needs its path and nothing else: a bad unrelated variable must not
        # stand between the file and its verdict (exit 0 or 1, never 2).
        return cmd_sources_check(args.file or sources_path(os.environ))
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 2
    logformat.configure(settings.log_level, settings.log_format)
    try:
        code: int = args.handler(settings, args)
    except EmbeddedRedisError as exc:
        print(f"wirefeed: embedded Redis: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not unreachable(exc):
            raise
        where = redact(settings.redis_url) if settings.redis_url else "the embedded server"
        print(f"wirefeed: cannot reach Redis at {where}: {reason(exc)}", file=sys.stderr)
        return 1
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wirefeed", description="Wire ingestion service.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the whole service").set_defaults(handler=cmd_run)
    sub.add_parser("worker", help="start one worker").set_defaults(handler=cmd_worker)
    sub.add_parser("web", help="start the HTTP app").set_defaults(handler=cmd_web)
    demo = sub.add_parser("demo", help="start only the demo wire simulator")
    demo.add_argument("--port", type=int, default=8181)
    demo.set_defaults(handler=cmd_demo)
    sources = sub.add_parser("sources", help="work with the sources file")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True)
    check = sources_sub.add_parser("check", help="validate a sources file without starting")
    check.add_argument("file", nargs="?", type=Path, help="default: $WIREFEED_SOURCES")
    show = sources_sub.add_parser("status", help="every source's health and next poll")
    show.add_argument("--json", action="store_true", help="a JSON list of objects")
    show.set_defaults(handler=cmd_sources_status)
    find = sources_sub.add_parser("discover", help="the feeds a URL is or advertises")
    find.add_argument("url")
    find.set_defaults(handler=cmd_sources_discover)
    desk_cli.register_sources(sources_sub)
    desk_cli.register_stories(editor.register(sub))
    desk_cli.register(sub)
    return parser


def _load(path: Path) -> SourcesFile | None:
    try:
        return load_sources(path)
    except SourcesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def cmd_sources_check(path: Path) -> int:
    """Validate the sources file at ``path``: 0 if usable, 1 (every problem listed) if not."""
    loaded = _load(path)
    if loaded is None:
        return 1
    enabled = sum(1 for s in loaded.sources if s.enabled)
    print(f"{path}: {len(loaded.sources)} sources ({enabled} enabled): OK")
    return 0


def cmd_sources_status(settings: Settings, args: argparse.Namespace) -> int:
    with redis_url(settings.redis_url, settings.data_dir) as url:
        records = asyncio.run(status.collect(url))
    print(status.as_json(records) if args.json else status.as_table(records))
    return 0


def cmd_sources_discover(settings: Settings, args: argparse.Namespace) -> int:
    code, lines = asyncio.run(discover(settings, args.url))
    print("\n".join(lines), file=sys.stdout if code == 0 else sys.stderr)
    return code


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    loaded = _load(settings.sources_path)
    if loaded is None:
        print("wirefeed: not starting: fix the sources file first", file=sys.stderr)
        return 1
    children = []
    extra_env: dict[str, str] = {}
    if loaded.demo_port is not None:
        demo = python_module("workers.cli", "demo", "--port", str(loaded.demo_port))
        children.append(Child("demo", demo, port=loaded.demo_port))
        if not settings.fetch_allow_networks:
            extra_env[PREFIX + "FETCH_ALLOW_NETWORKS"] = DEMO_NETWORKS
    # One worker per core: they share the sources by leases, and the second core pays
    # (bench/scale.py: two workers store about 1.6 times what one does on two cores).
    for _n in range(settings.run_workers):
        children.append(Child("worker", python_module("workers.cli", "worker"), reloads=True))
    children.append(Child("web", python_module("feeds")))
    url = f"http://{settings.http_host}:{settings.http_port}/"
    banner = f"wirefeed is running: open {url}  (Ctrl-C stops everything)"
    return supervise(settings, children, banner=banner, extra_env=extra_env)


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    return supervise(settings, [Child("web", python_module("feeds"))])


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the loop's handler reloads instead
    loaded = _load(settings.sources_path)
    if loaded is None:
        print("wirefeed: not starting: fix the sources file first", file=sys.stderr)
        return 1
    embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
    url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
    try:
        worker = Worker(settings, url, loaded.stories)
        if settings.metrics_port and settings.metrics:
            port, _thread = worker.metrics.serve(settings.metrics_host, settings.metrics_port)
            log.info("worker metrics on http://%s:%d/metrics", settings.metrics_host, port)
        asyncio.run(_run_until_signalled(worker, loaded))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _run_until_signalled(worker: Worker, loaded: SourcesFile) -> None:
    """Run ``worker`` until SIGINT or SIGTERM; SIGHUP or an edit of the sources file
    reloads it (never stops it)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reload = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, reload.set)
    reloader = asyncio.create_task(_reloads(worker, loaded.path, reload, stop))
    watcher = asyncio.create_task(watch_file(loaded.path, reload, stop))
    try:
        await worker.run(stop, list(loaded.sources))
    finally:
        stop.set()
        await asyncio.gather(reloader, watcher, return_exceptions=True)


async def _reloads(worker: Worker, path: Path, wanted: asyncio.Event, stop: asyncio.Event) -> None:
    """Reload ``path`` each time ``wanted`` is set, until ``stop``."""
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            asking = asyncio.create_task(wanted.wait())
            await asyncio.wait({asking, stopping}, return_when=asyncio.FIRST_COMPLETED)
            asking.cancel()
            if stop.is_set():
                return
            wanted.clear()
            if getattr(worker, "_client", None) is not None:  # started: Redis answered once
                await worker.reload(path)
    finally:
        stopping.cancel()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    base = f"http://127.0.0.1:{args.port}"
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # SIGHUP reloads workers; it stops nothing
    uvicorn.run(create_app(base), host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
