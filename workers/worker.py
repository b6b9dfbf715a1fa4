"""The worker process: claim due sources, run the pipeline, reschedule. Redis and HTTP I/O.

APScheduler's ``AsyncIOScheduler`` drives this worker's own periodic ticks (it holds no shared
job store); the shared schedule of sources lives in Redis (:mod:`workers.schedule`), so any
number of workers on any number of machines split the sources between them and never fetch one
source twice at once.

::

    every TICK s    claim up to (concurrency - in flight) due sources, start a job for each
    job             ingest_source(source) | next_delay | reschedule (only while the lease is ours)
    every lease/3   renew the leases of jobs still running
    every 10 s      heartbeat into the workers set
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from config.settings import Settings
from config.sources import Source
from ingest import keys
from ingest.fetch import FetchLimits, HttpFetcher
from ingest.model import IngestReport
from ingest.pipeline import PipelineLimits, ingest_source
from ingest.store import RedisStore
from workers.schedule import Claim, RedisSchedule
from workers.timing import next_delay

log = logging.getLogger("wirefeed.worker")

TICK_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0


@dataclass(slots=True)
class _Job:
    claim: Claim
    task: asyncio.Task[None]


class Worker:
    """One worker: owns its Redis client, HTTP client and scheduler for the life of :meth:`run`."""

    def __init__(self, settings: Settings, redis_url: str) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._jobs: dict[str, _Job] = {}

    async def run(self, stop: asyncio.Event, sources: list[Source] | None = None) -> None:
        """Work until ``stop`` is set; then finish running jobs (bounded) and close clients.

        With ``sources``, first publish them as the configured set and sync the schedule.
        """
        client = aioredis.from_url(self.redis_url, decode_responses=True)
        self.store = RedisStore(client)
        self.schedule = RedisSchedule(client)
        self.fetcher = HttpFetcher(_limits(self.settings))
        self._client = client
        scheduler = AsyncIOScheduler(timezone=UTC)
        try:
            if sources is not None:
                await self.store.put_sources(sources)
                await self.schedule.sync(sources)
            self._add_jobs(scheduler)
            scheduler.start()
            log.info("worker %s started", self.id)
            await stop.wait()
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            await self._drain()
            await client.zrem(keys.WORKERS, self.id)
            await self.fetcher.aclose()
            await client.aclose()
            log.info("worker %s stopped", self.id)

    def _add_jobs(self, scheduler: AsyncIOScheduler) -> None:
        now = datetime.now(UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self.tick, "interval", seconds=TICK_SECONDS, next_run_time=now, id="tick", **common
        )
        scheduler.add_job(
            self.renew, "interval", seconds=self.settings.lease_seconds / 3, id="renew", **common
        )
        scheduler.add_job(
            self.heartbeat,
            "interval",
            seconds=HEARTBEAT_SECONDS,
            next_run_time=now,
            id="heartbeat",
            **common,
        )

    async def tick(self) -> None:
        """Claim what is due, up to our free capacity, and start a job for each claim."""
        free = self.settings.worker_concurrency - len(self._jobs)
        try:
            claims = await self.schedule.claim(free, self.settings.lease_seconds)
        except Exception:  # Redis briefly unreachable: log, and the next tick tries again
            log.exception("claiming due sources failed")
            return
        for claim in claims:
            task = asyncio.create_task(self._process(claim), name=f"source:{claim.source_id}")
            self._jobs[claim.source_id] = _Job(claim, task)

    async def _process(self, claim: Claim) -> None:
        try:
            found = await self.store.get_sources([claim.source_id])
            if not found:
                return  # removed from the configuration since it was scheduled
            source = found[0]
            report = await self._ingest(source)
            status = await self.store.source_status(source.id)
            delay = next_delay(source, report, status.consecutive_failures)
            held = self._jobs[claim.source_id].claim  # renew() may have moved the lease
            if not await self.schedule.reschedule(held, delay.seconds):
                log.warning("source %s: lease lost before rescheduling", source.id)
        except Exception:  # a job must never take the worker down; the lease will expire
            log.exception("source %s: job failed", claim.source_id)
        finally:
            self._jobs.pop(claim.source_id, None)

    async def _ingest(self, source: Source) -> IngestReport:
        report = await ingest_source(
            source,
            fetcher=self.fetcher,
            store=self.store,
            now=datetime.now(UTC),
            limits=PipelineLimits(max_entries=self.settings.max_entries_per_fetch),
        )
        if report.error:
            log.warning("source %s: %s", source.id, report.error)
        elif report.new or report.updated:
            log.info("source %s: %d new, %d updated", source.id, report.new, report.updated)
        return report

    async def renew(self) -> None:
        """Extend the leases of jobs that are still running."""
        for source_id, job in list(self._jobs.items()):
            renewed = await self.schedule.renew(job.claim, self.settings.lease_seconds)
            if renewed is None:
                log.warning("source %s: lease lost while fetching", source_id)
            else:
                job.claim = renewed

    async def heartbeat(self) -> None:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        await self._client.zadd(keys.WORKERS, {self.id: now_ms})

    async def _drain(self, grace: float = 10.0) -> None:
        tasks = [job.task for job in self._jobs.values()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        connect_timeout=settings.fetch_connect_timeout,
        read_timeout=settings.fetch_read_timeout,
        total_timeout=settings.fetch_total_timeout,
        max_bytes=settings.fetch_max_bytes,
    )
