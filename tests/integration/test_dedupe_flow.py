"""Identity, duplicates, versions and corrections, end to end: real feeds on loopback, read by
``ingest_source`` into a real Redis, and served back by the real app.

Four invented wires cover the formats: Harbor Wire (RSS), Bay Press (Atom), Coast Desk
(JSON Feed) and Agency Desk (IPTC ninjs). Their stories are made up; the main one is a
60-word item about a chemical leak at the Port of Westhaven, which the other wires carry under
their own URLs and ids: word for word, with a few words changed, or as a different story
sharing its names.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import lxml.etree
import lxml.html
import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from feeds.render.jsonfeed import rfc3339
from ingest import compose, keys
from ingest.dedupe import DedupePolicy, entry_id
from ingest.fetch.http import HttpFetcher
from ingest.fingerprint import DUPLICATE_THRESHOLD, lead, words
from ingest.model import IngestReport
from ingest.normalize import copy_key
from ingest.pipeline import IngestPolicy
from ingest.versions import MAX_VERSIONS_KEPT
from tests.support import (
    EARLIER,
    FeedServer,
    Wire,
    atom,
    json_feed,
    ninjs,
    ninjs_item,
    rss,
    text_of,
)
from tests.support import FIXED as NOW
from tests.support.desk import (
    LEAK,
    LEAK_TEXT,
    LEAK_TITLE,
    LEAK_URL,
    LIVE,
    NEAR_TEXT,
    NEAR_TITLE,
    NEAR_WIRE,
    STRIKE_TEXT,
    STRIKE_TITLE,
    Desk,
    credit_lines,
    get_feed,
    page_updates,
)
from workers.worker import policies

# -- invented wires ---------------------------------------------------------------------------


def jaccard(title_a: str, text_a: str, title_b: str, text_b: str) -> float:
    """The similarity the near-copy check computes: content words of title and lead."""
    a, b = words(lead(title_a, text_a)), words(lead(title_b, text_b))
    return len(a & b) / len(a | b)


# -- the desk: wires on loopback, ingested into one store -------------------------------------


async def story_item(http: httpx.AsyncClient, story_id: str, title: str) -> dict[str, Any]:
    """The JSON Feed item of the entry titled ``title`` in its story's feed."""
    feed = (await get_feed(http, f"/feeds/stories/{story_id}.json")).json()
    (item,) = [i for i in feed["items"] if i["title"] == title]
    return dict(item)


# -- identity -----------------------------------------------------------------------------------


async def test_identity_fallback_chain_is_recorded(desk: Desk) -> None:
    native = Wire("harbor-1001", "Ferry service resumes", "Boats run again.", LEAK_URL + "-ferry")
    linked = Wire(
        None,
        "Bridge reopens to trucks",
        "Winds have dropped.",
        "https://harbor.example/bridge?utm_source=rss&section=metro&fbclid=x1",
    )
    bare = Wire(None, "Schools open late", "Classes start at ten.")
    first = await desk.publish("harbor", rss(native, linked, bare))
    assert (first.new, first.entries) == (3, 3)
    entries = await desk.entries()
    assert (entries[native.title].identity_kind, entries[native.title].identity) == (
        "native",
        "harbor-1001",
    )
    assert (entries[linked.title].identity_kind, entries[linked.title].identity) == (
        "url",
        "https://harbor.example/bridge?section=metro",
    )
    assert entries[bare.title].identity_kind == "hash"
    assert entries[bare.title].identity == "hash:" + entries[bare.title].content_hash
    for title, entry in entries.items():
        assert entry.id == entry_id("harbor", entry.identity), title

    # The same items in another order and spelling: every identity is found again.
    again = await desk.publish(
        "harbor",
        rss(bare, replace(linked, link="https://harbor.example/bridge?section=metro"), native),
        NOW + timedelta(minutes=5),
    )
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)


