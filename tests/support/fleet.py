"""A fleet of real worker processes ingesting a scripted wire stream, for the many-workers,
kill -9 and Redis-restart tests and for ``bench/crash.py``, ``bench/load.py``, ``bench/scale.py``.

::

    Script(seed)          sources; phases of Atom documents: new items, updates, copies, kills
      -> FeedServer       serves the current phase; counts requests and overlaps per path
      -> Fleet            N ``python -m workers.cli worker`` processes on one Redis or cluster
      -> drive(...)       next phase once every source was fetched twice since the last one;
                          meanwhile ``chaos`` may kill -9 and restart workers
      -> snapshot(url)    per source its entries' (identity, title, text), and the stories as
                          groups of entries: what a reference run and a crash run must share

Times: the items' dates come from one instant read once when the script is made (the real
workers read the real clock, so items must be recent enough for the retention window); no
check compares times.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

from ingest.store.connect import open_redis
from ingest.store.redis_store import RedisStore
from tests.support.clock import SESSION
from tests.support.servers import FeedServer, Reply
from tests.support.workers import child_env

TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"


@dataclass
class Post:
    id: str
    title: str
    text: str
    at: datetime
    link: str
    updated: datetime | None = None


BASE = SESSION.replace(microsecond=0)
"""Where the script's items are dated from: the workers read the real clock (clock.py)."""


