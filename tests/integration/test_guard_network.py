"""The private-network guard end to end: HttpFetcher with real sockets against real HTTP servers
on loopback, with the address policy and (where a name must resolve somewhere chosen) an
injected resolver. Every refusal must happen before a request reaches any server."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest.errors import FetchBlocked, FetchConnectError, FetchTimeout
from ingest.fetch.guard import AddressPolicy, Resolver, system_resolver
from ingest.fetch.http import FetchLimits, HttpFetcher
from ingest.model import Validators
from tests.support import LOOPBACK, FeedServer, Reply

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
BLOCKED = (
    "; fetches to private networks are blocked (allow a network with WIREFEED_FETCH_ALLOW_NETWORKS)"
)
LIMITS = FetchLimits(connect_timeout=5, read_timeout=5, total_timeout=20)
SECOND_LOOPBACK = "127.0.0.2"
"""Where a redirecting server listens, so policies can allow it and still refuse 127.0.0.1."""


def only(*cidrs: str) -> AddressPolicy:
    return AddressPolicy(allow=tuple(ipaddress.ip_network(c) for c in cidrs))


class TableResolver:
    """Answers from a table and records each lookup; unknown names fail like getaddrinfo."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


@asynccontextmanager
async def fetcher(
    policy: AddressPolicy | None = None,
    resolver: Resolver = system_resolver,
    limits: FetchLimits = LIMITS,
) -> AsyncIterator[HttpFetcher]:
    http = HttpFetcher(limits, policy=policy, resolver=resolver)
    try:
        yield http
    finally:
        await http.aclose()


class Redirector:
    """A real HTTP server on ``host`` that answers every GET with one redirect, counting them."""

    def __init__(self, host: str, status: int, location: str) -> None:
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests += 1
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}/feed"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def redirector(status: int, location: str) -> Iterator[Redirector]:
    try:
        server = Redirector(SECOND_LOOPBACK, status, location)
    except OSError as exc:  # e.g. macOS, where only 127.0.0.1 is configured on lo0
        pytest.skip(f"cannot listen on {SECOND_LOOPBACK}: {exc}")
    try:
        yield server
    finally:
        server.stop()


def requests_of(server: FeedServer) -> dict[str, int]:
    return {path: n for path, n in server.requests.items() if n}


# ---------------------------------------------------------------------------------------------
# the default policy refuses loopback; LOOPBACK allows it


async def test_loopback_is_refused_by_default_before_any_request(server: FeedServer) -> None:
    url = server.set("/feed", Reply(FEED))
    async with fetcher() as http:
        with pytest.raises(FetchBlocked) as caught:
            await http.fetch(url, Validators())
    assert str(caught.value) == f"refused to connect: 127.0.0.1 is a loopback address{BLOCKED}"
    assert requests_of(server) == {}


async def test_loopback_is_fetched_when_allowed(server: FeedServer) -> None:
    url = server.set("/feed", Reply(FEED))
    async with fetcher(LOOPBACK) as http:
        result = await http.fetch(url, Validators())
    assert (result.status, result.body, result.url) == (200, FEED, url)
    assert requests_of(server) == {"/feed": 1}


async def test_a_numeric_alias_of_loopback_is_seen_through(server: FeedServer) -> None:
    """http://2130706433/ is 127.0.0.1 to getaddrinfo; the guard checks what it resolves to."""
    try:
        infos = socket.getaddrinfo("2130706433", server.port, type=socket.SOCK_STREAM)
    except OSError:
        infos = []
    if [info[4][0] for info in infos] != ["127.0.0.1"]:
        pytest.skip("this system's getaddrinfo does not read 2130706433 as 127.0.0.1")
    server.set("/feed", Reply(FEED))
    url = f"http://2130706433:{server.port}/feed"
    async with fetcher() as http:
        with pytest.raises(FetchBlocked) as caught:
            await http.fetch(url, Validators())
    assert str(caught.value) == (
        f"refused to connect: 2130706433 resolves to 127.0.0.1, a loopback address{BLOCKED}"
    )
    assert requests_of(server) == {}
    async with fetcher(LOOPBACK) as http:
        assert (await http.fetch(url, Validators())).status == 200
    assert requests_of(server) == {"/feed": 1}


