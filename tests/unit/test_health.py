"""ingest.health: how one poll's outcome changes a source's status (pure transitions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.sources import Source
from ingest import health
from ingest.errors import (
    FetchConnectError,
    FetchError,
    FetchHTTPError,
    FetchTimeout,
    ParseError,
)
from ingest.health import GAP_SMOOTHING, HealthPolicy
from ingest.model import STATES, FetchResult, SourceStatus

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)
A = "https://wire.example/feed.xml"
B = "https://new.wire.example/feed.xml"
C = "https://newer.wire.example/feed.xml"
SOURCE = Source(id="w", url=A)
POLICY = HealthPolicy(dead_after=10, quiet_factor=10, quiet_min_items=5, redirect_confirmations=3)


def status(**fields: Any) -> SourceStatus:
    return SourceStatus("w", **fields)


def answer(
    code: int = 200,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    date: str | None = None,
    redirects: tuple[tuple[int, str], ...] = (),
) -> FetchResult:
    headers = {}
    if etag:
        headers["etag"] = etag
    if last_modified:
        headers["last-modified"] = last_modified
    if date:
        headers["date"] = date
    return FetchResult(url=A, status=code, headers=headers, redirects=redirects)


def fields(after: SourceStatus, names: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(after, name) for name in names}


# ---------------------------------------------------------------------------------------------
# succeeded: 200 and 304


LM1 = "Wed, 01 May 2024 10:00:00 GMT"
LM2 = "Wed, 01 May 2024 11:00:00 GMT"


@pytest.mark.parametrize(
    ("before", "result", "kwargs", "expected"),
    [
        pytest.param(
            status(),
            answer(200, etag='"v1"', last_modified=LM1),
            {},
            {
                "state": "ok",
                "http_status": 200,
                "etag": '"v1"',
                "last_modified": LM1,
                "polls": 1,
                "last_attempt": NOW,
                "last_success": NOW,
            },
            id="first-200-stores-validators",
        ),
        pytest.param(
            status(state="ok", etag='"v1"', last_modified=LM1, polls=7, http_status=200),
            answer(304),
            {},
            {"state": "ok", "http_status": 304, "etag": '"v1"', "last_modified": LM1, "polls": 8},
            id="304-without-validators-keeps-them",
        ),
        pytest.param(
            status(etag='"v1"', last_modified=LM1),
            answer(304, etag='"v2"'),
            {},
            {"etag": '"v2"', "last_modified": LM1},
            id="304-with-a-new-etag-takes-it",
        ),
        pytest.param(
            status(etag='"v1"', last_modified=LM1),
            answer(200),
            {},
            {"etag": None, "last_modified": None},
            id="200-without-validators-retires-both",
        ),
        pytest.param(
            status(etag='"v1"', last_modified=LM1),
            answer(200, etag='"v2"'),
            {},
            {"etag": '"v2"', "last_modified": None},
            id="200-with-etag-only-retires-last-modified",
        ),
        pytest.param(
            status(etag='"v1"', last_modified=LM1),
            answer(200, last_modified=LM2),
            {},
            {"etag": None, "last_modified": LM2},
            id="200-with-last-modified-only-retires-etag",
        ),
        pytest.param(
            status(last_modified=LM1),
            answer(200, etag='"v2"', last_modified=LM2, date=LM2),
            {},
            {"etag": '"v2"', "last_modified": None},
            # Changed again later in that second, the document would keep the date: a server
            # comparing whole seconds would answer 304 to it and hide the change.
            id="200-modified-in-the-second-of-its-date-keeps-no-last-modified",
        ),
        pytest.param(
            status(),
            answer(200, last_modified=LM2, date="Wed, 01 May 2024 10:59:59 GMT"),
            {},
            {"last_modified": None},
            id="200-modified-after-its-date-keeps-no-last-modified",
        ),
        pytest.param(
            status(),
            answer(200, last_modified=LM2, date="Wed, 01 May 2024 11:00:01 GMT"),
            {},
            {"last_modified": LM2},
            id="200-modified-a-second-before-its-date-keeps-last-modified",
        ),
        pytest.param(
            status(last_modified=LM1),
            answer(304, last_modified=LM2, date=LM2),
            {},
            {"last_modified": LM1},
            id="304-modified-in-the-second-of-its-date-keeps-the-old-last-modified",
        ),
        pytest.param(
            status(
                state="failing",
                consecutive_failures=4,
                last_error="HTTP 500 Internal Server Error",
                http_status=500,
                last_success=EARLIER,
            ),
            answer(200),
            {},
            {
                "state": "ok",
                "consecutive_failures": 0,
                "last_error": None,
                "http_status": 200,
                "last_success": NOW,
            },
            id="failures-reset",
        ),
        pytest.param(
            status(state="dead", consecutive_failures=25, last_error="timed out"),
            answer(304),
            {},
            {"state": "ok", "consecutive_failures": 0, "last_error": None},
            id="dead-recovers",
        ),
        pytest.param(
            status(state="deferred", last_error="HTTP 429 Too Many Requests", http_status=429),
            answer(200),
            {},
            {"state": "ok", "last_error": None, "http_status": 200},
            id="deferred-recovers",
        ),
        pytest.param(
            status(body_hash="old", entries_seen=3),
            answer(304),
            {},
            {"body_hash": "old", "entries_seen": 3},
            id="304-keeps-body-hash-and-entries",
        ),
        pytest.param(
            status(body_hash="old", entries_seen=3),
            answer(200),
            {"body_hash": "new", "entries": 0},
            {"body_hash": "new", "entries_seen": 0},
            id="200-records-body-hash-and-entries",
        ),
        pytest.param(
            status(ttl=600.0),
            answer(200),
            {"ttl": 1800.0},
            {"ttl": 1800.0},
            id="ttl-from-the-document",
        ),
        pytest.param(
            status(ttl=600.0),
            answer(200),
            {},
            {"ttl": None},
            id="ttl-gone-from-the-document",
        ),
    ],
)
def test_succeeded(
    before: SourceStatus, result: FetchResult, kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    after = health.succeeded(before, result, NOW, POLICY, **kwargs)
    assert fields(after, expected) == expected


def test_succeeded_counts_every_poll() -> None:
    after = reduce(
        lambda s, r: health.succeeded(s, r, NOW, POLICY), [answer(200), answer(304)] * 3, status()
    )
    assert after.polls == 6


# ---------------------------------------------------------------------------------------------
# the publishing rate: new items, the smoothed gap between them, and quiet sources


def test_the_first_new_items_start_the_clock_without_a_gap() -> None:
    after = health.succeeded(status(), answer(200), NOW, POLICY, new_items=3)
    assert (after.new_items, after.last_new, after.mean_gap) == (3, NOW, None)


@pytest.mark.parametrize(
    ("before", "elapsed", "new", "expected_gap"),
    [
        pytest.param(status(new_items=1, last_new=NOW), 600, 1, 600.0, id="first-gap-as-observed"),
        pytest.param(
            status(new_items=1, last_new=NOW), 600, 4, 150.0, id="gap-shared-by-the-batch"
        ),
        pytest.param(
            status(new_items=2, last_new=NOW, mean_gap=600.0),
            300,
            1,
            GAP_SMOOTHING * 300 + (1 - GAP_SMOOTHING) * 600,
            id="smoothed",
        ),
        pytest.param(
            status(new_items=2, last_new=NOW + timedelta(seconds=60)),
            0,
            1,
            0.0,
            id="clock-went-back-counts-as-no-gap",
        ),
    ],
)
def test_mean_gap(before: SourceStatus, elapsed: float, new: int, expected_gap: float) -> None:
    when = NOW + timedelta(seconds=elapsed)
    after = health.succeeded(before, answer(200), when, POLICY, new_items=new)
    assert after.mean_gap == pytest.approx(expected_gap)
    assert after.last_new == when
    assert after.new_items == before.new_items + new


@pytest.mark.parametrize("code", [200, 304])
def test_a_poll_without_new_items_keeps_the_rate(code: int) -> None:
    before = status(new_items=2, last_new=EARLIER, mean_gap=600.0)
    after = health.succeeded(before, answer(code), NOW, POLICY)
    assert (after.new_items, after.last_new, after.mean_gap) == (2, EARLIER, 600.0)


@pytest.mark.parametrize(
    ("new_items", "mean_gap", "last_new", "silent", "quiet"),
    [
        pytest.param(5, 60.0, True, 601, True, id="busy-and-silent-past-10x"),
        pytest.param(5, 60.0, True, 600, False, id="exactly-10x-is-not-yet-quiet"),
        pytest.param(5, 60.0, True, 599, False, id="within-10x"),
        pytest.param(4, 60.0, True, 10_000, False, id="too-few-items-to-know-its-rate"),
        pytest.param(500, 60.0, True, 10_000, True, id="many-items"),
        pytest.param(5, None, True, 10_000, False, id="no-rate-yet"),
        pytest.param(5, 0.0, True, 10_000, False, id="zero-gap"),
        pytest.param(5, 60.0, False, 10_000, False, id="never-new"),
    ],
)
def test_is_quiet(
    new_items: int, mean_gap: float | None, last_new: bool, silent: float, quiet: bool
) -> None:
    before = status(new_items=new_items, mean_gap=mean_gap, last_new=EARLIER if last_new else None)
    now = EARLIER + timedelta(seconds=silent)
    assert health.is_quiet(before, now, POLICY) is quiet


def test_is_quiet_follows_the_policy() -> None:
    before = status(new_items=2, mean_gap=60.0, last_new=EARLIER)
    now = EARLIER + timedelta(seconds=200)
    assert not health.is_quiet(before, now, POLICY)
    assert health.is_quiet(before, now, HealthPolicy(quiet_factor=3, quiet_min_items=2))


@pytest.mark.parametrize(
    ("silent", "new", "state"),
    [
        pytest.param(601, 0, "quiet", id="silent-too-long"),
        pytest.param(599, 0, "ok", id="silent-a-while"),
        pytest.param(10_000, 1, "ok", id="new-item-ends-the-silence"),
    ],
)
def test_succeeded_marks_quiet_sources(silent: float, new: int, state: str) -> None:
    before = status(state="ok", new_items=5, mean_gap=60.0, last_new=EARLIER)
    now = EARLIER + timedelta(seconds=silent)
    for result in (answer(200), answer(304)):
        after = health.succeeded(before, result, now, POLICY, new_items=new)
        assert after.state == state


# ---------------------------------------------------------------------------------------------
# failed


NOT_FOUND = FetchHTTPError(404, "HTTP 404 Not Found")
GONE = FetchHTTPError(410, "HTTP 410 Gone")


@pytest.mark.parametrize(
    ("before", "exc", "kwargs", "expected"),
    [
        pytest.param(
            status(state="ok", polls=3, last_success=EARLIER, http_status=200),
            NOT_FOUND,
            {},
            {
                "state": "failing",
                "consecutive_failures": 1,
                "http_status": 404,
                "last_error": "HTTP 404 Not Found",
                "last_attempt": NOW,
                "last_success": EARLIER,
                "polls": 4,
            },
            id="first-failure",
        ),
        pytest.param(
            status(state="failing", consecutive_failures=8),
            FetchTimeout("reading the response timed out"),
            {},
            {
                "state": "failing",
                "consecutive_failures": 9,
                "http_status": None,
                "last_error": "reading the response timed out",
            },
            id="one-short-of-dead",
        ),
        pytest.param(
            status(state="failing", consecutive_failures=9),
            FetchConnectError("cannot connect: [Errno 111] Connection refused"),
            {},
            {"state": "dead", "consecutive_failures": 10},
            id="dead-at-dead-after",
        ),
        pytest.param(
            status(state="dead", consecutive_failures=40),
            NOT_FOUND,
            {},
            {"state": "dead", "consecutive_failures": 41},
            id="stays-dead",
        ),
        pytest.param(
            status(state="ok"),
            GONE,
            {},
            {"state": "gone", "consecutive_failures": 1, "http_status": 410},
            id="410-gone-at-once",
        ),
        pytest.param(
            status(state="failing", consecutive_failures=20),
            GONE,
            {},
            {"state": "gone", "consecutive_failures": 21},
            id="410-beats-dead",
        ),
        pytest.param(
            status(),
            FetchError("something"),
            {"http_status": 410},
            {"state": "gone", "http_status": 410},
            id="410-given-beside-the-error",
        ),
        pytest.param(
            status(),
            NOT_FOUND,
            {"http_status": 200},
            {"http_status": 404},
            id="the-error-status-wins",
        ),
        pytest.param(
            status(state="ok", http_status=200),
            ParseError("not a feed: <html>"),
            {"http_status": 200},
            {
                "state": "failing",
                "http_status": 200,
                "last_error": "cannot parse the feed: not a feed: <html>",
                "consecutive_failures": 1,
            },
            id="parse-error-prefixed",
        ),
        pytest.param(
            status(etag='"v1"', last_modified=LM1, body_hash="h", mean_gap=60.0),
            NOT_FOUND,
            {},
            {"etag": '"v1"', "last_modified": LM1, "body_hash": "h", "mean_gap": 60.0},
            id="memory-kept",
        ),
    ],
)
def test_failed(
    before: SourceStatus,
    exc: FetchError | ParseError,
    kwargs: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    after = health.failed(before, exc, NOW, POLICY, **kwargs)
    assert fields(after, expected) == expected


@pytest.mark.parametrize(("dead_after", "state"), [(1, "dead"), (2, "failing")])
def test_failed_follows_dead_after(dead_after: int, state: str) -> None:
    after = health.failed(status(), NOT_FOUND, NOW, HealthPolicy(dead_after=dead_after))
    assert after.state == state


# ---------------------------------------------------------------------------------------------
# deferred: not a failure


FAILING = status(
    state="failing",
    consecutive_failures=3,
    last_error="HTTP 503 Service Unavailable",
    http_status=503,
    polls=9,
    last_attempt=EARLIER,
    last_success=EARLIER,
)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {},
            {
                "state": "deferred",
                "last_attempt": NOW,
                "consecutive_failures": 3,
                "last_error": "HTTP 503 Service Unavailable",
                "http_status": 503,
                "polls": 9,
                "last_success": EARLIER,
            },
            id="host-budget-spent",
        ),
        pytest.param(
            {"http_status": 429, "note": "HTTP 429 Too Many Requests"},
            {
                "state": "deferred",
                "consecutive_failures": 3,
                "last_error": "HTTP 429 Too Many Requests",
                "http_status": 429,
                "polls": 9,
            },
            id="429-with-a-note",
        ),
        pytest.param(
            {"note": ""},
            {"last_error": "", "http_status": 503},
            id="an-empty-note-is-a-note",
        ),
    ],
)
def test_deferred(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    after = health.deferred(FAILING, NOW, **kwargs)
    assert fields(after, expected) == expected


# ---------------------------------------------------------------------------------------------
# redirected: permanent moves, confirmed


def hops(*chain: tuple[int, str]) -> FetchResult:
    return answer(200, redirects=chain)


@pytest.mark.parametrize(
    ("before", "result", "expected"),
    [
        pytest.param(
            status(), answer(200), {"redirect_target": None, "redirect_count": 0}, id="no-redirect"
        ),
        pytest.param(
            status(),
            hops((301, B)),
            {"redirect_target": B, "redirect_count": 1, "url": None},
            id="first-301",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=1),
            hops((308, B)),
            {"redirect_target": B, "redirect_count": 2, "url": None},
            id="second-308",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((301, B)),
            {
                "url": B,
                "moved_from": A,
                "aliases": (A,),
                "redirect_target": None,
                "redirect_count": 0,
            },
            id="third-moves",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((301, C)),
            {"redirect_target": C, "redirect_count": 1, "url": None},
            id="a-different-target-restarts",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((302, B)),
            {"redirect_target": None, "redirect_count": 0, "url": None},
            id="302-resets",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((307, B)),
            {"redirect_target": None, "redirect_count": 0, "url": None},
            id="307-resets",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((301, C), (302, B)),
            {"redirect_target": None, "redirect_count": 0, "url": None},
            id="302-late-in-the-chain-resets",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((307, C), (301, B)),
            {"redirect_target": None, "redirect_count": 0, "url": None},
            id="307-early-in-the-chain-resets",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((303, B)),
            {"redirect_target": None, "redirect_count": 0, "url": None},
            id="303-resets",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            answer(304),
            {"redirect_target": None, "redirect_count": 0},
            id="an-answer-without-redirect-resets",
        ),
        pytest.param(
            status(redirect_target=B, redirect_count=2),
            hops((301, C), (308, B)),
            {"url": B, "moved_from": A},
            id="all-permanent-chain-counts-its-end",
        ),
    ],
)
def test_redirected(before: SourceStatus, result: FetchResult, expected: dict[str, Any]) -> None:
    after = health.redirected(before, SOURCE, A, result, POLICY)
    assert fields(after, expected) == expected


@pytest.mark.parametrize(
    ("chains", "moved"),
    [
        pytest.param([[(301, B)]] * 3, True, id="three-in-a-row"),
        pytest.param([[(301, B)], [(308, B)], [(301, B)]], True, id="301-and-308-mix"),
        pytest.param([[(301, B)]] * 2, False, id="two-are-not-enough"),
        pytest.param([[(301, B)], [(301, B)], [(302, B)]], False, id="302-third"),
        pytest.param([[(301, B)], [(302, B)], [(301, B)], [(301, B)]], False, id="302-between"),
        pytest.param(
            [[(301, B)], [(307, B)], [(301, B)], [(301, B)], [(301, B)]],
            True,
            id="three-after-a-307",
        ),
        pytest.param([[(301, B)], [(301, C)], [(301, B)]], False, id="targets-alternate"),
        pytest.param([[(301, B)], []], False, id="redirect-stopped"),
    ],
)
def test_a_move_needs_confirmations_in_a_row(
    chains: list[list[tuple[int, str]]], moved: bool
) -> None:
    after = status()
    for chain in chains:
        after = health.redirected(after, SOURCE, A, hops(*chain), POLICY)
    assert (after.url == B) is moved
    assert after.moved_from == (A if moved else None)


def test_confirmations_follow_the_policy() -> None:
    once = HealthPolicy(redirect_confirmations=1)
    after = health.redirected(status(), SOURCE, A, hops((308, B)), once)
    assert (after.url, after.moved_from, after.aliases) == (B, A, (A,))


def test_a_moved_source_moves_again_and_remembers_every_address() -> None:
    moved = status(url=B, moved_from=A, aliases=(A,))
    after = moved
    for _ in range(3):
        fetched = health.current_url(SOURCE, after)
        after = health.redirected(after, SOURCE, fetched, hops((301, C)), POLICY)
    assert (after.url, after.moved_from, after.aliases) == (C, A, (A, B))


def test_aliases_are_not_repeated() -> None:
    before = status(aliases=(A,), redirect_target=B, redirect_count=2)
    after = health.redirected(before, SOURCE, A, hops((301, B)), POLICY)
    assert after.aliases == (A,)


# ---------------------------------------------------------------------------------------------
# current_url: a confirmed move, unless the configuration changed since


@pytest.mark.parametrize(
    ("configured", "before", "expected"),
    [
        pytest.param(A, status(), A, id="never-moved"),
        pytest.param(A, status(url=B, moved_from=A), B, id="moved"),
        pytest.param(C, status(url=B, moved_from=A), C, id="editor-changed-the-url-since"),
        pytest.param(A, status(url=B), A, id="url-without-moved-from"),
        pytest.param(A, status(moved_from=A), A, id="moved-from-without-url"),
        pytest.param(
            A,
            status(redirect_target=B, redirect_count=2),
            A,
            id="unconfirmed-redirect-does-not-count",
        ),
    ],
)
def test_current_url(configured: str, before: SourceStatus, expected: str) -> None:
    assert health.current_url(Source(id="w", url=configured), before) == expected


# ---------------------------------------------------------------------------------------------
# unconditional_due: every Nth poll goes out without validators


@pytest.mark.parametrize(
    ("every", "polls", "due"),
    [
        pytest.param(100, 0, False, id="never-the-first"),
        pytest.param(100, 98, False, id="99th"),
        pytest.param(100, 99, True, id="100th"),
        pytest.param(100, 100, False, id="101st"),
        pytest.param(100, 199, True, id="200th"),
        pytest.param(3, 2, True, id="every-3rd-3rd"),
        pytest.param(3, 5, True, id="every-3rd-6th"),
        pytest.param(3, 3, False, id="every-3rd-4th"),
        pytest.param(1, 0, False, id="every-poll-but-the-first"),
        pytest.param(1, 1, True, id="every-poll-second"),
        pytest.param(0, 99, False, id="disabled"),
        pytest.param(0, 0, False, id="disabled-first"),
    ],
)
def test_unconditional_due(every: int, polls: int, due: bool) -> None:
    policy = HealthPolicy(unconditional_every=every)
    assert health.unconditional_due(status(polls=polls), policy) is due


def test_unconditional_polls_are_spaced_by_every() -> None:
    policy = HealthPolicy(unconditional_every=4)
    due = [n + 1 for n in range(20) if health.unconditional_due(status(polls=n), policy)]
    assert due == [4, 8, 12, 16, 20]


# ---------------------------------------------------------------------------------------------
# the failure count, whatever happens


OUTCOMES = st.sampled_from(["200", "304", "error", "timeout", "parse", "deferred", "429"])


def apply(before: SourceStatus, outcome: str, policy: HealthPolicy) -> SourceStatus:
    if outcome in ("200", "304"):
        return health.succeeded(before, answer(int(outcome)), NOW, policy)
    if outcome == "error":
        return health.failed(before, FetchHTTPError(500, "HTTP 500"), NOW, policy)
    if outcome == "timeout":
        return health.failed(before, FetchTimeout("connecting timed out"), NOW, policy)
    if outcome == "parse":
        return health.failed(before, ParseError("junk"), NOW, policy, http_status=200)
    if outcome == "429":
        return health.deferred(before, NOW, http_status=429, note="HTTP 429 Too Many Requests")
    return health.deferred(before, NOW)


def trailing_failures(outcomes: list[str]) -> int:
    """Failures since the last success; deferrals neither count nor break the run."""
    run = 0
    for outcome in outcomes:
        if outcome in ("200", "304"):
            run = 0
        elif outcome in ("error", "timeout", "parse"):
            run += 1
    return run


@settings(max_examples=300, deadline=None)
@given(outcomes=st.lists(OUTCOMES, max_size=30), dead_after=st.integers(1, 6))
def test_consecutive_failures_is_the_trailing_run(outcomes: list[str], dead_after: int) -> None:
    policy = HealthPolicy(dead_after=dead_after)
    after = status()
    for n, outcome in enumerate(outcomes, start=1):
        before = after
        after = apply(after, outcome, policy)
        run = trailing_failures(outcomes[:n])
        assert after.consecutive_failures == run
        assert after.state in STATES
        if outcome in ("error", "timeout", "parse"):
            assert (after.state == "dead") is (run >= dead_after)
            assert after.state in ("failing", "dead")
        elif outcome in ("deferred", "429"):
            # a dead source stays dead (and retried rarely) while deferred
            assert after.state == ("dead" if before.state == "dead" else "deferred")
        else:
            assert after.state in ("ok", "quiet")
    assert after.polls == sum(o not in ("deferred", "429") for o in outcomes)


@settings(max_examples=100, deadline=None)
@given(before=st.integers(0, 50), dead_after=st.integers(1, 20))
def test_a_410_is_gone_whatever_the_count(before: int, dead_after: int) -> None:
    after = health.failed(
        replace(status(), consecutive_failures=before), GONE, NOW, HealthPolicy(dead_after)
    )
    assert (after.state, after.consecutive_failures) == ("gone", before + 1)
