"""Load while ingesting: subscribers polling feeds with conditional requests while workers
ingest a scripted stream; errors counted, the memory of every process sampled over time.

    python bench/load.py [--subscribers 200] [--seconds 300] [--workers 2] [--sources 40]

Processes: one Redis (embedded, AOF), ``--workers`` ``wirefeed worker`` processes and one
``wirefeed web``, all real. A loopback server serves the stream of tests/support/fleet.py and
moves to its next phase every 10 s, so feeds keep changing. ``--subscribers`` asyncio clients
each poll a feed (all stories, or one source's, in Atom, JSON or RSS) about once a second with
If-None-Match from their last answer. Every 10 s the resident memory (VmRSS) of Redis, each
worker, the web process and this process is sampled. Success means no error answers and no
failed requests, and memory that levels off (last sample against the one at a fifth of the
run). Writes bench/results/load.json with the samples (a table; no plotting library here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from common import free_port, write_results

from tests.support import child_env, feed_server
from tests.support.fleet import Fleet, Script
from workers.embedded import EmbeddedRedis


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def subscriber(
    base: str, paths: list[str], stop: float, counts: Counter[str], rng: random.Random
) -> None:
    etags: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < stop:
            path = rng.choice(paths)
            headers = {"If-None-Match": etags[path]} if path in etags else {}
            try:
                answer = await http.get(path, headers=headers)
            except httpx.HTTPError:
                counts["failed"] += 1
            else:
                counts[str(answer.status_code)] += 1
                if answer.status_code == 200 and "etag" in answer.headers:
                    etags[path] = answer.headers["etag"]
            await asyncio.sleep(rng.uniform(0.5, 1.5))


async def subscribers(base: str, paths: list[str], count: int, seconds: float) -> Counter[str]:
    counts: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    await asyncio.gather(
        *(subscriber(base, paths, stop, counts, random.Random(n)) for n in range(count))
    )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sources", type=int, default=40)
    args = parser.parse_args()
    phases = max(2, int(args.seconds // 10) + 1)
    script = Script(sources=args.sources, phases=phases, seed=7)
    with (
        tempfile.TemporaryDirectory() as tmpdir,
        feed_server() as server,
        EmbeddedRedis(Path(tmpdir) / "data") as redis_server,
    ):
        tmp = Path(tmpdir)
        script.serve(server, 0)
        sources = script.sources_file(server, tmp / "sources.yaml", interval=2.0)
        fleet = Fleet(redis_server.url, sources, args.workers, lease=30.0, log=tmp / "w.log")
        port = free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "feeds"],  # the web process itself, not a supervisor
            env=child_env(WIREFEED_REDIS_URL=redis_server.url, WIREFEED_HTTP_PORT=str(port)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        paths = [f"/feeds/stories.{ext}" for ext in ("atom", "json", "rss")]
        paths += [f"/feeds/sources/{script.sid(n)}.atom" for n in range(args.sources)]
        redis_pid = redis_server._process.pid if redis_server._process else 0
        samples: list[dict[str, Any]] = []
        done = threading.Event()

        def sample_and_advance() -> None:
            started = time.monotonic()
            phase = 0
            while not done.is_set():
                row = {
                    "t": round(time.monotonic() - started),
                    "redis_kib": rss_kib(redis_pid),
                    "web_kib": rss_kib(web.pid),
                    "bench_kib": rss_kib(os.getpid()),
                }
                for n, pid in enumerate(fleet.pids()):
                    row[f"worker{n}_kib"] = rss_kib(pid)
                samples.append(row)
                print(row, flush=True)
                phase = min(phase + 1, script.phases - 1)
                script.serve(server, phase)
                done.wait(10.0)

        sampler = threading.Thread(target=sample_and_advance, daemon=True)
        sampler.start()
        try:
            counts = asyncio.run(subscribers(base, paths, args.subscribers, args.seconds))
        finally:
            done.set()
            sampler.join()
            codes = fleet.stop()
            web.terminate()
            web.wait(30)
    total = sum(counts.values())
    errors = total - counts["200"] - counts["304"]
    growth = {}
    if len(samples) >= 5:
        early = samples[len(samples) // 5]
        for name in samples[-1]:
            if name.endswith("_kib") and early.get(name):
                growth[name] = round(samples[-1][name] / early[name], 2)
    print(
        f"{total} requests from {args.subscribers} subscribers in {args.seconds:g} s "
        f"({total / args.seconds:.0f}/s): {counts['200']} 200, {counts['304']} 304, "
        f"{errors} errors; memory last/at-a-fifth: {growth}; worker exits {codes}"
    )
    write_results(
        "load",
        {
            "command": "python bench/load.py "
            + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
            "requests": total,
            "answers": dict(counts),
            "errors": errors,
            "requests_per_s": round(total / args.seconds, 1),
            "memory_growth_last_vs_fifth": growth,
            "worker_exit_codes": codes,
            "samples": samples,
            "note": "shared 2-core machine loaded by other work",
        },
    )


if __name__ == "__main__":
    main()