# ---------------------------------------------------------------------------------------------
# names are checked by what they resolve to


async def test_a_public_looking_name_resolving_to_loopback_is_refused(server: FeedServer) -> None:
    server.set("/feed", Reply(FEED))
    resolver = TableResolver({"feeds.example.com": ["127.0.0.1"]})
    async with fetcher(resolver=resolver) as http:
        with pytest.raises(FetchBlocked) as caught:
            await http.fetch(f"http://feeds.example.com:{server.port}/feed", Validators())
    assert str(caught.value) == (
        f"refused to connect: feeds.example.com resolves to 127.0.0.1, a loopback address{BLOCKED}"
    )
    assert resolver.calls == [("feeds.example.com", server.port)]
    assert requests_of(server) == {}


async def test_an_allowed_name_connects_to_the_vetted_address(server: FeedServer) -> None:
    """The connection goes to the address the resolver gave (feeds.example.com exists nowhere
    else), and the request still names the host."""
    server.set("/feed", Reply(FEED))
    resolver = TableResolver({"feeds.example.com": ["127.0.0.1"]})
    url = f"http://feeds.example.com:{server.port}/feed"
    async with fetcher(LOOPBACK, resolver=resolver) as http:
        result = await http.fetch(url, Validators())
    assert (result.status, result.body, result.url) == (200, FEED, url)
    assert requests_of(server) == {"/feed": 1}
    assert server.request_headers["/feed"][0]["host"] == f"feeds.example.com:{server.port}"


@pytest.mark.parametrize(
    ("answers", "policy", "named"),
    [
        pytest.param(
            ["127.0.0.1", "10.0.0.1"],
            LOOPBACK,
            "10.0.0.1, a private-network address",
            id="allowed-then-private",
        ),
        pytest.param(
            ["127.0.0.1", "169.254.169.254"],
            LOOPBACK,
            "169.254.169.254, a link-local address",
            id="allowed-then-metadata",
        ),
        pytest.param(
            ["127.0.0.1", "::1"], LOOPBACK, "::1, a loopback address", id="allowed-then-v6-loopback"
        ),
    ],
)
async def test_any_forbidden_answer_refuses_the_name(
    server: FeedServer, answers: list[str], policy: AddressPolicy, named: str
) -> None:
    """The first answer is allowed and our server listens there: connecting to it would work,
    so only a check of every answer explains the refusal."""
    server.set("/feed", Reply(FEED))
    resolver = TableResolver({"feeds.example.com": answers})
    async with fetcher(policy, resolver=resolver) as http:
        with pytest.raises(FetchBlocked) as caught:
            await http.fetch(f"http://feeds.example.com:{server.port}/feed", Validators())
    assert str(caught.value) == (
        f"refused to connect: feeds.example.com resolves to {named}{BLOCKED}"
    )
    assert requests_of(server) == {}


# ---------------------------------------------------------------------------------------------
# every redirect hop is checked where it connects


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_to_cloud_metadata_is_refused_on_that_hop(status: int) -> None:
    with redirector(status, "http://169.254.169.254/latest/meta-data/") as first:
        async with fetcher(LOOPBACK) as http:
            with pytest.raises(FetchBlocked) as caught:
                await http.fetch(first.url, Validators())
        assert first.requests == 1
    assert str(caught.value) == (
        f"refused to connect: 169.254.169.254 is a link-local address{BLOCKED}"
    )


