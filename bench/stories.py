"""Story assignment decisions per second with 1,000 and with 100,000 active stories in Redis.

    python bench/stories.py [--stories 100000] [--probes 3000] [--batch 50] [--rounds 5]

Two story indexes live on one Redis: 1,000 active stories in database +1 (the baseline) and
``--stories`` (100,000) in the first database. A story is invented wire coverage of one subject:
two names of its own, one from a shared pool of 2,000 (countries, leaders), a rare word of its
own and four topic words from the 5,000 invented ones of bench/dedupe.py; it has 2 to 7
entries 10-60 minutes apart (title and a 40-word lead mixing those subject words into
Zipf-weighted news vocabulary), a fifth of the stories carry a slugline. Stories last changed
evenly over 46 hours ending 10 minutes before the probes, inside the 48-hour similarity window,
so every one is active. Entries are normalized by ``ingest.normalize`` and written as
production writes them: ``RedisStoryIndex.queue_item`` with the linking the production
``_lookup`` gives (story keys, top terms by IDF), the page's story, and the story meta
``created``/``updated``. Document frequencies are the counts over all the stored entries,
written as one hash (the state ``queue_item(new=True)`` leaves, without its 35 HINCRBYs per
entry), and top terms are weighed against those final counts rather than the counts at each
entry's (invented) arrival.

Probes are fresh items, 50 to a document from one source, decided as the pipeline decides a new
item: ``RedisStore.story_evidence`` for the document, then ``judged`` and ``assign`` for each
item (a NEW dedupe decision is prepared off the clock). The mix: 40 % follow-ups (a new,
differently worded entry of a story that changed in the last 23 hours), 50 % unrelated items (a
subject no story has), 10 % items carrying a stored story's slugline. Two editor rules that
never match are configured, so their patterns are tried as in production. Nothing is written
while probing: every round sees the same index.

Rounds alternate between the two databases (as in dedupe.py and poll.py: on two shared cores a
run drifts by 5-10 % between minutes) and each figure is the median round. We report decisions
per second, ms per decision, what Redis spent, how much the reads fetch (term-index entries per
item, candidate profiles and their terms per document), whether the decisions are right
(follow-ups joined their story, slugged items joined theirs, unrelated items opened a new one)
and the ratio rate(100,000) / rate(1,000) (goal: >= 0.8), also as the median of the ratios of
paired rounds and as the ratio of client CPU per decision, which other work on the machine
disturbs less than wall time. Results: bench/results/stories.json.

Loading runs off the clock in two passes over two worker processes: count document frequencies
from the invented text (checked against ``normalize`` on each chunk's first story), then
normalize every entry and encode its writes as raw RESP (checked byte for byte against
redis-py's encoding of the same calls); the main process streams the bytes.
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
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import hiredis
import redis
import redis.asyncio as aioredis
from common import RUN_CLOCK, redis_server, write_results
from dedupe import (
    CUMULATIVE,
    INVENTED,
    NEWS,
    VOCAB,
    RespPipe,
    _read_replies,
    memory,
    prepare,
    timing_figures,
    with_db,
)

from config.sources import StoryRule
from ingest import fingerprint, keys, similar
from ingest.dedupe import Evidence, decide, entry_id
from ingest.model import Action, Assignment, Decision, Item, RawEntry, to_ms
from ingest.normalize import normalize
from ingest.store import scripts
from ingest.store.dedupe_index import Retention
from ingest.store.redis_store import RedisStore
from ingest.store.story_index import (
    CANDIDATES,
    DEEP_TERMS,
    SHALLOW,
    TERM_CAP,
    RedisStoryIndex,
    _lookup,
)
from ingest.stories import assign, judged, story_id_for

BASELINE = 1_000
SOURCES = 50
NOW = RUN_CLOCK  # when the probes are decided: the run's clock
LOADED = NOW - timedelta(minutes=10)  # the newest story changed then
SPAN = timedelta(hours=46)  # stories last changed within this span before LOADED
RECENT = 0.5  # follow-ups are of stories that changed in the newest half of the span
CHUNK = 1_000  # stories per loading pipeline
SEED = 2026
RULES = (  # tried on every item, as configured editor rules are; never match this copy
    StoryRule("world-cup", r"^World Cup:", "World Cup"),
    StoryRule("budget", r"(?i)\bbudget day\b", "Budget day", ("wire-07",)),
)
MIX = {"follow_up": 40, "unrelated": 50, "slugged": 10}

# -- invented coverage ------------------------------------------------------------------------

_ONSETS = "b br d dr f g gr h k kl l m n p pr r s st t tr v z".split()  # noqa: SIM905
_ENDINGS = "ton ova berg ski ez ani mir dorf ak ia".split()  # noqa: SIM905  # no stemmed suffix


def _name(rng: random.Random) -> str:
    """A capitalized name unlike any lowercase invented word (those have no such ending), one
    of 12 million: the names of 100,000 stories rarely collide (shared ones come from POOL)."""
    body = "".join(rng.choice(_ONSETS) + rng.choice("aeiou") for _ in range(rng.randint(2, 3)))
    return (body + rng.choice(_ENDINGS)).capitalize()


_POOL_RNG = random.Random(SEED + 1)
POOL = tuple(dict.fromkeys(_name(_POOL_RNG) for _ in range(2_100)))[:2_000]
POOL_CUMULATIVE = list(itertools.accumulate(1 / rank for rank in range(1, len(POOL) + 1)))


@dataclass(frozen=True, slots=True)
class Subject:
    """What one story is about: the words its entries keep coming back to."""

    names: tuple[str, ...]
    words: tuple[str, ...]
    slugline: str | None


def subject_of(s: int) -> Subject:
    """Story ``s``'s subject; the same ``s`` always gives the same subject."""
    rng = random.Random(f"{SEED}:subject:{s}")
    own = [_name(rng), _name(rng)]
    shared = rng.choices(POOL, cum_weights=POOL_CUMULATIVE)[0]
    rare = "".join(rng.choice(_ONSETS) + rng.choice("aeiou") for _ in range(4)) + "x"
    topic = rng.sample(INVENTED, 4)
    slug = f"{own[0]}-{topic[0]}".upper() if rng.random() < 0.2 else None
    return Subject((*own, shared), (rare, *topic), slug)


