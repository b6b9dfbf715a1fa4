"""Ingest throughput with 1, 2 and 4 worker processes, against one Redis and a local cluster,
and how many sources one worker keeps on schedule at a 60-second interval.

    python bench/scale.py [--sources 200] [--items 10] [--window 20]

Throughput: ``--sources`` Atom sources of ``--items`` new items each (tests/support/fleet.py's
script, one phase) served from loopback; real ``wirefeed worker`` processes start on an empty
database; the clock runs from the first request the server sees until every item is stored
(each source's status shows a successful poll); items/s = items / that time. Each figure is
printed with its ratio to one worker against one Redis, measured in the same run.

On schedule: one worker polls ``--sources`` unchanged sources (ETag, answered 304) with a
1-second interval for ``--window`` seconds; its steady poll rate times 60 is the number of
sources it could poll once a minute. Writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from common import write_results

from ingest.store.connect import flush_all, open_redis
from ingest.store.redis_store import RedisStore
from tests.support import FeedServer, Reply, feed_server
from tests.support.fleet import Fleet, Script
from workers.embedded import EmbeddedRedis
from workers.local_cluster import LocalCluster


async def all_polled(url: str, ids: list[str]) -> bool:
    client = await open_redis(url)
    try:
        statuses = await RedisStore(client).source_statuses(ids)
    finally:
        await client.aclose()
    return all(s.last_success is not None for s in statuses.values())


def throughput(url: str, script: Script, server: FeedServer, tmp: Path, workers: int) -> float:
    flush_all(url)
    script.serve(server, 0)
    before = sum(server.requests.values())
    sources = script.sources_file(server, tmp / "sources.yaml", interval=60.0)
    fleet = Fleet(url, sources, workers, lease=60.0, log=tmp / "workers.log")
    ids = [script.sid(n) for n in range(script.sources)]
    try:
        while sum(server.requests.values()) == before:
            time.sleep(0.01)
        started = time.monotonic()
        while not asyncio.run(all_polled(url, ids)):
            time.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        fleet.stop()
    items = sum(len(v) for v in script.expected.values())
    return items / elapsed


def on_schedule(url: str, server: FeedServer, tmp: Path, count: int, window: float) -> float:
    flush_all(url)
    body = b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:q</id><title>q</title></feed>'
    lines = ["sources:"]
    for n in range(count):
        path = f"/quiet/{n}.atom"
        server.set(path, Reply(body, etag=f'"q{n}"'))
        lines += [
            f"  - id: q{n:04d}",
            f"    url: {server.url(path)}",
            "    interval: 1",
            "    min_interval: 1",
            "    max_interval: 1",
        ]
    (tmp / "quiet.yaml").write_text("\n".join(lines) + "\n")
    fleet = Fleet(url, tmp / "quiet.yaml", 1, lease=60.0, log=tmp / "workers.log")
    try:
        time.sleep(5.0)  # start-up and the first round of full answers
        first = sum(v for k, v in server.requests.items() if k.startswith("/quiet/"))
        time.sleep(window)
        last = sum(v for k, v in server.requests.items() if k.startswith("/quiet/"))
    finally:
        fleet.stop()
    return (last - first) / window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    figures: dict[str, Any] = {"throughput_items_per_s": {}}
    with tempfile.TemporaryDirectory() as tmpdir, feed_server() as server:
        tmp = Path(tmpdir)
        script = Script(sources=args.sources, phases=args.items, seed=9)
        script.docs = [script.docs[-1]]  # everything at once: the last phase holds it all
        with EmbeddedRedis(tmp / "single") as single, LocalCluster(tmp / "cluster") as cluster:
            backends = {"one Redis": single.url, "cluster (3 masters)": cluster.url}
            base = None
            for name, url in backends.items():
                for workers in (1, 2, 4):
                    rate = throughput(url, script, server, tmp, workers)
                    base = base or rate
                    figures["throughput_items_per_s"][f"{name}, {workers} workers"] = round(rate, 1)
                    print(
                        f"{name:20s} {workers} worker(s): {rate:7.1f} items/s "
                        f"({rate / base:.2f} x one worker on one Redis)",
                        flush=True,
                    )
            polls = on_schedule(single.url, server, tmp, args.sources, args.window)
    figures["one_worker_polls_per_s"] = round(polls, 1)
    figures["sources_on_schedule_at_60s"] = int(polls * 60)
    print(
        f"one worker: {polls:.1f} polls/s of unchanged sources -> about {int(polls * 60)} "
        "sources kept on a 60-second schedule"
    )
    figures["items"] = sum(len(v) for v in script.expected.values())
    figures["sources"] = args.sources
    figures["note"] = (
        "2-core machine, each configuration a short run: figures differ by up to 20 % from "
        "run to run, so compare the ratios of one run, not single figures; the on-schedule "
        "figure is the measured steady poll rate x 60"
    )
    write_results("scale", figures)


if __name__ == "__main__":
    main()
