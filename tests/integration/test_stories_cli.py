"""Editors' story commands, run as a newsroom runs them: ``python -m workers.cli stories
show|rename|merge|split|pin`` in a subprocess against the test Redis (``WIREFEED_REDIS_URL``),
with their answers checked word for word and their effect checked on the app's pages.

Success prints one line on stdout and exits 0; a refused edit prints ``wirefeed: MESSAGE`` on
stderr and exits 1; a command line argparse or the settings refuse exits 2. Independent
commands run at once to keep the tests short. The newsroom is that of
:mod:`tests.integration.test_overrides`.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import lxml.html

from tests.support import wirefeed
from tests.support.desk import (
    ACID_TITLE,
    LEAK_TITLE,
    REOPEN_TITLE,
    SHORT,
    Newsroom,
    page_order,
    story_titles,
)

NO_STORY = "nosuchstory0"


def update_line(room: Newsroom, name: str, *, pinned: bool = False) -> str:
    """How ``stories show`` lists one of Harbor Wire's updates."""
    wire = room.wires[name]
    mark = "  [pinned]" if pinned else ""
    return f"  {room.eid(name)}  {wire.at:%Y-%m-%d %H:%M}  harbor         {wire.title}{mark}"


async def headline(http: httpx.AsyncClient, story_id: str) -> str:
    page = await http.get(f"/stories/{story_id}")
    assert page.status_code == 200, story_id
    return str(lxml.html.fromstring(page.text).xpath("string(//h1)"))