@dataclass
class Script:
    """A deterministic stream over ``sources`` sources in ``phases`` phases (``seed``)."""

    sources: int = 20
    phases: int = 6
    seed: int = 12
    base: datetime = BASE
    docs: list[dict[str, bytes]] = field(init=False)
    copied: set[tuple[str, str]] = field(init=False)
    linked: list[list[str]] = field(init=False)
    expected: dict[str, list[tuple[str, str]]] = field(init=False)
    """Per source, its live items' (title, text) at the end, each once; copied wire copy,
    whose owner is whoever stored it first, under ``COPIED``."""

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        posts: dict[str, dict[str, Post]] = {self.sid(n): {} for n in range(self.sources)}
        killed: dict[str, list[tuple[str, datetime]]] = {s: [] for s in posts}
        fixed: set[tuple[str, str]] = set()  # copied items: never updated or killed
        copies: dict[str, list[tuple[str, str]]] = {s: [] for s in posts}
        self.docs = []
        serial = 0
        for phase in range(self.phases):
            at = self.base - timedelta(hours=2) + timedelta(minutes=10 * phase)
            for sid, own in posts.items():
                serial += 1
                roll = rng.random()
                live = [p for p in own.values() if (sid, p.id) not in fixed]
                if roll < 0.5 or not own:
                    self._new(sid, own, serial, at, rng)
                elif roll < 0.7 and live:
                    post = rng.choice(live)
                    post.text += f" Update {phase}: officials gave new figures."
                    post.title = post.title.split(" (")[0] + f" (update {phase})"
                    post.updated = at
                elif roll < 0.85:
                    other = self.sid(rng.randrange(self.sources))
                    fresh = [p for p in posts[other].values() if (other, p.id) not in fixed]
                    if other != sid and fresh:
                        origin = rng.choice(fresh)
                        fixed.add((other, origin.id))
                        copy = Post(
                            f"tag:{sid}.example,2026:copy-{serial}",
                            origin.title,
                            origin.text,
                            at,
                            origin.link,
                        )
                        copy.link = f"https://{sid}.example/copy/{serial}"
                        own[copy.id] = copy
                        fixed.add((sid, copy.id))
                        copies[sid].append((origin.title, origin.text))
                    else:
                        self._new(sid, own, serial, at, rng)
                elif live:
                    gone = rng.choice(live)
                    del own[gone.id]
                    killed[sid].append((gone.id, self.base + timedelta(hours=6)))
            self.docs.append({s: self._atom(s, own, killed[s]) for s, own in posts.items()})
        self.copied = {
            (p.title, p.text)
            for s, own in posts.items()
            for p in own.values()
            if (s, p.id) in fixed
        }
        rows = [(sid, p.title, p.text) for sid, own in posts.items() for p in own.values()]
        self.expected = _bucketed(rows, self.copied)
        self.expected[COPIED] = sorted(set(self.expected.get(COPIED, [])))  # one entry each
        pages: dict[str, list[str]] = {}
        for own in posts.values():
            for p in own.values():  # copied wire copy is whoever stored it first's: left out
                if "/live#" in p.link and (p.title, p.text) not in self.copied:
                    pages.setdefault(p.link.split("#")[0], []).append(p.title)
        self.linked = sorted(sorted(titles) for titles in pages.values())
        """The stories explicit links make: the live items of one page, as sorted titles
        (copied items left out: the entry is whichever copy was stored first, with its link)."""

    @staticmethod
    def sid(n: int) -> str:
        return f"w{n:04d}"

    def _new(
        self, sid: str, own: dict[str, Post], serial: int, at: datetime, rng: random.Random
    ) -> None:
        topic = rng.choice(["harbor", "bridge", "orchard", "council", "ferry", "museum"])
        live = rng.random() < 0.3 and any("/live#" in p.link for p in own.values())
        link = (
            next(p.link for p in own.values() if "/live#" in p.link).split("#")[0]
            if live
            else f"https://{sid}.example/{'live' if rng.random() < 0.3 else 'story'}"
        )
        words = " ".join(_word(rng) for _ in range(14))  # no two items look alike
        own[f"tag:{sid}.example,2026:{serial}"] = Post(
            f"tag:{sid}.example,2026:{serial}",
            f"{topic.title()} {_word(rng)} {_word(rng)} report {serial} from {sid}",
            f"Item {serial} of {sid} about the {topic}: {words}.",
            at,
            f"{link}#{serial}" if "/live" in link else f"{link}/{serial}",
        )

    def _atom(self, sid: str, own: dict[str, Post], killed: list[tuple[str, datetime]]) -> bytes:
        rows = "".join(
            f"<entry><id>{escape(p.id)}</id><title>{escape(p.title)}</title>"
            f"<published>{p.at.isoformat()}</published>"
            f"<updated>{(p.updated or p.at).isoformat()}</updated>"
            f'<link rel="alternate" href="{escape(p.link)}"/>'
            f'<summary type="text">{escape(p.text)}</summary></entry>'
            for p in own.values()
        )
        tombs = "".join(
            f'<at:deleted-entry ref="{escape(ref)}" when="{when.isoformat()}"/>'
            for ref, when in killed
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="{TOMBSTONES_NS}">'
            f"<id>urn:{sid}</id><title>{sid}</title><updated>{self.base.isoformat()}</updated>"
            f"<author><name>{sid}</name></author>{tombs}{rows}</feed>"
        ).encode()

    def serve(self, server: FeedServer, phase: int, delay: float = 0.0) -> None:
        for sid, body in self.docs[phase].items():
            server.set(
                f"/{sid}.atom",
                Reply(body, headers={"Content-Type": "application/atom+xml"}, delay=delay),
            )

    def sources_file(self, server: FeedServer, path: Path, interval: float = 1.0) -> Path:
        lines = ["sources:"]
        for n in range(self.sources):
            sid = self.sid(n)
            lines += [
                f"  - id: {sid}",
                f"    url: {server.url(f'/{sid}.atom')}",
                f"    interval: {interval}",
                f"    min_interval: {interval}",
                f"    max_interval: {interval}",
            ]
        path.write_text("\n".join(lines) + "\n")
        return path


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))


