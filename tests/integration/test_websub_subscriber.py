"""The websub.rocks subscriber tests (../shared/corpora/websub-rocks, app/Subscriber.php, cases
100-302), ported as loopback tests: a publisher and a hub that behave as websub.rocks's do run
here on 127.0.0.1, our app serves the callback, and the subscriber discovers, subscribes,
answers verification and takes (or refuses) content distributions.

Like websub.rocks's debug hub, this hub verifies synchronously, inside the subscription
request, and answers 202 only when our callback echoed the challenge.

Plus what websub.rocks cannot check: renewal before the lease ends, and falling back to
polling when the hub refuses. Times derive from NOW where the product is given ``now``; where
the app reads the real clock (verification leases, ingesting a push), the test's times derive
from one reading of it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis

from config.sources import Source
from ingest.discovery import discover
from ingest.fetch.http import HttpFetcher
from ingest.fetch.subscriber import RedisSubscriber
from ingest.model import Validators
from ingest.store.redis_store import RedisStore

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
TOKEN = "t0k3n"


@dataclass
class Rocks:
    """websub.rocks's subscriber-test publisher and hub, on loopback."""

    base: str = ""
    subscribers: dict[int, dict[str, str]] = field(default_factory=dict)
    outcomes: dict[int, str] = field(default_factory=dict)

    def topic(self, num: int) -> str:
        return f"{self.base}/blog/{num}/{TOKEN}"

    def hub(self, num: int) -> str:
        return f"{self.topic(num)}/hub"

    def expected_topic(self, num: int) -> str:
        if num in (201, 202):
            return self.topic(num) + "?redirect=complete"
        if num == 200:
            return self.topic(num) + "?self=other"
        return self.topic(num)

    def publish(self, num: int, secret_mode: str) -> tuple[int, bytes]:
        """Send one new post to the subscriber of ``num`` (websub.rocks Hub::publish)."""
        sub = self.subscribers[num]
        # The callback ingests at the real time, so the posts are dated from one reading of it.
        body = atom_feed(self.topic(num), self.hub(num), posts=2, at=datetime.now(UTC))
        headers = {"Content-Type": "application/atom+xml"}
        if secret_mode != "omit":
            key = sub["secret"] if secret_mode == "valid" else "invalid"
            mac = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={mac}"
        request = urllib.request.Request(sub["callback"], data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, body
        except urllib.error.HTTPError as exc:
            return exc.code, body


def atom_feed(self_url: str, hub: str, posts: int = 1, at: datetime = NOW) -> bytes:
    entries = "".join(
        f"<entry><id>{self_url}#quote-{i}</id><title>Quote {i} of the rocks blog</title>"
        f"<updated>{(at - timedelta(minutes=i)).isoformat()}</updated>"
        f"<content type='html'>&lt;p&gt;Sample quote number {i}.&lt;/p&gt;</content>"
        f"<author><name>Rocks</name></author></entry>"
        for i in range(posts)
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>WebSub Rocks!</title><link href='{self_url}' rel='self'/>"
        f"<link href='{hub}' rel='hub'/><id>{self_url}</id>"
        f"<updated>{at.isoformat()}</updated>{entries}</feed>"
    ).encode()


def rss_feed(self_url: str, hub: str) -> bytes:
    return (
        "<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'>"
        f"<channel><title>WebSub Rocks!</title><link>{self_url}</link><description>d</description>"
        f"<atom:link href='{self_url}' rel='self'/><atom:link href='{hub}' rel='hub'/>"
        "<item><guid>q-1</guid><title>Quote 1</title><description>One.</description></item>"
        "</channel></rss>"
    ).encode()


def html_page(link_tags: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>WebSub Rocks!</title>{link_tags}</head>"
        "<body><div class='h-entry'>A quote.</div></body></html>"
    ).encode()


def _handler(rocks: Rocks) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # the topics (Subscriber::get_feed)
            parts = urlsplit(self.path)
            num = int(parts.path.split("/")[2])
            query = parse_qs(parts.query)
            topic, hub = rocks.topic(num), rocks.hub(num)
            links = [("Link", f'<{topic}>; rel="self"'), ("Link", f'<{hub}>; rel="hub"')]
            html = [("Content-Type", "text/html")]
            if num in (100, 205, 300, 301, 302):
                self._send(200, html + links, html_page())
            elif num == 101:
                tags = f'<link rel="hub" href="{hub}"><link rel="self" href="{topic}">'
                self._send(200, html, html_page(tags))
            elif num == 102:
                self._send(200, [("Content-Type", "text/xml")], atom_feed(topic, hub))
            elif num == 103:
                self._send(200, [("Content-Type", "text/xml")], rss_feed(topic, hub))
            elif num == 104:  # the document names a wrong hub: the header must win
                body = atom_feed(topic, hub + "?error=wrongtag")
                self._send(200, [("Content-Type", "text/xml"), *links], body)
            elif num == 200:
                other = topic + "?self=other"
                headers = [("Link", f'<{other}>; rel="self"'), ("Link", f'<{hub}>; rel="hub"')]
                self._send(200, html + headers, html_page())
            elif num in (201, 202):
                done = topic + "?redirect=complete"
                if "redirect" not in query:
                    self._send(302 if num == 201 else 301, [("Location", done)])
                else:
                    headers = [("Link", f'<{done}>; rel="self"'), ("Link", f'<{hub}>; rel="hub"')]
                    self._send(200, html + headers, html_page())
            elif num in (203, 204):
                moved = hub + "?redirect=true"
                headers = [("Link", f'<{topic}>; rel="self"'), ("Link", f'<{moved}>; rel="hub"')]
                self._send(200, html + headers, html_page())
            else:
                self._send(404, [])

        def do_POST(self) -> None:  # the hub (Subscriber::hub)
            parts = urlsplit(self.path)
            num = int(parts.path.split("/")[2])
            query = parse_qs(parts.query)
            length = int(self.headers.get("Content-Length", "0"))
            params = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            status, body = self._hub(num, query, params)
            if status in (307, 308):
                self._send(status, [("Location", rocks.hub(num))])
            else:
                self._send(status, [("Content-Type", "text/plain")], body.encode())

        def _hub(
            self, num: int, query: dict[str, list[str]], params: dict[str, str]
        ) -> tuple[int, str]:
            if params.get("hub.mode") != "subscribe":
                return 400, "invalid_mode"
            if "hub.callback" not in params or "hub.topic" not in params:
                return 400, "missing_params"
            if params["hub.topic"] != rocks.expected_topic(num):
                return 400, "invalid_topic"
            if len(params.get("hub.secret", "")) > 200:
                return 400, "invalid_secret"
            if num == 104 and query.get("error") == ["wrongtag"]:
                return 400, "wrong_discovery_priority"
            if num in (203, 204) and query.get("redirect") == ["true"]:
                return (307 if num == 203 else 308), ""
            if num in (301, 302) and "hub.secret" not in params:
                return 400, "missing_secret"
            rocks.subscribers[num] = {
                "callback": params["hub.callback"],
                "secret": params.get("hub.secret", ""),
            }
            challenge = secrets.token_hex(10)
            topic = params["hub.topic"] + ("-wrong" if num == 205 else "")
            code, echoed = verify_callback(params["hub.callback"], topic, challenge)
            if num == 205:
                rocks.outcomes[num] = "rejected" if code == 404 else f"not rejected: {code}"
                return 200, rocks.outcomes[num]
            if 200 <= code < 300 and echoed == challenge:
                rocks.outcomes[num] = "verified"
                return 202, ""
            rocks.outcomes[num] = f"verification failed: {code}"
            return 400, "verification_failed"

    return Handler


def verify_callback(callback: str, topic: str, challenge: str) -> tuple[int, str]:
    query = urlencode(
        {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.challenge": challenge,
            "hub.lease_seconds": "3600",
        }
    )
    try:
        with urllib.request.urlopen(f"{callback}?{query}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.fixture
def rocks() -> Iterator[Rocks]:
    state = Rocks()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def subscriber(rclient: aioredis.Redis, app_url: str) -> AsyncIterator[RedisSubscriber]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        yield RedisSubscriber(rclient, http=http, callback_base=app_url)


async def discover_and_subscribe(
    rocks: Rocks, num: int, fetcher: HttpFetcher, subscriber: RedisSubscriber, store: RedisStore
) -> str:
    """What a poll of the topic does: fetch (redirects followed), discover, subscribe."""
    await store.put_sources([Source(id=f"rocks-{num}", url=rocks.topic(num), title="Rocks")])
    result = await fetcher.fetch(rocks.topic(num), Validators())
    found = discover(result.url, result.headers, result.body)
    assert found is not None, "no hub discovered"
    return await subscriber.ensure(f"rocks-{num}", found.hubs, found.topic, NOW)


@pytest.mark.parametrize(
    "num",
    [
        pytest.param(100, id="100-http-header-discovery"),
        pytest.param(101, id="101-html-tag-discovery"),
        pytest.param(102, id="102-atom-feed-discovery"),
        pytest.param(103, id="103-rss-feed-discovery"),
        pytest.param(104, id="104-discovery-priority"),
        pytest.param(200, id="200-different-rel-self"),
        pytest.param(201, id="201-temporarily-redirected-topic"),
        pytest.param(202, id="202-permanently-redirected-topic"),
        pytest.param(203, id="203-temporarily-redirected-hub"),
        pytest.param(204, id="204-permanently-redirected-hub"),
    ],
)
async def test_discovery_and_subscription_cases(
    rocks: Rocks,
    num: int,
    fetcher: HttpFetcher,
    subscriber: RedisSubscriber,
    store: RedisStore,
) -> None:
    state = await discover_and_subscribe(rocks, num, fetcher, subscriber, store)
    assert (state, rocks.outcomes.get(num)) == ("active", "verified")
    sub = await subscriber.get(f"rocks-{num}")
    assert sub is not None and sub.topic == rocks.expected_topic(num)
    assert sub.lease_until is not None and sub.lease_until > NOW


async def test_205_rejects_a_verification_for_a_topic_we_did_not_ask_for(
    rocks: Rocks, fetcher: HttpFetcher, subscriber: RedisSubscriber, store: RedisStore
) -> None:
    state = await discover_and_subscribe(rocks, 205, fetcher, subscriber, store)
    assert rocks.outcomes[205] == "rejected"
    assert state == "pending"  # nothing we asked for was verified


@pytest.mark.parametrize(
    ("num", "mode", "accepted"),
    [
        pytest.param(300, "valid", True, id="300-2xx-for-successful-delivery"),
        pytest.param(301, "invalid", False, id="301-rejects-invalid-signatures"),
        pytest.param(302, "omit", False, id="302-rejects-distribution-without-signature"),
    ],
)
async def test_content_distribution_cases(
    rocks: Rocks,
    num: int,
    mode: str,
    accepted: bool,
    fetcher: HttpFetcher,
    subscriber: RedisSubscriber,
    store: RedisStore,
) -> None:
    assert await discover_and_subscribe(rocks, num, fetcher, subscriber, store) == "active"
    assert rocks.subscribers[num]["secret"]  # we always subscribe with a secret
    status, _ = rocks.publish(num, mode)
    titles = {e.title for s in await store.recent_stories(10) for e in s.entries}
    if accepted:
        assert 200 <= status < 300
        assert {"Quote 0 of the rocks blog", "Quote 1 of the rocks blog"} <= titles
    else:
        assert status == 403
        assert not titles


async def test_a_subscription_is_renewed_before_its_lease_ends(
    rocks: Rocks, fetcher: HttpFetcher, subscriber: RedisSubscriber, store: RedisStore
) -> None:
    assert await discover_and_subscribe(rocks, 100, fetcher, subscriber, store) == "active"
    first = await subscriber.get("rocks-100")
    assert first is not None and first.lease_until is not None
    # The hub granted 3600 s from the real clock; renewal is due RENEW_MARGIN before it ends.
    assert await subscriber.renew_due(first.lease_until - timedelta(hours=1)) == 0
    assert await subscriber.renew_due(first.lease_until - timedelta(minutes=5)) == 1
    again = await subscriber.get("rocks-100")
    assert again is not None and again.state == "active" and again.token != first.token


async def test_a_refusing_hub_leaves_the_source_to_polling(
    rocks: Rocks, subscriber: RedisSubscriber
) -> None:
    # websub.rocks's hub refuses a topic it does not serve (invalid_topic).
    state = await subscriber.subscribe("elsewhere", rocks.hub(100), "http://127.0.0.1:9/x", NOW)
    sub = await subscriber.get("elsewhere")
    assert state == "refused" and sub is not None and not sub.usable(NOW)
    assert sub.error is not None and "400" in sub.error and "invalid_topic" in sub.error


async def test_a_silent_hub_is_set_aside(
    rocks: Rocks, fetcher: HttpFetcher, subscriber: RedisSubscriber, store: RedisStore
) -> None:
    assert await discover_and_subscribe(rocks, 100, fetcher, subscriber, store) == "active"
    await subscriber.mark_silent("rocks-100", "a poll found unpushed news")
    sub = await subscriber.get("rocks-100")
    assert sub is not None and sub.state == "silent" and not sub.usable(NOW)
