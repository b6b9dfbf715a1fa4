"""Ingest throughput, CPU and memory per item: a real worker against reader and bare feedparser.

    python bench/ingest.py [--feeds 40] [--items 100] [--rounds 3] [--concurrency 8]
                           [--workers 1] [--parse-processes N] [--profile FILE] [--breakdown]

Generated RSS feeds (``--items`` items each, a few paragraphs of HTML per item, invented text;
every item distinct, so each is a new entry of its own story) are served from a threaded
server process on loopback with a large listen backlog (``python -m http.server`` has a backlog
of 5, which drops connects at eight parallel fetches and costs one-second retries).

Two workloads, on the same bytes for every arm:

* ``new``: every item of every feed is new to an empty database;
* ``repoll``: then every feed again with a tenth of its items new (the oldest tenth drop out),
  so nine in ten items are unchanged.

Three arms, in alternating order from round to round, each on a fresh database:

* ``wirefeed``: a real ``wirefeed worker`` process (``python -m workers.cli worker``) with the
  feeds as its sources, against a real Redis. Timed from the moment the feeds are in place
  until every item is stored; its CPU is the worker's and the Redis server's, counted apart;
  Redis commands and bytes (``INFO``) are counted per item;
* ``reader``: reader 3.26 into SQLite, installed by the bench in its own virtualenv
  (``var/bench/reader-venv``), ``update_feeds(workers=--concurrency)`` in a process of its own;
* ``feedparser``: bare ``feedparser.parse`` over the same bytes, in this process.

Prints items per second, CPU per item and the ratios, medians over the rounds, and writes
bench/results/ingest.json (``ingest-N-workers.json`` with ``--workers N``: N worker processes
share the sources, as ``wirefeed run`` starts one per core). ``--breakdown`` adds where a new
item's server time and memory go, by command (scripts by name) and key kind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import feedparser
from common import ROOT, RUN_CLOCK, free_port, redis_server, write_results

from ingest import keys
from ingest.store import scripts
from ingest.store.connect import open_sync
from tests.support.fleet import Fleet

READER = ("reader==3.26", "sgmllib3k")
"""reader and what its vendored feedparser imports (sgmllib is gone from the standard library)."""
READER_VENV = ROOT / "var" / "bench" / "reader-venv"
WORKLOADS = ("new", "repoll")
SPY = ("py-spy", "record", "--nonblocking", "--rate", "100")

COMMON = tuple(
    """council harbor agency river officials storm bridge crews residents minister court report
    police union talks market prices school hospital power line road rail airport ferry weather
    warning evacuation rescue fire smoke water dam spillway engineers inspection budget vote
    election mayor governor spokesman statement investigation witnesses""".split()  # noqa: SIM905
)
SYLLABLES = tuple("ka lo mi ren tas vo qui sel dor pa nu bre gil mon fa ri zen ho lu ter".split())  # noqa: SIM905


def vocabulary(size: int = 4000) -> tuple[str, ...]:
    """Invented words (place and people names, as it were): with enough of them every
    generated item is its own story, not a near copy of the others, as on a real wire."""
    rng, found = random.Random(11), set()
    while len(found) < size:
        found.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return tuple(sorted(found))


NAMES = vocabulary()


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(NAMES) if rng.random() < 0.6 else rng.choice(COMMON) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def make_item(feed_no: int, n: int, rng: random.Random) -> str:
    """Item ``n`` of feed ``feed_no``: a minute older than item ``n - 1``, before the run's
    clock (so inside the retention window whatever day it runs)."""
    paragraphs = "".join(
        f"<p>{' '.join(sentence(rng, rng.randint(12, 24)) for _ in range(3))}</p>"
        for _ in range(rng.randint(3, 5))
    )
    at = RUN_CLOCK - timedelta(minutes=feed_no * 1000 + n + 1)
    return (
        f'<item><guid isPermaLink="false">bench-{feed_no}-{n}</guid>'
        f"<title>{sentence(rng, 9)}</title>"
        f"<link>https://news.example/{feed_no}/{n}?utm_source=bench</link>"
        f"<description><![CDATA[{paragraphs}]]></description>"
        f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate></item>"
    )


def make_feed(feed_no: int, rows: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench wire {feed_no}</title><link>https://news.example/</link>"
        f"<description>generated</description>{''.join(rows)}</channel></rss>"
    ).encode()


def workloads(feeds: int, items: int) -> dict[str, list[bytes]]:
    """Per workload, each feed's document. The re-poll has ``items // 10`` new items on top
    (numbered below the first document's, so newer) and the oldest as many dropped."""
    rng = random.Random(2026)
    fresh = items // 10
    new, repoll = [], []
    for f in range(feeds):
        rows = [make_item(f, n + fresh, rng) for n in range(items)]
        top = [make_item(f, n, rng) for n in range(fresh)]
        new.append(make_feed(f, rows))
        repoll.append(make_feed(f, top + rows[: items - fresh]))
    return {"new": new, "repoll": repoll}


SERVER = textwrap.dedent(
    """
    import functools, sys
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024
        daemon_threads = True

    handler = functools.partial(Quiet, directory=sys.argv[2])
    Server(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
    """
)


class FeedFiles:
    """The feeds as files, served by a threaded server process with a large backlog."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port), str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self._answers():
            time.sleep(0.05)

    def _answers(self) -> bool:
        import socket

        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed-{n}.xml"

    def publish(self, bodies: list[bytes]) -> None:
        for n, body in enumerate(bodies):
            target = self.root / f"feed-{n}.xml"
            partial = target.with_suffix(".part")
            partial.write_bytes(body)
            partial.replace(target)  # a fetch sees the old file or the new one, never half

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def cpu_seconds(pid: int) -> float:
    """User and system CPU of process ``pid`` and its live children so far (Linux /proc):
    the worker and its parse processes."""
    return _own_cpu(pid) + sum(_own_cpu(child) for child in _children(pid))


def _own_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # gone meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


class RedisCounters:
    """Commands, CPU and memory of the Redis server, from INFO."""

    def __init__(self, url: str) -> None:
        self.client = open_sync(url)

    def read(self) -> dict[str, float]:
        stats = self.client.info("commandstats")
        calls = sum(
            int(v["calls"])
            for k, v in stats.items()
            if not k.startswith(("cmdstat_info", "cmdstat_config", "cmdstat_zcard"))
        )
        cpu = self.client.info("cpu")
        memory = self.client.info("memory")
        return {
            "commands": float(calls),
            "cpu": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
            "bytes": float(memory["used_memory"]),
        }

    def stored(self, feeds: int) -> int:
        pipe = self.client.pipeline(transaction=False)
        for n in range(feeds):
            pipe.zcard(keys.source_entries(f"bench-{n}"))
        return sum(int(c) for c in pipe.execute())


BREAKDOWN_FEEDS = 10
"""The breakdown's pass reads this many of the feeds: the slow log holds every command sent."""


class Breakdown:
    """Where a new item's server time and memory go: every command's time from the slow log
    (its threshold at 0 while the new workload runs: scripts by name, each with the commands
    it runs), then the memory of every key (``MEMORY USAGE``) by kind. Taken in a pass of its
    own over the first :data:`BREAKDOWN_FEEDS` feeds, as logging every command slows the
    server a little."""

    def __init__(self, url: str) -> None:
        self.client = open_sync(url)
        self.names = {script.sha: script.name for script in scripts.ALL}
        self.figures: dict[str, Any] = {}

    def start(self) -> None:
        self.client.config_set("slowlog-max-len", 1_000_000)
        self.client.slowlog_reset()
        self.client.config_set("slowlog-log-slower-than", 0)

    def take(self, new_items: int) -> None:
        self.client.config_set("slowlog-log-slower-than", 10_000)
        spent: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        for row in self.client.slowlog_get(1_000_000):
            command = row["command"]  # the command line, arguments joined by spaces
            text = command.decode(errors="replace") if isinstance(command, bytes) else command
            args = text.split(" ", 2)[:2]
            name = args[0].lower()
            if name == "evalsha" and len(args) > 1:
                name = f"script {self.names.get(args[1], args[1][:8])}"
            spent[name] += int(row["duration"])
            calls[name] += 1
        self.client.slowlog_reset()
        self.client.config_set("slowlog-max-len", 128)
        memory: Counter[str] = Counter()
        for key in self.client.scan_iter(count=1000):
            memory[key_kind(key.decode())] += self.client.memory_usage(key, samples=0) or 0
        self.figures = {
            "server_us_per_new_item": {
                name: {"us": round(us / new_items, 1), "calls": round(calls[name] / new_items, 2)}
                for name, us in spent.most_common(15)
            },
            "memory_bytes_per_new_item": {
                kind: round(size / new_items) for kind, size in memory.most_common(15)
            },
            "memory_usage_sum_per_new_item": round(sum(memory.values()) / new_items),
        }


def key_kind(key: str) -> str:
    """A key's kind, from :mod:`ingest.keys`: ``wf:v1:{story:ID}:entries`` is
    ``{story}:entries``, ``wf:v1:lsh:12:ab.cd`` is ``lsh``."""
    parts = key.removeprefix(f"{keys.PREFIX}:").split(":")
    if parts[0].startswith("{"):
        tag = parts[0].strip("{}")
        rest = [p for p in parts[1:] if not p.endswith("}")]
        return f"{{{tag}}}:{rest[0]}" if rest else parts[0]
    return parts[0]


def wirefeed_arm(
    url: str,
    files: FeedFiles,
    docs: dict[str, list[bytes]],
    tmp: Path,
    profile: Path | None,
    parse_processes: int | None = None,
    workers: int = 1,
    breakdown: Breakdown | None = None,
) -> dict:
    """Both workloads through one real worker process on an empty database; with
    ``profile``, py-spy samples the worker into that file; ``parse_processes`` sets
    ``WIREFEED_PARSE_PROCESSES`` (unset: the worker's default); ``workers`` worker processes
    share the sources (as ``wirefeed run`` starts one per core), their CPU summed."""
    open_sync(url).execute_command("FLUSHALL", "SYNC")  # freed now, not lazily: an empty baseline
    feeds, items = len(docs["new"]), docs_items(docs["new"][0])
    fresh = items // 10
    lines = ["sources:"]
    for n in range(feeds):
        lines += [f"  - id: bench-{n}", f"    url: {files.url(n)}"]
        lines += ["    interval: 1", "    min_interval: 1", "    max_interval: 1"]
    sources = tmp / "sources.yaml"
    sources.write_text("\n".join(lines) + "\n")
    counters = RedisCounters(url)
    results: dict[str, dict[str, float]] = {}
    if breakdown is not None:
        breakdown.start()
    files.publish(docs["new"])
    before, started = counters.read(), time.perf_counter()
    env = {} if parse_processes is None else {"WIREFEED_PARSE_PROCESSES": str(parse_processes)}
    fleet = Fleet(url, sources, workers, lease=120.0, log=tmp / "worker.log", env=env)
    worker = fleet.processes[0]

    def cpu() -> float:
        return sum(cpu_seconds(p.pid) for p in fleet.processes)

    spy = (
        subprocess.Popen(
            [*SPY, *spy_format(profile), "-o", str(profile), "-p", str(worker.pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if profile is not None
        else None
    )
    try:
        for workload, want in (("new", feeds * items), ("repoll", feeds * (items + fresh))):
            if workload == "repoll":
                cpu0 = cpu()
                before, started = counters.read(), time.perf_counter()
                files.publish(docs["repoll"])
            else:
                cpu0 = 0.0  # the process's start-up is part of a first ingest
            deadline = time.monotonic() + 900
            while counters.stored(feeds) < want:
                if any(p.poll() is not None for p in fleet.processes) or (
                    time.monotonic() > deadline
                ):
                    raise SystemExit(f"the worker stopped or stalled: see {tmp / 'worker.log'}")
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            after = counters.read()
            if breakdown is not None and workload == "new":
                breakdown.take(feeds * items)
            results[workload] = {
                "items": feeds * items,
                "new_items": feeds * (items if workload == "new" else fresh),
                "seconds": elapsed,
                "worker_cpu": cpu() - cpu0,
                "redis_cpu": after["cpu"] - before["cpu"],
                "commands": after["commands"] - before["commands"],
                "bytes": after["bytes"] - before["bytes"],
            }
    finally:
        fleet.stop()
        if spy is not None:
            spy.wait(30)
    return results


def spy_format(profile: Path) -> list[str]:
    """A flame graph for ``.svg``, py-spy's collapsed stacks (one line per stack) otherwise."""
    return [] if profile.suffix == ".svg" else ["--format", "raw"]


def docs_items(body: bytes) -> int:
    return body.count(b"<item>")


READER_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, sys, time
    from reader import make_reader

    db, workers, urls = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    reader = make_reader(db)
    for url in urls:
        reader.add_feed(url, exist_ok=True)

    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    cpu0, started = cpu(), time.perf_counter()
    reader.update_feeds(workers=workers, scheduled=False)  # every feed, due or not
    elapsed, spent = time.perf_counter() - started, cpu() - cpu0
    counts = reader.get_entry_counts()
    reader.close()
    print(json.dumps({"seconds": elapsed, "cpu": spent, "entries": counts.total,
                      "bytes": os.path.getsize(db)}))
    """
)


def reader_python() -> Path:
    """The virtualenv's interpreter, with reader installed there on first use."""
    python = READER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(READER_VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import reader, sgmllib"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *READER], check=True, cwd=ROOT
        )
    return python


def reader_arm(files: FeedFiles, docs: dict[str, list[bytes]], tmp: Path, workers: int) -> dict:
    python = reader_python()
    db = tmp / "reader.sqlite"
    db.unlink(missing_ok=True)
    feeds, items = len(docs["new"]), docs_items(docs["new"][0])
    urls = [files.url(n) for n in range(feeds)]
    results: dict[str, dict[str, float]] = {}
    size = 0
    for workload in WORKLOADS:
        files.publish(docs[workload])
        time.sleep(1.1)  # a whole second on: Last-Modified must change for a re-poll
        out = subprocess.run(
            [str(python), "-c", READER_SCRIPT, str(db), str(workers), *urls],
            capture_output=True,
            text=True,
            check=True,
        )
        got = json.loads(out.stdout)
        new = feeds * (items if workload == "new" else items // 10)
        results[workload] = {
            "items": feeds * items,
            "new_items": new,
            "seconds": got["seconds"],
            "cpu": got["cpu"],
            "entries": got["entries"],
            "bytes": got["bytes"] - size,
        }
        size = got["bytes"]
    return results


def feedparser_arm(docs: dict[str, list[bytes]]) -> dict:
    results = {}
    for workload in WORKLOADS:
        cpu0, started = time.process_time(), time.perf_counter()
        count = sum(
            len(feedparser.parse(io.BytesIO(b), sanitize_html=False).entries)
            for b in docs[workload]
        )
        results[workload] = {
            "items": count,
            "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu0,
        }
    return results


def summary(runs: dict[str, list[dict]]) -> dict[str, Any]:
    """Medians over the rounds, per arm and workload."""
    out: dict[str, Any] = {}
    for arm, rounds in runs.items():
        out[arm] = {}
        for workload in WORKLOADS:
            rows = [r[workload] for r in rounds]
            items = rows[0]["items"]
            figures = {
                "items_per_s": round(statistics.median(items / r["seconds"] for r in rows), 1),
                "runs_items_per_s": [round(items / r["seconds"], 1) for r in rows],
            }
            cpu_keys = ["worker_cpu", "redis_cpu"] if arm == "wirefeed" else ["cpu"]
            for key in cpu_keys:
                figures[f"{key}_ms_per_item"] = round(
                    statistics.median(1000 * r[key] / items for r in rows), 3
                )
            if arm == "wirefeed":
                figures["commands_per_item"] = round(
                    statistics.median(r["commands"] / items for r in rows), 1
                )
            if "bytes" in rows[0]:
                figures["bytes_per_new_item"] = round(
                    statistics.median(r["bytes"] / r["new_items"] for r in rows)
                )
            out[arm][workload] = figures
    for workload in WORKLOADS:
        ours = out["wirefeed"][workload]["items_per_s"]
        out[f"ratio_to_reader_{workload}"] = round(ours / out["reader"][workload]["items_per_s"], 3)
        out[f"ratio_to_feedparser_{workload}"] = round(
            ours / out["feedparser"][workload]["items_per_s"], 3
        )
    return out


def measure(
    args: argparse.Namespace, docs: dict[str, list[bytes]]
) -> tuple[dict[str, list[dict]], Breakdown | None]:
    """Every arm's rounds, in alternating order; with ``--breakdown``, one more pass."""
    breakdown = None
    runs: dict[str, list[dict]] = {"wirefeed": [], "reader": [], "feedparser": []}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        files = FeedFiles(tmp / "www")
        try:
            with redis_server(tmp / "redis") as url:
                for n in range(args.rounds):
                    order = ["wirefeed", "reader", "feedparser"]
                    for arm in order if n % 2 == 0 else order[::-1]:
                        if arm == "wirefeed":
                            profile = args.profile if n == 0 else None
                            runs[arm].append(
                                wirefeed_arm(
                                    url,
                                    files,
                                    docs,
                                    tmp,
                                    profile,
                                    args.parse_processes,
                                    args.workers,
                                )
                            )
                        elif arm == "reader":
                            runs[arm].append(reader_arm(files, docs, tmp, args.concurrency))
                        else:
                            runs[arm].append(feedparser_arm(docs))
                        print(f"round {n + 1}: {arm} done", flush=True)
                if args.breakdown:  # a pass of its own: logging every command costs time
                    breakdown = Breakdown(url)
                    some = {w: d[:BREAKDOWN_FEEDS] for w, d in docs.items()}
                    wirefeed_arm(
                        url, files, some, tmp, None, args.parse_processes, args.workers, breakdown
                    )
        finally:
            files.stop()
    return runs, breakdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="wirefeed worker processes (wirefeed run: one per core)",
    )
    parser.add_argument(
        "--parse-processes",
        type=int,
        help="WIREFEED_PARSE_PROCESSES for the worker (default: unset, one per core beyond one)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample the worker of the first round with py-spy into this file: a flame graph for"
        " .svg, collapsed stacks otherwise (needs py-spy)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="after the timed rounds, one more new workload: server time per command and"
        " script (slow log) and memory per key kind, per new item",
    )
    args = parser.parse_args()
    if args.profile is not None and shutil.which("py-spy") is None:
        parser.error("--profile needs py-spy on the PATH (pip install py-spy)")
    docs = workloads(args.feeds, args.items)
    runs, breakdown = measure(args, docs)
    figures: dict[str, Any] = {
        "feeds": args.feeds,
        "items_per_feed": args.items,
        "rounds": args.rounds,
        "mean_feed_bytes": sum(map(len, docs["new"])) // args.feeds,
        "parse_processes": args.parse_processes,
        "workers": args.workers,
        **summary(runs),
    }
    if breakdown is not None:
        figures["breakdown"] = breakdown.figures
    path = write_results(
        "ingest" if args.workers == 1 else f"ingest-{args.workers}-workers", figures
    )
    print_figures(figures)
    if breakdown is not None:
        print_breakdown(breakdown.figures)
    print(f"written to {path}")


def print_figures(figures: dict[str, Any]) -> None:
    for workload in WORKLOADS:
        print(f"{workload}:")
        for arm in ("wirefeed", "reader", "feedparser"):
            row = figures[arm][workload]
            cpu = {k: v for k, v in row.items() if k.endswith("_ms_per_item")}
            print(f"  {arm:<10} {row['items_per_s']:>9} items/s  cpu ms/item {cpu}")
        print(
            f"  wirefeed / reader {figures[f'ratio_to_reader_{workload}']}, "
            f"/ feedparser {figures[f'ratio_to_feedparser_{workload}']}; "
            f"redis commands/item {figures['wirefeed'][workload]['commands_per_item']}, "
            f"bytes/new item {figures['wirefeed'][workload].get('bytes_per_new_item')}"
        )


def print_breakdown(found: dict[str, Any]) -> None:
    print("server time per new item (slow log at 0; scripts include the commands they run):")
    for name, row in found["server_us_per_new_item"].items():
        print(f"  {row['us']:>8} us  {row['calls']:>7} calls  {name}")
    total = found["memory_usage_sum_per_new_item"]
    print(f"memory per new item by key kind (MEMORY USAGE, {total} in all):")
    for kind, size in found["memory_bytes_per_new_item"].items():
        print(f"  {size:>8} B  {kind}")


if __name__ == "__main__":
    main()