def _words(rng: random.Random, subject: Subject, count: int, p_name: float, p_word: float) -> str:
    out = [rng.choice(NEWS).capitalize()]  # opens a sentence: not a name
    for _ in range(count - 1):
        draw = rng.random()
        if draw < p_name:
            out.append(rng.choice(subject.names))
        elif draw < p_name + p_word:
            out.append(rng.choice(subject.words))
        else:
            out.append(rng.choices(VOCAB, cum_weights=CUMULATIVE)[0])
    return " ".join(out)


def source_of(n: int) -> str:
    return f"wire-{n % SOURCES:02d}"


def texts(subject: Subject, key: str) -> tuple[str, str]:
    """The title and lead of one entry about ``subject``; ``key`` seeds the wording."""
    rng = random.Random(f"{SEED}:entry:{key}")
    return _words(rng, subject, 9, 0.3, 0.3), _words(rng, subject, 40, 0.12, 0.15) + "."


def raw_entry(subject: Subject, key: str, source: str, at: datetime, *, slugged: bool) -> RawEntry:
    """One entry about ``subject`` from ``source``, named by ``key``."""
    title, lead = texts(subject, key)
    slug = "-".join(title.lower().split()[:5])
    return RawEntry(
        native_id=f"{source}:{key}",
        title=title,
        link=f"https://www.{source}.example/{at:%Y/%m/%d}/{slug}-{key}?utm_source=rss",
        summary=f"<p>{lead}</p>",
        published=at,
        slugline=subject.slugline if slugged else None,
    )


def story_id_of(s: int) -> str:
    return story_id_for(f"bench-story-{s}")


