"""ingest.fetch.http.HttpFetcher over httpx.MockTransport: headers sent, answers read, limits kept,
and every httpx failure translated into ingest.errors. (MockTransport is the one mock we use.)
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from ingest.errors import (
    FetchConnectError,
    FetchError,
    FetchHTTPError,
    FetchRedirectError,
    FetchTimeout,
    FetchTooLarge,
    WirefeedError,
)
from ingest.fetch.http import ACCEPT, USER_AGENT, FetchLimits, HttpFetcher
from ingest.model import Validators

URL = "https://wire.example/feed.xml"
FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
CAP = 4096

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@asynccontextmanager
async def fetcher(handler: Handler, **limits: float) -> AsyncIterator[HttpFetcher]:
    http = HttpFetcher(
        FetchLimits(max_bytes=CAP, **limits),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
    )
    try:
        yield http
    finally:
        await http.aclose()


class Recorder:
    """A handler that answers with ``response`` and keeps every request it saw."""

    def __init__(self, response: Callable[[httpx.Request], httpx.Response]) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.response(request)


async def raw(body: bytes, chunk: int = 1024) -> AsyncIterator[bytes]:
    """A body as the network delivers it: a stream, read by the fetcher, not by httpx."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=raw(FEED), headers={"ETag": '"v1"', "Content-Type": "text/xml"}
    )


# ---------------------------------------------------------------------------------------------
# what we send


@pytest.mark.parametrize(
    ("validators", "sent", "absent"),
    [
        pytest.param(Validators(), {}, ("if-none-match", "if-modified-since"), id="none"),
        pytest.param(
            Validators(etag='"abc"'),
            {"if-none-match": '"abc"'},
            ("if-modified-since",),
            id="etag",
        ),
        pytest.param(
            Validators(etag='W/"weak"'),
            {"if-none-match": 'W/"weak"'},
            ("if-modified-since",),
            id="weak-etag",
        ),
        pytest.param(
            Validators(last_modified="Wed, 01 May 2024 16:10:00 GMT"),
            {"if-modified-since": "Wed, 01 May 2024 16:10:00 GMT"},
            ("if-none-match",),
            id="last-modified",
        ),
        pytest.param(
            Validators(etag='"abc"', last_modified="Wed, 01 May 2024 16:10:00 GMT"),
            {"if-none-match": '"abc"', "if-modified-since": "Wed, 01 May 2024 16:10:00 GMT"},
            (),
            id="both",
        ),
    ],
)
async def test_validators_are_sent(
    validators: Validators, sent: dict[str, str], absent: tuple[str, ...]
) -> None:
    handler = Recorder(ok)
    async with fetcher(handler) as http:
        await http.fetch(URL, validators)
    (request,) = handler.requests
    assert {k: request.headers[k] for k in sent} == sent
    assert all(name not in request.headers for name in absent)


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        pytest.param(None, {"user-agent": USER_AGENT, "accept": ACCEPT}, id="defaults"),
        pytest.param(
            {"X-Api-Key": "s3cret", "Accept-Language": "en"},
            {"x-api-key": "s3cret", "accept-language": "en", "user-agent": USER_AGENT},
            id="source-headers",
        ),
        pytest.param(
            {"User-Agent": "agency-contract/7", "Accept": "application/json"},
            {"user-agent": "agency-contract/7", "accept": "application/json"},
            id="source-overrides-defaults",
        ),
    ],
)
async def test_headers_sent(custom: dict[str, str] | None, expected: dict[str, str]) -> None:
    handler = Recorder(ok)
    async with fetcher(handler) as http:
        await http.fetch(URL, Validators(etag='"e"'), custom)
    (request,) = handler.requests
    assert {k: request.headers[k] for k in expected} == expected
    assert request.headers["if-none-match"] == '"e"'
    assert request.method == "GET"


async def test_source_headers_are_not_modified() -> None:
    custom = {"X-Api-Key": "k"}
    async with fetcher(Recorder(ok)) as http:
        await http.fetch(URL, Validators(etag='"e"', last_modified="x"), custom)
    assert custom == {"X-Api-Key": "k"}


