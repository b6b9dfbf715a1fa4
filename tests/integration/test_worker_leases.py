"""A worker's leases against a real Redis: renewals and the settling of finished polls.

The worker is driven in-process (its clients set up by hand, no scheduler, no fetches), so a
renewal's round trip can be held open at will. The only clocks are Redis ``TIME`` (the
schedule scripts) and the delays the worker computes; no date is fixed by the test.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis

from config.settings import Settings
from config.sources import Source
from ingest import compose, keys
from ingest.model import IngestReport, SourceStatus
from ingest.store.schedule import Claim, RedisSchedule
from workers.worker import Worker, _Job


def in_process_worker(client: aioredis.Redis, redis_url: str) -> Worker:
    settings = Settings(redis_url=redis_url, lease_seconds=120.0)
    worker = Worker(settings, redis_url)
    worker._client = client
    worker.store = compose.store(client, settings)
    worker.schedule = RedisSchedule(client)
    return worker


async def server_ms(client: aioredis.Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def test_a_poll_settled_while_its_lease_is_being_renewed_is_rescheduled(
    rclient: aioredis.Redis,
    clean_redis: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The renewal reaches Redis (the lease, which is the claim's token, changes) before the
    poll's settle, and the worker takes its reply only after the poll finished: the settle
    must carry the renewed lease. With the replaced one it was refused ("lease lost before
    rescheduling") and the source sat out the whole renewed lease, two minutes, unpolled."""
    worker = in_process_worker(rclient, clean_redis)
    source = Source(id="wire", url="http://127.0.0.1:9/feed", interval=1, max_interval=2)
    await worker.schedule.sync([source])
    [claim] = await worker.schedule.claim(1, worker.settings.lease_seconds)
    job = _Job(claim, source, SourceStatus(source.id))
    worker._running[source.id] = job

    renew = worker.schedule.renew
    in_redis, answer = asyncio.Event(), asyncio.Event()

    async def renew_with_a_late_reply(held: Claim, lease_seconds: float) -> Claim | None:
        renewed = await renew(held, lease_seconds)
        in_redis.set()
        await answer.wait()
        return renewed

    monkeypatch.setattr(worker.schedule, "renew", renew_with_a_late_reply)
    caplog.set_level(logging.WARNING, logger="wirefeed.worker")
    renewing = asyncio.create_task(worker._renew())
    await in_redis.wait()
    # The poll ends now: off the running jobs, its report waits for the flush.
    del worker._running[source.id]
    worker._finished.append((job, IngestReport(source.id, status="unchanged", http_status=304)))
    flushing = asyncio.create_task(worker._flush())
    await asyncio.wait([flushing], timeout=1.0)  # room for a settle sent with the old lease
    answer.set()
    await asyncio.gather(renewing, flushing)

    due = await rclient.zscore(keys.SCHEDULE, source.id)
    assert due is not None
    assert due < await server_ms(rclient) + 60_000  # its next poll, not the end of a lease
    assert "lease lost" not in caplog.text


async def test_a_job_the_scheduler_cancels_as_the_worker_stops_ends_quietly() -> None:
    """APScheduler cancels running jobs when it shuts down and logs a cancelled one as a
    crash, with a traceback: a job cancelled while the worker stops ends quietly instead."""
    worker = Worker(Settings(), "redis://127.0.0.1:1/0")  # connects only when it runs
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.sleep(60)

    job = worker._job(work)
    assert job.__name__ == "work"
    running = asyncio.create_task(job())
    await started.wait()
    running.cancel()  # not stopping: a cancel is a cancel
    with pytest.raises(asyncio.CancelledError):
        await running
    started.clear()
    stopping = asyncio.create_task(job())
    await started.wait()
    worker._stopping = True
    stopping.cancel()
    await stopping
    assert not stopping.cancelled()
