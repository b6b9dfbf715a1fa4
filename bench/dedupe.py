"""Dedupe decisions per second as the index grows: 10,000, 100,000 and 1,000,000 items indexed.

    python bench/dedupe.py [--max 1000000] [--probes 4000] [--batch 50] [--rounds 5]

One Redis is grown 10k -> 100k -> 1M and measured at each level (``--max 100000`` stops at
100k for a quick run). Indexed items are invented
wire copy (a title and a ~40-word lead over a Zipf-weighted vocabulary: stop words, about 200
real news words and 5,000 invented ones), 50 sources, one item every 2.6 s (1M items span the
30-day retention). Each is normalized by ``ingest.normalize`` and indexed with exactly the
writes production makes for a stored entry, through the ``RedisIndex.queue_*`` methods
(identity record, URL and copy claims, entry locator, near record, LSH bands).

At each level a stream of fresh probes, 50 items a document from one source, goes through
``RedisStore.evidence`` + ``decide`` as in the pipeline: 80 % unrelated items, 10 % near copies
(another source rewording ~15 % of the lead of an item of the last two days) and 10 % exact
copies under another URL. Nothing is written while probing, so every round sees the same index.
We report decisions per second (median of the rounds), ms per decision, what Redis spent, how
full the LSH buckets are, the verdicts (near copies should be DUPLICATE, unrelated items NEW)
and the ratio of the largest level's rate to the 10k rate (goal: >= 0.8, a flat cost).

That ratio is given twice: against the 10k level measured minutes earlier, and against a fixed
10k index kept in the next database of the same server, whose rounds alternate with each
level's rounds (as in poll.py): on two shared cores, rates drift by 5-10 % between minutes, and
alternation cancels most of that. Results: bench/results/dedupe.json.

Loading is the slow part, so it is done off the clock: two worker processes normalize items
and encode the index writes as raw RESP (checked byte for byte against redis-py's encoding of
the same ``queue_*`` calls), using a table-driven MinHash that is checked against
``fingerprint.signature``; the main process streams the bytes in pipelines of 2,000 items.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import hiredis
import redis
import redis.asyncio as aioredis
from common import RUN_CLOCK, redis_server, write_results

from ingest import fingerprint, keys
from ingest.dedupe import DedupePolicy, Evidence, decide
from ingest.model import Action, Item, Known, RawEntry, to_ms
from ingest.normalize import normalize
from ingest.store import scripts
from ingest.store.dedupe_index import BUCKET_CAP, RedisIndex, Retention
from ingest.store.redis_store import RedisStore
from ingest.stories import assign

LEVELS = (10_000, 100_000, 1_000_000)
SOURCES = 50
STEP = timedelta(seconds=2.592)  # 1,000,000 items x 2.592 s = 30 days, the retention window
T0 = RUN_CLOCK - 1_000_000 * STEP  # the largest level ends at the run's clock
RECENT = int(timedelta(days=2) / STEP)  # copies are of items of the last two days
CHUNK = 2_000  # items per loading pipeline
SEED = 2026

# -- invented wire copy ------------------------------------------------------------------------

STOP = tuple(
    """the the the a a of of to to in in and and said said on for with at by from that
    was is has its after as it were have will""".split()  # noqa: SIM905
)
NEWS = tuple(
    """officials government police minister president report city country year week month
    people percent million billion company market prices court judge trial charges case
    election vote party leader opposition parliament council mayor governor state federal
    agency department ministry spokesman statement investigation inquiry authorities
    military army troops forces attack killed injured wounded dead victims hospital
    health doctors patients school students teachers university workers union strike
    talks deal agreement plan budget tax rates bank economy growth inflation jobs oil gas
    energy power water fire storm flood rain weather warning emergency rescue crews
    residents homes village town region border capital north south east west central
    coast island river bridge road highway airport flight train rail port ship boat
    police officers arrested suspect shooting crash accident car driver border security
    protest protesters rally crowd demonstrators campaign candidate poll results
    record season team game match coach players final championship league cup win loss
    shares stocks investors trading exchange quarter profit revenue sales firm chief
    executive board director officials sources documents data study researchers
    scientists climate emissions environment project construction building
    international foreign talks summit allies sanctions embassy refugees aid""".split()  # noqa: SIM905
)


def _invented(count: int, rng: random.Random) -> tuple[str, ...]:
    onsets = "b br d dr f g gr h k kl l m n p pr r s st t tr v z".split()  # noqa: SIM905
    vowels = "aeiou"
    words: dict[str, None] = {}
    while len(words) < count:
        parts = rng.randint(2, 4)
        words["".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(parts))] = None
    return tuple(words)


def _zipf(n: int, mass: float, s: float = 1.0) -> list[float]:
    raw = [1 / (rank**s) for rank in range(1, n + 1)]
    total = sum(raw)
    return [mass * w / total for w in raw]


INVENTED = _invented(5_000, random.Random(SEED))
VOCAB = STOP + NEWS + INVENTED
CUMULATIVE = list(
    itertools.accumulate(
        [0.35 / len(STOP)] * len(STOP) + _zipf(len(NEWS), 0.25) + _zipf(len(INVENTED), 0.40, 0.9)
    )
)


def source_of(n: int) -> str:
    return f"wire-{n % SOURCES:02d}"


def published_of(n: int) -> datetime:
    return T0 + n * STEP


def words_of(n: int) -> tuple[list[str], list[str]]:
    """Item ``n``'s title and lead words: the same ``n`` always gives the same words."""
    rng = random.Random(SEED * 10**10 + n)
    drawn = rng.choices(VOCAB, cum_weights=CUMULATIVE, k=49)
    return drawn[:9], drawn[9:]


