"""The web app's Prometheus metrics (prometheus-client): its own requests, and fleet gauges
read from Redis at each scrape (see :mod:`feeds.fleet`).

Request labels are the route family (a fixed set: feed, index, story, events, admin, ops,
health, metrics, other) and the status code; never a path, story or source. The reference of
every metric is in ``docs/operations.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from feeds.fleet import Fleet

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
FAMILIES = (
    ("/feeds/", "feed"),
    ("/stories/", "story"),
    ("/events", "events"),
    ("/admin/", "admin"),
    ("/ops", "ops"),
    ("/healthz", "health"),
    ("/readyz", "health"),
    ("/metrics", "metrics"),
)
CONTENT_TYPE = CONTENT_TYPE_LATEST

ASGIApp = Callable[[dict[str, Any], Any, Any], Any]


def family(path: str) -> str:
    """The route family of ``path``: a label from a small fixed set."""
    if path == "/":
        return "index"
    for prefix, name in FAMILIES:
        if path.startswith(prefix):
            return name
    return "other"


class _Live(Collector):
    """Values read from objects at scrape time (cache counters, SSE clients)."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Any]:
        values = self.read()
        hits = CounterMetricFamily(
            "wirefeed_render_cache", "Feed documents answered, by where from", labels=["level"]
        )
        for level in ("local", "redis", "render"):
            hits.add_metric([level], values.get(level, 0.0))
        yield hits
        yield GaugeMetricFamily(
            "wirefeed_sse_clients", "Clients connected to /events now", value=values["sse"]
        )


class WebMetrics:
    """Counters of one web process and the fleet gauges it reports."""

    def __init__(self, read_live: Callable[[], dict[str, float]]) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "wirefeed_http_requests", "HTTP requests by route family and status",
            ["family", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "wirefeed_http_request_seconds", "Time to answer, by route family", ["family"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.not_modified = Counter(
            "wirefeed_http_not_modified", "Feed requests answered 304 Not Modified", registry=r
        )
        self.redis_up = Gauge("wirefeed_redis_up", "1 while this process reaches Redis", registry=r)
        self.sources = Gauge(
            "wirefeed_sources", "Configured sources by state", ["state"], registry=r
        )
        self.lag = Gauge(
            "wirefeed_schedule_lag_seconds",
            "How overdue the most overdue source is (0: none waiting)",
            registry=r,
        )
        self.stories = Gauge("wirefeed_stories_active", "Stories in the index", registry=r)
        self.workers = Gauge(
            "wirefeed_workers_alive", "Workers with a heartbeat in the last 30 s", registry=r
        )
        self.reloads = Gauge(
            "wirefeed_fleet_config_reloads",
            "Configuration reloads across the fleet, by result (ok, failed)",
            ["result"],
            registry=r,
        )
        self.reload_failed = Gauge(
            "wirefeed_config_last_reload_failed",
            "1 when the last reload of the sources file was refused",
            registry=r,
        )
        r.register(_Live(read_live))
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def fleet(self, fleet: Fleet | None) -> None:
        """Set the fleet gauges from ``fleet`` (``None``: Redis did not answer)."""
        self.redis_up.set(0 if fleet is None else 1)
        if fleet is None:
            return
        for state, count in fleet.by_state().items():
            self.sources.labels(state).set(count)
        self.lag.set(fleet.lag_seconds)
        self.stories.set(fleet.stories)
        self.workers.set(sum(1 for w in fleet.workers if w["alive"]))
        self.reloads.labels("ok").set(fleet.reloads.get("ok", 0))
        self.reloads.labels("failed").set(fleet.reloads.get("failed", 0))
        self.reload_failed.set(1 if fleet.reloads.get("result") == "refused" else 0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def observe(self, path: str, status: int, seconds: float) -> None:
        name = family(path)
        found = self._children.get((name, status))
        if found is None:
            found = (self.requests.labels(name, str(status)), self.latency.labels(name))
            self._children[(name, status)] = found
        found[0].inc()
        found[1].observe(seconds)
        if status == 304:
            self.not_modified.inc()


class MetricsMiddleware:
    """Pure ASGI: time each HTTP request and count it by family and status."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], WebMetrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics = self.metrics()
            if metrics is not None:
                metrics.observe(scope["path"], status, time.perf_counter() - started)
