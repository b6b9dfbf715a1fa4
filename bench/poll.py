"""Conditional polling cost: one worker process against a bare httpx loop, same requests.

    python bench/poll.py [--sources 1000] [--concurrency 10] [--metrics both|on|off]

A loopback server (its own process, uvicorn) serves one small feed per source. After a priming
pass that stores every source's validators and body hash, we time two phases, each polling all
sources once through the real ``Worker`` (claim | politeness | fetch | status | reschedule):

* ``304``: the server honours If-None-Match and answers 304 Not Modified;
* ``200-unchanged``: the server ignores validators and sends the same bytes again, so the
  worker's body-hash check is what saves the parse.

Both phases run twice: with the loopback host unlimited (the politeness gate grants without
asking Redis) and with the gate on at limits these polls never reach, so each poll also takes
and returns a shared per-host permit in Redis, as every poll of a limited host does.

In the same run a bare httpx loop makes the same requests with the same concurrency. We report
polls per second, CPU milliseconds per poll (this process only), and the ratio of the worker's
rate to the bare loop's. Goals: ratio >= 0.8, < 1 ms CPU per unchanged poll.

``--metrics`` (default ``both``): the worker with its Prometheus metrics counting (as in
production), without (``WIREFEED_METRICS=off``), or both in the same rounds (one worker, its
counters switched between phases, the order swapped each round), which also reports the cost
of instrumentation: on / off of the worker's polls per second, of its ratio to the bare loop
(goal >= 0.95) and off / on of its CPU per poll.
Results: bench/results/poll.json.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from common import free_port, redis_server, write_results

from config.settings import HostLimit, Settings
from config.sources import Source
from ingest import keys
from workers.worker import Worker

SERVER = """
import sys, uvicorn
mode = {"validators": True}
BODY = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b'<item><guid>x</guid><title>An item</title></item></channel></rss>')
ETAG = b'"v1"'

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/mode":
        mode["validators"] = scope["query_string"] == b"validators"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    inm = dict(scope["headers"]).get(b"if-none-match")
    if mode["validators"] and inm == ETAG:
        await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", ETAG)]})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"etag", ETAG), (b"content-type", b"application/rss+xml"),
               (b"content-length", str(len(BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""


ROUNDS = 5


def median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """The (wall, cpu) run with the median wall time."""
    return sorted(pairs)[len(pairs) // 2]


async def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def worker_phase(worker: Worker, client: aioredis.Redis, count: int) -> tuple[float, float]:
    """Make every source due, then time the worker until it has polled each once.

    The clock starts with a pump, what the worker's tick runs every 0.5 s: otherwise each phase
    would first wait a random 0 to 0.5 s for the next tick to notice the sources we made due,
    a discovery delay (up to half a phase) that is no cost of polling and that the bare loop
    never pays.
    """
    await client.zadd(keys.SCHEDULE, {f"s{i}": 0 for i in range(count)})
    target = worker.polls + count
    started, cpu = time.perf_counter(), time.process_time()
    await worker.pump()
    while worker.polls < target:  # noqa: ASYNC110 - polling a counter is the measurement
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    # Untimed: wait for the last polls' reschedules (the worker writes them in batches a few
    # ms later), so the next phase does not make sources due under a lease still held.
    # The schedule runs on Redis's clock (TIME), so the reschedules are measured against it.
    seconds, micros = await client.time()
    rescheduled = (seconds + micros / 1e6 + 600) * 1000  # the interval is an hour; a lease, 2 min
    while await client.zcount(keys.SCHEDULE, rescheduled, "+inf") < count:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    return elapsed


async def bare_phase(base: str, count: int, concurrency: int, etag: bool) -> tuple[float, float]:
    gate = asyncio.Semaphore(concurrency)
    headers = {"If-None-Match": '"v1"'} if etag else {}
    async with httpx.AsyncClient() as http:

        async def one(i: int) -> None:
            async with gate:
                response = await http.get(f"{base}/feed/{i}", headers=headers)
                response.raise_for_status()

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - started, time.process_time() - cpu


GATES = {
    "": HostLimit(0, 0),  # the bench host is ours: no politeness cap, no permit to take
    " gated": HostLimit(1_000_000, 1_000_000_000),  # permits taken and returned, never refused
}


METRICS = {"on": (True,), "off": (False,), "both": (False, True)}


async def run(
    redis_url: str, port: int, count: int, concurrency: int, metrics: str
) -> dict[str, object]:
    figures: dict[str, object] = {}
    for suffix, limit in GATES.items():
        found = await run_worker(redis_url, port, count, concurrency, limit, METRICS[metrics])
        figures.update({phase + suffix + label: f for (phase, label), f in found.items()})
    if metrics == "both":
        figures["cost of metrics"] = metrics_cost(figures)
    return figures


def metrics_cost(figures: dict[str, object]) -> dict[str, object]:
    """On / off, per phase: the worker-to-bare ratios, the raw rates, the CPU per poll."""
    cost: dict[str, object] = {}
    for name in [n for n in figures if n.endswith(" metrics off")]:
        off, on = figures[name], figures[name.removesuffix(" off") + " on"]
        assert isinstance(off, dict) and isinstance(on, dict)
        cost[name.removesuffix(" metrics off")] = {
            "ratio_on_to_off": round(on["ratio_worker_to_bare"] / off["ratio_worker_to_bare"], 3),
            "polls_per_s_on_to_off": round(on["worker_polls_per_s"] / off["worker_polls_per_s"], 3),
            "cpu_off_to_on": round(off["worker_cpu_ms_per_poll"] / on["worker_cpu_ms_per_poll"], 3),
        }
    return cost


async def run_worker(
    redis_url: str,
    port: int,
    count: int,
    concurrency: int,
    limit: HostLimit,
    modes: tuple[bool, ...] = (True,),
) -> dict[tuple[str, str], object]:
    """Prime, then alternate rounds of: the worker with each metrics mode (the same worker;
    its counters switched on and off between phases, order swapped each round), and the bare
    loop."""
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        redis_url=redis_url,
        worker_concurrency=concurrency,
        fetch_allow_networks=(ipaddress.ip_network("127.0.0.0/8"),),
        host_limits={"127.0.0.1": limit},
        fetch_unconditional_every=0,
    )
    sources = [Source(id=f"s{i}", url=f"{base}/feed/{i}", interval=3600) for i in range(count)]
    client = aioredis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    worker = Worker(settings, redis_url)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, sources))
    figures: dict[tuple[str, str], object] = {}
    async with httpx.AsyncClient() as control:
        while worker.polls < count:  # noqa: ASYNC110 - priming stores validators and hashes
            await asyncio.sleep(0.05)
        for phase, validators in (("304", True), ("200-unchanged", False)):
            await control.get(f"{base}/mode", params={"validators" if validators else "x": ""})
            # Alternate the loops a few times and keep the median of each: on two cores
            # shared with the server and Redis, single runs wander by 20 % or more.
            runs: list[tuple[dict[bool, tuple[float, float]], tuple[float, float]]] = []
            for n in range(ROUNDS):
                timed = {}
                for enabled in modes if n % 2 == 0 else tuple(reversed(modes)):
                    worker.metrics.enabled = enabled
                    timed[enabled] = await worker_phase(worker, client, count)
                runs.append((timed, await bare_phase(base, count, concurrency, validators)))
            bare_wall, bare_cpu = median_pair([r[1] for r in runs])
            for enabled in modes:
                wall, cpu = median_pair([r[0][enabled] for r in runs])
                label = "" if len(modes) == 1 else (" metrics on" if enabled else " metrics off")
                figures[(phase, label)] = {
                    "rounds": ROUNDS,
                    "metrics": enabled,
                    "worker_polls_per_s": round(count / wall, 1),
                    "worker_cpu_ms_per_poll": round(cpu / count * 1000, 3),
                    "bare_httpx_requests_per_s": round(count / bare_wall, 1),
                    "bare_httpx_cpu_ms_per_request": round(bare_cpu / count * 1000, 3),
                    "ratio_worker_to_bare": round((count / wall) / (count / bare_wall), 3),
                }
    stop.set()
    await task
    await client.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--metrics", choices=sorted(METRICS), default="both")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
            asyncio.run(wait_port(port))
            figures = asyncio.run(run(url, port, args.sources, args.concurrency, args.metrics))
    finally:
        server.terminate()
        server.wait()
    path = write_results(
        "poll",
        {
            "sources": args.sources,
            "concurrency": args.concurrency,
            "load": "uvicorn on loopback, separate process",
            "metrics": args.metrics,
            **figures,
        },
    )
    for phase in figures:
        f = figures[phase]
        assert isinstance(f, dict)
        if phase == "cost of metrics":
            for name, c in f.items():
                goal = "" if c["ratio_on_to_off"] >= 0.95 else "  (below the 0.95 goal)"
                print(
                    f"{'metrics on/off ' + name:>34}: ratio {c['ratio_on_to_off']}{goal}, "
                    f"polls/s {c['polls_per_s_on_to_off']}, CPU off/on {c['cpu_off_to_on']}"
                )
            continue
        print(
            f"{phase:>34}: worker {f['worker_polls_per_s']:>7} polls/s, "
            f"{f['worker_cpu_ms_per_poll']:.3f} ms CPU/poll | bare httpx "
            f"{f['bare_httpx_requests_per_s']:>7} req/s, "
            f"{f['bare_httpx_cpu_ms_per_request']:.3f} ms CPU/req | "
            f"ratio {f['ratio_worker_to_bare']}"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