def raw_entry(ident: str, source: str, title: list[str], lead: list[str], at: datetime) -> RawEntry:
    slug = "-".join(title[:5])
    host = f"www.{source}.example"
    return RawEntry(
        native_id=f"{source}:{ident}",
        title=" ".join(title).capitalize(),
        link=f"https://{host}/{at:%Y/%m/%d}/{slug}-{ident}?utm_source=rss",
        summary=f"<p>{' '.join(lead).capitalize()}.</p>",
        published=at,
    )


def indexed_item(n: int) -> Item:
    title, lead = words_of(n)
    at = published_of(n)
    source = source_of(n)
    return normalize(raw_entry(str(n), source, title, lead, at), source, now=at + STEP)


# -- loading: the index writes production makes, encoded off the clock ------------------------


class RespPipe:
    """Stands in for a redis-py pipeline under ``RedisIndex.queue_*``: encodes each command as
    redis-py would (same argument order) straight to RESP with hiredis. Only the commands the
    index uses exist here, so a new one fails loudly instead of being skipped."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.scripts: set[Any] = set()  # redis-py's pipelines load these; load() does here

    def _add(self, *args: Any) -> None:
        self.parts.append(hiredis.pack_command(args))

    def set(self, name: str, value: str, *, nx: bool = False, get: bool = False, px: int) -> None:
        self._add("SET", name, value, *(["NX"] if nx else []), *(["GET"] if get else []), "PX", px)

    def hset(self, name: str, *, mapping: dict[str, str]) -> None:
        self._add("HSET", name, *itertools.chain.from_iterable(mapping.items()))

    def pexpire(self, name: str, time: int) -> None:
        self._add("PEXPIRE", name, time)

    def lrem(self, name: str, count: int, value: str) -> None:
        self._add("LREM", name, count, value)

    def lpush(self, name: str, *values: str) -> None:
        self._add("LPUSH", name, *values)

    def ltrim(self, name: str, start: int, end: int) -> None:
        self._add("LTRIM", name, start, end)

    def echo(self, value: str) -> None:
        self._add("ECHO", value)

    def evalsha(self, sha: str, numkeys: int, *args: Any) -> None:
        self._add("EVALSHA", sha, numkeys, *args)


def queue_stored(pipe: Any, index: RedisIndex, item: Item) -> None:
    """What storing a NEW item (``ingest.pipeline.store_plans``) queues on the index, in order."""
    decision = decide(item, Evidence(), item.published)
    story = assign(decision, None).story_id
    record = Known(
        decision.entry_id,
        story,
        decision.version,
        item.content_hash,
        item.version,
        to_ms(item.updated),
        item.source_id,
    )
    index.queue_claims(pipe, item, record)
    index.queue_entry(pipe, item, record, to_ms(item.published))
    index.queue_identity(pipe, item, record)


_exact_signature = fingerprint.signature
_rows: dict[str, tuple[int, ...]] = {}


def _table_signature(terms: Sequence[str]) -> fingerprint.Signature:
    """``fingerprint.signature`` with each word's 64 permuted hashes computed once."""
    rows = []
    for term in set(terms):
        row = _rows.get(term)
        if row is None:
            h = fingerprint._base_hash(term)
            row = tuple(
                ((a * h + b) % fingerprint._PRIME) & fingerprint._MASK
                for a, b in fingerprint._COEFFS
            )
            _rows[term] = row
        rows.append(row)
    if len(rows) < 2:
        return _exact_signature(terms)
    return tuple(map(min, *rows))


