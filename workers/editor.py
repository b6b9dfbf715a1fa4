"""Editors' commands (``wirefeed entries ...`` and ``wirefeed stories ...``): each opens the
store, runs one override and closes it. Redis I/O, used by the CLI."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from config.settings import Settings
from ingest import compose
from ingest.desk import EditorsDesk
from ingest.store.audit import Actor
from ingest.store.connect import open_redis
from ingest.store.editing import EditError
from ingest.store.redis_store import RedisStore
from workers.embedded import redis_url

T = TypeVar("T")


async def run(
    settings: Settings, redis_url: str, action: Callable[[RedisStore, datetime], Awaitable[T]]
) -> T:
    """Run ``action`` on a store of ``settings`` at the current time."""
    client = await open_redis(redis_url)
    try:
        return await action(compose.store(client, settings), datetime.now(UTC))
    finally:
        await client.aclose()


def cli_actor() -> Actor:
    """Who the CLI acts as: whoever can reach Redis can do everything, so an admin, named by
    the login of the person running it (``cli:alma``) in the audit trail."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return Actor(f"cli:{user}", "admin", "cli")


def cli_desk(store: RedisStore) -> EditorsDesk:
    """The editors' desk acting for the person at the terminal; every change is audited."""
    return EditorsDesk(store, cli_actor())


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Add ``entries`` and ``stories`` to the ``wirefeed`` command; returns the ``stories``
    subcommands, for more to join them."""
    entries = sub.add_parser("entries", help="editors' actions on entries")
    on_entries = entries.add_subparsers(dest="entries_command", required=True)
    kill = on_entries.add_parser("kill", help="withdraw an entry from every feed, for good")
    kill.add_argument("entry_id")
    kill.add_argument("--reason", default="killed by an editor")
    kill.set_defaults(handler=cmd_kill)
    correct = on_entries.add_parser("correct", help="flag an entry as corrected")
    correct.add_argument("entry_id")
    correct.add_argument("--note", help="the correction note readers see")
    correct.set_defaults(handler=cmd_correct)
    held = on_entries.add_parser("held", help="items held under embargo, soonest first")
    held.set_defaults(handler=cmd_held)
    stories = sub.add_parser("stories", help="editors' actions on stories")
    on_stories = stories.add_subparsers(dest="stories_command", required=True)
    show = on_stories.add_parser("show", help="a story's entries with their ids")
    show.add_argument("story_id")
    show.set_defaults(handler=cmd_show)
    rename = on_stories.add_parser("rename", help="give a story an editor's headline")
    rename.add_argument("story_id")
    rename.add_argument("title", help='the headline; "" hands it back to the machine')
    rename.set_defaults(handler=cmd_rename)
    merge = on_stories.add_parser("merge", help="move every entry of OTHER into STORY")
    merge.add_argument("story_id")
    merge.add_argument("other")
    merge.set_defaults(handler=cmd_merge)
    split = on_stories.add_parser("split", help="move entries out into a new story")
    split.add_argument("story_id")
    split.add_argument("entry_ids", nargs="+")
    split.add_argument("--title", default="")
    split.set_defaults(handler=cmd_split)
    pin = on_stories.add_parser("pin", help="pin an entry to the top (no entry: unpin)")
    pin.add_argument("story_id")
    pin.add_argument("entry_id", nargs="?")
    pin.set_defaults(handler=cmd_pin)
    # The entry commands again, where editors working on a story look for them.
    kill_too = on_stories.add_parser("kill", help="withdraw an entry (as `entries kill`)")
    kill_too.add_argument("entry_id")
    kill_too.add_argument("--reason", default="killed by an editor")
    kill_too.set_defaults(handler=cmd_kill)
    for on in (on_entries, on_stories):
        unkill = on.add_parser("unkill", help="lift an editor's kill (back with the next poll)")
        unkill.add_argument("entry_id")
        unkill.add_argument("--reason", default="")
        unkill.set_defaults(handler=cmd_unkill)
    correct_too = on_stories.add_parser("correct", help="flag an entry as corrected")
    correct_too.add_argument("entry_id")
    correct_too.add_argument("--note", help="the correction note readers see")
    correct_too.set_defaults(handler=cmd_correct)
    return on_stories


def _do(settings: Settings, action: Callable[[RedisStore, datetime], Awaitable[T]]) -> T:
    with redis_url(settings.redis_url, settings.data_dir) as url:
        return asyncio.run(run(settings, url, action))


def _attempt(settings: Settings, action: Callable[[RedisStore, datetime], Awaitable[str]]) -> int:
    try:
        print(_do(settings, action))
    except EditError as exc:
        print(f"wirefeed: {exc}", file=sys.stderr)
        return 1
    return 0


def _no_live_entry(entry_id: str) -> EditError:
    return EditError("not_found", f"no live entry {entry_id!r} (unknown, expired or killed)")


def cmd_kill(settings: Settings, args: argparse.Namespace) -> int:
    async def kill(store: RedisStore, now: datetime) -> str:
        try:
            await cli_desk(store).kill(args.entry_id, reason=args.reason, now=now)
        except EditError as exc:
            raise _no_live_entry(args.entry_id) from exc
        return f"killed entry {args.entry_id}: removed from every feed; it will not come back"

    return _attempt(settings, kill)


def cmd_unkill(settings: Settings, args: argparse.Namespace) -> int:
    async def unkill(store: RedisStore, now: datetime) -> str:
        await cli_desk(store).unkill(args.entry_id, reason=args.reason, now=now)
        return f"entry {args.entry_id} unkilled: it comes back with its source's next poll"

    return _attempt(settings, unkill)


def cmd_correct(settings: Settings, args: argparse.Namespace) -> int:
    async def correct(store: RedisStore, now: datetime) -> str:
        try:
            await cli_desk(store).correct(args.entry_id, note=args.note, now=now)
        except EditError as exc:
            raise _no_live_entry(args.entry_id) from exc
        return f"entry {args.entry_id} marked as corrected"

    return _attempt(settings, correct)


def cmd_held(settings: Settings, args: argparse.Namespace) -> int:
    async def held(store: RedisStore, now: datetime) -> str:
        found = await store.embargoes.held()
        if not found:
            return "no items held under embargo"
        return "\n".join(
            f"HELD until {h.until:%Y-%m-%d %H:%M:%S} UTC  {h.source_id:<14} "
            f"{h.item.identity}  {h.item.title}"
            for h in found
        )

    return _attempt(settings, held)


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    async def show(store: RedisStore, now: datetime) -> str:
        story = await store.story(args.story_id)
        if story is None:
            into = await store.merged_into(args.story_id)
            raise EditError(
                "not_found",
                f"no story {args.story_id!r}" + (f" (merged into {into})" if into else ""),
            )
        lines = [
            f"{story.id}  {story.title}  ({story.entry_count} entries, "
            f"updated {story.updated:%Y-%m-%d %H:%M} UTC)"
        ]
        lines += [
            f"  {e.id}  {e.published:%Y-%m-%d %H:%M}  {e.source_id:<14} {e.title}"
            + ("  [pinned]" if e.id == story.pinned else "")
            for e in story.entries
        ]
        return "\n".join(lines)

    return _attempt(settings, show)


def cmd_rename(settings: Settings, args: argparse.Namespace) -> int:
    async def rename(store: RedisStore, now: datetime) -> str:
        await cli_desk(store).rename(args.story_id, args.title, now=now)
        return (
            f"story {args.story_id} renamed"
            if args.title.strip()
            else (f"story {args.story_id} follows its newest update again")
        )

    return _attempt(settings, rename)


def cmd_merge(settings: Settings, args: argparse.Namespace) -> int:
    async def merge(store: RedisStore, now: datetime) -> str:
        moved = await cli_desk(store).merge(args.story_id, args.other, now=now)
        return (
            f"merged {args.other} into {args.story_id}: {_count(moved, 'entry', 'entries')} moved"
        )

    return _attempt(settings, merge)


def cmd_split(settings: Settings, args: argparse.Namespace) -> int:
    async def split(store: RedisStore, now: datetime) -> str:
        new = await cli_desk(store).split(args.story_id, args.entry_ids, title=args.title, now=now)
        count = _count(len(set(args.entry_ids)), "entry", "entries")
        return f"split {count} of {args.story_id} into story {new}"

    return _attempt(settings, split)


def cmd_pin(settings: Settings, args: argparse.Namespace) -> int:
    async def pin(store: RedisStore, now: datetime) -> str:
        await cli_desk(store).pin(args.story_id, args.entry_id, now=now)
        return (
            f"pinned {args.entry_id} in {args.story_id}"
            if args.entry_id
            else f"unpinned {args.story_id}"
        )

    return _attempt(settings, pin)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
