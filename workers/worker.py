"""The worker process: claim due sources, run the pipeline, reschedule. Redis and HTTP I/O.

APScheduler's ``AsyncIOScheduler`` drives this worker's own periodic ticks (it holds no shared
job store); the shared schedule of sources lives in Redis (:mod:`workers.schedule`), so any
number of workers on any number of machines split the sources between them and never fetch one
source twice at once.

::

    pump            keep `concurrency` jobs running from the local queue; when the queue runs
                    low, claim more due sources (held ones stay within 2 x concurrency) in one
                    call and read their configs and statuses in one round trip, while jobs
                    keep starting from what is still queued. A job that ends starts the next
                    one at once; claims after a short one (nothing more due) wait for a tick.
    job             ingest_source(source) | next_delay; its status and reschedule are batched
    flush           every FLUSH_DELAY s while jobs finish: one pipeline for all finished jobs'
                    status writes and one script call that reschedules them all (each lands
                    only while its lease is ours); the lease covers the source until then
    every TICK s    pump
    every lease/3   renew the leases of queued and running claims
    every 10 s      heartbeat into the workers set
    every 10 min    retention: stories past the window leave the index
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from config.settings import Settings
from config.sources import Source, StoryRule
from ingest import keys
from ingest.connect import open_redis
from ingest.dedupe import DedupePolicy
from ingest.fetch import FetchLimits, HttpFetcher
from ingest.guard import AddressPolicy
from ingest.health import HealthPolicy
from ingest.model import IngestReport, SourceStatus
from ingest.pipeline import IngestPolicy, ingest_source
from ingest.politeness import RedisHostGate
from ingest.similar import SimilarityPolicy
from ingest.store import RedisStore
from workers.schedule import Claim, RedisSchedule
from workers.timing import TimingPolicy, next_delay

log = logging.getLogger("wirefeed.worker")

TICK_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0
MAINTENANCE_SECONDS = 600.0
FLUSH_DELAY = 0.01
"""How long finished jobs wait to share one round trip to Redis for their writes."""
LOW_WATER_DIVISOR = 4
"""The next claim goes out once at most concurrency / this many claims are left queued."""


@dataclass(slots=True)
class _Job:
    claim: Claim
    source: Source
    status: SourceStatus


class Worker:
    """One worker: owns its Redis client, HTTP client and scheduler for the life of :meth:`run`."""

    def __init__(self, settings: Settings, redis_url: str, rules: Sequence[StoryRule] = ()) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.polls = 0
        self._queue: deque[_Job] = deque()
        self._running: dict[str, _Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[tuple[_Job, IngestReport]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._claiming = False
        self._drained = False
        """The last claim found fewer due sources than it asked for: until the next tick,
        jobs that end do not ask again."""
        self._stopping = False
        self.ingest_policy, self.timing_policy = policies(settings, rules)

    async def run(self, stop: asyncio.Event, sources: list[Source] | None = None) -> None:
        """Work until ``stop`` is set; then finish running jobs (bounded) and close clients.

        With ``sources``, first publish them as the configured set and sync the schedule.
        """
        client = await open_redis(self.redis_url)
        self._client = client
        self.store = RedisStore.from_settings(client, self.settings)
        self.schedule = RedisSchedule(client)
        self.gate = RedisHostGate(
            client,
            self.settings.host_limit,
            self.settings.host_limits,
            lease_seconds=self.settings.fetch_total_timeout * 2,
        )
        self.fetcher = HttpFetcher(
            _limits(self.settings), policy=AddressPolicy(self.settings.fetch_allow_networks)
        )
        scheduler = AsyncIOScheduler(timezone=UTC)
        try:
            if sources is not None:
                await self.publish_sources(sources)
            self._add_jobs(scheduler)
            scheduler.start()
            log.info("worker %s started", self.id)
            await stop.wait()
        finally:
            self._stopping = True
            if scheduler.running:
                scheduler.shutdown(wait=False)
            await self._drain()
            await client.zrem(keys.WORKERS, self.id)
            await self.fetcher.aclose()
            await client.aclose()
            log.info("worker %s stopped after %d polls", self.id, self.polls)

    async def publish_sources(self, sources: list[Source]) -> None:
        """Make ``sources`` the configured set and bring the schedule in line with it.

        Disabled sources are marked paused; a source that answered 410 stays off the schedule,
        and stays ``gone`` even while disabled, until its configured URL changes.
        """
        await self.store.put_sources(sources)
        statuses = await self.store.source_statuses([s.id for s in sources])
        schedulable = []
        for source in sources:
            status = statuses[source.id]
            if status.state == "gone" and status.fetched_url == source.url:
                log.warning("source %s: left off the schedule: %s", source.id, status.last_error)
            elif not source.enabled:
                await self.store.set_state(source.id, "paused")
            else:
                schedulable.append(source)
        await self.schedule.sync(schedulable)

    def _add_jobs(self, scheduler: AsyncIOScheduler) -> None:
        now = datetime.now(UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self.pump, "interval", seconds=TICK_SECONDS, next_run_time=now, id="pump", **common
        )
        scheduler.add_job(
            self.renew, "interval", seconds=self.settings.lease_seconds / 3, id="renew", **common
        )
        scheduler.add_job(
            self.maintain, "interval", seconds=MAINTENANCE_SECONDS, id="maintain", **common
        )
        scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=HEARTBEAT_SECONDS,
            next_run_time=now,
            id="heartbeat",
            **common,
        )

    async def pump(self) -> None:
        """Start queued jobs up to the concurrency limit; claim more while the queue is low."""
        self._drained = False
        self._fill()
        await self._claim_while_low(idle_only=True)

    def _fill(self) -> None:
        while self._queue and len(self._running) < self.settings.worker_concurrency:
            if self._stopping:
                return
            self._start(self._queue.popleft())

    def _low(self) -> bool:
        """Few enough queued claims that the next claim should be on its way."""
        return len(self._queue) <= self.settings.worker_concurrency // LOW_WATER_DIVISOR

    async def _claim_while_low(self, *, idle_only: bool = False) -> None:
        """Claim while the queue is low. ``idle_only`` (the tick): only with a slot free, so
        a worker whose every slot is stuck on slow servers leaves due sources to the others;
        a job that just ended shows jobs are moving, and claims ahead of need."""
        if self._claiming or self._stopping:
            return
        self._claiming = True
        try:
            while self._low() and not self._drained and not self._stopping:
                if idle_only and len(self._running) >= self.settings.worker_concurrency:
                    return
                await self._claim()
                self._fill()
        except Exception:  # Redis briefly unreachable: log, and the next tick tries again
            log.exception("claiming due sources failed")
        finally:
            self._claiming = False

    async def _claim(self) -> None:
        held = len(self._running) + len(self._queue)
        want = 2 * self.settings.worker_concurrency - held
        claims = await self.schedule.claim(want, self.settings.lease_seconds)
        self._drained = len(claims) < want
        sources, statuses = await self.store.sources_and_statuses([c.source_id for c in claims])
        gone = []
        for claim in claims:
            source = sources.get(claim.source_id)
            if source is None:  # removed from the configuration since it was scheduled
                gone.append((claim, None))
                continue
            self._queue.append(_Job(claim, source, statuses[claim.source_id]))
        await self.schedule.settle(gone)

    def _start(self, job: _Job) -> None:
        self._running[job.source.id] = job
        self._spawn(self._process(job))

    async def _process(self, job: _Job) -> None:
        try:
            report = await ingest_source(
                job.source,
                fetcher=self.fetcher,
                store=self.store,
                now=datetime.now(UTC),
                policy=self.ingest_policy,
                gate=self.gate,
                status=job.status,
                save_status=False,
            )
            self.polls += 1
            _log(report)
            self._finished.append((job, report))
            if self._flusher is None or self._flusher.done():
                self._flusher = self._spawn(self._flush_soon())
        except Exception:  # a job must never take the worker down; the lease will expire
            log.exception("source %s: job failed", job.source.id)
        finally:
            self._running.pop(job.source.id, None)
            self._fill()
            if self._low() and not (self._claiming or self._drained or self._stopping):
                self._spawn(self._claim_while_low())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _flush_soon(self) -> None:
        while self._finished:  # again for jobs that finished while a flush was on its way
            await asyncio.sleep(FLUSH_DELAY)  # let jobs finishing together share a round trip
            await self._flush()

    async def _flush(self) -> None:
        """Save the status and reschedule (or drop) every finished job, in one pipeline."""
        batch, self._finished = self._finished, []
        if not batch:
            return
        pipe = self._client.pipeline(transaction=False)
        moves: list[tuple[Claim, float | None]] = []
        reasons = []
        for job, report in batch:
            after = report.after or job.status
            delay = next_delay(job.source, after, report, self.timing_policy)
            self.store.queue_status(pipe, after, job.status)
            self.store.queue_note(pipe, after, delay.seconds, delay.reason)
            moves.append((job.claim, delay.seconds))
            reasons.append(delay.reason)
        writes = len(pipe)  # statuses first: a source is claimable again only once saved
        self.schedule.queue_settle(pipe, moves)
        try:
            replies = await pipe.execute(raise_on_error=False)
            for reply in replies[:writes]:
                if isinstance(reply, Exception):
                    raise reply
            held = await self.schedule.settled(replies[writes:], moves)
        except Exception:  # Redis unreachable: the leases expire and the sources come back
            log.exception("saving %d finished polls failed", len(batch))
            return
        for (claim, seconds), reason, landed in zip(moves, reasons, held, strict=True):
            if seconds is None:
                log.warning("source %s: %s", claim.source_id, reason)
            elif not landed:
                log.warning("source %s: lease lost before rescheduling", claim.source_id)

    async def renew(self) -> None:
        """Extend the leases of claims still queued or running."""
        for job in [*self._queue, *self._running.values()]:
            renewed = await self.schedule.renew(job.claim, self.settings.lease_seconds)
            if renewed is None:
                log.warning("source %s: lease lost", job.source.id)
            else:
                job.claim = renewed

    async def maintain(self) -> None:
        """Drop stories past the retention window from the index (their keys expire)."""
        try:
            removed = await self.store.trim(datetime.now(UTC))
        except Exception:  # maintenance can wait for the next round
            log.exception("maintenance failed")
            return
        if removed:
            log.info("retention: %d stories left the index", removed)

    async def heartbeat(self) -> None:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        await self._client.zadd(keys.WORKERS, {self.id: now_ms})

    async def _drain(self, grace: float = 10.0) -> None:
        """Hand queued claims back (due now), then let running jobs finish for a while."""
        queued, self._queue = [(job.claim, 0.0) for job in self._queue], deque()
        await self.schedule.settle(queued)
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._flush()  # what finished jobs still owe Redis


def _log(report: IngestReport) -> None:
    if report.status == "error":
        log.warning("source %s: %s", report.source_id, report.error)
    elif report.new or report.updated:
        log.info("source %s: %d new, %d updated", report.source_id, report.new, report.updated)
    if report.expired:  # a new source's back catalogue, or items it lists past our window
        log.info(
            "source %s: %d items dated before the retention window left out",
            report.source_id,
            report.expired,
        )


def policies(
    settings: Settings, rules: Sequence[StoryRule] = ()
) -> tuple[IngestPolicy, TimingPolicy]:
    """The pure policies of ingestion and timing, from settings and the editors' rules."""
    ingest = IngestPolicy(
        max_entries=settings.max_entries_per_fetch,
        rules=tuple(rules),
        similarity=SimilarityPolicy(window_hours=settings.story_window_hours),
        dedupe=DedupePolicy(
            hash_change_cap=settings.hash_change_cap, max_age=settings.retention_days * 86400.0
        ),
        health=HealthPolicy(
            dead_after=settings.fetch_dead_after,
            quiet_factor=settings.fetch_quiet_factor,
            redirect_confirmations=settings.fetch_redirect_confirmations,
            unconditional_every=settings.fetch_unconditional_every,
        ),
    )
    timing = TimingPolicy(
        max_floor=settings.fetch_max_floor,
        max_backoff=settings.fetch_max_backoff,
        dead_retry=settings.fetch_dead_retry,
    )
    return ingest, timing


def _limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        connect_timeout=settings.fetch_connect_timeout,
        read_timeout=settings.fetch_read_timeout,
        total_timeout=settings.fetch_total_timeout,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
    )