def last_change(s: int, size: int) -> datetime:
    """When story ``s`` of ``size`` last changed: spread evenly (golden-ratio steps) over SPAN."""
    return LOADED - SPAN * _age_share(s, size)


def _age_share(s: int, size: int) -> float:
    return ((s + 0.5) / size + s * 0.6180339887) % 1.0


def story_plan(s: int, size: int) -> list[tuple[str, str, datetime]]:
    """Story ``s``'s entries, oldest first: key, source and time."""
    rng = random.Random(f"{SEED}:story:{s}")
    count, last = rng.randint(2, 7), last_change(s, size)
    gaps = [timedelta(minutes=rng.uniform(10, 60)) for _ in range(count - 1)]
    return [
        (f"s{s}e{k}", source_of(rng.randrange(SOURCES)), last - sum(gaps[k:], timedelta()))
        for k in range(count)
    ]


def story_entries(s: int, size: int) -> list[tuple[Item, int]]:
    """Story ``s``'s entries as normalized items, each with the time (ms) it was stored."""
    subject, out = subject_of(s), []
    for key, source, at in story_plan(s, size):
        stored = at + timedelta(seconds=30)
        raw = raw_entry(subject, key, source, at, slugged=True)
        out.append((normalize(raw, source, now=stored), to_ms(stored)))
    return out


# -- loading, off the clock ----------------------------------------------------------------------


class LoadPipe(RespPipe):
    """dedupe.py's RESP encoder with the commands the story index writes."""

    def hsetnx(self, name: str, key: str, value: str) -> None:
        self._add("HSETNX", name, key, value)

    def sadd(self, name: str, *values: str) -> None:
        self._add("SADD", name, *values)


_df: dict[str, int] = {}
_total = 0


def _loader_init(df: dict[str, int], total: int) -> None:
    global _df, _total
    _df, _total = df, total


def count_terms(start: int, stop: int) -> tuple[Counter[str], int]:
    """Document frequencies of stories ``start`` to ``stop``'s entries, and how many entries.
    Terms come straight from the invented text (as ``normalize`` would give them: checked on
    the chunk's first story), which is four times faster than normalizing."""
    counts: Counter[str] = Counter()
    entries = 0
    for s in range(start, stop):
        subject = subject_of(s)
        terms = [
            tuple(sorted(fingerprint.words(fingerprint.lead(*texts(subject, key)))))
            for key, _source, _at in story_plan(s, stop)  # times do not change terms
        ]
        if s == start:
            assert terms == [item.terms for item, _ in story_entries(s, stop)]
        for found in terms:
            counts.update(found)
        entries += len(terms)
    return counts, entries


def queue_story(pipe: Any, index: RedisStoryIndex, s: int, size: int) -> None:
    """What production queues for story ``s``'s entries, plus the story meta the reads use."""
    sid, ttl = story_id_of(s), index.retention.entries_ms
    entries = story_entries(s, size)
    for item, _stored in entries:
        linking = _lookup(item, RULES, _df, _total).linking()
        index.queue_item(
            pipe, item, sid, entry_id(item.source_id, item.identity), linking, new=False
        )
        if item.page_url:
            pipe.set(keys.page_story(item.page_url), sid, nx=True, px=ttl)
    first, last = entries[0][1], entries[-1][1]
    pipe.hset(keys.story_meta(sid), mapping={"created": str(first), "updated": str(last)})


def _index() -> RedisStoryIndex:
    # queue_* only build commands: the client never connects
    return RedisStoryIndex(redis.Redis(), Retention(), similar.SimilarityPolicy())


def encode_stories(start: int, stop: int, size: int) -> tuple[bytes, int]:
    pipe, index = LoadPipe(), _index()
    for s in range(start, stop):
        queue_story(pipe, index, s, size)
    return b"".join(pipe.parts), len(pipe.parts)


