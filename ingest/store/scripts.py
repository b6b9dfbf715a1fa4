"""Every Lua script wirefeed runs, named, with its KEYS and ARGV declared, and one way to run it.

Each script is a module-level :class:`Script`: its name, the names of its KEYS and of its ARGV
(with units), its Lua source and a description (what it does, what it returns, which slot it
touches). Every script declares all the keys it touches and they share one hash slot (see
:mod:`ingest.keys`), so each runs atomically on one server and on a Redis Cluster alike.

Calling: :func:`run` sends a script now, :func:`queue` puts it on a pipeline::

    reply = await scripts.run(client, scripts.CLAIM, keys=[keys.SCHEDULE],
                              args={"limit": 100, "lease_ms": 60_000})
    scripts.queue(pipe, scripts.INDEX_TERM, keys=[keys.term_stories(term)],
                  args={"story_id": sid, "item_ms": at, "cap": 50, "ttl_ms": ttl})

``keys`` is a sequence in the declared order (the key builders of :mod:`ingest.keys` already
say which key is which); ``args`` is a mapping from the declared ARGV names to values, sent in
the declared order, so a call site reads as what it passes and cannot swap two numbers. A
script whose ARGV ends in a group repeated any number of times (a batch: ``SETTLE``'s moves,
``SYNC``'s sources) declares that group as ``rest`` and takes it flat, as ``rest=[...]``, after
the named ``args``. A wrong number of keys, a missing or unknown ARGV name, or a ``rest`` that
is not whole groups is a :class:`ValueError` naming the script, before anything is sent.

Scripts go by SHA. :func:`run` loads a script the server does not have (it restarted, a new
cluster node, ``SCRIPT FLUSH``) and sends it again, as redis-py's script objects do. :func:`queue`
registers the script with the pipeline, which checks with ``SCRIPT EXISTS`` (on a cluster: on
every master, see :mod:`ingest.store.connect`) before it runs and loads what is missing; a
pipeline that cannot (a cluster pipeline not opened by :func:`~ingest.store.connect.open_redis`)
gets the body (``EVAL``). ``queue(..., check=False)`` sends the SHA alone, no ``SCRIPT EXISTS``
round trip: the caller reads its replies with ``raise_on_error=False`` and runs a command that
answered NOSCRIPT again with :func:`run` (the schedule's settle, sent with every worker flush).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from redis.exceptions import NoScriptError

__all__ = [
    "ALL",
    "Arg",
    "Script",
    "queue",
    "run",
]

Arg = str | int | float | bytes
"""One KEYS or ARGV value, as redis-py encodes it."""

_NO_ARGS: Mapping[str, Arg] = MappingProxyType({})


class _Loadable:
    """What a redis-py pipeline keeps in its ``scripts`` to check and load before it runs
    (the ``sha`` and ``script`` of redis-py's own script objects). One per :class:`Script`, so
    a pipeline checks each script once however often it is queued there."""

    __slots__ = ("_sha", "script")

    def __init__(self, sha: str, script: str) -> None:
        self._sha = sha
        self.script = script

    @property
    def sha(self) -> str:
        return self._sha

    @sha.setter
    def sha(self, loaded: object) -> None:
        """redis-py writes back what ``SCRIPT LOAD`` answered: the same SHA-1 (as bytes when
        the client does not decode), so ours is kept."""


@dataclass(frozen=True, slots=True)
class Script:
    """One Lua script: ``keys`` and ``args`` name its KEYS and ARGV in order; ``rest`` names a
    group of ARGV after ``args`` repeated any number of times (empty: none). ``doc`` says
    what it does, what it returns and the slot it touches. A ``many`` script takes any
    number of keys of its one declared kind, which live in many slots: it runs on one
    server only, and its caller sends the commands one by one to a cluster."""

    name: str
    keys: tuple[str, ...]
    args: tuple[str, ...]
    source: str = field(repr=False)
    doc: str = field(repr=False)
    rest: tuple[str, ...] = ()
    many: bool = False
    sha: str = field(init=False, repr=False)
    loadable: _Loadable = field(init=False, repr=False, compare=False)
    _arg_names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sha = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()  # Redis's id
        object.__setattr__(self, "sha", sha)
        object.__setattr__(self, "loadable", _Loadable(sha, self.source))
        object.__setattr__(self, "_arg_names", frozenset(self.args))

    def argv(self, keys: Sequence[Arg], args: Mapping[str, Arg], rest: Sequence[Arg]) -> list[Arg]:
        """KEYS then ARGV as sent, after checking them against the declaration."""
        if self.many and not keys:
            raise ValueError(f"script {self.name}: no keys given, it takes one or more")
        if not self.many and len(keys) != len(self.keys):
            raise ValueError(
                f"script {self.name}: {len(keys)} keys given, it declares {len(self.keys)} "
                f"({', '.join(self.keys) or 'none'})"
            )
        if args.keys() != self._arg_names:
            missing = sorted(self._arg_names - args.keys())
            unknown = sorted(args.keys() - self._arg_names)
            raise ValueError(f"script {self.name}: ARGV missing {missing}, unknown {unknown}")
        if len(rest) % max(len(self.rest), 1) or (rest and not self.rest):
            raise ValueError(
                f"script {self.name}: rest of {len(rest)} values is not whole groups of "
                f"({', '.join(self.rest) or 'nothing: it takes none'})"
            )
        return [*keys, *(args[name] for name in self.args), *rest]


async def run(
    client: Any,
    script: Script,
    *,
    keys: Sequence[Arg],
    args: Mapping[str, Arg] = _NO_ARGS,
    rest: Sequence[Arg] = (),
) -> Any:
    """Run ``script`` now on ``client`` (one server or a cluster) and return its raw reply.
    A server that does not have the script loads it and runs it then. Redis errors are the
    caller's to translate (its ``translating`` boundary)."""
    argv = script.argv(keys, args, rest)
    try:
        return await client.evalsha(script.sha, len(keys), *argv)
    except NoScriptError:
        await client.script_load(script.source)  # on a cluster: on every master
        return await client.evalsha(script.sha, len(keys), *argv)


def queue(
    pipe: Any,
    script: Script,
    *,
    keys: Sequence[Arg],
    args: Mapping[str, Arg] = _NO_ARGS,
    rest: Sequence[Arg] = (),
    check: bool = True,
) -> None:
    """Queue ``script`` on ``pipe``; its reply comes with the pipeline's. With ``check`` the
    pipeline makes sure the server (or every master) has it first; without, the caller
    handles a NOSCRIPT reply (see the module docstring)."""
    argv = script.argv(keys, args, rest)
    if check:
        loadable = getattr(pipe, "scripts", None)
        if loadable is None:  # a pipeline that cannot load scripts: send the body
            pipe.eval(script.source, len(keys), *argv)
            return
        loadable.add(script.loadable)
    pipe.evalsha(script.sha, len(keys), *argv)


# -- the story store (ingest.store.entries, ingest.store.editing) ---------------------------------

APPLY_ENTRY = Script(
    "apply_entry",
    keys=("story_meta", "story_timeline", "story_entries", "story_sources"),
    args=(
        "entry_id",
        "published_ms",
        "entry_json",
        "changed_ms",
        "first_seen_ms",
        "timezone",
        "source_id",
        "ttl_ms",
    ),
    doc="""Write an entry into its story: entry_json in story_entries and entry_id in
    story_timeline at published_ms, source_id in story_sources; story_meta's created
    (first_seen_ms) and timezone if unset, its updated time moved forward (never back) to
    changed_ms, its rev up. Every key expires after ttl_ms. Returns {updated ms, the story it
    was merged into or ''}: an entry written after a merge marked its story is left behind by
    that merge, and the writer finishes the merge (RedisStore._finish_merges). One slot: the
    keys share the {story:ID} tag.""",
    source="""
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[7])
redis.call('HSETNX', KEYS[1], 'created', ARGV[5])
redis.call('HSETNX', KEYS[1], 'timezone', ARGV[6])
local current = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
local updated = math.max(current, tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'updated', updated)
redis.call('HINCRBY', KEYS[1], 'rev', 1)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return {updated, redis.call('HGET', KEYS[1], 'merged_into') or ''}
""",
)

KILL_ENTRY = Script(
    "kill_entry",
    keys=("story_meta", "story_timeline", "story_entries", "story_also", "story_arrivals"),
    args=("entry_id", "now_ms"),
    doc="""Remove entry_id from its story (story_entries, story_timeline, story_arrivals)
    with its "also reported by" credits (story_also); story_meta's updated time moves forward
    to now_ms and its rev up. Returns {entries left in story_timeline, the removed entry's
    JSON or '', the story's updated ms, the sources whose credits were removed}. One slot:
    the {story:ID} tag.""",
    source="""
local raw = redis.call('HGET', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local prefix = ARGV[1] .. string.char(31)
local also = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[4])) do
  if string.sub(field, 1, #prefix) == prefix then
    redis.call('HDEL', KEYS[4], field)
    table.insert(also, string.sub(field, #prefix + 1))
  end
end
local current = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
local updated = math.max(current, tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'updated', updated)
redis.call('HINCRBY', KEYS[1], 'rev', 1)
return {redis.call('ZCARD', KEYS[2]), raw or '', updated, also}
""",
)

ARRIVE = Script(
    "arrive",
    keys=("arrivals",),
    args=("member", "published_ms", "ttl_ms"),
    doc="""Place member in an order of arrival that archive pages are cut in (arrivals:
    keys.story_arrivals or keys.source_arrivals). A member already there keeps its place; a
    new one is placed at published_ms, but never before one already there (it goes last
    instead), so pages already complete never change. The key expires after ttl_ms. Returns 1
    if placed, 0 if it was there. One key.""",
    source="""
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local score = tonumber(ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) >= score then score = tonumber(last[2]) + 1 end
redis.call('ZADD', KEYS[1], score, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
""",
)

TOUCH_STORY = Script(
    "touch_story",
    keys=("story_meta",),
    args=("now_ms",),
    doc="""A story changed without a new entry (another source's copy credited): story_meta's
    updated time moves forward (never back) to now_ms and its rev up. Returns the story it
    was merged into ('' if none), as APPLY_ENTRY does. One key.""",
    source="""
local current = tonumber(redis.call('HGET', KEYS[1], 'updated') or '0')
redis.call('HSET', KEYS[1], 'updated', math.max(current, tonumber(ARGV[1])))
redis.call('HINCRBY', KEYS[1], 'rev', 1)
return redis.call('HGET', KEYS[1], 'merged_into') or ''
""",
)


# -- the schedule of sources (ingest.store.schedule, ingest.store.registry) -----------------------
# Times come from the Redis server's clock (TIME), in ms, never a worker's. A lease is the
# score a claim set (server ms): it doubles as the claim token.

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

CLAIM = Script(
    "claim",
    keys=("schedule",),
    args=("limit", "lease_ms"),
    doc="""Take up to limit sources due now from the schedule, moving each to now + lease_ms.
    Returns {the lease (server ms), the source ids taken}. One key.""",
    source=_NOW
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local lease = now + tonumber(ARGV[2])
local leased = {}
for i, id in ipairs(due) do
  leased[2 * i - 1], leased[2 * i] = lease, id
end
for first = 1, #leased, 1000 do  -- one ZADD per 500 sources (unpack's stack is bounded)
  redis.call('ZADD', KEYS[1], 'XX', unpack(leased, first, math.min(first + 999, #leased)))
end
return {lease, due}
""",
)

RESCHEDULE = Script(
    "reschedule",
    keys=("schedule",),
    args=("source_id", "lease", "delay_ms"),
    doc="""Make source_id due delay_ms from now in the schedule, only while its score is
    still lease (the claim is ours). Returns 1 if moved, 0 if the lease was lost. One key.""",
    source=_NOW
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
return 1
""",
)

SETTLE = Script(
    "settle",
    keys=("schedule",),
    args=(),
    rest=("source_id", "lease", "delay_ms"),
    doc="""A batch of RESCHEDULEs: for each (source_id, lease, delay_ms) whose score is still
    lease, move it delay_ms from now, or with delay_ms -1 drop it. Returns one flag per source,
    1 where the lease was still ours (moved or dropped), else 0. At most
    ingest.store.schedule.SETTLE_BATCH sources a call (unpack's stack is bounded). One key.""",
    source=_NOW
    + """
local ids = {}
for i = 1, #ARGV / 3 do ids[i] = ARGV[3 * i - 2] end
local scores = redis.call('ZMSCORE', KEYS[1], unpack(ids))
local held, moves, drops = {}, {}, {}
for i, id in ipairs(ids) do
  held[i] = 0
  if scores[i] and tonumber(scores[i]) == tonumber(ARGV[3 * i - 1]) then
    held[i] = 1
    local delay = tonumber(ARGV[3 * i])
    if delay < 0 then
      drops[#drops + 1] = id
    else
      moves[#moves + 1] = now + delay
      moves[#moves + 1] = id
    end
  end
end
if #moves > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(moves)) end
if #drops > 0 then redis.call('ZREM', KEYS[1], unpack(drops)) end
return held
""",
)

RENEW = Script(
    "renew",
    keys=("schedule",),
    args=("source_id", "lease", "lease_ms"),
    doc="""Extend the claim of source_id on the schedule, while still held (its score is
    lease), to now + lease_ms. Returns the new lease (server ms), or 0 if it was lost. One
    key.""",
    source=_NOW
    + """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
local lease = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', lease, ARGV[1])
return lease
""",
)

DROP = Script(
    "drop",
    keys=("schedule",),
    args=("source_id", "lease"),
    doc="""Take source_id off the schedule while its score is still lease (the claim is ours).
    Returns 1 if removed, else 0. One key.""",
    source="""
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
""",
)

SYNC = Script(
    "sync",
    keys=("schedule",),
    args=(),
    rest=("source_id",),
    doc="""Put each source_id not yet on the schedule there, due now (ZADD NX). Returns now
    (server ms). One key.""",
    source=_NOW
    + """
for i = 1, #ARGV do redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i]) end
return now
""",
)

SCHEDULE_NOW = Script(
    "schedule_now",
    keys=("schedule",),
    args=(),
    rest=("source_id", "mode"),
    doc="""Make sources due now: for each (source_id, mode), mode "nx" schedules a source not
    on the schedule yet, "lt" pulls one forward (a held lease too). Returns now (server ms).
    One key.""",
    source="""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #ARGV, 2 do redis.call('ZADD', KEYS[1], string.upper(ARGV[i + 1]), now, ARGV[i]) end
return now
""",
)


# -- the story index (ingest.store.story_index) ---------------------------------------------------

INDEX_TERM = Script(
    "index_term",
    keys=("term_stories",),
    args=("story_id", "item_ms", "cap", "ttl_ms"),
    doc="""One term's list of recent stories (term_stories): story_id at item_ms (only ever
    later), the list trimmed to the cap newest, expiring after ttl_ms. Returns 1. One key.""",
    source="""
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
""",
)

INDEX_TERMS = Script(
    "index_terms",
    keys=("term_stories",),
    args=("story_id", "item_ms", "cap", "ttl_ms"),
    many=True,
    doc="""INDEX_TERM on every term_stories given (an item's top terms), at once: story_id
    at item_ms (only ever later), each list trimmed to the cap newest, expiring after ttl_ms.
    Returns 1. Many keys: one server only.""",
    source="""
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'GT', ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYRANK', key, 0, -tonumber(ARGV[3]) - 1)
  redis.call('PEXPIRE', key, ARGV[4])
end
return 1
""",
)

READ_TERMS = Script(
    "read_terms",
    keys=("term_stories",),
    args=("max_ms", "min_ms"),
    rest=("depth",),
    many=True,
    doc="""The stories of every term_stories given (an item's top terms) with an item time
    from min_ms to max_ms, newest first, at most depth of each (rest: one depth per key, in
    KEYS order). Returns one list per key. Many keys: one server only.""",
    source="""
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('ZREVRANGEBYSCORE', key, ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[i + 2])
end
return found
""",
)

COUNT_TERMS = Script(
    "count_terms",
    keys=("doc_frequency",),
    args=(),
    rest=("term",),
    doc="""The document frequencies (doc_frequency, a hash): one more item holds each term.
    Returns how many terms were counted. One key.""",
    source="""
for _, term in ipairs(ARGV) do redis.call('HINCRBY', KEYS[1], term, 1) end
return #ARGV
""",
)

ADD_PROFILE = Script(
    "add_profile",
    keys=("story_profile", "story_meta", "story_contributed"),
    args=("entry_id", "item_ms", "half_life_ms", "cap", "ttl_ms"),
    rest=("term", "weight"),
    doc="""Add an entry's unit vector (term, weight pairs) to the story's centroid
    (story_profile), once per entry_id (story_contributed). The entry's weight doubles every
    half_life_ms after the centroid's origin (the first entry's item_ms, 't0' in story_meta;
    see ingest.similar.scale, which this mirrors), so recent entries outweigh old ones; the
    lightest terms beyond cap are dropped. story_meta keeps the span of item times (ms) the
    story covers ('first', 'last'); story_profile and story_contributed expire after ttl_ms.
    Weights are kept to six significant digits: a full double is 17 digits in a compact sorted
    set, most of a profile's bytes, for a change of a millionth in a similarity. The terms are
    read and written by one ZMSCORE and one ZADD, not one ZINCRBY each. Returns 1 if added,
    0 if the entry had contributed already. One slot: the {story:ID} tag.""",
    source="""
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local at = tonumber(ARGV[2])
redis.call('HSETNX', KEYS[2], 't0', ARGV[2])
local t0 = tonumber(redis.call('HGET', KEYS[2], 't0'))
local d = (at - t0) / tonumber(ARGV[3])
if d > 900 then d = 900 elseif d < -900 then d = -900 end
local k = 2 ^ d
local terms = {}
for i = 6, #ARGV, 2 do terms[#terms + 1] = ARGV[i] end
if #terms > 0 then
  local had = redis.call('ZMSCORE', KEYS[1], unpack(terms))
  local scored = {}
  for j, term in ipairs(terms) do
    local w = (tonumber(had[j]) or 0) + tonumber(ARGV[5 + 2 * j]) * k
    scored[#scored + 1] = string.format('%.6g', w)
    scored[#scored + 1] = term
  end
  redis.call('ZADD', KEYS[1], unpack(scored))
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local first = tonumber(redis.call('HGET', KEYS[2], 'first') or ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[2], 'last') or ARGV[2])
redis.call('HSET', KEYS[2], 'first', math.min(first, at), 'last', math.max(last, at))
return 1
""",
)

OPEN_STORY = Script(
    "open_story",
    keys=("story_openings",),
    args=("opening_json", "cap", "ttl_ms", "after"),
    doc="""The list of recent story openings (story_openings): opening_json pushed at its
    head, the list trimmed to cap, expiring after ttl_ms. Returns {1, the openings pushed
    since ``after``} when ``after`` (the opening the caller pushed just before, in the same
    pipeline) is still listed: the caller knows the rest. Else {0, the list as it was (at most
    cap)}. So a batch of openings reads the list once, not once per opening. Of two openings
    at the same moment, exactly one sees the other: the one whose script ran second. One
    key.""",
    source="""
local cap = tonumber(ARGV[2])
local prior = redis.call('LRANGE', KEYS[1], 0, cap - 1)
local reply, cut = {0}, #prior
if ARGV[4] ~= '' then
  for i, listed in ipairs(prior) do
    if listed == ARGV[4] then reply[1], cut = 1, i - 1 break end
  end
end
for i = 1, cut do reply[i + 1] = prior[i] end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, cap - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return reply
""",
)


# -- the dedupe index (ingest.store.dedupe_index) -------------------------------------------------

_ENTER = """
local function enter(key, bucket)
  -- A bucket is trimmed to cap, so what LRANGE read is all of it unless it is full: only a
  -- bucket holding entry_id, or a full one, needs the LREM, and only a full one the LTRIM.
  local full = #bucket >= cap
  local held = full
  for _, id in ipairs(bucket) do
    if id == ARGV[1] then held = true break end
  end
  if held then redis.call('LREM', key, 0, ARGV[1]) end
  redis.call('LPUSH', key, ARGV[1])
  if full then redis.call('LTRIM', key, 0, cap - 1) end
  redis.call('PEXPIRE', key, ARGV[3])
end
"""
"""Lua shared by ENTER_BUCKET and ENTER_BUCKETS: enter ARGV[1] (entry_id) in the bucket at
``key`` that LRANGE read as ``bucket``, with ``cap`` and ARGV[3] (ttl_ms) set."""

ENTER_BUCKET = Script(
    "enter_bucket",
    keys=("lsh_band",),
    args=("entry_id", "cap", "ttl_ms"),
    doc="""Enter entry_id at the head of an LSH bucket (lsh_band, once), trimmed to cap,
    expiring after ttl_ms. Returns the bucket as it was (at most cap). Per bucket, of two
    racing entries exactly one sees the other: the one whose script ran second. One key.""",
    source="""
local cap = tonumber(ARGV[2])
local prior = redis.call('LRANGE', KEYS[1], 0, cap - 1)
"""
    + _ENTER
    + """enter(KEYS[1], prior)
return prior
""",
)

ENTER_BUCKETS = Script(
    "enter_buckets",
    keys=("lsh_band",),
    args=("entry_id", "cap", "ttl_ms"),
    many=True,
    doc="""ENTER_BUCKET on every lsh_band given (an item's bands), at once: entry_id at the
    head of each bucket (once), trimmed to cap, expiring after ttl_ms. Returns, per bucket in
    KEYS order, the bucket as it was (at most cap). Many keys: one server only.""",
    source="""
local cap = tonumber(ARGV[2])
"""
    + _ENTER
    + """local prior = {}
for i, key in ipairs(KEYS) do
  prior[i] = redis.call('LRANGE', key, 0, cap - 1)
  enter(key, prior[i])
end
return prior
""",
)

MOST_SHARED = Script(
    "most_shared",
    keys=("lsh_band",),
    args=("cap", "top"),
    many=True,
    doc="""The entries most of the lsh_band given (an item's bands) hold, reading each
    bucket's first cap entries. Returns at most top of them, by the number of buckets holding
    them, ties in the order first read (KEYS order, then each bucket's own): the order of
    collections.Counter.most_common over the same reads. Counting here rather than in the
    client keeps the reply to a few ids; returning every bucket made the client parse them
    all. Many keys: one server only.""",
    source="""
local cap, top = tonumber(ARGV[1]), tonumber(ARGV[2])
local count, order = {}, {}
for _, key in ipairs(KEYS) do
  for _, e in ipairs(redis.call('LRANGE', key, 0, cap - 1)) do
    local c = count[e]
    if c then
      count[e] = c + 1
    else
      count[e] = 1
      order[#order + 1] = e
    end
  end
end
local by, most = {}, 0
for _, e in ipairs(order) do
  local c = count[e]
  if c > most then
    most = c
  end
  local row = by[c]
  if not row then
    row = {}
    by[c] = row
  end
  row[#row + 1] = e
end
local out = {}
for c = most, 1, -1 do
  for _, e in ipairs(by[c] or {}) do
    if #out == top then
      return out
    end
    out[#out + 1] = e
  end
end
return out
""",
)


# -- embargoes (ingest.store.embargo) -------------------------------------------------------------

TAKE_DUE = Script(
    "take_due",
    keys=("embargo_due", "embargo_held"),
    args=("now_ms", "limit", "lease_ms"),
    doc="""Claim up to limit held items due at now_ms by pushing their time lease_ms ahead (a
    worker that dies before publishing leaves them due again once the lease is over); a due
    member no longer in embargo_held leaves embargo_due. Returns member, record, member,
    record... One slot: the {embargo} tag.""",
    source="""
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local out = {}
local lease = tonumber(ARGV[1]) + tonumber(ARGV[3])
for _, member in ipairs(due) do
  local record = redis.call('HGET', KEYS[2], member)
  if record then
    redis.call('ZADD', KEYS[1], lease, member)
    table.insert(out, member)
    table.insert(out, record)
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return out
""",
)

FORGET_RELEASED = Script(
    "forget_released",
    keys=("embargo_due", "embargo_held"),
    args=("member", "record"),
    doc="""Forget a released item (member, in embargo_due and embargo_held) unless a newer
    version replaced the hold meanwhile (embargo_held no longer holds record, the item JSON
    that was published). Returns 1. One slot: the {embargo} tag.""",
    source="""
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
""",
)


# -- per-host politeness (ingest.fetch.politeness) ------------------------------------------------

ACQUIRE = Script(
    "acquire",
    keys=("host_in_flight", "host_rate"),
    args=("token", "lease_ms", "concurrency", "per_minute"),
    doc="""Take a fetch slot for a host if its budget allows one now (server clock, ms):
    concurrency (when > 0) counts the tokens in host_in_flight whose lease has not run out,
    and a granted token is held there lease_ms; per_minute (when > 0) spaces requests
    60000 / per_minute ms apart by GCRA over one theoretical arrival time in host_rate.
    Returns {1, 'ok', 0} if granted, else {0, 'concurrency' or 'rate', roughly the ms until a
    slot frees up}. One slot: the {host:NAME} tag.""",
    source="""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, conc, rpm = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= conc then return {0, 'concurrency', 500} end
end
if rpm > 0 then
  local step = 60000 / rpm
  local tat = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now)
  if tat > now then return {0, 'rate', math.ceil(tat - now)} end
  redis.call('SET', KEYS[2], tostring(tat + step), 'PX', math.ceil(step) + 1000)
end
if conc > 0 then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease * 2)
end
return {1, 'ok', 0}
""",
)


ALL: tuple[Script, ...] = (
    APPLY_ENTRY,
    KILL_ENTRY,
    ARRIVE,
    TOUCH_STORY,
    CLAIM,
    RESCHEDULE,
    SETTLE,
    RENEW,
    DROP,
    SYNC,
    SCHEDULE_NOW,
    INDEX_TERM,
    INDEX_TERMS,
    READ_TERMS,
    COUNT_TERMS,
    ADD_PROFILE,
    OPEN_STORY,
    ENTER_BUCKET,
    ENTER_BUCKETS,
    MOST_SHARED,
    TAKE_DUE,
    FORGET_RELEASED,
    ACQUIRE,
)
"""Every script, for tests and for loading them all ahead (a benchmark's raw pipelines)."""
