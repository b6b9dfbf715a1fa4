"""Serving a cached feed: the real web app against a bare ASGI app sending the same bytes.

    python bench/serve.py [--duration 10] [--rounds 3] [--connections 50] [--threads 2]
                          [--metrics both|on|off]

A real Redis is filled through the real pipeline (``ingest_source`` with a hand-written fetcher
handing it invented RSS: 3 wires x 10 live pages x 10 updates = 30 stories of 10 entries).
The app runs as its own process exactly as in production (``python -m feeds``, one uvicorn
worker); ``/feeds/stories.atom`` is warmed, and its bytes and headers are captured. A bare ASGI
app (same uvicorn options, also one process) answers with exactly those bytes and headers, and
with 304 when If-None-Match equals the ETag.

The load tool is wrk (Debian package ``wrk``), with a Lua script that adds If-None-Match for
the 304 runs and prints its summary as JSON. Both modes (200 with the body, 304) are run against
both servers, alternating for a few rounds; we keep the median requests per second of each and
report the ratio app / bare (goal: >= 0.7 for both), plus wrk's latency p50 / p99 and each
server's CPU time per request (from /proc: Linux only), whose ratio bare / app says the same
thing as the rate ratio but wanders less when other work shares the two CPUs.

``--metrics`` (default ``both``): the app with its Prometheus instrumentation (as in
production), without it (``WIREFEED_METRICS=off``), or both: then a third server, the app with
metrics off, joins the alternating rounds and we report the cost of instrumentation as the
ratio of requests per second on / off (goal >= 0.95) and of server CPU per request off / on.
Results: bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import uvicorn
from common import ROOT, RUN_CLOCK, free_port, redis_server, write_results

from config.sources import Source
from ingest.model import FetchResult, Validators
from ingest.pipeline import ingest_source
from ingest.store.redis_store import RedisStore

FEED_PATH = "/feeds/stories.atom"
PUBLIC_URL = "http://wirefeed.bench"  # fixed, so the bytes do not depend on the port
WIRES, PAGES, UPDATES = 3, 10, 10
NOW = RUN_CLOCK  # the wires' newest update; the others are older
# Headers uvicorn writes itself on both servers; everything else is replayed by the bare app.
SERVER_HEADERS = {"date", "server", "content-length", "transfer-encoding"}

# Invented words of 3-4 syllables (about 40,000 of them): unrelated items must not look like near
# copies to dedupe nor like the same subject to story similarity, as a few dozen real words would.
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "an", "el", "or", "us", "ba", "di")

BARE = """
import json, sys, uvicorn
body = open(sys.argv[2], "rb").read()
spec = json.load(open(sys.argv[3]))
etag = spec["etag"].encode()
h200 = [(k.encode(), v.encode()) for k, v in spec["h200"]]
h200.append((b"content-length", str(len(body)).encode()))
h304 = [(k.encode(), v.encode()) for k, v in spec["h304"]]
START_200 = {"type": "http.response.start", "status": 200, "headers": h200}
START_304 = {"type": "http.response.start", "status": 304, "headers": h304}
BODY = {"type": "http.response.body", "body": body}
EMPTY = {"type": "http.response.body", "body": b""}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    for name, value in scope["headers"]:
        if name == b"if-none-match" and value == etag:
            await send(START_304)
            await send(EMPTY)
            return
    await send(START_200)
    await send(BODY)

