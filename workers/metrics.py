"""A worker's Prometheus metrics (prometheus-client), served on its own port when configured.

Every metric lives in one :class:`WorkerMetrics` with its own registry, so two workers in one
test process never share counters. Labels are small fixed sets (an outcome, an exception class
name, an item kind, a lease event); never a URL, a source, a story or an item. The reference of
every metric is in ``docs/operations.md``.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from ingest.model import IngestReport

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PARSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
ITEM_KINDS = ("new", "updated", "duplicate", "killed", "expired", "filtered")


class WorkerMetrics:
    """The counters one worker keeps; :meth:`poll` takes a poll's report."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.fetches = Counter(
            "wirefeed_fetches",
            "Polls of sources by outcome (ok, unchanged, error, deferred) and error class",
            ["outcome", "error_class"],
            registry=r,
        )
        self.fetch_seconds = Histogram(
            "wirefeed_fetch_seconds",
            "Time to fetch a source's document (the HTTP exchange)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.parse_seconds = Histogram(
            "wirefeed_parse_seconds",
            "Time to parse and normalize a fetched document",
            buckets=PARSE_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "wirefeed_items", "Items taken by what became of them", ["kind"], registry=r
        )
        self.deferrals = Counter(
            "wirefeed_politeness_deferrals",
            "Polls put off because the host's shared budget was spent (or it answered 429)",
            registry=r,
        )
        self.merges = Counter(
            "wirefeed_story_merges",
            "Stories merged into another because a stored item showed the two to be one",
            registry=r,
        )
        self.leases = Counter(
            "wirefeed_leases", "Leases on sources: claimed, renewed, lost", ["event"], registry=r
        )
        self.in_flight = Gauge(
            "wirefeed_polls_in_flight", "Polls running in this worker now", registry=r
        )
        self.reloads = Counter(
            "wirefeed_config_reloads",
            "Reloads of the sources file by this process, by result (ok, failed)",
            ["result"],
            registry=r,
        )
        self.redis_up = Gauge(
            "wirefeed_redis_up", "1 while this process reaches Redis, else 0", registry=r
        )
        for kind in ITEM_KINDS:
            self.items.labels(kind)
        for event in ("claimed", "renewed", "lost"):
            self.leases.labels(event)
        for result in ("ok", "failed"):
            self.reloads.labels(result)
        self.redis_up.set(1)

    def poll(self, report: IngestReport) -> None:
        """Count one finished poll."""
        if not self.enabled:
            return
        self.fetches.labels(report.status, report.error_class or "").inc()
        if report.status == "deferred":
            self.deferrals.inc()
        if report.merged:
            self.merges.inc(report.merged)
        if report.fetch_seconds is not None:
            self.fetch_seconds.observe(report.fetch_seconds)
        if report.parse_seconds is not None:
            self.parse_seconds.observe(report.parse_seconds)
        counts = (
            report.new,
            report.updated,
            report.duplicates,
            report.killed,
            report.expired,
            report.filtered,
        )
        for kind, count in zip(ITEM_KINDS, counts, strict=True):
            if count:
                self.items.labels(kind).inc(count)

    def running(self, count: int) -> None:
        if self.enabled:
            self.in_flight.set(count)

    def lease(self, event: str, count: int = 1) -> None:
        if self.enabled and count:
            self.leases.labels(event).inc(count)

    def serve(self, host: str, port: int) -> tuple[int, threading.Thread]:
        """Serve ``/metrics`` on ``host:port`` (0: any free port) in a daemon thread."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_port), thread