@pytest.mark.parametrize(
    ("links", "kind"),
    [
        pytest.param(True, "url", id="to-the-canonical-url"),
        pytest.param(False, "hash", id="to-the-content-hash-without-links"),
    ],
)
async def test_one_guid_for_every_item_is_repaired_and_the_source_distrusted(
    desk: Desk, rclient: aioredis.Redis, links: bool, kind: str
) -> None:
    items = [
        Wire(
            "harbor-latest",
            title,
            f"{title}, the harbor authority said.",
            f"https://harbor.example/{n}?utm_medium=feed" if links else None,
            EARLIER + timedelta(minutes=n),
        )
        for n, title in enumerate(("Tug crews strike", "Pilot boat sinks", "Cranes idle"))
    ]
    first = await desk.publish("harbor", rss(*items))
    assert (first.new, first.skipped) == (3, 0)
    entries = await desk.entries()
    assert {e.identity_kind for e in entries.values()} == {kind}
    assert len({e.id for e in entries.values()}) == 3
    if links:
        assert sorted(e.identity for e in entries.values()) == [
            f"https://harbor.example/{n}" for n in range(3)
        ]
    assert (await desk.store.source_status("harbor")).ids_unreliable == 1
    assert await rclient.hget(keys.source_status("harbor"), "ids_unreliable") == "1"

    # Later polls set the source's ids aside even when they no longer collide.
    fresh = Wire(
        "harbor-4471",
        "Harbor reopens",
        "Ships are moving again.",
        "https://harbor.example/3" if links else None,
        NOW,
    )
    later = await desk.publish("harbor", rss(fresh, *items), NOW + timedelta(minutes=5))
    assert (later.new, later.updated, later.unchanged) == (1, 0, 3)
    assert (await desk.entries())[fresh.title].identity_kind == kind
    assert (await desk.store.source_status("harbor")).ids_unreliable == 1


async def test_an_item_seen_under_its_own_guid_keeps_its_entry_after_the_source_is_distrusted(
    desk: Desk,
) -> None:
    ferry = Wire("harbor-1001", "Ferry service resumes", "Boats run again.", LEAK_URL + "-ferry")
    dups = [
        Wire("harbor-latest", "Tug crews strike", "Tugs idle.", "https://harbor.example/tugs"),
        Wire("harbor-latest", "Cranes idle", "No cranes move.", "https://harbor.example/cranes"),
    ]
    assert (await desk.publish("harbor", rss(ferry, *dups))).new == 3
    edited = replace(ferry, text="Boats run again, with delays on the north route.")
    report = await desk.publish("harbor", rss(edited, *dups), NOW + timedelta(minutes=5))
    assert (report.new, report.updated) == (0, 1)
    assert len(await desk.entries()) == 3


# -- duplicates across sources ------------------------------------------------------------------


