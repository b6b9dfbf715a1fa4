"""Operations, with real processes and a real Redis of the test's own (it is stopped and killed
here, so not the session's): metrics scraped from a worker and the web app after a scripted
run, readiness before and with workers and without Redis, one log line per outage, hot reload
by editing the file and by SIGHUP (a broken file included), and `wirefeed run` healing after
``kill -9`` of its Redis and its worker, leaving no process behind when it is killed itself.

The workers read the real clock, so the feeds' item dates come from one instant read once
(:data:`NOW`); nothing here asserts on how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from ingest import keys
from tests.support import ROOT, SESSION, FeedServer, Reply, child_env, free_port, wait_for
from tests.support.sources import sources_text
from tests.support.workers import end_process
from workers.embedded import EmbeddedRedis

NOW = SESSION  # the workers read the real clock: the session instant (tests/support/clock.py)


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>ops-{n}</guid><title>{title}</title>"
        f"<description>{title}, reported by an invented wire.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=10 + n), usegmt=True)}</pubDate>"
        "</item>"
        for n, title in enumerate(titles)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Invented wire</title><link>http://127.0.0.1/</link>{items}</channel></rss>"
    ).encode()


def env_for(redis_url: str | None, sources: Path, **extra: str) -> dict[str, str]:
    env = child_env(
        WIREFEED_SOURCES=str(sources),
        WIREFEED_FETCH_ALLOW_NETWORKS="127.0.0.0/8",
        WIREFEED_HOST_CONCURRENCY="0",
        WIREFEED_HOST_PER_MINUTE="0",
        WIREFEED_LOG_FORMAT="json",
        **extra,
    )
    if redis_url:
        env["WIREFEED_REDIS_URL"] = redis_url
    return env


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            end_process(proc)


def get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return None


def status_of(url: str) -> int:
    response = get(url)
    return response.status_code if response is not None else 0


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, parsed by prometheus-client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str):  # type: ignore[no-untyped-def]
    return found.get((name, tuple(sorted(labels.items()))))


def log_events(log: Path) -> list[dict[str, object]]:
    events = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "rdata")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_metrics_readiness_and_a_redis_outage(
    own_redis: EmbeddedRedis, server: FeedServer, tmp_path: Path
) -> None:
    good = server.set("/good.rss", Reply(rss("Harbor closes", "Bridge reopens", "Rail strike")))
    bad = server.set("/bad.rss", Reply(b"upstream broke", status=500))
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_text({"good": good, "bad": bad}, interval=1))
    web_port, metrics_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    env = env_for(own_redis.url, sources, WIREFEED_HTTP_PORT=str(web_port))
    with process([sys.executable, "-m", "feeds"], env, tmp_path / "web.log") as web_proc:
        wait_for(lambda: status_of(web + "/healthz") == 200, timeout=30)
        before = get(web + "/readyz")
        assert before is not None and before.status_code == 503
        assert "no worker alive" in before.json()["reason"]

        worker_env = env | {"WIREFEED_METRICS_PORT": str(metrics_port)}
        worker_log = tmp_path / "worker.log"
        argv = [sys.executable, "-m", "workers.cli", "worker"]
        with process(argv, worker_env, worker_log) as worker:
            wait_for(lambda: status_of(web + "/readyz") == 200, timeout=30)
            wait_for(lambda: server.requests["/good.rss"] >= 2, timeout=30)
            wait_for(lambda: server.requests["/bad.rss"] >= 2, timeout=30)

            def agrees() -> bool:  # the worker's counts match what the server served
                found = samples(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text)
                ok = (value(found, "wirefeed_fetches_total", outcome="ok", error_class="") or 0) + (
                    value(found, "wirefeed_fetches_total", outcome="unchanged", error_class="") or 0
                )
                failed = value(
                    found, "wirefeed_fetches_total", outcome="error", error_class="FetchHTTPError"
                )
                return ok == server.requests["/good.rss"] and failed == server.requests["/bad.rss"]

            wait_for(agrees, timeout=30)
            found = samples(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text)
            assert value(found, "wirefeed_items_total", kind="new") == 3
            assert value(found, "wirefeed_items_total", kind="duplicate") == 0
            assert value(found, "wirefeed_fetch_seconds_count") == sum(server.requests.values())
            assert (value(found, "wirefeed_leases_total", event="claimed") or 0) >= 4
            assert value(found, "wirefeed_polls_in_flight") is not None
            assert_bounded(found)

            fleet = samples(httpx.get(web + "/metrics").text)
            assert value(fleet, "wirefeed_workers_alive") == 1
            assert value(fleet, "wirefeed_redis_up") == 1
            assert (value(fleet, "wirefeed_stories_active") or 0) >= 1
            assert value(fleet, "wirefeed_sources", state="ok") == 1
            assert value(fleet, "wirefeed_sources", state="failing") == 1
            assert value(fleet, "wirefeed_http_requests_total", family="health", status="503")
            assert value(fleet, "wirefeed_schedule_lag_seconds") is not None
            assert_bounded(fleet)

            polls = [e for e in log_events(worker_log) if e.get("event") == "poll"]
            failed_poll = next(e for e in polls if e["source"] == "bad")
            assert failed_poll["status"] == "error"
            assert failed_poll["error_class"] == "FetchHTTPError"
            assert "500" in str(failed_poll["error"])
            first_good = next(e for e in polls if e["source"] == "good")
            assert (first_good["status"], first_good["new"], first_good["source_host"]) == (
                "ok",
                3,
                "127.0.0.1",
            )
            assert {"duration_ms", "updated", "duplicate", "host", "pid"} <= first_good.keys()

            own_redis.stop()  # Redis goes away under both
            wait_for(lambda: status_of(web + "/readyz") == 503, timeout=30)
            assert "cannot reach Redis" in get(web + "/readyz").json()["reason"]  # type: ignore[union-attr]
            for path in ("/", "/feeds/stories.atom", "/feeds/stories.json", "/stories/x"):
                response = get(web + path)
                assert response is not None
                assert response.status_code == 503, path
                assert response.headers["retry-after"] == "5", path
            assert status_of(web + "/healthz") == 200
            down = samples(httpx.get(web + "/metrics").text)
            assert value(down, "wirefeed_redis_up") == 0

            cli = subprocess.run(
                [sys.executable, "-m", "workers.cli", "sources", "status"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert cli.returncode == 1
            assert cli.stdout == ""
            assert cli.stderr.startswith(f"wirefeed: cannot reach Redis at {own_redis.url}")
            assert cli.stderr.count("\n") == 1, cli.stderr

            wait_for(lambda: "lost Redis" in worker_log.read_text(), timeout=30)
            polled = sum(server.requests.values())
            own_redis.start()  # back, from its append-only file
            wait_for(lambda: status_of(web + "/readyz") == 200, timeout=60)
            wait_for(lambda: sum(server.requests.values()) > polled, timeout=30)
            wait_for(lambda: "is back" in worker_log.read_text(), timeout=30)
            assert worker.poll() is None
        worker_text = worker_log.read_text()
        assert worker_text.count("lost Redis") == 1
        assert "Traceback" not in worker_text
        web_text = (tmp_path / "web.log").read_text()
        assert web_text.count("lost Redis") == 1
        assert "Traceback" not in web_text
        assert web_proc.poll() is None


def assert_bounded(found: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
    """No URL, source, story or item ever becomes a label."""
    for _name, labels in found:
        for _label, text in labels:
            assert "/" not in text and "127.0.0.1" not in text and "good" not in text, labels


def test_worker_started_while_redis_is_down_waits_for_it(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.set("/w.rss", Reply(rss("Ferry resumes")))
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_text({"w": url}))
    later = EmbeddedRedis(tmp_path / "later")
    log = tmp_path / "worker.log"
    argv = [sys.executable, "-m", "workers.cli", "worker"]
    with process(argv, env_for(later.url, sources), log) as worker:
        wait_for(lambda: "waiting for Redis" in log.read_text(), timeout=30)
        assert worker.poll() is None
        with later:
            wait_for(lambda: server.requests["/w.rss"] >= 1, timeout=60)
            assert worker.poll() is None
    assert log.read_text().count("waiting for Redis") == 1


def test_hot_reload_by_edit_and_sighup_refuses_a_broken_file(
    own_redis: EmbeddedRedis, server: FeedServer, tmp_path: Path
) -> None:
    a = server.set("/a.rss", Reply(rss("Storm warning")))
    b = server.set("/b.rss", Reply(rss("Storm passes")))
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_text({"a": a}))
    client = redis.Redis.from_url(own_redis.url, decode_responses=True)
    log = tmp_path / "worker.log"
    argv = [sys.executable, "-m", "workers.cli", "worker"]
    with process(argv, env_for(own_redis.url, sources), log) as worker:
        wait_for(lambda: server.requests["/a.rss"] >= 1, timeout=30)

        sources.write_text(sources_text({"a": a, "b": b}))  # an edit: b is scheduled
        wait_for(lambda: server.requests["/b.rss"] >= 1, timeout=30)
        assert client.smembers(keys.SOURCES) == {"a", "b"}

        broken = sources_text({"a": a, "b": b}).replace("interval: 1", "interval: soon", 1)
        sources.write_text(broken)
        check = subprocess.run(
            [sys.executable, "-m", "workers.cli", "sources", "check", str(sources)],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert check.returncode == 1
        message = check.stderr.strip()
        assert 'source "a": interval' in message
        wait_for(lambda: client.hget(keys.RELOADS, "result") == "refused", timeout=30)
        assert client.hget(keys.RELOADS, "message") == message
        refusals = [e for e in log_events(log) if e.get("event") == "reload_refused"]
        assert refusals and message in str(refusals[0]["msg"])
        polled = server.requests["/a.rss"], server.requests["/b.rss"]
        wait_for(lambda: server.requests["/a.rss"] > polled[0], timeout=30)  # still running
        wait_for(lambda: server.requests["/b.rss"] > polled[1], timeout=30)

        # SIGHUP with the file fixed and `a` removed: applied, and the worker lives on.
        sources.write_text(sources_text({"b": b}))
        wait_for(lambda: client.hget(keys.RELOADS, "result") == "ok", timeout=30)
        reloads = int(client.hget(keys.RELOADS, "ok") or 0)
        worker.send_signal(signal.SIGHUP)
        wait_for(lambda: int(client.hget(keys.RELOADS, "ok") or 0) > reloads, timeout=30)
        assert worker.poll() is None
        assert client.smembers(keys.SOURCES) == {"b"}
        assert client.zscore(keys.SCHEDULE, "a") is None
        gone = server.requests["/a.rss"]
        wait_for(lambda: server.requests["/b.rss"] > polled[1] + 2, timeout=30)
        assert server.requests["/a.rss"] <= gone + 1  # at most one poll already under way
    client.close()


def children_of(pid: int) -> dict[str, int]:
    """The processes ``wirefeed run`` started, by what they are (from /proc; of several
    workers, one)."""
    return {what: pids[-1] for what, pids in processes_of(pid).items()}


def processes_of(pid: int) -> dict[str, list[int]]:
    """The processes ``wirefeed run`` started, by what they are (from /proc)."""
    found: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != pid or not alive(int(entry.name)):
            continue
        what = (
            "redis"
            if "valkey-server" in cmdline
            else "worker"
            if "workers.cli worker" in cmdline
            else "web"
            if "-m feeds" in cmdline
            else None
        )
        if what is not None:
            found.setdefault(what, []).append(int(entry.name))
    return found


def test_run_heals_after_kill_9_and_leaves_nothing_behind_when_killed_itself(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.set("/r.rss", Reply(rss("Levee holds")))
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_text({"r": url}))
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    # The worker is killed just after a poll began: the lease of that poll (the killed
    # worker's) must run out before the new worker polls again, so it is short here.
    env = env_for(
        None,
        sources,
        WIREFEED_HTTP_PORT=str(port),
        WIREFEED_DATA_DIR=str(tmp_path / "var"),
        WIREFEED_LEASE_SECONDS="5",
        WIREFEED_RUN_WORKERS="1",  # the one worker killed is the one that must come back
    )
    log = tmp_path / "run.log"
    recorded: set[int] = set()
    with process([sys.executable, "-m", "workers.cli", "run"], env, log) as run:
        recorded.add(run.pid)
        parts = wait_for(lambda: len(children_of(run.pid)) == 3 and children_of(run.pid), 60)
        assert isinstance(parts, dict)
        recorded |= set(parts.values())
        wait_for(lambda: status_of(web + "/readyz") == 200, timeout=60)

        os.kill(parts["redis"], signal.SIGKILL)
        wait_for(lambda: "embedded Redis is back" in log.read_text(), timeout=60)
        wait_for(lambda: status_of(web + "/readyz") == 200, timeout=60)
        served = server.requests["/r.rss"]
        wait_for(lambda: server.requests["/r.rss"] > served, timeout=60)

        os.kill(parts["worker"], signal.SIGKILL)
        wait_for(lambda: "the worker process exited" in log.read_text(), timeout=60)
        healed = wait_for(
            lambda: (
                children_of(run.pid).get("worker") not in (None, parts["worker"])
                and children_of(run.pid)
            ),
            timeout=60,
        )
        assert isinstance(healed, dict)
        recorded |= set(healed.values())
        served = server.requests["/r.rss"]
        wait_for(lambda: server.requests["/r.rss"] > served, timeout=60)
        assert run.poll() is None

        os.kill(run.pid, signal.SIGKILL)  # the supervisor itself
        run.wait(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in recorded), timeout=60)
    assert "Traceback" not in log.read_text()


def test_run_starts_a_worker_per_core_as_asked_and_stops_them_all(
    server: FeedServer, tmp_path: Path
) -> None:
    url = server.set("/r.rss", Reply(rss("Levee holds")))
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_text({"r": url}))
    port = free_port()
    env = env_for(
        None,
        sources,
        WIREFEED_HTTP_PORT=str(port),
        WIREFEED_DATA_DIR=str(tmp_path / "var"),
        WIREFEED_RUN_WORKERS="2",
    )
    log = tmp_path / "run.log"
    with process([sys.executable, "-m", "workers.cli", "run"], env, log) as run:
        found = wait_for(lambda: len(processes_of(run.pid).get("worker", [])) == 2 and True, 60)
        assert found
        workers = processes_of(run.pid)["worker"]
        wait_for(lambda: status_of(f"http://127.0.0.1:{port}/readyz") == 200, timeout=60)
        wait_for(lambda: server.requests["/r.rss"] > 0, timeout=60)
        run.send_signal(signal.SIGINT)
        run.wait(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in workers), timeout=60)
    assert "Traceback" not in log.read_text()