def check_encoding() -> None:
    """The raw bytes we send equal what redis-py would send for the same calls."""
    ours, theirs = LoadPipe(), redis.Redis().pipeline(transaction=False)
    slugged = next(s for s in itertools.count() if subject_of(s).slugline)
    for pipe in (ours, theirs):
        queue_story(pipe, _index(), slugged, BASELINE)
    packed = [hiredis.pack_command(args) for args, _options in theirs.command_stack]
    assert ours.parts == packed, "LoadPipe no longer matches redis-py's encoding"


def frequencies(stories: int) -> list[tuple[Counter[str], int]]:
    """Per chunk of CHUNK stories: its document frequencies and entry count."""
    context = multiprocessing.get_context("fork")
    bounds = [(s, min(s + CHUNK, stories)) for s in range(0, stories, CHUNK)]
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        return list(pool.map(count_terms, *zip(*bounds, strict=True)))


def load(url: str, size: int, df: dict[str, int], total: int) -> float:
    """Write ``size`` stories and the document frequencies; returns the seconds it took."""
    started = time.perf_counter()
    client = redis.Redis.from_url(url)
    fields = sorted(df)
    for n in range(0, len(fields), 10_000):
        client.hset(keys.DOC_FREQUENCY, mapping={t: df[t] for t in fields[n : n + 10_000]})
    client.set(keys.DOC_TOTAL, total)
    for script in scripts.ALL:  # the raw pipelines run them by SHA
        client.script_load(script.source)
    conn = client.connection_pool.get_connection()
    conn.connect()
    sock = conn._sock  # raw: per-reply parsing in redis-py would be the bottleneck here
    assert sock is not None
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        2, mp_context=context, initializer=_loader_init, initargs=(df, total)
    ) as pool:
        last = time.perf_counter()
        for end, (data, count) in _in_order(pool, size):
            sock.sendall(data)
            _read_replies(sock, count)
            if time.perf_counter() - last > 15 or end == size:
                last = time.perf_counter()
                rate = end / (last - started)
                print(f"  loaded {end:>7,} of {size:,} stories ({rate:,.0f}/s)", flush=True)
    client.connection_pool.release(conn)
    client.close()
    return time.perf_counter() - started


def _in_order(pool: ProcessPoolExecutor, size: int) -> Iterator[tuple[int, tuple[bytes, int]]]:
    """Encoded chunks in order, at most four encoded ahead of what was sent."""
    bounds = iter([(s, min(s + CHUNK, size)) for s in range(0, size, CHUNK)])
    pending = [(e, pool.submit(encode_stories, s, e, size)) for s, e in itertools.islice(bounds, 4)]
    while pending:
        end, future = pending.pop(0)
        nxt = next(bounds, None)
        if nxt is not None:
            pending.append((nxt[1], pool.submit(encode_stories, *nxt, size)))
        yield end, future.result()


# -- probes ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    item: Item
    decision: Decision
    kind: str  # "follow_up", "unrelated" or "slugged"
    target: str  # the story it belongs to, "" for unrelated items


def _target(rng: random.Random, size: int, kind: str) -> int:
    while True:
        s = rng.randrange(size)
        if kind == "follow_up" and _age_share(s, size) < RECENT:
            return s
        if kind == "slugged" and subject_of(s).slugline:
            return s


def make_probes(size: int, count: int, batch: int) -> list[list[Probe]]:
    """``count`` fresh items for an index of ``size`` stories, in documents of ``batch``."""
    rng = random.Random(f"{SEED}:probes:{size}")
    docs: list[list[Probe]] = []
    for k in range(count):
        if k % batch == 0:
            docs.append([])
        source = source_of(len(docs))
        kind = rng.choices(list(MIX), list(MIX.values()))[0]
        s = 10**8 + k if kind == "unrelated" else _target(rng, size, kind)
        at = NOW - timedelta(seconds=rng.uniform(60, 1800))
        raw = raw_entry(subject_of(s), f"p{size}-{k}", source, at, slugged=kind == "slugged")
        item = normalize(raw, source, now=NOW)
        decision = decide(item, Evidence(), NOW)
        assert decision.action is Action.NEW
        target = "" if kind == "unrelated" else story_id_of(s)
        docs[-1].append(Probe(item, decision, kind, target))
    return docs


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Arm:
    """One story index to time: its client, its probe documents."""

    size: int
    client: aioredis.Redis
    docs: list[list[Probe]]
    runs: list[tuple[float, float, list[float]]] = field(default_factory=list)
    server_stats: Counter[str] = field(default_factory=Counter)
    verdicts: list[tuple[Probe, Assignment, str | None]] = field(default_factory=list)
    reads: dict[str, float] = field(default_factory=dict)

    @property
    def decisions(self) -> int:
        return sum(len(d) for d in self.docs)


