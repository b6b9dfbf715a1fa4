"""Freshness: from a source changing to wirefeed's stories feed showing the change.

    python bench/freshness.py [--changes 20]

One process runs the whole path on loopback: a publisher (an Atom feed, with or without a
WebSub hub link) and its hub in a thread, the web app (uvicorn, in a thread) and one real
``Worker`` over an embedded Redis. Two sources:

* ``polled``: its feed names no hub; the worker polls it every second (interval 1, bounds
  [1, 1]): the baseline;
* ``pushed``: its feed names the hub; the worker discovers it and subscribes (the hub
  verifies through the app's callback), so it is polled only at its slow bound (300 s) and
  each change is pushed by the hub, signed, to the callback at once.

For each change we add one item to the source's feed (and, for ``pushed``, the publisher pings
the hub, which distributes the new feed) and time until ``/feeds/stories.json`` contains the
item's unique word. We report p50 and p95 for both and the ratio push/poll. Goals: p95 at most
interval + 1 s when polling; at most 1 s with push. Results: bench/results/freshness.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import ipaddress
import random
import socket
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import uvicorn
from common import free_port, redis_server, write_results

from config.settings import HostLimit, Settings
from config.sources import Source
from feeds.app import create_app
from workers.worker import Worker

WORDS = [
    "amber",
    "birch",
    "cedar",
    "dune",
    "ember",
    "fjord",
    "grove",
    "heath",
    "inlet",
    "juniper",
    "kestrel",
    "lagoon",
    "meadow",
    "nettle",
    "orchard",
    "pebble",
    "quarry",
    "rapids",
    "summit",
    "thicket",
    "upland",
    "valley",
    "willow",
    "yarrow",
    "zephyr",
    "basalt",
    "canyon",
    "delta",
    "estuary",
    "falcon",
    "glacier",
    "harbor",
    "island",
    "jetty",
    "keel",
    "lantern",
    "marsh",
    "narrows",
    "oxbow",
    "pier",
    "reef",
    "shoal",
    "tundra",
    "vista",
    "wharf",
]


class Wire:
    """The publisher's two feeds and the hub, served from one thread."""

    def __init__(self) -> None:
        self.items: dict[str, list[tuple[str, str]]] = {"polled": [], "pushed": []}
        self.subscriber: dict[str, str] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def feed(self, name: str) -> bytes:
        hub = f"<link rel='hub' href='{self.base}/hub'/>" if name == "pushed" else ""
        with self.lock:
            items = list(self.items[name])
        entries = "".join(
            f"<entry><id>urn:bench:{name}:{i}</id><title>{title}</title><updated>{at}</updated>"
            f"<content type='html'>&lt;p&gt;{title}.&lt;/p&gt;</content></entry>"
            for i, (title, at) in reversed(list(enumerate(items)))  # newest first, stable ids
        )
        return (
            "<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<title>{name}</title><id>urn:bench:{name}</id>"
            f"<link rel='self' href='{self.base}/{name}'/>{hub}"
            f"<updated>2026-01-01T00:00:00Z</updated>{entries}</feed>"
        ).encode()

    def change(self, name: str, title: str) -> None:
        with self.lock:
            self.items[name].append((title, datetime.now(UTC).isoformat()))
        if name == "pushed" and self.subscriber:
            body = self.feed(name)
            mac = hmac.new(self.subscriber["secret"].encode(), body, hashlib.sha256).hexdigest()
            request = urllib.request.Request(
                self.subscriber["callback"],
                data=body,
                headers={
                    "Content-Type": "application/atom+xml",
                    "X-Hub-Signature": f"sha256={mac}",
                },
            )
            urllib.request.urlopen(request, timeout=10).close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        wire = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                name = self.path.strip("/")
                if name in wire.items:
                    self._send(200, wire.feed(name), "application/atom+xml")
                else:
                    self._send(404)

            def do_POST(self) -> None:  # the hub: verify synchronously, then remember
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                params = {k: v[0] for k, v in form.items()}
                query = urllib.parse.urlencode(
                    {
                        "hub.mode": "subscribe",
                        "hub.topic": params["hub.topic"],
                        "hub.challenge": "bench-challenge",
                        "hub.lease_seconds": "3600",
                    }
                )
                with urllib.request.urlopen(f"{params['hub.callback']}?{query}") as answer:
                    ok = answer.read() == b"bench-challenge"
                if ok:
                    wire.subscriber = {
                        "callback": params["hub.callback"],
                        "secret": params["hub.secret"],
                    }
                self._send(202 if ok else 400)

        return Handler


def serve(settings: Settings, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread


async def seen(http: httpx.AsyncClient, word: str, within: float = 30.0) -> float:
    """Seconds (perf counter) at which the stories feed first contains ``word``."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if word in (await http.get("/feeds/stories.json")).text:
            return time.perf_counter()
        await asyncio.sleep(0.01)
    raise TimeoutError(f"{word} never showed")


async def measure(wire: Wire, http: httpx.AsyncClient, name: str, changes: int) -> list[float]:
    latencies = []
    for n in range(changes):
        word = f"w{name}{n}x"
        picked = random.Random(f"{name}{n}").sample(WORDS, 8)  # unlike every other item
        title = f"{word} " + " ".join(picked)
        await asyncio.sleep(0.37 * (n % 3))  # changes land at different points of the cycle
        start = time.perf_counter()
        await asyncio.to_thread(wire.change, name, title)
        latencies.append(await seen(http, word) - start)
    return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=20, method="inclusive")
    return {
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(cuts[18], 3),
        "max_s": round(max(latencies), 3),
    }


async def run(redis_url: str, changes: int) -> dict[str, object]:
    wire = Wire()
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    app_base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        redis_url=redis_url,
        public_url=app_base,
        fetch_allow_networks=(ipaddress.ip_network("127.0.0.0/8"),),
        host_limits={"127.0.0.1": HostLimit(0, 0)},
    )
    server, thread = serve(settings, sock)
    sources = [
        Source(id="polled", url=f"{wire.base}/polled", interval=1, min_interval=1, max_interval=1),
        Source(id="pushed", url=f"{wire.base}/pushed", interval=1, max_interval=300),
    ]
    worker = Worker(settings, redis_url)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, sources))
    try:
        async with httpx.AsyncClient(base_url=app_base, timeout=10) as http:
            while not wire.subscriber:  # noqa: ASYNC110 - the first poll finds the hub
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.0)  # let the first polls settle
            polled = await measure(wire, http, "polled", changes)
            pushed = await measure(wire, http, "pushed", changes)
    finally:
        stop.set()
        await task
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)
    poll, push = summary(polled), summary(pushed)
    return {
        "changes": changes,
        "poll_interval_s": 1,
        "polling": poll,
        "websub_push": push,
        "ratio_push_to_poll_p95": round(push["p95_s"] / poll["p95_s"], 3),
        "goals": {"polling_p95_max_s": 2.0, "push_p95_max_s": 1.0},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        figures = asyncio.run(run(url, args.changes))
    path = write_results("freshness", figures)
    for mode in ("polling", "websub_push"):
        f = figures[mode]
        assert isinstance(f, dict)
        print(f"{mode:>12}: p50 {f['p50_s']:.3f} s, p95 {f['p95_s']:.3f} s, max {f['max_s']:.3f} s")
    print(f"push / poll (p95): {figures['ratio_push_to_poll_p95']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