# The options feeds/__main__.py gives uvicorn at WIREFEED_LOG_LEVEL=WARNING.
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, server_header=False)
"""

LUA = """
{header}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRKJSON {{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
    .. '"errors": %d, "non_2xx_3xx": %d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


# -- data -------------------------------------------------------------------------------------


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(word(rng) for _ in range(n)).capitalize() + "."


def wire(wire_no: int, rng: random.Random) -> bytes:
    """One invented RSS wire: PAGES live pages, UPDATES items each (fragments of one page)."""
    rows = []
    for page in range(PAGES):
        link = f"https://wire{wire_no}.example/2026/11/29/live-{page}"
        for n in range(UPDATES):
            text = " ".join(sentence(rng, rng.randint(12, 24)) for _ in range(3))
            when = format_datetime(NOW - timedelta(minutes=page * UPDATES + n), usegmt=True)
            rows.append(
                f'<item><guid isPermaLink="false">w{wire_no}-p{page}-u{n}</guid>'
                f"<title>{escape(sentence(rng, 9))}</title><link>{link}#update-{n}</link>"
                f"<description>{escape(text)}</description><pubDate>{when}</pubDate></item>"
            )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench wire {wire_no}</title><link>https://wire{wire_no}.example/</link>"
        f"{''.join(rows)}</channel></rss>"
    ).encode()


class CannedFetcher:
    """A Fetcher (ingest.fetch.http.Fetcher) answering each URL with bytes prepared in advance."""

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        self._bodies = bodies

    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        return FetchResult(url, 200, {"content-type": "application/rss+xml"}, self._bodies[url])


async def populate(redis_url: str) -> int:
    """Store the invented wires through the real pipeline; return how many entries are new.
    Fails if they did not become WIRES x PAGES stories (story rules changed under us)."""
    rng = random.Random(2026)
    sources = [
        Source(id=f"wire-{n}", url=f"https://wire{n}.example/rss", title=f"Bench wire {n}")
        for n in range(WIRES)
    ]
    fetcher = CannedFetcher({s.url: wire(n, rng) for n, s in enumerate(sources)})
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await client.flushdb()
        store = RedisStore(client)
        await store.put_sources(sources)
        new = 0
        for source in sources:
            report = await ingest_source(source, fetcher=fetcher, store=store, now=NOW)
            assert report.status == "ok", report
            new += report.new
        stories = await store.recent_stories(WIRES * PAGES + 1)
        if len(stories) != WIRES * PAGES:
            raise RuntimeError(
                f"expected {WIRES * PAGES} stories, the pipeline made {len(stories)}"
            )
        return new
    finally:
        await client.aclose()


# -- servers ----------------------------------------------------------------------------------


def wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def process(args: list[str], port: int, env: Mapping[str, str] | None = None) -> Iterator[int]:
    """Run a server process until the block ends; yield its pid once it listens."""
    child = subprocess.Popen(args, cwd=ROOT, env=dict(env) if env else None)
    try:
        wait_port(port, child)
        yield child.pid
    finally:
        child.terminate()
        child.wait(timeout=30)


def app_env(redis_url: str, port: int, metrics: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREFEED_")}
    env.update(
        WIREFEED_REDIS_URL=redis_url,
        WIREFEED_HTTP_HOST="127.0.0.1",
        WIREFEED_HTTP_PORT=str(port),
        WIREFEED_LOG_LEVEL="WARNING",
        WIREFEED_PUBLIC_URL=PUBLIC_URL,
        WIREFEED_METRICS="on" if metrics else "off",
    )
    return env


def capture(base: str) -> tuple[bytes, str, list[list[str]], list[list[str]]]:
    """Warm the feed; return its bytes, ETag and the headers of its 200 and 304 answers."""
    with httpx.Client(base_url=base, timeout=30, headers={"accept-encoding": "identity"}) as http:
        for _ in range(3):
            first = http.get(FEED_PATH)
            first.raise_for_status()
        etag = first.headers["etag"]
        second = http.get(FEED_PATH, headers={"if-none-match": etag})
        assert second.status_code == 304, second.status_code

    def kept(response: httpx.Response) -> list[list[str]]:
        return [[k, v] for k, v in response.headers.items() if k not in SERVER_HEADERS]

    return first.content, etag, kept(first), kept(second)


def same_answer(app: str, bare: str, etag: str) -> None:
    """Both servers must send the same status, bytes and headers (but for the date)."""
    with httpx.Client(timeout=30, headers={"accept-encoding": "identity"}) as http:
        for headers in ({}, {"if-none-match": etag}):
            a, b = (
                http.get(app + FEED_PATH, headers=headers),
                http.get(bare + FEED_PATH, headers=headers),
            )
            assert (a.status_code, a.content) == (b.status_code, b.content), headers
            ha, hb = (sorted((k, v) for k, v in r.headers.items() if k != "date") for r in (a, b))
            assert ha == hb, (ha, hb)


# -- load -------------------------------------------------------------------------------------


def wrk_version(wrk: str) -> str:
    run = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (run.stdout + run.stderr).splitlines()[0].split(" Copyright")[0].strip()


def lua_script(tmp: Path, etag: str | None) -> Path:
    header = f"wrk.headers[{json.dumps('If-None-Match')}] = {json.dumps(etag)}" if etag else ""
    path = tmp / ("conditional.lua" if etag else "plain.lua")
    path.write_text(LUA.format(header=header))
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; proc(5))."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_run(
    wrk: str, target: tuple[str, int], script: Path, args: argparse.Namespace, seconds: float
) -> dict[str, float]:
    """One wrk run against ``target`` (URL, server pid): its rate, latency and the server's
    CPU per request, which wanders less than the rate when the machine is busy."""
    url, pid = target
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    cpu = cpu_seconds(pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    if raw["errors"] or raw["non_2xx_3xx"]:
        raise RuntimeError(f"wrk saw errors against {url}: {raw}")
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "bytes_per_response": round(raw["bytes"] / raw["requests"], 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "server_cpu_us_per_request": round(cpu / raw["requests"] * 1e6, 1),
    }


def measure(
    wrk: str,
    targets: dict[str, tuple[str, int]],
    scripts: dict[str, Path],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Alternate app and bare runs (order swapped each round); medians of each."""
    for script in scripts.values():  # warm both servers in both modes
        for target in targets.values():
            wrk_run(wrk, target, script, args, min(2.0, args.duration))
    figures: dict[str, Any] = {}
    for mode, script in scripts.items():
        rounds: list[dict[str, dict[str, float]]] = []
        for n in range(args.rounds):
            order = list(targets) if n % 2 == 0 else list(reversed(targets))
            rounds.append(
                {who: wrk_run(wrk, targets[who], script, args, args.duration) for who in order}
            )
            app, bare = rounds[-1]["app"], rounds[-1]["bare"]
            off = rounds[-1].get(OFF)
            print(
                f"  {mode} round {n + 1}: app {app['rps']:>8} req/s "
                f"({app['server_cpu_us_per_request']} us CPU/req), bare {bare['rps']:>8} req/s "
                f"({bare['server_cpu_us_per_request']} us CPU/req)"
                + (
                    f", app without metrics {off['rps']:>8} req/s "
                    f"({off['server_cpu_us_per_request']} us CPU/req)"
                    if off
                    else ""
                ),
                flush=True,
            )
        medians = {
            who: {key: statistics.median(r[who][key] for r in rounds) for key in rounds[0][who]}
            for who in targets
        }
        ratio = round(medians["app"]["rps"] / medians["bare"]["rps"], 3)
        # Each round's own ratio too: its two runs are seconds apart, so it drifts less than
        # the medians when something else on the machine wakes up.
        per_round = [round(r["app"]["rps"] / r["bare"]["rps"], 3) for r in rounds]
        cpu = (
            medians["bare"]["server_cpu_us_per_request"]
            / medians["app"]["server_cpu_us_per_request"]
        )
        figures[mode] = {
            **medians,
            "ratio_app_to_bare": ratio,
            "ratio_per_round": per_round,
            "cpu_ratio_bare_to_app": round(cpu, 3),
            "rounds": rounds,
        }
        if OFF in targets:
            figures[mode]["metrics_cost"] = metrics_cost(medians, rounds)
    return figures


OFF = "app_metrics_off"


def metrics_cost(
    medians: dict[str, dict[str, float]], rounds: list[dict[str, dict[str, float]]]
) -> dict[str, Any]:
    """The app with metrics on against itself with them off, in the same rounds."""
    on, off = medians["app"], medians[OFF]
    return {
        "ratio_on_to_off": round(on["rps"] / off["rps"], 3),
        "ratio_per_round": [round(r["app"]["rps"] / r[OFF]["rps"], 3) for r in rounds],
        "cpu_ratio_off_to_on": round(
            off["server_cpu_us_per_request"] / on["server_cpu_us_per_request"], 3
        ),
    }


# -- main -------------------------------------------------------------------------------------


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "bench/serve.py needs the HTTP load tool wrk, which is not on PATH.\n"
            "Install it from the Debian packages:  sudo apt-get install wrk",
            file=sys.stderr,
        )
        sys.exit(2)
    return wrk


def report(figures: dict[str, Any]) -> None:
    for mode in ("200", "304"):
        f = figures[mode]
        app, bare = f["app"], f["bare"]
        goal = "" if f["ratio_app_to_bare"] >= 0.7 else "  (below the 0.7 goal)"
        print(
            f"{mode}: app {app['rps']:>8} req/s (p50 {app['p50_ms']} ms, p99 {app['p99_ms']} ms,"
            f" {app['server_cpu_us_per_request']} us CPU/req) | bare {bare['rps']:>8} req/s"
            f" (p50 {bare['p50_ms']} ms, p99 {bare['p99_ms']} ms,"
            f" {bare['server_cpu_us_per_request']} us CPU/req)\n"
            f"     ratio app/bare {f['ratio_app_to_bare']}{goal}; per round {f['ratio_per_round']};"
            f" server CPU per request bare/app {f['cpu_ratio_bare_to_app']}"
        )
        cost = f.get("metrics_cost")
        if cost:
            goal = "" if cost["ratio_on_to_off"] >= 0.95 else "  (below the 0.95 goal)"
            print(
                f"     metrics on/off {cost['ratio_on_to_off']}{goal}; per round "
                f"{cost['ratio_per_round']}; server CPU per request off/on "
                f"{cost['cpu_ratio_off_to_on']}"
            )


def server_stack() -> str:
    """What uvicorn runs on here: it picks httptools and uvloop when they are installed."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {uvicorn.__version__} ({http}, {loop} loop)"


@contextmanager
def without_metrics(redis_url: str, wanted: bool) -> Iterator[tuple[str, int] | None]:
    """With ``wanted``, a second app process with metrics off: its base URL and pid."""
    if not wanted:
        yield None
        return
    port = free_port()
    cmd = [sys.executable, "-m", "feeds"]
    with process(cmd, port, app_env(redis_url, port, metrics=False)) as pid:
        base = f"http://127.0.0.1:{port}"
        capture(base)  # warm it as the other
        yield base, pid


@contextmanager
def servers(
    redis_url: str, tmp: Path, metrics: bool = True
) -> Iterator[tuple[tuple[str, int], tuple[str, int], bytes, str]]:
    """The app (``python -m feeds``) and the bare app serving its bytes: their base URLs and
    pids, the body and its ETag."""
    app_port, bare_port = free_port(), free_port()
    app_cmd = [sys.executable, "-m", "feeds"]
    with process(app_cmd, app_port, app_env(redis_url, app_port, metrics)) as app_pid:
        app = f"http://127.0.0.1:{app_port}"
        body, etag, h200, h304 = capture(app)
        (tmp / "body").write_bytes(body)
        spec = tmp / "headers.json"
        spec.write_text(json.dumps({"etag": etag, "h200": h200, "h304": h304}))
        bare_cmd = [sys.executable, "-c", BARE, str(bare_port), str(tmp / "body"), str(spec)]
        with process(bare_cmd, bare_port) as bare_pid:
            bare = f"http://127.0.0.1:{bare_port}"
            same_answer(app, bare, etag)
            yield (app, app_pid), (bare, bare_pid), body, etag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--metrics", choices=("both", "on", "off"), default="both")
    args = parser.parse_args()
    wrk = find_wrk()
    version = wrk_version(wrk)
    load_before = os.getloadavg()[0]
    if load_before > 1.0:
        print(f"warning: load average {load_before:.1f} before the run; figures will wander")
    with tempfile.TemporaryDirectory() as tmp_dir, redis_server(Path(tmp_dir)) as redis_url:
        tmp = Path(tmp_dir)
        entries = asyncio.run(populate(redis_url))
        with (
            servers(redis_url, tmp, args.metrics != "off") as (app, bare, body, etag),
            without_metrics(redis_url, args.metrics == "both") as off,
        ):
            print(
                f"{entries} entries in {WIRES * PAGES} stories; {FEED_PATH}: {len(body)} bytes\n"
                f"load: {version}, -t{args.threads} -c{args.connections} "
                f"-d{args.duration:g}s, {args.rounds} alternating rounds, medians\n"
                f"servers: python -m feeds and a bare ASGI app, {server_stack()}, "
                "one process each\n"
                f"note: {os.cpu_count()} CPUs shared by wrk, the server under load and Redis",
                flush=True,
            )
            scripts = {"200": lua_script(tmp, None), "304": lua_script(tmp, etag)}
            targets = {"app": (app[0] + FEED_PATH, app[1]), "bare": (bare[0] + FEED_PATH, bare[1])}
            if off is not None:
                targets[OFF] = (off[0] + FEED_PATH, off[1])
            figures = measure(wrk, targets, scripts, args)
    path = write_results(
        "serve",
        {
            "load_tool": {"name": "wrk", "version": version, "source": "Debian package wrk"},
            "parameters": {
                "threads": args.threads,
                "connections": args.connections,
                "duration_s": args.duration,
                "rounds": args.rounds,
                "metrics": args.metrics,
                "path": FEED_PATH,
                "body_bytes": len(body),
                "entries_stored": entries,
                "stories": WIRES * PAGES,
                "load_average_before": round(load_before, 2),
                "servers": f"python -m feeds vs a bare ASGI app; {server_stack()}; one "
                "process each, same options; loopback; CPUs shared with wrk and Redis",
            },
            **figures,
        },
    )
    report(figures)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