async def decide_all(
    store: RedisStore, docs: Sequence[Sequence[Probe]]
) -> tuple[list[tuple[Probe, Assignment, str | None]], list[float]]:
    """Every probe's assignment and most similar story, and each document's seconds."""
    verdicts, seconds = [], []
    policy = store.story_index.policy
    for doc in docs:
        started = time.perf_counter()
        items = [p.item for p in doc]
        read, lookups = await store.story_evidence(items[0].source_id, items, RULES, NOW)
        found = [
            judged(ev, lk.weights, lk.at_ms, len(p.item.terms), policy)
            for p, ev, lk in zip(doc, read, lookups, strict=True)
        ]
        chosen = [assign(p.decision, ev, policy) for p, ev in zip(doc, found, strict=True)]
        seconds.append(time.perf_counter() - started)
        verdicts += [(p, a, ev.similar) for p, a, ev in zip(doc, chosen, found, strict=True)]
    return verdicts, seconds


async def timed_round(arm: Arm) -> None:
    store = RedisStore(arm.client)
    before = await arm.client.info("commandstats")
    started, cpu = time.perf_counter(), time.process_time()
    arm.verdicts, seconds = await decide_all(store, arm.docs)
    arm.runs.append((time.perf_counter() - started, time.process_time() - cpu, seconds))
    after = await arm.client.info("commandstats")
    for name, stats in after.items():
        if not name.startswith(("cmdstat_info", "cmdstat_config")):
            old = before.get(name, {"usec": 0, "calls": 0})
            command = name.removeprefix("cmdstat_")
            arm.server_stats[f"{command} calls"] += stats["calls"] - old["calls"]
            arm.server_stats["usec"] += stats["usec"] - old["usec"]


async def count_reads(arm: Arm) -> None:
    """Off the clock: what the similarity reads fetch, per loose item and per document."""
    store = RedisStore(arm.client)
    index = store.story_index
    profiles = index._profiles
    fetched: list[int] = []

    async def counting(
        stories: Sequence[str],
    ) -> tuple[dict[str, similar.Profile], dict[str, str]]:
        found, merged = await profiles(stories)
        fetched.extend([len(found), sum(len(p.centroid) for p in found.values())])
        return found, merged

    index._profiles = counting  # type: ignore[method-assign]
    df, total = await index._frequencies({t for d in arm.docs for p in d for t in p.item.terms})
    window = to_ms(NOW) - int(index.policy.window_hours * 3_600_000)
    pipe = arm.client.pipeline(transaction=False)
    loose = 0
    depths: list[int] = []  # how deep the index reads each term's list (see story_index)
    for doc in arm.docs:
        for probe in doc:
            if probe.kind != "slugged":
                loose += 1
                weights = _lookup(probe.item, RULES, df, total).weights
                for rank, term in enumerate(similar.top_terms(weights)):
                    pipe.zcount(keys.term_stories(term), window, "+inf")
                    depths.append(TERM_CAP if rank < DEEP_TERMS else SHALLOW)
    counts = await pipe.execute()
    listed = sum(min(n, depth) for n, depth in zip(counts, depths, strict=True))
    await decide_all(store, arm.docs)
    arm.reads = {
        "term_index_entries_per_loose_item": round(listed / loose, 1),
        "term_index_entries_at_most": DEEP_TERMS * TERM_CAP
        + (similar.TOP_TERMS - DEEP_TERMS) * SHALLOW,
        "candidate_profiles_per_document": round(statistics.mean(fetched[0::2]), 1),
        "candidate_profiles_at_most": CANDIDATES * max(len(d) for d in arm.docs),
        "profile_terms_per_document": round(statistics.mean(fetched[1::2])),
    }