def _table_bands(terms: tuple[str, ...]) -> tuple[str, ...]:
    """``fingerprint.bands`` over :func:`_table_signature` (the index writes ask for it)."""
    return fingerprint.band_keys(_table_signature(terms))


def _loader_init() -> None:
    fingerprint.bands = _table_bands  # loader processes only; probes use the real one


def offline_index() -> RedisIndex:
    """An index whose ``queue_*`` methods build commands; its client never connects."""
    return RedisIndex(redis.Redis(), Retention())  # type: ignore[arg-type]


def encode_chunk(start: int, stop: int) -> tuple[bytes, int]:
    """The RESP bytes of the index writes for items ``start`` to ``stop``, and their count."""
    pipe = RespPipe()
    index = offline_index()
    for n in range(start, stop):
        item = indexed_item(n)
        if n == start:
            assert _table_signature(item.terms) == _exact_signature(item.terms)
        queue_stored(pipe, index, item)
    return b"".join(pipe.parts), len(pipe.parts)


def check_encoding() -> None:
    """The raw bytes we send equal what redis-py would send for the same ``queue_*`` calls."""
    item = indexed_item(0)
    ours, theirs = RespPipe(), redis.Redis().pipeline(transaction=False)
    index = offline_index()
    queue_stored(ours, index, item)
    queue_stored(theirs, index, item)
    packed = [hiredis.pack_command(args) for args, _options in theirs.command_stack]
    assert ours.parts == packed, "RespPipe no longer matches redis-py's encoding"


def _in_order(
    submit: Callable[[int, int], Future[tuple[bytes, int]]], start: int, stop: int, ahead: int
) -> Iterator[tuple[int, tuple[bytes, int]]]:
    """Chunk results in order, with at most ``ahead`` chunks encoded but not yet sent."""
    bounds = iter((s, min(s + CHUNK, stop)) for s in range(start, stop, CHUNK))
    pending = [(e, submit(s, e)) for s, e in itertools.islice(bounds, ahead)]
    while pending:
        end, future = pending.pop(0)
        nxt = next(bounds, None)
        if nxt is not None:
            pending.append((nxt[1], submit(*nxt)))
        yield end, future.result()


