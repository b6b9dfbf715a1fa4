"""When to poll a source next: a pure function of its settings, its status and the last poll.

::

    gone       never (disabled until the configuration changes)
    deferred   when the host's budget frees up (at least a second)
    dead       every ``dead_retry`` seconds: rarely, but never dropped
    failing    interval x 2^(failures-1), capped at ``max_backoff``, never below the interval
    otherwise  adaptive: half the observed gap between new items, within the source's bounds
               (configured interval until there is a rate to observe)
    then       floors the server asked for (Retry-After, Cache-Control max-age, Expires, RSS
               ttl) lift the delay, each capped at ``max_floor``
    finally    +/- 10 % jitter, so sources failing together never retry in lockstep

Every delay comes with the reason that decided it, for ``wirefeed sources status``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from config.sources import Source
from ingest.model import IngestReport, SourceStatus

_RANDOM = random.Random()
JITTER = 0.1
"""Each delay is spread uniformly over +/- this fraction of itself."""


@dataclass(frozen=True, slots=True)
class TimingPolicy:
    max_floor: float = 3600.0
    max_backoff: float = 3600.0
    dead_retry: float = 6 * 3600.0
    min_defer: float = 1.0


@dataclass(frozen=True, slots=True)
class Delay:
    """Seconds until the next poll (``None``: do not poll again) and why."""

    seconds: float | None
    reason: str


def next_delay(
    source: Source,
    status: SourceStatus,
    report: IngestReport,
    policy: TimingPolicy | None = None,
    rng: random.Random | None = None,
) -> Delay:
    """The delay before the next poll of ``source``, given its ``status`` after ``report``."""
    policy = policy or TimingPolicy()
    if status.state == "gone":
        return Delay(None, "410 Gone: disabled until its configuration changes")
    base, reason = _base(source, status, report, policy)
    base, reason = _floored(base, reason, report.floors, policy.max_floor)
    rng = rng or _RANDOM
    return Delay(base * rng.uniform(1 - JITTER, 1 + JITTER), reason)


def _base(
    source: Source, status: SourceStatus, report: IngestReport, policy: TimingPolicy
) -> tuple[float, str]:
    if report.status == "deferred" and report.http_status != 429:
        return max(report.wait or 0.0, policy.min_defer), f"deferred: {report.error}"
    failures = status.consecutive_failures
    if status.state == "dead":
        return policy.dead_retry, (
            f"dead after {failures} consecutive failures: retried every {_span(policy.dead_retry)}"
        )
    if report.status == "error" and failures > 0:
        backoff = min(source.interval * 2 ** min(failures - 1, 32), policy.max_backoff)
        plural = "s" if failures > 1 else ""
        return max(backoff, source.interval), (
            f"backing off after {failures} consecutive failure{plural}"
        )
    low, high = source.interval_bounds
    if status.mean_gap:
        target = min(max(status.mean_gap / 2, low), high)
        return target, f"adaptive: a new item every {_span(status.mean_gap)} or so"
    return source.interval, f"configured interval: {source.interval:g} s"


def _floored(
    base: float, reason: str, floors: Sequence[tuple[str, float]], cap: float
) -> tuple[float, str]:
    for name, seconds in floors:
        capped = min(seconds, cap)
        if capped > base:
            note = f" (capped at {cap:g} s)" if seconds > cap else ""
            base, reason = capped, f"{name}: {seconds:g} s{note}"
    return base, reason


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
