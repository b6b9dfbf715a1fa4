"""The desk's commands that the admin API also offers, for the terminal: ``wirefeed
sources add|edit|rm|pause|resume|fetch|import|export``, ``wirefeed stories list|search``,
``wirefeed audit`` and ``wirefeed tokens add``. Each goes through
:class:`ingest.desk.EditorsDesk` (so it is checked and audited exactly as over HTTP), prints a
table (rich) or, with ``--json``, JSON, and says what went wrong in one line (exit 1). An OPML
import shows a progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from config.opml import export_opml, read_opml
from config.settings import Settings
from config.sources import SourcesError, check_source, source_fields
from config.tokens import ROLES, TokensError, add_token
from ingest import compose
from ingest.desk import EditorsDesk
from ingest.errors import FetchError, ParseError
from ingest.pipeline import preview_source
from ingest.search import StoryQuery, search_stories, story_json, when
from ingest.store.audit import AuditFilter
from ingest.store.connect import open_redis
from ingest.store.editing import EditError
from ingest.store.registry import OwnershipError
from workers.editor import cli_desk
from workers.embedded import redis_url

Action = Callable[[EditorsDesk, datetime], Awaitable[Any]]


def register_sources(on_sources: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``sources add|edit|rm|pause|resume|fetch``."""
    add = on_sources.add_parser("add", help="create a source owned by the API (not the file)")
    add.add_argument("id")
    add.add_argument("url")
    _source_options(add)
    add.set_defaults(handler=cmd_source_add)
    edit = on_sources.add_parser("edit", help="change an API-owned source")
    edit.add_argument("id")
    edit.add_argument("--url")
    _source_options(edit)
    edit.set_defaults(handler=cmd_source_edit)
    imp = on_sources.add_parser("import", help="create the sources of an OPML file, all or none")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=cmd_source_import)
    view = on_sources.add_parser(
        "preview", help="fetch and parse URL, store nothing: each item and its story"
    )
    view.add_argument("url")
    view.add_argument("--kind", default="auto")
    view.add_argument("--json", action="store_true")
    view.set_defaults(handler=cmd_source_preview)
    exp = on_sources.add_parser("export", help="every source as OPML 2.0")
    exp.add_argument("file", type=Path, nargs="?", help="default: standard output")
    exp.set_defaults(handler=cmd_source_export)
    for name, text, handler in (
        ("rm", "delete an API-owned source", cmd_source_rm),
        ("pause", "stop polling a source (either owner) until resumed", cmd_source_pause),
        ("resume", "poll a paused source again", cmd_source_resume),
        ("fetch", "poll a source now", cmd_source_fetch),
    ):
        one = on_sources.add_parser(name, help=text)
        one.add_argument("id")
        one.set_defaults(handler=handler)


def _source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title")
    parser.add_argument("--kind")
    parser.add_argument("--interval", type=float)
    parser.add_argument("--timezone")
    parser.add_argument("--tag", action="append", dest="tags", help="repeat for several")
    parser.add_argument("--json", action="store_true")


def register_stories(on_stories: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stories list|search|close|reopen``."""
    for name, text in (("close", "close a story to similarity"), ("reopen", "reopen it")):
        one = on_stories.add_parser(name, help=text)
        one.add_argument("story_id")
        one.set_defaults(handler=cmd_story_close, closing=name == "close")
    for name, text in (("list", "recent stories"), ("search", "stories matching words")):
        found = on_stories.add_parser(name, help=text)
        if name == "search":
            found.add_argument("words", nargs="+")
        found.add_argument("--source")
        found.add_argument("--tag")
        found.add_argument("--since", help="ISO 8601 time")
        found.add_argument("--until", help="ISO 8601 time")
        found.add_argument("--limit", type=int, default=50)
        found.add_argument("--json", action="store_true")
        found.set_defaults(handler=cmd_stories_find)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``audit`` and ``tokens``."""
    audit = sub.add_parser("audit", help="who changed what, when: the audit trail")
    audit.add_argument("--who")
    audit.add_argument("--action", help="e.g. entry.kill, story.merge, source.create")
    audit.add_argument("--target", help="a story, entry or source id")
    audit.add_argument("--since", help="ISO 8601 time")
    audit.add_argument("--until", help="ISO 8601 time")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=cmd_audit)
    tokens = sub.add_parser("tokens", help="per-person tokens of the admin API and desk")
    on_tokens = tokens.add_subparsers(dest="tokens_command", required=True)
    add = on_tokens.add_parser("add", help="make a token; prints it once, stores its hash")
    add.add_argument("name")
    add.add_argument("role", choices=ROLES)
    add.add_argument("--file", type=Path, help="default: $WIREFEED_TOKENS_FILE")
    add.set_defaults(handler=cmd_tokens_add)


