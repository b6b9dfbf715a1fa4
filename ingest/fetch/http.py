"""Fetch one source over HTTP, politely and safely. Network I/O.

One :class:`HttpFetcher` wraps one ``httpx.AsyncClient``, opened and closed by its owner (the
worker). httpx errors are translated into :mod:`ingest.errors` here and nowhere else, and httpx
responses never leave this module: callers get a :class:`~ingest.model.FetchResult`.

What a fetch guarantees:

* a conditional GET with the stored validators (RFC 9110 section 13.1);
* every connection, redirect hops included, goes only to addresses the
  :class:`~ingest.fetch.guard.AddressPolicy` allows, checked on the address actually connected to;
* redirects are followed by us, up to ``max_redirects`` hops, so the caller learns each hop's
  status (301/308 may move a source; 302/307 never do) and a loop is reported with its chain;
* connect, read and total time limits;
* a body cap counted on the decompressed stream: we ask for gzip or deflate and inflate it
  ourselves in bounded steps, so a compression bomb is cut off at the cap without ever being
  inflated in memory.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpcore
import httpx

from ingest.errors import (
    FetchConnectError,
    FetchError,
    FetchHTTPError,
    FetchRedirectError,
    FetchTimeout,
    FetchTooLarge,
)
from ingest.fetch.guard import (
    AddressPolicy,
    GuardedBackend,
    Resolver,
    TcpOnlyBackend,
    system_resolver,
)
from ingest.model import FetchResult, Validators

USER_AGENT = "wirefeed/0.1 (feed ingestion; +https://github.com/wirefeed)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Time and size limits of one fetch."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


class Fetcher(Protocol):
    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult: ...


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with a connection pool whose sockets pass the address policy."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_connections: int = 100,
        resolver: Resolver = system_resolver,
    ) -> None:
        super().__init__(trust_env=False)
        # httpx offers no hook for the network backend; its pool is rebuilt with ours, with the
        # same TLS context httpx created (certificates still verified against the host name).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(policy, inner=_IdleCheckBackend(), resolver=resolver),
        )


class _IdleCheckBackend(TcpOnlyBackend):
    """httpcore's anyio backend, whose streams answer the pool's idle check cheaply.

    On every request the pool asks each idle connection whether the server closed it
    (``is_readable``); anyio answers by building every attribute of the socket, a
    ``getpeername`` call included, before polling it. We keep the socket and only poll it: the
    same check, at a fraction of the cost.
    """

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _IdleCheckStream(stream)


class _IdleCheckStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._poller = select.poll()
        if self._socket is not None:
            self._poller.register(self._socket.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _IdleCheckStream(tls)  # TLS runs over the same socket

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            # Data or the end of the stream waiting, as httpcore's own check asks; a socket
            # already closed counts as readable (its descriptor may belong to another now).
            return self._socket.fileno() < 0 or bool(self._poller.poll(0))
        return self._inner.get_extra_info(info)


class HttpFetcher:
    """Conditional GETs through one shared httpx client. Close it with :meth:`aclose`.

    Without ``transport`` it connects through a :class:`GuardedTransport` enforcing ``policy``
    (by default: no private networks at all).
    """

    def __init__(
        self,
        limits: FetchLimits,
        *,
        policy: AddressPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.limits = limits
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=limits.connect_timeout,
                read=limits.read_timeout,
                write=limits.read_timeout,
                pool=limits.connect_timeout,
            ),
            follow_redirects=False,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",  # only what _inflate can bound
            },
            transport=transport or GuardedTransport(policy or AddressPolicy(), resolver=resolver),
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        """GET ``url`` with the stored validators, following redirects ourselves.

        Returns 200 with the decoded body or 304 with an empty one; raises a ``FetchError``
        subclass for anything else (see :mod:`ingest.errors`).
        """
        request_headers = dict(headers or {})
        if validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._follow(url, request_headers)
        except TimeoutError:
            raise FetchTimeout(
                f"no complete answer within {self.limits.total_timeout:g} s"
            ) from None
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"{_timeout_kind(exc)} timed out") from None
        except httpx.TransportError as exc:
            raise FetchConnectError(_transport_message(exc)) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from None
        except UnicodeEncodeError as exc:
            raise FetchError(f"a request header is not ASCII: {exc.object!r}") from None

    async def _follow(self, url: str, headers: dict[str, str]) -> FetchResult:
        chain: list[tuple[int, str]] = []
        visited = [url]
        while True:
            async with self._client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status not in REDIRECTS:
                    return await self._finish(response, chain)
                target = _location(response)
            if target in visited:
                hops = " -> ".join([*visited, target])
                raise FetchRedirectError(f"redirect loop: {hops}")
            if len(chain) >= self.limits.max_redirects:
                hops = " -> ".join([*visited, target])
                raise FetchRedirectError(f"more than {self.limits.max_redirects} redirects: {hops}")
            chain.append((status, target))
            visited.append(target)
            url = target

    async def _finish(self, response: httpx.Response, chain: list[tuple[int, str]]) -> FetchResult:
        status = response.status_code
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        if status not in (200, 304):
            raise FetchHTTPError(
                status, f"HTTP {status} {response.reason_phrase}".strip(), response_headers
            )
        body = b"" if status == 304 else await self._read_capped(response)
        return FetchResult(
            url=str(response.url),
            status=status,
            headers=response_headers,
            body=body,
            redirects=tuple(chain),
        )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        declared = response.headers.get("content-length", "")
        if encoding == "identity" and declared.isdigit() and int(declared) > cap:
            raise FetchTooLarge(f"body of {int(declared)} bytes is over the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in _inflate(response.aiter_raw(), encoding, cap):
            size += len(chunk)
            if size > cap:
                raise FetchTooLarge(f"body is over the {cap}-byte cap (after decompression)")
            chunks.append(chunk)
        return b"".join(chunks)


async def _inflate(raw: AsyncIterator[bytes], encoding: str, cap: int) -> AsyncIterator[bytes]:
    """Decode ``raw`` per its Content-Encoding, never producing more than ``cap + 1`` bytes
    from one step, however small the compressed input."""
    if encoding in ("identity", ""):
        async for chunk in raw:
            yield chunk
        return
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decoder = zlib.decompressobj()  # RFC 9110 8.4.1.2: zlib-wrapped deflate
    else:
        raise FetchError(f"unsupported Content-Encoding {encoding!r} (we ask for gzip or deflate)")
    produced = 0
    try:
        async for chunk in raw:
            data = chunk
            while data:
                out = decoder.decompress(data, cap + 1 - produced)
                produced += len(out)
                yield out
                if produced > cap:
                    return
                data = decoder.unconsumed_tail
        yield decoder.flush()
    except zlib.error as exc:
        raise FetchError(f"cannot decode the {encoding} response body: {exc}") from None


def _location(response: httpx.Response) -> str:
    location = response.headers.get("location", "").strip()
    if not location:
        raise FetchRedirectError(f"HTTP {response.status_code} redirect without a Location")
    try:
        target = response.url.join(location)
    except httpx.InvalidURL as exc:
        raise FetchRedirectError(f"redirect to an invalid URL {location!r}: {exc}") from None
    if target.scheme not in ("http", "https"):
        raise FetchRedirectError(f"redirect to a non-web URL {str(target)!r}")
    return str(target)


def _root_cause(exc: BaseException) -> str:
    """The words of the OS error under an empty httpx error (a reset says nothing itself)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and str(seen):
            return seen.strerror or str(seen)
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return "reading the response"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a connection slot"
    return "sending the request"


def _transport_message(exc: httpx.TransportError) -> str:
    text = str(exc) or _root_cause(exc)
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {text}"
    if isinstance(exc, httpx.ReadError):
        return f"the connection failed while reading: {text}"
    return f"{type(exc).__name__}: {text}"