@pytest.mark.parametrize("status", [301, 302])
async def test_a_redirect_to_localhost_is_refused_on_that_hop(
    server: FeedServer, status: int
) -> None:
    """The first server (on 127.0.0.2) is allowed; its redirect names localhost, where a real
    server listens on 127.0.0.1 and gets nothing."""
    server.set("/feed", Reply(FEED))
    resolver = TableResolver({"localhost": ["127.0.0.1"]})
    with redirector(status, f"http://localhost:{server.port}/feed") as first:
        async with fetcher(only(f"{SECOND_LOOPBACK}/32"), resolver=resolver) as http:
            with pytest.raises(FetchBlocked) as caught:
                await http.fetch(first.url, Validators())
        assert first.requests == 1
    assert str(caught.value) == (
        f"refused to connect: localhost resolves to 127.0.0.1, a loopback address{BLOCKED}"
    )
    assert resolver.calls == [("localhost", server.port)]
    assert requests_of(server) == {}


async def test_the_same_redirect_is_followed_when_its_target_is_allowed(server: FeedServer) -> None:
    """The control for the test above: the chain works, so only the guard stopped it there."""
    server.set("/feed", Reply(FEED))
    resolver = TableResolver({"localhost": ["127.0.0.1"]})
    target = f"http://localhost:{server.port}/feed"
    with redirector(302, target) as first:
        async with fetcher(LOOPBACK, resolver=resolver) as http:
            result = await http.fetch(first.url, Validators())
        assert first.requests == 1
    assert (result.status, result.body, result.redirects) == (200, FEED, ((302, target),))
    assert requests_of(server) == {"/feed": 1}


async def test_a_redirect_to_a_loopback_literal_is_refused_on_that_hop(server: FeedServer) -> None:
    server.set("/feed", Reply(FEED))
    with redirector(308, server.url("/feed")) as first:
        async with fetcher(only(f"{SECOND_LOOPBACK}/32")) as http:
            with pytest.raises(FetchBlocked) as caught:
                await http.fetch(first.url, Validators())
        assert first.requests == 1
    assert str(caught.value) == f"refused to connect: 127.0.0.1 is a loopback address{BLOCKED}"
    assert requests_of(server) == {}


async def test_a_refusal_leaves_the_fetcher_usable(server: FeedServer) -> None:
    """The refused connection must not poison the shared pool for the next fetch."""
    url = server.set("/feed", Reply(FEED))
    with redirector(302, "http://169.254.169.254/latest/meta-data/") as first:
        async with fetcher(LOOPBACK) as http:
            for _ in range(2):
                with pytest.raises(FetchBlocked):
                    await http.fetch(first.url, Validators())
                assert (await http.fetch(url, Validators())).status == 200
    assert requests_of(server) == {"/feed": 2}


# ---------------------------------------------------------------------------------------------
# resolver failures are connection failures, with the name in the message


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(
            {},
            "cannot connect: DNS lookup of feeds.example.com failed: "
            "[Errno -2] Name or service not known",
            id="lookup-fails",
        ),
        pytest.param(
            {"feeds.example.com": []},
            "cannot connect: DNS lookup of feeds.example.com found no address",
            id="empty-answer",
        ),
    ],
)
async def test_resolver_failures(
    server: FeedServer, table: dict[str, Sequence[str]], message: str
) -> None:
    server.set("/feed", Reply(FEED))
    async with fetcher(LOOPBACK, resolver=TableResolver(table)) as http:
        with pytest.raises(FetchConnectError) as caught:
            await http.fetch(f"http://feeds.example.com:{server.port}/feed", Validators())
    assert str(caught.value) == message
    assert requests_of(server) == {}


async def test_a_resolver_that_hangs_is_a_connect_timeout(server: FeedServer) -> None:
    async def hangs(host: str, port: int) -> Sequence[str]:
        await asyncio.Event().wait()  # never set: only the connect timeout ends it
        return ["127.0.0.1"]

    limits = FetchLimits(connect_timeout=0.05, read_timeout=5, total_timeout=20)
    async with fetcher(LOOPBACK, resolver=hangs, limits=limits) as http:
        with pytest.raises(FetchTimeout) as caught:
            await http.fetch(f"http://feeds.example.com:{server.port}/feed", Validators())
    assert str(caught.value) == "connecting timed out"
    assert requests_of(server) == {}