async def test_same_canonical_url_across_sources_is_one_entry_credited_to_both(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    first = await desk.publish("harbor", rss(replace(LEAK, link=LEAK_URL + "?utm_source=rss")))
    other_words = Wire(
        "tag:bay.example,2026:leak",
        "Chemical spill closes Westhaven terminal",
        "Bay Press reporting: a tank of cleaning fluid leaked at the port.",
        LEAK_URL + "?fbclid=Xy12&utm_campaign=push",
        EARLIER + timedelta(minutes=3),
    )
    second = await desk.publish("bay", atom(other_words))
    assert (second.new, second.duplicates, second.stories) == (0, 1, first.stories)

    (story,) = await desk.store.recent_stories(10)
    (entry,) = story.entries
    assert (entry.title, entry.source_id) == (LEAK_TITLE, "harbor")
    assert entry.also == (("bay", LEAK_URL),)
    assert story.sources == ("bay", "harbor")

    item = await story_item(http, story.id, LEAK_TITLE)
    assert "Harbor Wire · also reported by Bay Press" in text_of(item["content_html"])
    listing = (await get_feed(http, "/feeds/stories.json")).json()
    assert "also reported by Bay Press" in text_of(listing["items"][0]["content_html"])
    atom_feed = (await get_feed(http, f"/feeds/stories/{story.id}.atom")).content
    contents = lxml.etree.fromstring(atom_feed).iter("{http://www.w3.org/2005/Atom}content")
    assert any("also reported by Bay Press" in text_of(c.text or "") for c in contents)
    assert credit_lines(await page_updates(http, story.id)) == [
        "Harbor Wire · also reported by Bay Press"
    ]


async def test_same_copy_under_other_urls_and_ids_is_one_entry(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    first = await desk.publish("harbor", rss(LEAK))
    copy = Wire("coast-88", LEAK_TITLE, LEAK_TEXT, "https://coast.example/westhaven-leak", NOW)
    second = await desk.publish("coast", json_feed(copy))
    assert (second.new, second.duplicates, second.stories) == (0, 1, first.stories)
    (entry,) = (await desk.entries()).values()
    assert entry.also == (("coast", "https://coast.example/westhaven-leak"),)
    assert credit_lines(await page_updates(http, first.stories[0])) == [
        "Harbor Wire · also reported by Coast Desk"
    ]


async def test_near_copy_with_a_few_words_changed_is_one_entry(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    # Not the same words (so not the same copy), but close: the MinHash/LSH path decides.
    assert copy_key(LEAK_TITLE, LEAK_TEXT) != copy_key(NEAR_TITLE, NEAR_TEXT)
    assert jaccard(LEAK_TITLE, LEAK_TEXT, NEAR_TITLE, NEAR_TEXT) > 0.6
    first = await desk.publish("harbor", rss(LEAK))
    second = await desk.publish("bay", atom(NEAR_WIRE))
    assert (second.new, second.duplicates, second.stories) == (0, 1, first.stories)
    (entry,) = (await desk.entries()).values()
    assert entry.title == LEAK_TITLE
    assert entry.also == (("bay", "https://bay.example/w"),)
    item = await story_item(http, first.stories[0], LEAK_TITLE)
    assert "also reported by Bay Press" in text_of(item["content_html"])


async def test_unrelated_item_on_the_same_topic_is_a_separate_entry(desk: Desk) -> None:
    # Same port, same director, same terminal: other facts. Well below the threshold.
    assert jaccard(LEAK_TITLE, LEAK_TEXT, STRIKE_TITLE, STRIKE_TEXT) < DUPLICATE_THRESHOLD / 2
    first = await desk.publish("harbor", rss(LEAK))
    strike = Wire("coast-91", STRIKE_TITLE, STRIKE_TEXT, "https://coast.example/strike", NOW)
    second = await desk.publish("coast", json_feed(strike))
    assert (second.new, second.duplicates) == (1, 0)
    assert second.stories != first.stories
    entries = await desk.entries()
    assert set(entries) == {LEAK_TITLE, STRIKE_TITLE}
    assert all(e.also == () for e in entries.values())


LIVE_UPDATES = [  # newest first, as the live page's feed lists them
    Wire("live-3", "Terminal to reopen Wednesday", "Reyes says cleanup is done.", LIVE, NOW),
    Wire("live-2", "Tank contents identified", "It is a cleaning acid.", LIVE, EARLIER),
    Wire("live-1", "Terminal closed", "Crews pump out a tank.", LIVE, EARLIER - timedelta(hours=1)),
]


async def test_one_sources_updates_on_one_live_page_are_distinct_entries_of_one_story(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    report = await desk.publish("harbor", rss(*LIVE_UPDATES))
    assert (report.new, report.duplicates, report.unchanged) == (3, 0, 0)
    (story,) = await desk.store.recent_stories(10)
    assert [e.title for e in story.entries] == [w.title for w in LIVE_UPDATES]
    assert [e.identity for e in story.entries] == ["live-3", "live-2", "live-1"]
    assert {e.url for e in story.entries} == {LIVE}
    assert len(await page_updates(http, story.id)) == 3
    again = await desk.publish("harbor", rss(*LIVE_UPDATES) + b"\n", NOW + timedelta(minutes=1))
    assert (again.new, again.unchanged) == (0, 3)


async def test_an_edit_of_an_older_update_on_a_shared_live_page_url_is_stored(desk: Desk) -> None:
    await desk.publish("harbor", rss(*LIVE_UPDATES))
    edited = replace(LIVE_UPDATES[1], text="It is a cleaning acid, not a solvent.")
    report = await desk.publish(
        "harbor", rss(LIVE_UPDATES[0], edited, LIVE_UPDATES[2]), NOW + timedelta(minutes=5)
    )
    assert (report.updated, report.unchanged) == (1, 2)
    assert "not a solvent" in (await desk.entries())[edited.title].body_html


async def test_another_sources_copy_of_an_older_live_update_is_credited_to_that_update(
    desk: Desk,
) -> None:
    await desk.publish("harbor", rss(*LIVE_UPDATES))
    older = LIVE_UPDATES[1]
    copy = Wire("coast-7", older.title, older.text, "https://coast.example/acid", older.at)
    assert (await desk.publish("coast", json_feed(copy))).duplicates == 1
    entries = await desk.entries()
    assert entries[older.title].also == (("coast", "https://coast.example/acid"),)
    assert entries[LIVE_UPDATES[0].title].also == ()


async def test_link_only_items_of_two_sources_are_not_one_copy(desk: Desk) -> None:
    photo = Wire("harbor-photo-1", "", link="https://harbor.example/photos/cranes")
    other = Wire("coast-photo-9", "", link="https://coast.example/photos/beach")
    assert (await desk.publish("harbor", rss(photo))).new == 1
    report = await desk.publish("coast", json_feed(other))
    assert (report.new, report.duplicates) == (1, 0)


# -- versions -----------------------------------------------------------------------------------


def leak_version(version: int, headline: str, minutes: int, **extra: Any) -> dict[str, Any]:
    return ninjs_item(
        "urn:agency:2026:leak",
        headline,
        LEAK_TEXT,
        version=version,
        versioncreated=EARLIER + timedelta(minutes=minutes),
        **extra,
    )


async def test_ninjs_explicit_version_arriving_late_is_stale(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    v2 = leak_version(2, "Westhaven terminal shut; no injuries", 20)
    v1 = leak_version(1, "Westhaven terminal shut", 10)
    v3 = leak_version(3, "Westhaven terminal to reopen Wednesday", 30)
    first = await desk.publish("agency", ninjs(v2))
    assert first.new == 1
    late = await desk.publish("agency", ninjs(v1), NOW + timedelta(minutes=5))
    assert (late.updated, late.unchanged) == (0, 1)
    (entry,) = (await desk.entries()).values()
    assert (entry.title, entry.explicit_version, entry.version) == (
        v2["headlines"][0]["value"],
        2,
        1,
    )

    newer = await desk.publish("agency", ninjs(v3), NOW + timedelta(minutes=10))
    assert newer.updated == 1
    (entry,) = (await desk.entries()).values()
    assert (entry.explicit_version, entry.version) == (3, 2)
    assert [v for v, _hash, _at in entry.versions] == [1, 2]
    assert entry.updated == EARLIER + timedelta(minutes=30)
    assert entry.identity_kind == "native" and entry.identity == "urn:agency:2026:leak"
    item = await story_item(http, first.stories[0], "Westhaven terminal to reopen Wednesday")
    assert item["date_modified"] == rfc3339(EARLIER + timedelta(minutes=30))


async def test_atom_updated_orders_versions_without_a_number(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    def edition(minutes: int, title: str) -> bytes:
        at = EARLIER + timedelta(minutes=minutes)
        return atom(replace(NEAR_WIRE, title=title, updated=at))

    first = await desk.publish("bay", edition(20, "Westhaven terminal shut; no injuries"))
    late = await desk.publish(
        "bay", edition(10, "Westhaven terminal shut"), NOW + timedelta(minutes=1)
    )
    assert (late.updated, late.unchanged) == (0, 1)
    (entry,) = (await desk.entries()).values()
    assert (entry.title, entry.updated) == (
        "Westhaven terminal shut; no injuries",
        EARLIER + timedelta(minutes=20),
    )
    newer = await desk.publish("bay", edition(30, "Westhaven terminal reopens"), NOW)
    assert newer.updated == 1
    item = await story_item(http, first.stories[0], "Westhaven terminal reopens")
    assert item["date_modified"] == rfc3339(EARLIER + timedelta(minutes=30))
    assert item["date_published"] == rfc3339(EARLIER)


async def test_recent_version_history_is_kept_and_capped(desk: Desk) -> None:
    for n in range(1, MAX_VERSIONS_KEPT + 3):
        version = leak_version(n, f"Westhaven leak, take {n}", n)
        report = await desk.publish("agency", ninjs(version), NOW + timedelta(minutes=n))
        assert (report.new, report.updated) == ((1, 0) if n == 1 else (0, 1)), n
    (entry,) = (await desk.entries()).values()
    assert entry.version == entry.explicit_version == MAX_VERSIONS_KEPT + 2
    assert [v for v, _hash, _at in entry.versions] == list(range(3, MAX_VERSIONS_KEPT + 3))
    assert entry.versions[-1][1] == entry.content_hash
    assert len({h for _v, h, _at in entry.versions}) == MAX_VERSIONS_KEPT
    assert entry.first_seen == NOW + timedelta(minutes=1)


async def test_changes_without_a_version_are_capped_per_item(desk: Desk) -> None:
    desk.policy = IngestPolicy(dedupe=DedupePolicy(hash_change_cap=2))
    tally = Wire("harbor-tally", "Ships waiting outside Westhaven", "", LEAK_URL)
    berth = Wire("harbor-berth", "North berths cleared", "", LIVE)

    async def poll(minutes: int, ships: str, moved: str = "Six") -> IngestReport:
        return await desk.publish(
            "harbor",
            rss(replace(tally, text=ships), replace(berth, text=f"{moved} ships moved.")),
            NOW + timedelta(minutes=minutes),
        )

    assert (await poll(0, "Ships waiting: 3.")).new == 2
    assert (await poll(10, "Ships waiting: 4.")).updated == 1
    assert (await poll(20, "Ships waiting: 5.")).updated == 1
    capped = await poll(30, "Ships waiting: 6.", "Seven")
    assert (capped.updated, capped.unchanged) == (1, 1)  # the cap is per item
    entries = await desk.entries()
    assert "Ships waiting: 5." in entries[tally.title].body_html
    assert "Seven ships moved." in entries[berth.title].body_html

    # A correction always passes the cap.
    fixed = await poll(40, "CORRECTS the count of ships. Ships waiting: 6.", "Seven")
    assert (fixed.updated, fixed.unchanged) == (1, 1)
    assert (await desk.entries())[tally.title].correction_note == "CORRECTS the count of ships."
    assert (await poll(50, "Ships waiting: 7.", "Seven")).unchanged == 2
    # The cap counts changes of the last window only.
    next_day = await poll(25 * 60, "Ships waiting: 2.", "Seven")
    assert (next_day.updated, next_day.unchanged) == (1, 1)
    assert "Ships waiting: 2." in (await desk.entries())[tally.title].body_html


async def test_the_hash_change_cap_setting_reaches_the_workers_decisions(
    server: FeedServer, rclient: aioredis.Redis, fetcher: HttpFetcher
) -> None:
    settings = Settings.from_env({"WIREFEED_HASH_CHANGE_CAP": "1"})
    ingest_policy, _timing = policies(settings)
    desk = Desk(server, compose.store(rclient, settings), fetcher, ingest_policy)
    tally = Wire("harbor-tally", "Ships waiting outside Westhaven", "Ships waiting: 3.")
    assert (await desk.publish("harbor", rss(tally))).new == 1
    change = replace(tally, text="Ships waiting: 4.")
    assert (await desk.publish("harbor", rss(change), NOW + timedelta(minutes=1))).updated == 1
    again = replace(tally, text="Ships waiting: 5.")
    capped = await desk.publish("harbor", rss(again), NOW + timedelta(minutes=2))
    assert (capped.updated, capped.unchanged) == (0, 1)


# -- corrections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "text", "note"),
    [
        pytest.param(
            LEAK_TITLE,
            "CORRECTS spelling of the director name to Reyes. " + LEAK_TEXT,
            "CORRECTS spelling of the director name to Reyes.",
            id="corrects-sentence-is-the-note",
        ),
        pytest.param(
            "CORRECTION: " + LEAK_TITLE,
            LEAK_TEXT,
            "This update has been corrected.",
            id="bare-marker-default-note",
        ),
    ],
)
async def test_correction_marker_republishes_with_a_new_updated_time_and_a_note(
    desk: Desk, http: httpx.AsyncClient, title: str, text: str, note: str
) -> None:
    first = await desk.publish("harbor", rss(LEAK))
    sid = first.stories[0]
    before = await story_item(http, sid, LEAK_TITLE)
    assert before["date_modified"] == rfc3339(EARLIER)
    assert "correction" not in before["content_html"]

    fixed_at = NOW + timedelta(minutes=7)
    report = await desk.publish("harbor", rss(replace(LEAK, title=title, text=text)), fixed_at)
    assert (report.new, report.updated) == (0, 1)
    (entry,) = (await desk.entries()).values()
    assert (entry.updated, entry.corrected_at) == (fixed_at, fixed_at)

    item = await story_item(http, sid, title)
    assert item["date_modified"] == rfc3339(fixed_at)
    assert "<strong>Correction</strong>" in item["content_html"]
    assert note in item["content_html"]
    (update,) = await page_updates(http, sid)
    shown = update.xpath("string(p[@class='correction'])")
    assert shown.startswith("Correction (Nov. 29, 10:07 a.m.):") and shown.endswith(note)
    assert note in (await get_feed(http, f"/feeds/stories/{sid}.atom")).text
    listing = (await get_feed(http, "/feeds/stories.json")).json()
    assert listing["items"][0]["date_modified"] == rfc3339(fixed_at)


async def test_ninjs_ednote_correction_moves_updated_and_shows_the_note(
    desk: Desk, http: httpx.AsyncClient
) -> None:
    v1 = leak_version(1, LEAK_TITLE, 0)
    note = "Corrects the number of injured workers to two, not three."
    v2 = leak_version(2, LEAK_TITLE, 45, ednote=note)
    v2["body_text"] = LEAK_TEXT.replace("nobody was hurt", "two workers were hurt")
    first = await desk.publish("agency", ninjs(v1))
    report = await desk.publish("agency", ninjs(v2), NOW + timedelta(minutes=1))
    assert report.updated == 1
    (entry,) = (await desk.entries()).values()
    assert entry.correction_note == note
    assert entry.updated == entry.corrected_at == EARLIER + timedelta(minutes=45)
    item = await story_item(http, first.stories[0], LEAK_TITLE)
    assert item["date_modified"] == rfc3339(EARLIER + timedelta(minutes=45))
    assert note in item["content_html"]
    (update,) = await page_updates(http, first.stories[0])
    assert update.xpath("string(p[@class='correction'])").endswith(note)
    assert "two workers were hurt" in update.text_content()