# -- running ----------------------------------------------------------------------------------


def _run(settings: Settings, action: Action) -> Any:
    async def go(url: str) -> Any:
        client = await open_redis(url)
        try:
            store = compose.store(client, settings)
            return await action(cli_desk(store), datetime.now(UTC))
        finally:
            await client.aclose()

    with redis_url(settings.redis_url, settings.data_dir) as url:
        return asyncio.run(go(url))


def _attempt(settings: Settings, action: Action) -> int:
    try:
        print(_run(settings, action))
    except (EditError, OwnershipError) as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    table = Table(*columns, box=None, pad_edge=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console = Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None)
    console.print(table)
    return ""


def _checked(raw: dict[str, Any]) -> Any:
    try:
        return check_source(raw, "sources add")
    except SourcesError as exc:
        problems = (p.removeprefix("sources add: ") for p in exc.problems)
        raise EditError("invalid", "; ".join(problems)) from None


def _given(args: argparse.Namespace) -> dict[str, Any]:
    names = ("url", "title", "kind", "interval", "timezone", "tags")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _shown(args: argparse.Namespace, state: dict[str, Any] | None, verb: str) -> str:
    if args.json:
        return json.dumps(state, indent=2, sort_keys=True)
    return f"source {state['id'] if state else args.id} {verb}"


# -- sources ----------------------------------------------------------------------------------


def cmd_source_add(settings: Settings, args: argparse.Namespace) -> int:
    async def add(desk: EditorsDesk, now: datetime) -> str:
        source = _checked({"id": args.id, **_given(args)})
        await desk.create_source(source, now=now)
        return _shown(args, await desk.source_state(source.id), "created (owned by the API)")

    return _attempt(settings, add)


def cmd_source_edit(settings: Settings, args: argparse.Namespace) -> int:
    async def edit(desk: EditorsDesk, now: datetime) -> str:
        current = await desk.registry.definition(args.id)
        if current is None:
            raise EditError("not_found", f"no source {args.id!r}")
        await desk.registry.check_api_owned(args.id, "change")
        source = _checked({**source_fields(current), **_given(args)})
        await desk.update_source(source, now=now)
        return _shown(args, await desk.source_state(source.id), "changed")

    return _attempt(settings, edit)


def _switch(settings: Settings, args: argparse.Namespace, verb: str) -> int:
    async def switch(desk: EditorsDesk, now: datetime) -> str:
        if verb == "deleted":
            await desk.delete_source(args.id, now=now)
        elif verb == "due now":
            await desk.fetch_source(args.id, now=now)
        else:
            await desk.pause_source(args.id, verb == "paused", now=now)
        return f"source {args.id} {verb}"

    return _attempt(settings, switch)


def cmd_source_rm(settings: Settings, args: argparse.Namespace) -> int:
    return _switch(settings, args, "deleted")


def cmd_source_pause(settings: Settings, args: argparse.Namespace) -> int:
    return _switch(settings, args, "paused")


def cmd_source_resume(settings: Settings, args: argparse.Namespace) -> int:
    return _switch(settings, args, "resumed")


def cmd_source_fetch(settings: Settings, args: argparse.Namespace) -> int:
    return _switch(settings, args, "due now")


def cmd_source_import(settings: Settings, args: argparse.Namespace) -> int:
    try:
        sources = read_opml(args.file)
    except SourcesError as exc:
        for problem in exc.problems:
            print(f"wirefeed: {problem}", file=sys.stderr)
        print("wirefeed: nothing imported", file=sys.stderr)
        return 1

    async def run(desk: EditorsDesk, now: datetime) -> str:
        with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task(f"importing {args.file.name}", total=len(sources))
            done = await desk.import_sources(
                sources, now=now, progress=lambda n: bar.update(task, completed=n)
            )
        return f"imported {len(done)} sources from {args.file}: " + ", ".join(done)

    return _attempt(settings, run)