# ---------------------------------------------------------------------------------------------
# what we get back


async def test_200() -> None:
    async with fetcher(Recorder(ok)) as http:
        result = await http.fetch(URL, Validators())
    assert (result.url, result.status, result.body) == (URL, 200, FEED)
    assert result.headers["content-type"] == "text/xml"
    assert all(name == name.lower() for name in result.headers)
    assert result.validators == Validators(etag='"v1"')
    assert not result.not_modified


async def test_304() -> None:
    def not_modified(request: httpx.Request) -> httpx.Response:
        assert request.headers["if-none-match"] == '"v1"'
        return httpx.Response(
            304, headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 16:10:00 GMT"}
        )

    async with fetcher(not_modified) as http:
        result = await http.fetch(URL, Validators(etag='"v1"'))
    assert (result.status, result.body, result.not_modified) == (304, b"", True)
    assert result.validators == Validators('"v1"', "Wed, 01 May 2024 16:10:00 GMT")


async def test_redirects_are_followed_and_the_final_url_reported() -> None:
    def moved(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old.xml":
            return httpx.Response(301, headers={"Location": "/feed.xml"})
        return ok(request)

    handler = Recorder(moved)
    async with fetcher(handler) as http:
        result = await http.fetch("https://wire.example/old.xml", Validators(), {"X-K": "v"})
    assert (result.url, result.status, result.body) == (URL, 200, FEED)
    assert [r.headers["x-k"] for r in handler.requests] == ["v", "v"]


async def test_too_many_redirects() -> None:
    def loop(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("n", "0"))
        return httpx.Response(302, headers={"Location": f"/loop?n={n + 1}"})

    async with fetcher(loop, max_redirects=3) as http:
        with pytest.raises(FetchRedirectError) as caught:
            await http.fetch("https://wire.example/loop", Validators())
    assert str(caught.value) == (
        "more than 3 redirects: https://wire.example/loop -> https://wire.example/loop?n=1"
        " -> https://wire.example/loop?n=2 -> https://wire.example/loop?n=3"
        " -> https://wire.example/loop?n=4"
    )


async def test_redirect_loop_names_the_chain() -> None:
    def loop(request: httpx.Request) -> httpx.Response:
        other = "/b" if request.url.path == "/a" else "/a"
        return httpx.Response(301, headers={"Location": other})

    async with fetcher(loop) as http:
        with pytest.raises(FetchRedirectError) as caught:
            await http.fetch("https://wire.example/a", Validators())
    assert str(caught.value) == (
        "redirect loop: https://wire.example/a -> https://wire.example/b -> https://wire.example/a"
    )


async def test_each_redirect_hop_is_reported() -> None:
    def hops(request: httpx.Request) -> httpx.Response:
        step = {"/a": (301, "/b"), "/b": (302, "https://other.example/c")}.get(request.url.path)
        if step:
            return httpx.Response(step[0], headers={"Location": step[1]})
        return ok(request)

    async with fetcher(hops) as http:
        result = await http.fetch("https://wire.example/a", Validators())
    assert result.redirects == (
        (301, "https://wire.example/b"),
        (302, "https://other.example/c"),
    )
    assert result.url == "https://other.example/c"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        pytest.param(None, "HTTP 302 redirect without a Location", id="no-location"),
        pytest.param(
            "ftp://x.example/f", "redirect to a non-web URL 'ftp://x.example/f'", id="non-web"
        ),
    ],
)
async def test_unusable_redirects(location: str | None, message: str) -> None:
    headers = {"Location": location} if location else {}
    async with fetcher(lambda r: httpx.Response(302, headers=headers)) as http:
        with pytest.raises(FetchRedirectError) as caught:
            await http.fetch(URL, Validators())
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("status", "message"),
    [
        pytest.param(404, "HTTP 404 Not Found", id="404"),
        pytest.param(410, "HTTP 410 Gone", id="410"),
        pytest.param(429, "HTTP 429 Too Many Requests", id="429"),
        pytest.param(500, "HTTP 500 Internal Server Error", id="500"),
        pytest.param(503, "HTTP 503 Service Unavailable", id="503"),
        pytest.param(204, "HTTP 204 No Content", id="204"),
        pytest.param(206, "HTTP 206 Partial Content", id="206"),
        pytest.param(599, "HTTP 599", id="unknown-status"),
    ],
)
async def test_unusable_status(status: int, message: str) -> None:
    async with fetcher(lambda r: httpx.Response(status, content=raw(b"oops"))) as http:
        with pytest.raises(FetchHTTPError) as caught:
            await http.fetch(URL, Validators())
    assert caught.value.status == status
    assert str(caught.value) == message