def load(url: str, start: int, stop: int) -> float:
    """Index items ``start`` to ``stop``; returns the seconds it took."""
    client = redis.Redis.from_url(url)
    for script in scripts.ALL:  # the raw pipelines run them by SHA
        client.script_load(script.source)
    conn = client.connection_pool.get_connection()
    conn.connect()
    sock = conn._sock  # raw: per-reply parsing in redis-py would be the bottleneck here
    assert sock is not None
    started, last = time.perf_counter(), time.perf_counter()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=context, initializer=_loader_init) as pool:
        for end, (data, count) in _in_order(
            lambda s, e: pool.submit(encode_chunk, s, e), start, stop, 4
        ):
            sock.sendall(data)
            _read_replies(sock, count)
            if time.perf_counter() - last > 15 or end == stop:
                last = time.perf_counter()
                rate = (end - start) / (last - started)
                print(f"  indexed {end:>9,} items ({rate:,.0f} items/s)", flush=True)
    conn.disconnect()
    return time.perf_counter() - started


def _read_replies(sock: Any, count: int) -> None:
    reader, seen = hiredis.Reader(), 0
    while seen < count:
        reader.feed(sock.recv(1 << 20))
        while (reply := reader.gets()) is not False:
            if isinstance(reply, hiredis.ReplyError):
                raise reply
            seen += 1


# -- probes: fresh items as a worker would see them --------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    item: Item
    kind: str  # "unrelated", "near" or "exact"
    target: str  # the entry id a copy should be found as, "" for unrelated items


def _reworded(words: list[str], rng: random.Random) -> list[str]:
    """Another desk's rewrite: about 15 % of the words changed, a dateline, a shorter end."""
    fresh = rng.choices(VOCAB, cum_weights=CUMULATIVE, k=len(words))
    changed = [f if rng.random() < 0.15 else w for w, f in zip(words, fresh, strict=True)]
    return [rng.choice(INVENTED), "(", "wire", ")", "-", *changed[:-4]]


