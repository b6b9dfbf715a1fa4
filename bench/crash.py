"""kill -9 trials: workers killed at random moments while they ingest a scripted stream.

    python bench/crash.py [--trials 50] [--sources 12] [--phases 5] [--workers 2] [--seed 12]

One reference run without kills, then ``--trials`` runs of the same script (tests/support/fleet.py)
in which a random worker is killed with SIGKILL at random moments (seeded per trial, about
every ``--gap`` seconds) and restarted at once. After each run: per-source entries and the
explicit story links must equal the reference's (no lost entry, no doubled entry, no stale
version), no source may have been fetched by two workers at once, and no schedule score may
lie further out than a lease from the server's clock (no lease held past its time to live).
Writes bench/results/crash.json. With WIREFEED_REDIS_URL, runs against that server or cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from common import redis_server, write_results

from ingest.store.connect import flush_all
from tests.support import FeedServer, feed_server
from tests.support.fleet import Chaos, Fleet, Script, drive, overdue_leases, snapshot

LEASE = 3.0


def one_run(
    url: str,
    script: Script,
    server: FeedServer,
    tmp: Path,
    workers: int,
    seed: int | None,
    gap: float = 2.5,
) -> dict[str, Any]:
    flush_all(url)
    server.max_in_flight.clear()
    script.serve(server, 0)
    sources = script.sources_file(server, tmp / "sources.yaml")
    started = time.monotonic()
    fleet = Fleet(url, sources, workers, lease=LEASE, log=tmp / "workers.log")
    chaos = Chaos(fleet, seed, gap) if seed is not None else None
    try:
        drive(script, server, during=chaos, timeout=300)
    finally:
        codes = fleet.stop()
    found = snapshot(url, script)
    return {
        "snapshot": found,
        "kills": fleet.kills,
        "exit_codes": codes,
        "overlaps": sum(1 for v in server.max_in_flight.values() if v > 1),
        "overdue_leases": asyncio.run(overdue_leases(url, LEASE)),
        "seconds": round(time.monotonic() - started, 1),
    }


def compare(found: Any, reference: Any) -> dict[str, int]:
    lost = doubled = stale = 0
    for sid in set(reference.entries) | set(found.entries):
        want, got = reference.entries.get(sid, []), found.entries.get(sid, [])
        for row in set(want) | set(got):
            w, g = want.count(row), got.count(row)
            if g > w:
                doubled += g - w
            elif g < w:
                lost += w - g
        titles = {t for t, _ in got}
        stale += sum(1 for t, text in want if t in titles and (t, text) not in got)
    return {
        "lost": lost,
        "doubled": doubled,
        "stale": stale,
        "links_differ": int(found.linked != reference.linked),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--phases", type=int, default=3)
    parser.add_argument("--gap", type=float, default=3.0, help="mean seconds between kills")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, feed_server() as server:
        tmp = Path(tmpdir)
        with redis_server(tmp / "redis") as url:
            script = Script(sources=args.sources, phases=args.phases, seed=args.seed)
            ref = one_run(url, script, server, tmp, args.workers, None)
            reference = ref["snapshot"]
            matches_script = reference.entries == script.expected
            print(f"reference: {ref['seconds']} s, matches the script: {matches_script}")
            trials = []
            for n in range(args.trials):
                run = one_run(
                    url, script, server, tmp, args.workers, args.seed * 1000 + n, args.gap
                )
                diff = compare(run.pop("snapshot"), reference)
                trials.append({"trial": n, **run, **diff})
                print(
                    f"trial {n:2d}: {run['kills']:2d} kills, lost {diff['lost']}, doubled "
                    f"{diff['doubled']}, stale {diff['stale']}, links differ "
                    f"{diff['links_differ']}, overlaps {run['overlaps']}, overdue leases "
                    f"{len(run['overdue_leases'])}, {run['seconds']} s",
                    flush=True,
                )
                report(args, ref, matches_script, trials)


def report(
    args: argparse.Namespace, ref: dict[str, Any], matches_script: bool, trials: list[Any]
) -> None:
    """Print the tally and (re)write bench/results/crash.json; called after every trial, so
    an interrupted run still leaves the trials it finished."""
    bad = [
        t
        for t in trials
        if t["lost"]
        or t["doubled"]
        or t["stale"]
        or t["links_differ"]
        or t["overlaps"]
        or t["overdue_leases"]
        or set(t["exit_codes"]) - {0, -15}  # -15: SIGTERM met a worker still starting
    ]
    kills = sum(t["kills"] for t in trials)
    print(
        f"{len(trials)} trials, {kills} kills in all: {len(trials) - len(bad)} equal to the "
        f"reference, {len(bad)} not"
    )
    write_results(
        "crash",
        {
            "command": "python bench/crash.py "
            + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
            "reference_seconds": ref["seconds"],
            "reference_matches_script": matches_script,
            "sources": args.sources,
            "phases": args.phases,
            "workers": args.workers,
            "lease_seconds": LEASE,
            "trials": len(trials),
            "trials_asked": args.trials,
            "kills": kills,
            "failed_trials": len(bad),
            "per_trial": trials,
            "note": "shared 2-core machine, loaded by other work; seconds are wall time",
        },
    )


if __name__ == "__main__":
    main()
