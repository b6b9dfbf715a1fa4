"""The worker process: claim due sources, run the pipeline, reschedule. Redis and HTTP I/O.

APScheduler's ``AsyncIOScheduler`` drives this worker's own periodic ticks (it holds no shared
job store); the shared schedule of sources lives in Redis (:mod:`ingest.store.schedule`), so any
number of workers on any number of machines split the sources between them and never fetch one
source twice at once.

::

    pump            keep `concurrency` jobs running from the local queue; when the queue runs
                    low, claim more due sources (held ones stay within concurrency plus the
                    low-water mark, so a burst is shared among the live workers) in one
                    call and read their configs and statuses in one round trip, while jobs
                    keep starting from what is still queued. A job that ends starts the next
                    one at once; claims after a short one (nothing more due) wait for a tick.
    job             ingest_source(source) | next_delay; its status and reschedule are batched
    flush           every FLUSH_DELAY s while jobs finish: one pipeline for all finished jobs'
                    status writes and one script call that reschedules them all (each lands
                    only while its lease is ours); the lease covers the source until then
    every TICK s    pump
    every EMBARGO_TICK s  publish held items whose embargo is over (ingest.store.embargo): any
                    live worker does it, each item goes to one of them
    every lease/3   renew the leases of queued and running claims; a renewal changes the
                    lease (the claim's token), so renewals and flushes take turns: a flush
                    sent with the lease a renewal was replacing would be refused and leave
                    the source parked until the renewed lease ran out
    every 30 s      renew WebSub subscriptions near the end of their lease
                    (ingest.fetch.subscriber);
                    after a poll that found a hub, subscribe (only with WIREFEED_PUBLIC_URL,
                    where hubs reach our callback); a source with an active subscription is
                    polled at its slowest bound, a hub that misses news goes back to polling
    every 10 s      heartbeat into the workers set (host, pid, version, start, in flight)
    every 10 min    retention: stories past the window leave the index
    SIGHUP, or a change to the sources file: reload it (:meth:`Worker.reload`); a broken
                    file is refused with the messages of `sources check` and the previous
                    configuration keeps running

Started while Redis is down (or still loading its append-only file), the worker waits for it;
while it is away, every tick fails quietly: one log line when it goes, one when it is back
(:class:`ingest.store.outage.RedisWatch`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from config.settings import Settings
from config.sources import Source, SourcesError, SourcesFile, StoryRule, load_sources
from ingest import compose
from ingest.fetch.folder import ingest_folder
from ingest.fetch.hubs import open_hub_client
from ingest.fetch.politeness import RedisHostGate
from ingest.fetch.subscriber import RedisSubscriber
from ingest.model import IngestReport, SourceStatus
from ingest.offload import Offload, ProcessPool, in_thread
from ingest.pipeline import IngestPolicy, ingest_source, release_embargoed
from ingest.store.connect import open_redis
from ingest.store.fleet import RedisFleet
from ingest.store.outage import RedisWatch, unreachable, wait_until_up
from ingest.store.registry import RedisRegistry
from ingest.store.schedule import Claim, Finished, RedisSchedule
from workers.metrics import WorkerMetrics
from workers.timing import TimingPolicy, next_delay
from workers.version import VERSION

log = logging.getLogger("wirefeed.worker")

TICK_SECONDS = 0.5
EMBARGO_TICK_SECONDS = 0.25
"""Held items are published within this much (plus a store round trip) of their time."""
HEARTBEAT_SECONDS = 10.0
MAINTENANCE_SECONDS = 600.0
FLUSH_DELAY = 0.01
"""How long finished jobs wait to share one round trip to Redis for their writes."""
LOW_WATER_DIVISOR = 4
"""The next claim goes out once at most concurrency / this many claims are left queued."""
CHART_MINUTES = 60
"""Minutes of ingest counts kept for the /ops chart."""


@dataclass(slots=True)
class _Job:
    claim: Claim
    source: Source
    status: SourceStatus
    pushed: bool = False
    """The source has an active WebSub subscription: polls can wait for its slowest bound."""
    settled: bool = False
    """Its claim has been handed back (rescheduled, dropped or stranded): not renewed again."""


class Worker:
    """One worker: owns its Redis client, HTTP client and scheduler for the life of :meth:`run`."""

    def __init__(
        self,
        settings: Settings,
        redis_url: str,
        rules: Sequence[StoryRule] = (),
        *,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.host = socket.gethostname()
        self.id = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.started = datetime.now(UTC)
        self.polls = 0
        self.metrics = metrics or WorkerMetrics(enabled=settings.metrics)
        self.watch = RedisWatch(redis_url, log, lambda up: self.metrics.redis_up.set(int(up)))
        self.config_note = "ok"
        """The last reload's outcome: ``ok``, or why the file on disk was refused."""
        self._queue: deque[_Job] = deque()
        self._running: dict[str, _Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[tuple[_Job, IngestReport]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._stranded: list[Claim] = []
        """Claims whose poll or save failed because Redis went away: made due again as soon
        as Redis answers, instead of waiting out their leases (a restarted Redis may still
        hold them)."""
        self._leases = asyncio.Lock()
        """Held by a renewal (from sending the lease to taking the renewed one) and by a
        flush (from reading the leases to the settle's reply): the settle then always
        carries the lease Redis holds."""
        self._claiming = False
        self._drained = False
        """The last claim found fewer due sources than it asked for: until the next tick,
        jobs that end do not ask again."""
        self._stopping = False
        self.ingest_policy, self.timing_policy = policies(settings, rules)
        self.offload: Offload = in_thread
        """Where documents are parsed and normalized: a pool of processes while running
        with ``parse_processes`` (see :mod:`ingest.offload`)."""

    async def run(self, stop: asyncio.Event, sources: list[Source] | None = None) -> None:
        """Work until ``stop`` is set; then finish running jobs (bounded) and close clients.

        With ``sources``, first publish them as the configured set and sync the schedule.
        """
        client = await open_redis(self.redis_url, patience=math.inf)
        self._client = client
        self.store = compose.store(client, self.settings)
        self.schedule = RedisSchedule(client)
        self.fleet = RedisFleet(client)
        self.gate = RedisHostGate(
            client,
            self.settings.host_limit,
            self.settings.host_limits,
            lease_seconds=self.settings.fetch_total_timeout * 2,
        )
        policy = compose.address_policy(self.settings)
        self.fetcher = compose.fetcher(self.settings)
        self.hub_http = open_hub_client(policy)
        self.subscriber = (
            RedisSubscriber(client, http=self.hub_http, callback_base=self.settings.public_url)
            if self.settings.public_url
            else None
        )
        processes = self.settings.parse_processes
        pool = ProcessPool(processes) if processes else None
        self.offload = pool or in_thread
        scheduler = AsyncIOScheduler(timezone=UTC)
        try:
            if not await self._start_up(stop, sources):
                return
            self._add_jobs(scheduler)
            scheduler.start()
            log.info("worker %s started", self.id, extra={"event": "worker_started"})
            await stop.wait()
        finally:
            self._stopping = True
            if scheduler.running:
                scheduler.shutdown(wait=False)
            await self.watch.guard(self._leave, "leaving the fleet")
            await self.fetcher.aclose()
            await self.hub_http.aclose()
            await client.aclose()
            if pool is not None:
                await asyncio.to_thread(pool.close)
            log.info(
                "worker %s stopped after %d polls",
                self.id,
                self.polls,
                extra={"event": "worker_stopped"},
            )

    async def _start_up(self, stop: asyncio.Event, sources: list[Source] | None) -> bool:
        """Wait for Redis, then publish ``sources``; again if Redis goes away meanwhile.
        False when ``stop`` came first."""
        while await wait_until_up(self.fleet.ping, self.watch, stop=stop):
            try:
                if sources is not None:
                    await self.publish_sources(sources)
                return True
            except Exception as exc:
                if not unreachable(exc):
                    raise
                self.watch.lost(exc)
                self.watch.down = False  # wait_until_up logs the wait from here
        return False

    async def _leave(self) -> None:
        await self._drain()
        await self.fleet.leave(self.id)

    async def reload(self, path: Path) -> bool:
        """Apply the sources file at ``path`` now: new sources scheduled, removed ones
        stopped, changed intervals and story rules in force. A file that does not pass
        `sources check` is refused (its problems logged, counted and shown on /ops) and the
        running configuration stays. True when applied."""
        try:
            loaded = load_sources(path)
        except SourcesError as exc:
            await self._note_reload(False, "; ".join(exc.problems))
            return False
        try:
            await self.apply(loaded)
        except Exception as exc:  # Redis away mid-reload: the next change or SIGHUP retries
            if not unreachable(exc):
                raise
            self.watch.lost(exc)
            self.metrics.reloads.labels("failed").inc()
            return False
        await self._note_reload(True, f"{len(loaded.sources)} sources")
        return True

    async def apply(self, loaded: SourcesFile) -> None:
        """Make ``loaded`` the running configuration (sources and story rules)."""
        await self.publish_sources(list(loaded.sources))
        self.ingest_policy, self.timing_policy = policies(self.settings, loaded.stories)

    async def _note_reload(self, ok: bool, message: str) -> None:
        self.metrics.reloads.labels("ok" if ok else "failed").inc()
        self.config_note = "ok" if ok else f"refused: {message}"
        if ok:
            log.info("configuration reloaded: %s", message, extra={"event": "reload"})
        else:
            log.error(
                "configuration refused, the previous one keeps running: %s",
                message,
                extra={"event": "reload_refused"},
            )
        at_ms = int(time.time() * 1000)
        await self.watch.guard(
            lambda: self.fleet.note_reload(ok, message, self.id, at_ms), "recording the reload"
        )

    async def publish_sources(self, sources: list[Source]) -> None:
        """Make ``sources`` the configured set and bring the schedule in line with it.

        ``sources`` are the file's; the API's and editors' pauses are composed in
        (:mod:`ingest.store.registry`). Disabled sources are marked paused; a source that answered
        410 stays off the schedule, and stays ``gone`` even while disabled, until its
        configured URL changes.
        """
        sources = await RedisRegistry(self._client, self.store).publish_file(sources)
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

    def _job(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """``work`` as a scheduled job: a run the scheduler cancels as the worker stops ends
        quietly (the scheduler would log it as a crash, with a traceback)."""

        async def job() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                if not self._stopping:
                    raise

        job.__name__ = job.__qualname__ = getattr(work, "__name__", "job")
        return job

    def _add_jobs(self, scheduler: AsyncIOScheduler) -> None:
        now = datetime.now(UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self._job(self.pump),
            "interval",
            seconds=TICK_SECONDS,
            next_run_time=now,
            id="pump",
            **common,
        )
        scheduler.add_job(
            self._job(self.release),
            "interval",
            seconds=EMBARGO_TICK_SECONDS,
            next_run_time=now,
            id="embargoes",
            **common,
        )
        scheduler.add_job(
            self._job(self.renew_subscriptions), "interval", seconds=30.0, id="websub", **common
        )
        scheduler.add_job(
            self._job(self.renew),
            "interval",
            seconds=self.settings.lease_seconds / 3,
            id="renew",
            **common,
        )
        scheduler.add_job(
            self._job(self.maintain),
            "interval",
            seconds=MAINTENANCE_SECONDS,
            id="maintain",
            **common,
        )
        scheduler.add_job(
            self._job(self.heartbeat),
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
        await self._return_stranded()
        await self._claim_while_low(idle_only=True)

    async def _return_stranded(self) -> None:
        """Make stranded claims due now (where the lease is still ours); kept while Redis
        is away."""
        if not self._stranded or self._stopping:
            return
        stranded, self._stranded = self._stranded, []
        try:
            landed = await self.schedule.settle([(claim, 0.0) for claim in stranded])
        except Exception as exc:
            self._stranded = stranded + self._stranded
            self._failed(exc, "returning unfinished polls to the schedule")
            return
        back = [c.source_id for c, ok in zip(stranded, landed, strict=True) if ok]
        if back:
            log.info(
                "%d sources whose polls Redis missed are due again: %s",
                len(back),
                ", ".join(back[:10]),
                extra={"event": "stranded_returned"},
            )

    def _fill(self) -> None:
        while self._queue and len(self._running) < self.settings.worker_concurrency:
            if self._stopping:
                return
            self._start(self._queue.popleft())

    def _low(self) -> bool:
        """Few enough queued claims that the next claim should be on its way."""
        return len(self._queue) <= self._low_water()

    def _low_water(self) -> int:
        """Queued claims at or below which the next claim goes out."""
        return self.settings.worker_concurrency // LOW_WATER_DIVISOR

    def _room(self) -> int:
        """How many more claims this worker may hold: one per slot and a low queue behind
        them. It used to be two per slot, which on a burst (a first ingest of many sources)
        let the first worker to claim take everything and left the others idle."""
        held = len(self._running) + len(self._queue)
        return self.settings.worker_concurrency + max(1, self._low_water()) - held

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
                if self._room() <= 0:  # every slot busy and the queue at its low-water mark
                    return
                await self._claim()
                self._fill()
            self.watch.back()
        except Exception as exc:  # Redis briefly unreachable: the next tick tries again
            if unreachable(exc):
                self.watch.lost(exc)
            else:
                log.exception("claiming due sources failed")
        finally:
            self._claiming = False

    async def _claim(self) -> None:
        want = self._room()
        claims = await self.schedule.claim(want, self.settings.lease_seconds)
        self.metrics.lease("claimed", len(claims))
        self._drained = len(claims) < want
        try:
            sources, statuses = await self.store.sources_and_statuses([c.source_id for c in claims])
        except Exception as exc:
            if unreachable(exc):  # claimed, then Redis went: they are due again once it is back
                self._stranded.extend(claims)
            raise
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
        self.metrics.running(len(self._running))
        self._spawn(self._process(job))

    async def _process(self, job: _Job) -> None:
        try:
            report = await self._poll(job)
            await self._follow_hub(job, report)
            self.polls += 1
            self.metrics.poll(report)
            _log(report, job.source.url)
            self._finished.append((job, report))
            if self._flusher is None or self._flusher.done():
                self._flusher = self._spawn(self._flush_soon())
        except Exception as exc:  # a job must never take the worker down; the lease expires
            if unreachable(exc):
                self.watch.lost(exc)
                job.settled = True
                self._stranded.append(job.claim)
            else:
                log.exception("source %s: job failed", job.source.id)
        finally:
            self._running.pop(job.source.id, None)
            self.metrics.running(len(self._running))
            self._fill()
            if self._low() and not (self._claiming or self._drained or self._stopping):
                self._spawn(self._claim_while_low())

    async def _follow_hub(self, job: _Job, report: IngestReport) -> None:
        """Subscribe where the source advertises a hub; a hub that missed what this poll
        found is set aside (polling at the normal pace) until a new subscription verifies."""
        if self.subscriber is None or not report.hubs or report.topic is None:
            return
        now = datetime.now(UTC)
        try:
            before = await self.subscriber.get(job.source.id)
            if before is not None and before.usable(now) and report.new:
                await self.subscriber.mark_silent(job.source.id, "a poll found unpushed news")
            state = await self.subscriber.ensure(job.source.id, report.hubs, report.topic, now)
        except Exception:  # WebSub is an optimisation: polling goes on regardless
            log.exception("source %s: websub subscription failed", job.source.id)
            return
        job.pushed = state == "active"

    async def renew_subscriptions(self) -> None:
        if self.subscriber is None:
            return
        try:
            await self.subscriber.renew_due(datetime.now(UTC))
        except Exception:  # the next tick tries again; polling goes on meanwhile
            log.exception("renewing websub subscriptions failed")

    async def _poll(self, job: _Job) -> IngestReport:
        if job.source.kind == "folder":  # a drop folder: scanned, not fetched
            return await ingest_folder(
                job.source,
                store=self.store,
                client=self._client,
                now=datetime.now(UTC),
                policy=self.ingest_policy,
                status=job.status,
            )
        return await ingest_source(
            job.source,
            fetcher=self.fetcher,
            store=self.store,
            now=datetime.now(UTC),
            policy=self.ingest_policy,
            gate=self.gate,
            status=job.status,
            save_status=False,
            offload=self.offload,
        )

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
        async with self._leases:  # no renewal between reading the leases and the settle
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        batch, self._finished = self._finished, []
        if not batch:
            return
        finished = [self._finished_poll(job, report) for job, report in batch]
        taken = sum(report.new + report.updated for _job, report in batch)
        try:
            held = await self.schedule.settle_polls(
                finished, taken=taken, minute_ms=int(time.time() // 60) * 60_000
            )
        except Exception as exc:  # Redis unreachable: polled again once it answers
            self._failed(exc, f"saving {len(batch)} finished polls", [f.claim for f in finished])
            return
        for poll, landed in zip(finished, held, strict=True):
            if poll.seconds is None:
                log.warning("source %s: %s", poll.claim.source_id, poll.reason)
            elif not landed:
                self.metrics.lease("lost")
                log.warning("source %s: lease lost before rescheduling", poll.claim.source_id)

    def _finished_poll(self, job: _Job, report: IngestReport) -> Finished:
        """A finished job's status, its next delay (None: drop) and why."""
        job.settled = True  # from here its lease is this flush's to hand back
        after = report.after or job.status
        delay = next_delay(job.source, after, report, self.timing_policy)
        seconds = delay.seconds
        if job.pushed and seconds is not None:  # pushes come at once; polls are the backstop
            seconds = max(seconds, job.source.interval_bounds[1])
        return Finished(job.claim, after, job.status, seconds, delay.reason)

    def _failed(self, exc: Exception, what: str, claims: Sequence[Claim] = ()) -> None:
        """An unreachable Redis is one line for the whole outage (and ``claims``, whose polls
        it missed, are stranded); anything else is a bug."""
        if unreachable(exc):
            self.watch.lost(exc)
            self._stranded.extend(claims)
        else:
            log.exception("%s failed", what)

    async def release(self) -> None:
        """Publish held items whose embargo is over."""
        try:
            reports = await release_embargoed(
                self.store, now=datetime.now(UTC), policy=self.ingest_policy
            )
        except Exception as exc:  # Redis briefly unreachable: the next tick tries again
            self._failed(exc, "releasing embargoed items")
            return
        for report in reports:
            log.info("source %s: %d embargoed items published", report.source_id, report.new)

    async def renew(self) -> None:
        """Extend the leases of claims still queued or running."""
        await self.watch.guard(self._renew, "renewing leases")

    async def _renew(self) -> None:
        for job in [*self._queue, *self._running.values()]:
            async with self._leases:  # a flush meanwhile settles with the renewed lease
                if job.settled:  # finished and flushed since the list was taken
                    continue
                renewed = await self.schedule.renew(job.claim, self.settings.lease_seconds)
                if renewed is not None:
                    job.claim = renewed
            if renewed is None:
                self.metrics.lease("lost")
                log.warning("source %s: lease lost", job.source.id)
            else:
                self.metrics.lease("renewed")

    async def maintain(self) -> None:
        """Drop stories past the retention window from the index (their keys expire)."""
        await self.watch.guard(self._maintain, "maintenance")

    async def _maintain(self) -> None:
        removed = await self.store.trim(datetime.now(UTC))
        if removed:
            log.info("retention: %d stories left the index", removed)

    async def heartbeat(self) -> None:
        """Say this worker is alive and what it is doing (read by /readyz and /ops)."""
        await self.watch.guard(self._heartbeat, "heartbeat")

    async def _heartbeat(self) -> None:
        now = datetime.now(UTC)
        now_ms = int(now.timestamp() * 1000)
        info = {
            "id": self.id,
            "host": self.host,
            "pid": os.getpid(),
            "version": VERSION,
            "started": self.started.isoformat(),
            "in_flight": sorted(self._running),
            "queued": len(self._queue),
            "polls": self.polls,
            "config": self.config_note,
        }
        oldest = (int(now.timestamp() // 60) - CHART_MINUTES) * 60_000
        await self.fleet.beat(self.id, now_ms, json.dumps(info), oldest)
        self.metrics.redis_up.set(1)

    async def _drain(self, grace: float = 10.0) -> None:
        """Hand queued claims back (due now), then let running jobs finish for a while."""
        async with self._leases:
            jobs, self._queue = list(self._queue), deque()
            for job in jobs:
                job.settled = True
            await self.schedule.settle([(job.claim, 0.0) for job in jobs])
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._flush()  # what finished jobs still owe Redis


def _log(report: IngestReport, url: str) -> None:
    """One ``poll`` event per poll, with what ops need to find a troubled source (the
    worker's own host and pid are on every line)."""
    fields: dict[str, object] = {
        "event": "poll",
        "source": report.source_id,
        "source_host": urlsplit(url).hostname or "",
        "status": report.status,
        "http_status": report.http_status,
        "duration_ms": round(
            1000 * ((report.fetch_seconds or 0.0) + (report.parse_seconds or 0.0)), 1
        ),
        "new": report.new,
        "updated": report.updated,
        "duplicate": report.duplicates,
    }
    if report.filtered:  # left out by the source's keep and block rules
        fields["filtered"] = report.filtered
    if report.merged:  # stories an item showed to be one (ingest.similar.bridged)
        fields["merged"] = report.merged
    if report.status == "error":
        fields |= {"error_class": report.error_class, "error": report.error}
        log.warning("source %s: %s", report.source_id, report.error, extra=fields)
    else:
        log.info("source %s: %s", report.source_id, report.status, extra=fields)
    if report.expired:  # a new source's back catalogue, or items it lists past our window
        log.info(
            "source %s: %d items dated before the retention window left out",
            report.source_id,
            report.expired,
        )


def policies(
    settings: Settings, rules: Sequence[StoryRule] = ()
) -> tuple[IngestPolicy, TimingPolicy]:
    """The pure policies of ingestion (see :mod:`ingest.compose`) and timing, from settings
    and the editors' rules."""
    timing = TimingPolicy(
        max_floor=settings.fetch_max_floor,
        max_backoff=settings.fetch_max_backoff,
        dead_retry=settings.fetch_dead_retry,
    )
    return compose.ingest_policy(settings, rules), timing