async def measure(arms: Sequence[Arm], rounds: int) -> None:
    """Alternate timed rounds over ``arms``, each after a warm-up (see the module docstring)."""
    for arm in arms:
        await count_reads(arm)
        await decide_all(RedisStore(arm.client), arm.docs[:5])
    for _ in range(rounds):
        for arm in arms:
            await timed_round(arm)


def figures_of(arm: Arm) -> dict[str, Any]:
    return {**timing_figures(arm), "reads": arm.reads, "verdicts": _verdicts(arm.verdicts)}


def _verdicts(
    verdicts: Sequence[tuple[Probe, Assignment, str | None]],
) -> dict[str, dict[str, float]]:
    """Per kind of probe: how many, and the share of each outcome. A follow-up that opened a
    new story is told apart by whether its own story was the best candidate (and scored
    below the threshold) or was not found at all."""
    out: dict[str, dict[str, float]] = {}
    for kind in MIX:
        mine = [(p, a, best) for p, a, best in verdicts if p.kind == kind]
        outcomes = Counter(_outcome(p, a, best) for p, a, best in mine)
        out[kind] = {"count": len(mine)} | {
            k: round(v / len(mine), 4) for k, v in sorted(outcomes.items())
        }
    return out


def _outcome(probe: Probe, assignment: Assignment, best: str | None) -> str:
    if not assignment.new_story:
        return "own_story" if assignment.story_id == probe.target else "other_story"
    if probe.kind == "follow_up":
        return "new_story_own_below_threshold" if best == probe.target else "new_story_own_unseen"
    return "new_story"


async def measure_sizes(urls: Sequence[str], sizes: Sequence[int], args: Any) -> list[Arm]:
    arms = [
        Arm(n, aioredis.from_url(u, decode_responses=True), make_probes(n, args.probes, args.batch))
        for u, n in zip(urls, sizes, strict=True)
    ]
    try:
        await measure(arms, args.rounds)
    finally:
        for arm in arms:
            await arm.client.aclose()
    return arms


# -- the run ---------------------------------------------------------------------------------------