# ---------------------------------------------------------------------------------------------
# the body cap


async def chunks(size: int, chunk: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, size, chunk):
        yield b"x" * min(chunk, size - start)


def streamed(size: int) -> Callable[[httpx.Request], httpx.Response]:
    """A body without Content-Length, as chunked transfer sends it."""
    return lambda request: httpx.Response(200, content=chunks(size))


def gzipped(size: int) -> Callable[[httpx.Request], httpx.Response]:
    body = gzip.compress(b"x" * size)
    headers = {"Content-Encoding": "gzip"}
    return lambda request: httpx.Response(200, content=raw(body), headers=headers)


def deflated(size: int) -> Callable[[httpx.Request], httpx.Response]:
    body = zlib.compress(b"x" * size)
    headers = {"Content-Encoding": "deflate"}
    return lambda request: httpx.Response(200, content=raw(body), headers=headers)


@pytest.mark.parametrize(
    ("handler", "size"),
    [
        pytest.param(lambda r: httpx.Response(200, content=raw(b"x" * CAP)), CAP, id="exactly-cap"),
        pytest.param(streamed(CAP), CAP, id="streamed-exactly-cap"),
        pytest.param(gzipped(CAP), CAP, id="gzip-inflating-to-cap"),
        pytest.param(deflated(100), 100, id="deflate-small"),
    ],
)
async def test_bodies_within_the_cap(
    handler: Callable[[httpx.Request], httpx.Response], size: int
) -> None:
    async with fetcher(handler) as http:
        result = await http.fetch(URL, Validators())
    assert result.body == b"x" * size


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        pytest.param(
            lambda r: httpx.Response(
                200, content=raw(b"x" * (CAP + 1)), headers={"Content-Length": str(CAP + 1)}
            ),
            f"body of {CAP + 1} bytes is over the {CAP}-byte cap",
            id="declared-length",
        ),
        pytest.param(
            streamed(CAP + 1),
            f"body is over the {CAP}-byte cap (after decompression)",
            id="streamed-one-over",
        ),
        pytest.param(
            streamed(50 * CAP),
            f"body is over the {CAP}-byte cap (after decompression)",
            id="streamed-far-over",
        ),
        pytest.param(
            gzipped(CAP + 1),
            f"body is over the {CAP}-byte cap (after decompression)",
            id="gzip-inflating-over",
        ),
        pytest.param(
            gzipped(1000 * CAP),
            f"body is over the {CAP}-byte cap (after decompression)",
            id="gzip-bomb",
        ),
        pytest.param(
            deflated(10 * CAP),
            f"body is over the {CAP}-byte cap (after decompression)",
            id="deflate-bomb",
        ),
    ],
)
async def test_bodies_over_the_cap(
    handler: Callable[[httpx.Request], httpx.Response], message: str
) -> None:
    async with fetcher(handler) as http:
        with pytest.raises(FetchTooLarge) as caught:
            await http.fetch(URL, Validators())
    assert str(caught.value) == message


def test_the_gzip_bomb_is_small_on_the_wire() -> None:
    """The compressed body is under the cap, so only counting after decompression catches it."""
    assert len(gzip.compress(b"x" * 1000 * CAP)) < CAP