class Fleet:
    """Worker processes on ``redis_url`` reading ``sources``; kill -9 and restart them."""

    def __init__(
        self,
        redis_url: str,
        sources: Path,
        count: int,
        *,
        lease: float = 3.0,
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.redis_url, self.sources, self.lease, self.log = redis_url, sources, lease, log
        self.env = dict(env or {})
        """More of the workers' environment (WIREFEED_* settings)."""
        self.log_level = "WARNING"
        self.processes: list[subprocess.Popen[bytes]] = [self._start() for _ in range(count)]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        env = child_env(
            WIREFEED_REDIS_URL=self.redis_url,
            WIREFEED_SOURCES=str(self.sources),
            WIREFEED_FETCH_ALLOW_NETWORKS="127.0.0.0/8",
            WIREFEED_LOG_LEVEL=self.log_level,
            WIREFEED_HOST_CONCURRENCY="0",
            WIREFEED_HOST_PER_MINUTE="0",
            WIREFEED_LEASE_SECONDS=str(self.lease),
            **self.env,
        )
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "workers.cli", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill9(self, n: int) -> None:
        """SIGKILL worker ``n`` (no clean-up of any kind) and start a new one in its place."""
        self.processes[n].kill()
        self.processes[n].wait()
        self.kills += 1
        self.processes[n] = self._start()

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> list[int]:
        """SIGTERM every worker; their exit codes."""
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = []
        for p in self.processes:
            try:
                codes.append(p.wait(60))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(p.wait())
        return codes


def fetched_since(server: FeedServer, mark: dict[str, int], times: int) -> bool:
    return all(server.requests[path] - seen >= times for path, seen in mark.items())


def drive(
    script: Script,
    server: FeedServer,
    *,
    settle: int = 2,
    timeout: float = 120.0,
    during: Callable[[], None] | None = None,
    on_phase: Callable[[int], None] | None = None,
) -> None:
    """Serve each phase until every source was fetched ``settle`` times since it began, calling
    ``during`` every 50 ms meanwhile (the chaos); then the last phase ``settle`` more times
    without chaos, so the end state is the one the script ends in."""
    paths = [f"/{script.sid(n)}.atom" for n in range(script.sources)]
    for phase in range(script.phases):
        script.serve(server, phase)
        if on_phase is not None:
            on_phase(phase)
        mark = {p: server.requests[p] for p in paths}
        deadline = time.monotonic() + timeout
        while not fetched_since(server, mark, settle):
            if time.monotonic() > deadline:
                raise AssertionError(f"phase {phase}: sources not fetched within {timeout} s")
            if during is not None:
                during()
            time.sleep(0.05)
    mark = {p: server.requests[p] for p in paths}
    deadline = time.monotonic() + timeout
    while not fetched_since(server, mark, settle):
        if time.monotonic() > deadline:
            raise AssertionError(f"settling: sources not fetched within {timeout} s")
        time.sleep(0.05)


class Chaos:
    """Kills a random worker with SIGKILL at random moments (seeded), restarting it at once."""

    def __init__(self, fleet: Fleet, seed: int, mean_gap: float = 1.5) -> None:
        self.fleet, self.rng, self.mean_gap = fleet, random.Random(seed), mean_gap
        self.next = time.monotonic() + self.rng.expovariate(1 / mean_gap)

    def __call__(self) -> None:
        if time.monotonic() >= self.next:
            self.fleet.kill9(self.rng.randrange(len(self.fleet.processes)))
            self.next = time.monotonic() + self.rng.expovariate(1 / self.mean_gap)


COPIED = "*copied*"


def _bucketed(
    rows: Iterable[tuple[str, str, str]], copied: set[tuple[str, str]]
) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for sid, title, text in rows:
        out.setdefault(COPIED if (title, text) in copied else sid, []).append((title, text))
    return {k: sorted(v) for k, v in sorted(out.items())}


@dataclass(frozen=True)
class Snapshot:
    entries: dict[str, list[tuple[str, str]]]
    """Per source, the (title, text) of the entries the stories show, sorted: a lost entry is
    missing, a doubled one shows twice, a stale version shows its old words."""
    linked: list[list[str]]
    """The live-page entries of each story, as sorted titles; sorted."""


def snapshot(redis_url: str, script: Script) -> Snapshot:
    return asyncio.run(_snapshot(redis_url, script))


async def _snapshot(redis_url: str, script: Script) -> Snapshot:
    client = await open_redis(redis_url)
    try:
        store = RedisStore(client)
        count = await store.story_count()
        stories = await store.recent_stories(count + 1, entries=10_000)
    finally:
        await client.aclose()
    rows = [(e.source_id, e.title, _text(e.summary_html)) for s in stories for e in s.entries]
    linked = [
        sorted(
            e.title
            for e in s.entries
            if e.url and "/live#" in e.url and (e.title, _text(e.summary_html)) not in script.copied
        )
        for s in stories
    ]
    return Snapshot(_bucketed(rows, script.copied), sorted(t for t in linked if t))


def _text(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def overdue_leases(redis_url: str, lease: float) -> list[str]:
    """Sources whose schedule score is further out than a lease (or an interval) from now:
    a lease held past its time to live would show here."""
    from ingest import keys

    client = await open_redis(redis_url)
    try:
        seconds, micros = await client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        pairs = await client.zrange(keys.SCHEDULE, 0, -1, withscores=True)
    finally:
        await client.aclose()
    limit = now_ms + int(max(lease, 1.0) * 1000) + 1000
    return [str(m) for m, score in pairs if score > limit]
