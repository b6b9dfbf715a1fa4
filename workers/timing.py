"""When to poll a source next: a pure function of its settings and its last result.

The source's ``interval`` is the base. Failures back off exponentially up to a cap, and every
delay carries random jitter so that sources failing together do not retry in lockstep.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from config.sources import Source
from ingest.model import IngestReport

JITTER = 0.1
"""Each delay is spread uniformly over +/- this fraction of itself."""

MAX_BACKOFF = 3600.0


@dataclass(frozen=True, slots=True)
class Delay:
    seconds: float
    reason: str


def next_delay(
    source: Source, report: IngestReport, failures: int, rng: random.Random | None = None
) -> Delay:
    """The delay before the next poll; ``failures`` counts consecutive failures including this
    one (0 after a success)."""
    rng = rng or random.Random()
    if report.status == "error" and failures > 0:
        backoff = min(source.interval * 2 ** min(failures, 16), MAX_BACKOFF)
        base = max(backoff, source.interval)  # a failing source is never polled more often
        reason = f"backing off after {failures} consecutive failure{'s' * (failures > 1)}"
    else:
        base, reason = source.interval, f"configured interval: {source.interval:g} s"
    return Delay(base * rng.uniform(1 - JITTER, 1 + JITTER), reason)
