"""Pure pieces of operations: the documented metrics and alert rules, log formats, the
supervisor's backoff, outage classification, route families, and HTML pages that are not
feeds."""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError

from config import logformat
from feeds.metrics import WebMetrics, family
from ingest.errors import ParseError, StoreError
from ingest.parse import parse
from ingest.parse.discover import advertised, looks_like_html
from ingest.store.outage import redact, unreachable
from tests.support import ROOT
from workers.metrics import WorkerMetrics
from workers.supervisor import MAX_CRASHES, Crashes

DOC = (ROOT / "docs" / "operations.md").read_text()
RULES = ROOT / "docs" / "alerts.yml"


def registered() -> set[str]:
    names = set()
    for registry in (WorkerMetrics().registry, WebMetrics(lambda: {"sse": 0}).registry):
        for metric in registry.collect():
            suffix = "_total" if metric.type == "counter" else ""
            names.add(metric.name + suffix)
    return names


def test_every_metric_is_documented() -> None:
    missing = [name for name in sorted(registered()) if f"`{name}`" not in DOC]
    assert missing == []


def test_alert_rules_have_the_shape_prometheus_expects() -> None:
    doc = yaml.safe_load(RULES.read_text())
    rules = [rule for group in doc["groups"] for rule in group["rules"]]
    assert {r["alert"] for r in rules} >= {
        "WirefeedNoWorkerAlive",
        "WirefeedSourcesDead",
        "WirefeedScheduleLag",
    }
    known = registered() | {n + s for n in registered() for s in ("_bucket", "_count", "_sum")}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"[0-9]+[smh]", rule["for"]), rule
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert rule["annotations"]["summary"]
        for metric in re.findall(r"wirefeed_[a-z_]+", rule["expr"]):
            assert metric in known, (rule["alert"], metric)


def test_promtool_accepts_the_alert_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus)")
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def record(msg: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("wirefeed.test")
    return logger.makeRecord(
        "wirefeed.test", logging.WARNING, __file__, 1, msg, (), None, extra=extra
    )


def test_json_lines_carry_the_extra_fields_on_one_line() -> None:
    try:
        raise ValueError("two\nlines")
    except ValueError:
        rec = record("source %s failed", event="poll", source="wire-a", new=2)
        rec.exc_info = sys.exc_info()
    line = logformat.JsonFormatter().format(rec)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "warning"
    assert (data["event"], data["source"], data["new"]) == ("poll", "wire-a", 2)
    assert "ValueError: two\nlines" in data["exc"]
    assert {"ts", "logger", "msg", "host", "pid"} <= data.keys()


def test_console_lines_read_as_key_value() -> None:
    line = logformat.ConsoleFormatter().format(record("polled", event="poll", error="a b"))
    assert line.endswith('polled error="a b"')


@pytest.mark.parametrize(
    ("fmt", "json_expected"),
    [pytest.param("json", True, id="json"), pytest.param("auto", True, id="auto-not-a-tty"),
     pytest.param("console", False, id="console")],
)  # fmt: skip
def test_configure_picks_the_format(fmt: str, json_expected: bool) -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logformat.configure("INFO", fmt, out)
        logging.getLogger("wirefeed.test").info("hello", extra={"event": "x"})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert out.getvalue().startswith("{") is json_expected


def test_a_child_that_keeps_crashing_is_given_up() -> None:
    crashes = Crashes()
    waits = [crashes.backoff(float(n)) for n in range(MAX_CRASHES)]
    assert waits[:-1] == [0.5, 1.0, 2.0, 4.0]
    assert waits[-1] is None


def test_crashes_far_apart_are_forgiven() -> None:
    crashes = Crashes()
    assert [crashes.backoff(n * 100.0) for n in range(10)] == [0.5] * 10


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(RedisConnectionError("refused"), True, id="refused"),
        pytest.param(BusyLoadingError("loading"), True, id="loading-aof"),
        pytest.param(ConnectionResetError(), True, id="reset"),
        pytest.param(ValueError("bug"), False, id="a-bug"),
    ],
)
def test_unreachable_tells_an_outage_from_a_bug(exc: Exception, expected: bool) -> None:
    assert unreachable(exc) is expected
    try:
        raise StoreError("redis: ...") from exc
    except StoreError as wrapped:
        assert unreachable(wrapped) is expected


def test_redact_hides_the_password() -> None:
    assert redact("redis://:s3cret@db:6379/0") == "redis://:***@db:6379/0"
    assert redact("redis://u:s3cret@db/0") == "redis://u:***@db/0"
    assert redact("unix:///tmp/r.sock") == "unix:///tmp/r.sock"


@pytest.mark.parametrize(
    ("path", "name"),
    [("/", "index"), ("/feeds/stories.atom", "feed"), ("/stories/abc", "story"),
     ("/events", "events"), ("/ops/stream", "ops"), ("/readyz", "health"),
     ("/admin/sources", "admin"), ("/favicon.ico", "other")],
)  # fmt: skip
def test_route_families_are_a_fixed_set(path: str, name: str) -> None:
    assert family(path) == name


PAGE = b"""<!doctype html><html><head><title>News</title>
<link rel="alternate" type="application/rss+xml" title="Top stories" href="/rss/top.xml">
<link rel="alternate" type="application/atom+xml" href="https://news.example/atom">
<link rel="stylesheet" href="/s.css"></head><body><p>Hello</p></body></html>"""


def test_an_html_page_names_the_feeds_it_advertises() -> None:
    found = advertised(PAGE, "https://news.example/world/")
    assert [(f.url, f.kind, f.title) for f in found] == [
        ("https://news.example/rss/top.xml", "rss", "Top stories"),
        ("https://news.example/atom", "atom", None),
    ]
    with pytest.raises(ParseError) as caught:
        parse(PAGE, {"content-type": "text/html", "content-location": "https://news.example/"})
    assert str(caught.value) == (
        "an HTML page, not a feed; it advertises: https://news.example/rss/top.xml (rss), "
        "https://news.example/atom (atom)"
    )


@pytest.mark.parametrize(
    ("body", "media", "html"),
    [
        pytest.param(b"<!DOCTYPE html><p>x", "", True, id="doctype"),
        pytest.param(b"<html><p>x", "text/plain", True, id="html-root"),
        pytest.param(b"<?xml version='1.0'?><rss/>", "text/html", False, id="rss-labelled-html"),
        pytest.param(b"<rss version='2.0'/>", "text/html", False, id="bare-rss-labelled-html"),
        pytest.param(b"<div>x</div>", "text/html; charset=utf-8", True, id="labelled-html"),
        pytest.param(b'{"version": "x"}', "text/html", False, id="json"),
    ],
)
def test_looks_like_html(body: bytes, media: str, html: bool) -> None:
    assert looks_like_html(body, {"Content-Type": media}) is html