def build(urls: Sequence[str], sizes: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Load each database with its stories; returns what each load cost."""
    print(f"counting document frequencies over {max(sizes):,} stories", flush=True)
    chunks = frequencies(max(sizes))
    out: dict[int, dict[str, Any]] = {}
    for url, size in zip(urls, sizes, strict=True):
        df: Counter[str] = Counter()
        for counts, _ in chunks[: size // CHUNK]:
            df.update(counts)
        total = sum(entries for _, entries in chunks[: size // CHUNK])
        print(f"loading {size:,} stories ({total:,} entries, {len(df):,} terms)", flush=True)
        seconds = load(url, size, dict(df), total)
        mem = memory(url)
        print(f"  {mem['keys']:,} keys, server now uses {mem['used_memory_human']}", flush=True)
        out[size] = {"entries": total, "terms": len(df), "load_s": round(seconds, 1), **mem}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000, help="the larger index")
    parser.add_argument("--probes", type=int, default=3000, help="decisions per round")
    parser.add_argument("--batch", type=int, default=50, help="items per document")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.stories <= BASELINE or args.stories % CHUNK:
        parser.error(f"--stories must be a multiple of {CHUNK:,} above {BASELINE:,}")
    check_encoding()
    loadavg = os.getloadavg()[0]
    sizes = [BASELINE, args.stories]
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as url:
        urls = [with_db(url, 1), url]
        prepare(urls)
        loaded = build(urls, sizes)
        print(f"probing: {args.probes:,} decisions a round, {args.rounds} rounds", flush=True)
        arms = asyncio.run(measure_sizes(urls, sizes, args))
        if os.environ.get("WIREFEED_REDIS_URL"):
            prepare(urls)  # leave a server we were lent empty
    report(arms, loaded, args, loadavg)


def report(
    arms: Sequence[Arm], loaded: dict[int, dict[str, Any]], args: Any, loadavg: float
) -> None:
    per_size = {str(a.size): figures_of(a) | {"index": loaded[a.size]} for a in arms}
    small, large = (per_size[str(a.size)] for a in arms)
    ratio = round(large["decisions_per_s"] / small["decisions_per_s"], 3)
    rounds = zip(small["rounds_decisions_per_s"], large["rounds_decisions_per_s"], strict=True)
    paired = [b / a for a, b in rounds]
    cpu = round(small["client_cpu_ms_per_decision"] / large["client_cpu_ms_per_decision"], 3)
    path = write_results(
        "stories",
        {
            "parameters": {
                "stories": [a.size for a in arms],
                "probes_per_round": args.probes,
                "rounds": args.rounds,
                "items_per_document": args.batch,
                "mix": {k: v / 100 for k, v in MIX.items()},
                "sources": SOURCES,
                "stories_changed_within_h": SPAN.total_seconds() / 3600,
                "term_cap": TERM_CAP,
                "top_terms": similar.TOP_TERMS,
                "candidates": CANDIDATES,
                "redis": "WIREFEED_REDIS_URL"
                if os.environ.get("WIREFEED_REDIS_URL")
                else "embedded valkey, unix socket, append-only file off",
                "loadavg_1min_at_start": round(loadavg, 2),
            },
            "sizes": per_size,
            "ratio": f"{arms[1].size}/{arms[0].size}",
            "ratio_rate": ratio,
            "ratio_rate_per_round_pair_median": round(statistics.median(paired), 3),
            "ratio_client_cpu_per_decision": cpu,
        },
    )
    print()
    for arm in arms:
        print_size(arm.size, per_size[str(arm.size)])
    print(
        f"ratio {arms[1].size:,} / {arms[0].size:,} stories: {ratio} "
        f"(median of round pairs {statistics.median(paired):.3f}; goal >= 0.8); "
        f"client CPU per decision {cpu} (less disturbed by other work on the machine)"
    )
    print(f"written to {path}")


def print_size(size: int, f: dict[str, Any]) -> None:
    v, r = f["verdicts"], f["reads"]
    print(
        f"{size:>7,} stories: {f['decisions_per_s']:>7,.1f} decisions/s  "
        f"{f['ms_per_decision']:.3f} ms/decision (client CPU "
        f"{f['client_cpu_ms_per_decision']:.3f} ms, Redis {f['redis_us_per_decision']:.0f} us); "
        f"document p50 {f['document_ms_p50']} ms, p95 {f['document_ms_p95']} ms"
    )
    print(
        f"  reads: {r['term_index_entries_per_loose_item']} term-index entries per loose item "
        f"(at most {r['term_index_entries_at_most']}), "
        f"{r['candidate_profiles_per_document']} candidate profiles per document "
        f"({r['profile_terms_per_document']:,} terms)"
    )
    print(
        f"  right: follow-ups in their story {v['follow_up'].get('own_story', 0):.1%} "
        f"(new {v['follow_up'].get('new_story_own_below_threshold', 0):.1%} with their story "
        f"best but below the threshold, {v['follow_up'].get('new_story_own_unseen', 0):.1%} "
        "with it not the best candidate, "
        f"another {v['follow_up'].get('other_story', 0):.1%}), "
        f"slugged in theirs {v['slugged'].get('own_story', 0):.1%}, "
        f"unrelated opening a new story {v['unrelated'].get('new_story', 0):.1%}",
        flush=True,
    )


if __name__ == "__main__":
    main()
