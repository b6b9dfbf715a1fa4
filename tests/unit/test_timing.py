"""workers.timing.next_delay: the interval with jitter, exponential backoff with a cap."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.sources import Source
from ingest.model import IngestReport
from workers.timing import JITTER, MAX_BACKOFF, next_delay


def source(interval: float = 60.0) -> Source:
    return Source(id="wire-a", url="https://wire.example/feed.xml", interval=interval)


def report(status: str) -> IngestReport:
    return IngestReport(source_id="wire-a", status=status)


@pytest.mark.parametrize(
    ("interval", "status", "failures", "base", "reason"),
    [
        pytest.param(60, "ok", 0, 60, "configured interval: 60 s", id="ok"),
        pytest.param(5, "unchanged", 0, 5, "configured interval: 5 s", id="unchanged"),
        pytest.param(2.5, "ok", 0, 2.5, "configured interval: 2.5 s", id="fractional"),
        pytest.param(60, "error", 0, 60, "configured interval: 60 s", id="error-not-counted"),
        pytest.param(
            60, "ok", 3, 60, "configured interval: 60 s", id="success-ignores-old-failures"
        ),
        pytest.param(60, "error", 1, 120, "backing off after 1 consecutive failure", id="1"),
        pytest.param(60, "error", 2, 240, "backing off after 2 consecutive failures", id="2"),
        pytest.param(60, "error", 5, 1920, "backing off after 5 consecutive failures", id="5"),
        pytest.param(
            60, "error", 6, MAX_BACKOFF, "backing off after 6 consecutive failures", id="capped"
        ),
        pytest.param(
            60,
            "error",
            10_000,
            MAX_BACKOFF,
            "backing off after 10000 consecutive failures",
            id="huge-count-capped",
        ),
        pytest.param(
            1,
            "error",
            16,
            MAX_BACKOFF,
            "backing off after 16 consecutive failures",
            id="exponent-limit",
        ),
        pytest.param(
            7200,
            "error",
            1,
            7200,
            "backing off after 1 consecutive failure",
            id="never-faster-than-the-interval",
        ),
    ],
)
def test_next_delay(interval: float, status: str, failures: int, base: float, reason: str) -> None:
    rng = random.Random(7)
    delay = next_delay(source(interval), report(status), failures, rng)
    assert delay.reason == reason
    assert base * (1 - JITTER) <= delay.seconds <= base * (1 + JITTER)
    assert delay.seconds == base * random.Random(7).uniform(1 - JITTER, 1 + JITTER)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in (0, 1, 42)])
def test_a_seeded_random_gives_the_same_delays(seed: int) -> None:
    def run() -> list[float]:
        rng = random.Random(seed)
        return [next_delay(source(), report("error"), n, rng).seconds for n in range(8)]

    assert run() == run()


def test_jitter_spreads_delays() -> None:
    rng = random.Random(3)
    delays = {next_delay(source(), report("ok"), 0, rng).seconds for _ in range(50)}
    assert len(delays) == 50
    assert min(delays) < 60 < max(delays)


def test_without_a_random_the_delay_is_still_in_bounds() -> None:
    seconds = next_delay(source(), report("ok"), 0).seconds
    assert 60 * (1 - JITTER) <= seconds <= 60 * (1 + JITTER)


@settings(max_examples=200, deadline=None)
@given(
    interval=st.floats(min_value=1, max_value=86_400),
    failures=st.integers(min_value=0, max_value=100),
    status=st.sampled_from(["ok", "unchanged", "error"]),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_bounds(interval: float, failures: int, status: str, seed: int) -> None:
    seconds = next_delay(source(interval), report(status), failures, random.Random(seed)).seconds
    assert seconds >= interval * (1 - JITTER)
    assert seconds <= max(interval, MAX_BACKOFF) * (1 + JITTER)