async def test_a_corrupt_compressed_body_is_a_fetch_error() -> None:
    def corrupt(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw(b"not gzip"), headers={"Content-Encoding": "gzip"})

    async with fetcher(corrupt) as http:
        with pytest.raises(FetchError, match=r"^cannot decode the gzip response body: "):
            await http.fetch(URL, Validators())


# ---------------------------------------------------------------------------------------------
# failures translated


def raising(exc: Callable[[httpx.Request], Exception]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc(request)

    return handler


@pytest.mark.parametrize(
    ("exc", "error", "message"),
    [
        pytest.param(
            lambda r: httpx.ConnectTimeout("slow", request=r),
            FetchTimeout,
            "connecting timed out",
            id="connect-timeout",
        ),
        pytest.param(
            lambda r: httpx.ReadTimeout("slow", request=r),
            FetchTimeout,
            "reading the response timed out",
            id="read-timeout",
        ),
        pytest.param(
            lambda r: httpx.WriteTimeout("slow", request=r),
            FetchTimeout,
            "sending the request timed out",
            id="write-timeout",
        ),
        pytest.param(
            lambda r: httpx.PoolTimeout("busy", request=r),
            FetchTimeout,
            "waiting for a connection slot timed out",
            id="pool-timeout",
        ),
        pytest.param(
            lambda r: httpx.ConnectError("[Errno 111] Connection refused", request=r),
            FetchConnectError,
            "cannot connect: [Errno 111] Connection refused",
            id="connection-refused",
        ),
        pytest.param(
            lambda r: httpx.ConnectError("", request=r),
            FetchConnectError,
            "cannot connect: ConnectError",
            id="connect-error-without-text",
        ),
        pytest.param(
            lambda r: httpx.ReadError("reset by peer", request=r),
            FetchConnectError,
            "the connection failed while reading: reset by peer",
            id="read-error",
        ),
        pytest.param(
            lambda r: httpx.RemoteProtocolError("illegal header", request=r),
            FetchConnectError,
            "the server broke the HTTP protocol: illegal header",
            id="protocol-error",
        ),
        pytest.param(
            lambda r: httpx.ProxyError("proxy said no", request=r),
            FetchConnectError,
            "ProxyError: proxy said no",
            id="other-transport-error",
        ),
        pytest.param(
            lambda r: httpx.UnsupportedProtocol("no ftp", request=r),
            FetchConnectError,
            "UnsupportedProtocol: no ftp",
            id="unsupported-protocol",
        ),
    ],
)
async def test_transport_failures_are_translated(
    exc: Callable[[httpx.Request], Exception], error: type[FetchError], message: str
) -> None:
    async with fetcher(raising(exc)) as http:
        with pytest.raises(error) as caught:
            await http.fetch(URL, Validators())
    assert type(caught.value) is error
    assert str(caught.value) == message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


async def test_invalid_url() -> None:
    async with fetcher(Recorder(ok)) as http:
        with pytest.raises(FetchError, match=r"^invalid URL: "):
            await http.fetch("http://[::1/feed", Validators())


async def test_total_time_limit_while_waiting_for_headers() -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async with fetcher(never, total_timeout=0.05) as http:
        with pytest.raises(FetchTimeout) as caught:
            await http.fetch(URL, Validators())
    assert str(caught.value) == "no complete answer within 0.05 s"


async def test_total_time_limit_while_reading_the_body() -> None:
    """A server dribbling bytes forever stays under any read timeout; the total limit ends it."""

    async def dribble() -> AsyncIterator[bytes]:
        yield b"<rss>"
        await asyncio.sleep(3600)
        yield b"</rss>"

    async with fetcher(lambda r: httpx.Response(200, content=dribble()), total_timeout=0.05) as h:
        with pytest.raises(FetchTimeout, match=r"^no complete answer within 0\.05 s$"):
            await h.fetch(URL, Validators())


def test_every_fetch_error_is_a_wirefeed_error() -> None:
    for error in (FetchTimeout, FetchTooLarge, FetchConnectError, FetchHTTPError):
        assert issubclass(error, FetchError)
    assert issubclass(FetchError, WirefeedError)