def cmd_source_preview(settings: Settings, args: argparse.Namespace) -> int:
    async def run(desk: EditorsDesk, now: datetime) -> str:
        source = _checked({"id": "preview", "url": args.url, "kind": args.kind})
        fetcher = compose.fetcher(settings)
        policy = compose.ingest_policy(settings)
        try:
            plans, entries, filtered = await preview_source(
                source, fetcher=fetcher, store=desk.store, now=now, policy=policy
            )
        except (FetchError, ParseError) as exc:
            raise EditError("invalid", f"{args.url}: {exc}") from None
        finally:
            await fetcher.aclose()
        titles = {
            s.id: s.title for s in await desk.store.stories([p.assignment.story_id for p in plans])
        }
        items: list[dict[str, Any]] = [
            {
                "title": p.item.title,
                "action": p.decision.action.value,
                "story": p.assignment.story_id,
                "new_story": p.assignment.new_story,
                "story_title": titles.get(p.assignment.story_id),
            }
            for p in plans
        ]
        if args.json:
            return json.dumps({"entries": entries, "filtered": filtered, "items": items}, indent=2)
        rows = [
            (
                p.decision.action.value,
                p.assignment.story_id + (" (new)" * p.assignment.new_story),
                p.item.title,
            )
            for p in plans
        ]
        _print_table(("WOULD BE", "STORY", "HEADLINE"), rows)
        return f"{entries} entries, {filtered} left out by the source's rules; nothing stored"

    return _attempt(settings, run)


def cmd_source_export(settings: Settings, args: argparse.Namespace) -> int:
    async def run(desk: EditorsDesk, now: datetime) -> bytes:
        sources, _ = await desk.registry.composed()
        return export_opml([await desk.registry.definition(s.id) or s for s in sources])

    document: bytes = _run(settings, run)
    if args.file is None:
        sys.stdout.write(document.decode("utf-8"))
    else:
        args.file.write_bytes(document)
        print(f"wrote {args.file}", file=sys.stderr)
    return 0


# -- stories and audit ------------------------------------------------------------------------


def cmd_stories_find(settings: Settings, args: argparse.Namespace) -> int:
    async def find(desk: EditorsDesk, now: datetime) -> str:
        query = StoryQuery(
            words=tuple(" ".join(getattr(args, "words", [])).casefold().split()),
            source=args.source,
            tag=args.tag,
            since=when(args.since, "--since"),
            until=when(args.until, "--until"),
            limit=max(1, args.limit),
        )
        found = await search_stories(desk.store, query)
        if args.json:
            return json.dumps([story_json(s, entries=False) for s in found], indent=2)
        rows = [
            (s.id, f"{s.updated:%Y-%m-%d %H:%M}", s.entry_count, ",".join(s.sources), s.title)
            for s in found
        ]
        return _print_table(("ID", "UPDATED (UTC)", "ENTRIES", "SOURCES", "HEADLINE"), rows)

    return _attempt(settings, find)


def cmd_story_close(settings: Settings, args: argparse.Namespace) -> int:
    async def close(desk: EditorsDesk, now: datetime) -> str:
        await desk.close(args.story_id, args.closing, now=now)
        return f"story {args.story_id} {'closed to similarity' if args.closing else 'reopened'}"

    return _attempt(settings, close)


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    async def audit(desk: EditorsDesk, now: datetime) -> str:
        wanted = AuditFilter(
            who=args.who,
            action=args.action,
            target=args.target,
            since=when(args.since, "--since"),
            until=when(args.until, "--until"),
            limit=max(1, args.limit),
        )
        found = await desk.audit.query(wanted)
        if args.json:
            return json.dumps([r.as_json() for r in found], indent=2)
        rows = [
            (f"{r.at:%Y-%m-%d %H:%M:%S}", r.who, r.via, r.action, r.target, r.note) for r in found
        ]
        return _print_table(("AT (UTC)", "WHO", "VIA", "ACTION", "TARGET", "NOTE"), rows)

    return _attempt(settings, audit)


def cmd_tokens_add(settings: Settings, args: argparse.Namespace) -> int:
    path = args.file or settings.tokens_file
    if path is None:
        print("wirefeed: name the tokens file: --file or WIREFEED_TOKENS_FILE", file=sys.stderr)
        return 2
    try:
        token = add_token(path, args.name, args.role)
    except TokensError as exc:
        print(f"wirefeed: {'; '.join(exc.problems)}", file=sys.stderr)
        return 1
    print(token)
    print(
        f"token for {args.name} ({args.role}) added to {path}; it is shown only now",
        file=sys.stderr,
    )
    return 0