def make_probes(level: int, count: int, batch: int) -> list[Probe]:
    """``count`` probes for an index of ``level`` items, in documents of one source each."""
    rng = random.Random(SEED + level)
    now = published_of(level)
    probes = []
    for k in range(count):
        source = source_of(k // batch)  # one source per document
        at = now - timedelta(seconds=rng.uniform(0, 3600))
        kind = rng.choices(("unrelated", "near", "exact"), (80, 10, 10))[0]
        if kind == "unrelated":
            title, lead = words_of(10**9 + k)
            target = ""
        else:
            n = rng.randrange(max(0, level - RECENT), level)
            while source_of(n) == source:
                n = rng.randrange(max(0, level - RECENT), level)
            title, lead = words_of(n)
            target = decide(indexed_item(n), Evidence(), now).entry_id
            if kind == "near":
                lead = _reworded(lead, rng)
        raw = raw_entry(f"p{level}-{k}", source, title, lead, at)
        probes.append(Probe(normalize(raw, source, now=now), kind, target))
    return probes


def documents(probes: Sequence[Probe], size: int) -> list[list[Probe]]:
    """Consecutive probes of one source, at most ``size`` to a document."""
    docs: list[list[Probe]] = []
    for probe in probes:
        if docs and len(docs[-1]) < size and docs[-1][0].item.source_id == probe.item.source_id:
            docs[-1].append(probe)
        else:
            docs.append([probe])
    return docs


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Arm:
    """One index to time: its store, its probe documents, the time it is decided at."""

    client: aioredis.Redis
    docs: list[list[Probe]]
    now: datetime
    runs: list[tuple[float, float, list[float]]] = field(default_factory=list)
    server_stats: Counter[str] = field(default_factory=Counter)
    verdicts: list[tuple[Probe, Action, str]] = field(default_factory=list)

    @property
    def decisions(self) -> int:
        return sum(len(d) for d in self.docs)


async def decide_all(
    store: RedisStore, docs: Sequence[Sequence[Probe]], now: datetime
) -> tuple[list[tuple[Probe, Action, str]], list[float]]:
    """Every probe's verdict (action, owner entry), and each document's seconds."""
    verdicts, seconds = [], []
    for doc in docs:
        started = time.perf_counter()
        items = [p.item for p in doc]
        evidence = await store.evidence(items[0].source_id, items)
        decisions = [
            decide(i, e, now, DedupePolicy()) for i, e in zip(items, evidence, strict=True)
        ]
        seconds.append(time.perf_counter() - started)
        verdicts += [(p, d.action, d.entry_id) for p, d in zip(doc, decisions, strict=True)]
    return verdicts, seconds


async def timed_round(arm: Arm) -> None:
    store = RedisStore(arm.client)
    before = await arm.client.info("commandstats")
    started, cpu = time.perf_counter(), time.process_time()
    arm.verdicts, seconds = await decide_all(store, arm.docs, arm.now)
    arm.runs.append((time.perf_counter() - started, time.process_time() - cpu, seconds))
    after = await arm.client.info("commandstats")
    for name, stats in after.items():
        if not name.startswith(("cmdstat_info", "cmdstat_config")):
            old = before.get(name, {"usec": 0, "calls": 0})
            command = name.removeprefix("cmdstat_")
            arm.server_stats[f"{command} calls"] += stats["calls"] - old["calls"]
            arm.server_stats["usec"] += stats["usec"] - old["usec"]


async def measure(arms: Sequence[Arm], rounds: int) -> None:
    """Alternate timed rounds over ``arms`` (each after a warm-up), as poll.py does: on two
    shared cores a single run drifts by 10 % or more, alternation cancels most of that."""
    for arm in arms:
        await decide_all(RedisStore(arm.client), arm.docs[:5], arm.now)
    for _ in range(rounds):
        for arm in arms:
            await timed_round(arm)


def timing_figures(arm: Any) -> dict[str, Any]:
    """Rates, CPU, Redis time and calls, and document latencies of an arm's timed rounds (the
    median round by wall time); stories.py reports its arms with the same figures."""
    wall, cpu, seconds = sorted(arm.runs, key=lambda r: r[0])[len(arm.runs) // 2]
    n, all_decisions = arm.decisions, arm.decisions * len(arm.runs)
    return {
        "decisions_per_s": round(n / wall, 1),
        "ms_per_decision": round(wall / n * 1000, 4),
        "client_cpu_ms_per_decision": round(cpu / n * 1000, 4),
        "redis_us_per_decision": round(arm.server_stats["usec"] / all_decisions, 1),
        "redis_calls_per_decision": {
            k.removesuffix(" calls"): round(v / all_decisions, 2)
            for k, v in sorted(arm.server_stats.items())
            if k != "usec" and v
        },
        "document_ms_p50": round(statistics.median(seconds) * 1000, 2),
        "document_ms_p95": round(statistics.quantiles(seconds, n=20)[-1] * 1000, 2),
        "rounds_decisions_per_s": [round(n / r[0], 1) for r in arm.runs],
    }


def figures_of(arm: Arm) -> dict[str, Any]:
    return {**timing_figures(arm), "verdicts": _verdicts(arm.verdicts)}


def _verdicts(verdicts: Sequence[tuple[Probe, Action, str]]) -> dict[str, dict[str, float]]:
    """Per kind of probe: how many, and the share of each outcome."""
    out: dict[str, dict[str, float]] = {}
    for kind in ("unrelated", "near", "exact"):
        mine = [(p, a, e) for p, a, e in verdicts if p.kind == kind]
        outcomes = Counter(
            "duplicate_of_target" if a is Action.DUPLICATE and e == p.target else a.value
            for p, a, e in mine
        )
        out[kind] = {"count": len(mine)} | {
            k: round(v / len(mine), 4) for k, v in sorted(outcomes.items())
        }
    return out


def bucket_fill(url: str, probes: Sequence[Probe]) -> dict[str, float]:
    """For unrelated probes: the LSH entries their bands hold, and the share of full bands."""
    client = redis.Redis.from_url(url, decode_responses=True)
    unrelated = [p.item for p in probes if p.kind == "unrelated"][:1000]
    pipe = client.pipeline(transaction=False)
    for item in unrelated:
        for band in fingerprint.band_keys(fingerprint.signature(item.terms)):
            pipe.llen(keys.lsh_band(band))
    lengths = [min(n, BUCKET_CAP) for n in pipe.execute()]
    client.close()
    bands = fingerprint.BANDS
    per_probe = [lengths[i : i + bands] for i in range(0, len(lengths), bands)]
    return {
        "entries_read_per_probe": round(statistics.mean(sum(p) for p in per_probe), 1),
        "entries_read_at_most": bands * BUCKET_CAP,
        "share_of_bands_at_cap": round(sum(n >= BUCKET_CAP for n in lengths) / len(lengths), 4),
    }


# -- the run ---------------------------------------------------------------------------------------


def with_db(url: str, step: int) -> str:
    """``url`` pointing ``step`` databases further on the same server (a ``db`` query
    parameter wins over a path in redis-py's URLs, for TCP and Unix sockets alike)."""
    db = int(redis.ConnectionPool.from_url(url).connection_kwargs.get("db") or 0)
    base, _, query = url.partition("?")
    params = [(k, v) for k, v in parse_qsl(query) if k != "db"] + [("db", str(db + step))]
    return f"{base}?{urlencode(params)}"


def memory(url: str) -> dict[str, Any]:
    """The server's memory (both databases) and the keys of ``url``'s database."""
    client = redis.Redis.from_url(url, decode_responses=True)
    info, size = client.info("memory"), client.dbsize()
    client.close()
    return {
        "used_memory_human": info["used_memory_human"],
        "used_memory": info["used_memory"],
        "keys": size,
    }


def prepare(urls: Sequence[str]) -> None:
    for url in urls:
        client = redis.Redis.from_url(url, decode_responses=True)
        client.flushdb()
        if not os.environ.get("WIREFEED_REDIS_URL"):
            client.config_set("appendonly", "no")  # our own server: no 10 GB append-only file
        client.close()


async def measure_level(
    url: str, base_url: str, level: int, args: argparse.Namespace
) -> tuple[Arm, Arm]:
    """Time the index of ``level`` items against the 10k baseline, rounds alternating."""
    probes = [make_probes(n, args.probes, args.batch) for n in (LEVELS[0], level)]
    arms = [
        Arm(aioredis.from_url(u, decode_responses=True), documents(p, args.batch), now)
        for u, p, now in zip(
            (base_url, url),
            probes,
            (published_of(n) + timedelta(minutes=1) for n in (LEVELS[0], level)),
            strict=True,
        )
    ]
    try:
        await measure(arms, args.rounds)
    finally:
        for arm in arms:
            await arm.client.aclose()
    return arms[0], arms[1]


def run_level(
    url: str, base_url: str, level: int, indexed: int, args: argparse.Namespace, base_used: int
) -> dict[str, Any]:
    """Grow the index to ``level`` items and measure it; ``base_used`` is the memory the
    server used before (the baseline index), so what the level's index costs can be told."""
    print(f"growing the index from {indexed:,} to {level:,} items", flush=True)
    load_s = load(url, indexed, level)
    mem = memory(url)
    own = mem["used_memory"] - base_used
    print(f"  {mem['used_memory_human']} used (server), {mem['keys']:,} keys", flush=True)
    base, arm = asyncio.run(measure_level(url, base_url, level, args))
    figures = figures_of(arm)
    figures["documents_of"] = args.batch
    baseline = figures_of(base)["decisions_per_s"]
    figures["baseline_10k_decisions_per_s"] = baseline
    figures["ratio_to_baseline_10k"] = round(figures["decisions_per_s"] / baseline, 3)
    figures["buckets"] = bucket_fill(url, [p for doc in arm.docs for p in doc])
    figures["load_items_per_s"] = round((level - indexed) / load_s, 1)
    figures["memory"] = mem | {"index_bytes_per_item": round(own / level)}
    print_level(level, figures)
    return figures


def print_level(level: int, f: dict[str, Any]) -> None:
    v, b = f["verdicts"], f["buckets"]
    print(
        f"  {level:>9,} indexed: {f['decisions_per_s']:>8,.1f} decisions/s, 10k baseline in "
        f"the same rounds {f['baseline_10k_decisions_per_s']:,.1f}/s, "
        f"ratio {f['ratio_to_baseline_10k']}"
    )
    print(
        f"  {f['ms_per_decision']:.3f} ms/decision (client CPU "
        f"{f['client_cpu_ms_per_decision']:.3f} ms, Redis {f['redis_us_per_decision']:.0f} us); "
        f"a document of {f['documents_of']}: "
        f"p50 {f['document_ms_p50']} ms, p95 {f['document_ms_p95']} ms"
    )
    print(
        f"  verdicts: near copies found {v['near'].get('duplicate_of_target', 0):.1%}, "
        f"exact copies found {v['exact'].get('duplicate_of_target', 0):.1%}, "
        f"unrelated NEW {v['unrelated'].get('new', 0):.1%}; LSH entries read per item "
        f"{b['entries_read_per_probe']} of at most {b['entries_read_at_most']}, bands at cap "
        f"{b['share_of_bands_at_cap']:.1%}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=LEVELS[-1], help="largest level to reach")
    parser.add_argument("--probes", type=int, default=4000, help="decisions per round")
    parser.add_argument("--batch", type=int, default=50, help="items per document")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    levels = [n for n in LEVELS if n <= args.max]
    if not levels:
        parser.error(f"--max must be at least {LEVELS[0]}")
    check_encoding()
    loadavg = os.getloadavg()[0]
    per_level: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        base_url = with_db(url, 1)
        prepare([url, base_url])
        print(f"10k baseline index in database +1 ({LEVELS[0]:,} items)", flush=True)
        load(base_url, 0, LEVELS[0])
        base_used = memory(base_url)["used_memory"]
        indexed = 0
        for level in levels:
            per_level[str(level)] = run_level(url, base_url, level, indexed, args, base_used)
            indexed = level
        if os.environ.get("WIREFEED_REDIS_URL"):
            prepare([url, base_url])  # leave a server we were lent empty
    report(levels, per_level, args, loadavg)


def report(
    levels: list[int], per_level: dict[str, Any], args: argparse.Namespace, loadavg: float
) -> None:
    first, last = per_level[str(levels[0])], per_level[str(levels[-1])]
    plain = round(last["decisions_per_s"] / first["decisions_per_s"], 3)
    path = write_results(
        "dedupe",
        {
            "parameters": {
                "levels": levels,
                "probes_per_round": args.probes,
                "rounds": args.rounds,
                "items_per_document": args.batch,
                "mix": {"unrelated": 0.8, "near": 0.1, "exact": 0.1},
                "sources": SOURCES,
                "item_spacing_s": STEP.total_seconds(),
                "bucket_cap": BUCKET_CAP,
                "bands": fingerprint.BANDS,
                "redis": "WIREFEED_REDIS_URL"
                if os.environ.get("WIREFEED_REDIS_URL")
                else "embedded valkey, unix socket, append-only file off",
                "loadavg_1min_at_start": round(loadavg, 2),
            },
            "levels": per_level,
            "ratio_levels": f"{levels[-1]}/{levels[0]}",
            "ratio_rate_largest_to_smallest": plain,
            "ratio_rate_largest_to_baseline_10k_same_rounds": last["ratio_to_baseline_10k"],
        },
    )
    print()
    for level in levels:
        f = per_level[str(level)]
        print(
            f"{level:>9,} indexed: {f['decisions_per_s']:>8,.1f} decisions/s  "
            f"{f['ms_per_decision']:.3f} ms/decision  {f['memory']['used_memory_human']:>7}  "
            f"(10k baseline alongside: {f['baseline_10k_decisions_per_s']:,.1f}/s)"
        )
    print(
        f"ratio {levels[-1]:,} / {levels[0]:,}: {plain} (levels measured minutes apart); "
        f"{last['ratio_to_baseline_10k']} against the 10k baseline in the same rounds (goal >= 0.8)"
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
