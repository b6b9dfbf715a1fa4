"""workers.timing.next_delay: intervals, backoff, floors, adaptive polling and jitter."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.sources import Source
from ingest.model import IngestReport, SourceStatus
from workers.timing import JITTER, TimingPolicy, next_delay

POLICY = TimingPolicy(max_floor=3600, max_backoff=3600, dead_retry=21600)


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 1.0


def source(interval: float = 60.0, **kw: float) -> Source:
    return Source(id="w", url="https://wire.example/feed.xml", interval=interval, **kw)  # type: ignore[arg-type]


def status(state: str = "ok", failures: int = 0, gap: float | None = None) -> SourceStatus:
    return SourceStatus("w", state=state, consecutive_failures=failures, mean_gap=gap)


def report(
    kind: str = "ok",
    *,
    http: int | None = None,
    floors: tuple[tuple[str, float], ...] = (),
    wait: float | None = None,
    error: str | None = None,
) -> IngestReport:
    return IngestReport("w", status=kind, http_status=http, floors=floors, wait=wait, error=error)


@pytest.mark.parametrize(
    ("src", "st_", "rep", "seconds", "reason"),
    [
        pytest.param(source(), status(), report(), 60, "configured interval: 60 s", id="ok"),
        pytest.param(
            source(2.5),
            status(),
            report("unchanged"),
            2.5,
            "configured interval: 2.5 s",
            id="fractional",
        ),
        pytest.param(
            source(),
            status("failing", 1),
            report("error"),
            60,
            "backing off after 1 consecutive failure",
            id="first-failure",
        ),
        pytest.param(
            source(),
            status("failing", 3),
            report("error"),
            240,
            "backing off after 3 consecutive failures",
            id="third-failure",
        ),
        pytest.param(
            source(),
            status("failing", 9),
            report("error"),
            3600,
            "backing off after 9 consecutive failures",
            id="backoff-capped",
        ),
        pytest.param(
            source(7200),
            status("failing", 2),
            report("error"),
            7200,
            "backing off after 2 consecutive failures",
            id="never-below-interval",
        ),
        pytest.param(
            source(),
            status("dead", 10),
            report("error"),
            21600,
            "dead after 10 consecutive failures: retried every 6.0 h",
            id="dead",
        ),
        pytest.param(
            source(),
            status("gone", 1),
            report("error", http=410),
            None,
            "410 Gone: disabled until its configuration changes",
            id="gone",
        ),
        pytest.param(
            source(),
            status("deferred"),
            report("deferred", wait=3.5, error="host budget for x (2 requests at once) in use"),
            3.5,
            "deferred: host budget for x (2 requests at once) in use",
            id="deferred",
        ),
        pytest.param(
            source(),
            status("deferred"),
            report("deferred", wait=0.0, error="busy"),
            1.0,
            "deferred: busy",
            id="deferred-at-least-a-second",
        ),
        pytest.param(
            source(),
            status("deferred"),
            report("deferred", http=429, floors=(("Retry-After", 120),)),
            120,
            "Retry-After: 120 s",
            id="429-retry-after-seconds",
        ),
        pytest.param(
            source(),
            status("failing", 1),
            report("error", http=503, floors=(("Retry-After", 900),)),
            900,
            "Retry-After: 900 s",
            id="503-retry-after",
        ),
        pytest.param(
            source(),
            status(),
            report(floors=(("Retry-After", 99999),)),
            3600,
            "Retry-After: 99999 s (capped at 3600 s)",
            id="floor-capped",
        ),
        pytest.param(
            source(),
            status(),
            report(floors=(("Cache-Control max-age", 30),)),
            60,
            "configured interval: 60 s",
            id="floor-below-interval-ignored",
        ),
        pytest.param(
            source(),
            status(),
            report(floors=(("Cache-Control max-age", 300), ("RSS ttl", 600))),
            600,
            "RSS ttl: 600 s",
            id="highest-floor-wins",
        ),
        pytest.param(
            source(60),
            status(gap=600),
            report(),
            240,
            "adaptive: a new item every 10 min or so",
            id="adaptive-slower-capped",
        ),
        pytest.param(
            source(60, max_interval=1000),
            status(gap=600),
            report(),
            300,
            "adaptive: a new item every 10 min or so",
            id="adaptive-half-the-gap",
        ),
        pytest.param(
            source(60, min_interval=10),
            status(gap=30),
            report(),
            15,
            "adaptive: a new item every 30 s or so",
            id="adaptive-faster",
        ),
        pytest.param(
            source(60),
            status(gap=30),
            report(),
            60,
            "adaptive: a new item every 30 s or so",
            id="adaptive-not-below-min",
        ),
    ],
)
def test_next_delay(
    src: Source, st_: SourceStatus, rep: IngestReport, seconds: float | None, reason: str
) -> None:
    delay = next_delay(src, st_, rep, POLICY, NoJitter())
    assert (delay.seconds, delay.reason) == (seconds, reason)


@settings(max_examples=200, deadline=None)
@given(
    interval=st.floats(min_value=1, max_value=86400),
    failures=st.integers(min_value=0, max_value=50),
    seed=st.integers(),
)
def test_jitter_stays_within_bounds(interval: float, failures: int, seed: int) -> None:
    state = "failing" if failures else "ok"
    rep = report("error" if failures else "ok")
    exact = next_delay(source(interval), status(state, failures), rep, POLICY, NoJitter())
    jittered = next_delay(
        source(interval), status(state, failures), rep, POLICY, random.Random(seed)
    )
    assert exact.seconds is not None and jittered.seconds is not None
    assert exact.seconds * (1 - JITTER) <= jittered.seconds <= exact.seconds * (1 + JITTER)


def test_jitter_spreads_sources_that_fail_together() -> None:
    rng = random.Random(7)
    delays = {
        next_delay(source(), status("failing", 2), report("error"), POLICY, rng).seconds
        for _ in range(50)
    }
    assert len(delays) == 50