def refused(message: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a refused edit."""
    return (1, "", f"wirefeed: {message}\n")


def done(stdout: str) -> tuple[int, str, str]:
    return (0, stdout, "")


async def test_show_lists_a_storys_updates_with_their_ids(room: Newsroom, clean_redis: str) -> None:
    live, unknown = await asyncio.gather(
        wirefeed(clean_redis, "stories", "show", room.live),
        wirefeed(clean_redis, "stories", "show", NO_STORY),
    )
    updated = f"{room.clock:%Y-%m-%d %H:%M}"
    assert (live.returncode, live.stderr) == (0, "")
    assert live.stdout.splitlines() == [
        f"{room.live}  {REOPEN_TITLE}  (3 entries, updated {updated} UTC)",
        update_line(room, "u3"),
        update_line(room, "u2"),
        update_line(room, "u1"),
    ]
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == refused(f"no story {NO_STORY!r}")


async def test_rename_gives_a_story_the_editors_headline_and_hands_it_back(
    room: Newsroom, clean_redis: str, http: httpx.AsyncClient
) -> None:
    title = "Westhaven leak: what we know"
    renamed, too_long = await asyncio.gather(
        wirefeed(clean_redis, "stories", "rename", room.live, title),
        wirefeed(clean_redis, "stories", "rename", room.strike, "x" * 301),
    )
    assert (renamed.returncode, renamed.stdout, renamed.stderr) == done(
        f"story {room.live} renamed\n"
    )
    assert (too_long.returncode, too_long.stdout, too_long.stderr) == refused(
        "title: at most 300 characters, got 301"
    )
    assert await headline(http, room.live) == title
    assert await headline(http, room.strike) == room.wires["strike"].title

    back = await wirefeed(clean_redis, "stories", "rename", room.live, "")
    assert (back.returncode, back.stdout, back.stderr) == done(
        f"story {room.live} follows its newest update again\n"
    )
    assert await headline(http, room.live) == f"The Latest: {REOPEN_TITLE}"


async def test_merge_moves_a_storys_updates_and_refuses_to_do_it_twice(
    room: Newsroom, clean_redis: str, http: httpx.AsyncClient
) -> None:
    merged, itself = await asyncio.gather(
        wirefeed(clean_redis, "stories", "merge", room.strike, room.live),
        wirefeed(clean_redis, "stories", "merge", room.strike, room.strike),
    )
    assert (merged.returncode, merged.stdout, merged.stderr) == done(
        f"merged {room.live} into {room.strike}: 3 entries moved\n"
    )
    assert (itself.returncode, itself.stdout, itself.stderr) == refused(
        "from: a story cannot be merged into itself"
    )

    again, show_old = await asyncio.gather(
        wirefeed(clean_redis, "stories", "merge", room.strike, room.live),
        wirefeed(clean_redis, "stories", "show", room.live),
    )
    assert (again.returncode, again.stdout, again.stderr) == refused(
        f"story {room.live!r} was merged into {room.strike!r}"
    )
    assert (show_old.returncode, show_old.stdout, show_old.stderr) == refused(
        f"no story {room.live!r} (merged into {room.strike})"
    )
    assert (await http.get(f"/stories/{room.live}")).status_code == 301
    assert await story_titles(http, room.strike) == [
        room.wires[name].title for name in ("u3", "strike", "u2", "u1")
    ]


async def test_split_moves_updates_into_a_new_story(
    room: Newsroom, clean_redis: str, http: httpx.AsyncClient
) -> None:
    e1, e2, e3 = room.eid("u1"), room.eid("u2"), room.eid("u3")
    title = "Leak: the first hours"
    split = await wirefeed(clean_redis, "stories", "split", room.live, e1, e1, "--title", title)
    assert (split.returncode, split.stderr) == (0, "")
    found = re.fullmatch(
        rf"split 1 entry of {room.live} into story ([0-9a-f]{{12}})\n", split.stdout
    )
    assert found is not None, split.stdout
    new = found[1]

    everything, again, none = await asyncio.gather(
        wirefeed(clean_redis, "stories", "split", room.live, e2, e3),
        wirefeed(clean_redis, "stories", "split", room.live, e1, "nope"),
        wirefeed(clean_redis, "stories", "split", room.live),
    )
    assert (everything.returncode, everything.stdout, everything.stderr) == refused(
        "entries: a split must leave at least one entry behind"
    )
    not_in = f"entries: not in story {room.live!r}: "
    assert (again.returncode, again.stdout, again.stderr) == refused(not_in + f"{e1}, nope")
    assert (none.returncode, none.stdout) == (2, "")
    assert "the following arguments are required: entry_ids" in none.stderr

    assert await headline(http, new) == title
    assert await story_titles(http, new) == [LEAK_TITLE]
    assert await story_titles(http, room.live) == [REOPEN_TITLE, ACID_TITLE]


async def test_pin_puts_an_update_on_top_and_unpin_takes_it_down(
    room: Newsroom, clean_redis: str, http: httpx.AsyncClient
) -> None:
    e1 = room.eid("u1")
    pinned, unknown_entry = await asyncio.gather(
        wirefeed(clean_redis, "stories", "pin", room.live, e1),
        wirefeed(clean_redis, "stories", "pin", room.live, "nope"),
    )
    assert (pinned.returncode, pinned.stdout, pinned.stderr) == done(
        f"pinned {e1} in {room.live}\n"
    )
    assert (unknown_entry.returncode, unknown_entry.stdout, unknown_entry.stderr) == refused(
        f"entry: not in story {room.live!r}: nope"
    )
    show = await wirefeed(clean_redis, "stories", "show", room.live)
    assert show.stdout.splitlines()[1:] == [
        update_line(room, "u3"),
        update_line(room, "u2"),
        update_line(room, "u1", pinned=True),
    ]
    order = await page_order(http, room.live)
    assert order[0][0].startswith("Pinned · ") and order[0][1] == LEAK_TITLE

    unpinned = await wirefeed(clean_redis, "stories", "pin", room.live)
    assert (unpinned.returncode, unpinned.stdout, unpinned.stderr) == done(
        f"unpinned {room.live}\n"
    )
    order = await page_order(http, room.live)
    assert [title for _stamp, title in order] == [REOPEN_TITLE, ACID_TITLE, LEAK_TITLE]
    assert not [stamp for stamp, _title in order if "Pinned" in stamp]


async def test_a_short_admin_token_stops_the_command_before_it_acts(
    room: Newsroom, clean_redis: str, http: httpx.AsyncClient
) -> None:
    refused_run = await wirefeed(
        clean_redis, "stories", "rename", room.live, "Hijacked", WIREFEED_ADMIN_TOKEN="short"
    )
    assert (refused_run.returncode, refused_run.stdout, refused_run.stderr) == (
        2,
        "",
        f"wirefeed: {SHORT}\n",
    )
    assert await headline(http, room.live) == f"The Latest: {REOPEN_TITLE}"
