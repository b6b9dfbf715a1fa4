"""Fetch one source over HTTP: conditional GET, time limits and a body cap. Network I/O.

One :class:`HttpFetcher` wraps one ``httpx.AsyncClient``, opened and closed by its owner (the
worker). httpx errors are translated into :mod:`ingest.errors` here and nowhere else, and httpx
responses never leave this module: callers get a :class:`~ingest.model.FetchResult`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from ingest.errors import (
    FetchConnectError,
    FetchError,
    FetchHTTPError,
    FetchTimeout,
    FetchTooLarge,
)
from ingest.model import FetchResult, Validators

USER_AGENT = "wirefeed/0.1 (feed ingestion; +https://github.com/wirefeed)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


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


class HttpFetcher:
    """Conditional GETs through one shared httpx client. Close it with :meth:`aclose`."""

    def __init__(self, limits: FetchLimits, *, transport: httpx.AsyncBaseTransport | None = None):
        self.limits = limits
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=limits.connect_timeout,
                read=limits.read_timeout,
                write=limits.read_timeout,
                pool=limits.connect_timeout,
            ),
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, validators: Validators, headers: Mapping[str, str] | None = None
    ) -> FetchResult:
        """GET ``url`` with the stored validators (RFC 9110 section 13.1).

        Returns 200 with the decoded body or 304 with an empty one; raises a ``FetchError``
        subclass for anything else. The body cap counts decompressed bytes as they stream in,
        so a compressed bomb is cut off at the cap instead of inflating in memory.
        """
        request_headers = dict(headers or {})
        if validators.etag:
            request_headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            request_headers["If-Modified-Since"] = validators.last_modified
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._get(url, request_headers)
        except TimeoutError:
            raise FetchTimeout(
                f"no complete answer within {self.limits.total_timeout:g} s"
            ) from None
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"{_timeout_kind(exc)} timed out") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"cannot decode the response body: {exc}") from None
        except httpx.TooManyRedirects:
            raise FetchHTTPError(310, f"more than {self.limits.max_redirects} redirects") from None
        except httpx.TransportError as exc:
            raise FetchConnectError(_transport_message(exc)) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from None

    async def _get(self, url: str, headers: dict[str, str]) -> FetchResult:
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status not in (200, 304):
                raise FetchHTTPError(status, f"HTTP {status} {response.reason_phrase}".strip())
            body = b"" if status == 304 else await self._read_capped(response)
            return FetchResult(
                url=str(response.url),
                status=status,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=body,
            )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        if (
            declared.isdigit()
            and int(declared) > cap
            and "content-encoding" not in response.headers
        ):
            raise FetchTooLarge(f"body of {int(declared)} bytes is over the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchTooLarge(f"body is over the {cap}-byte cap (after decompression)")
            chunks.append(chunk)
        return b"".join(chunks)


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return "reading the response"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a connection slot"
    return "sending the request"


def _transport_message(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {text}"
    if isinstance(exc, httpx.ReadError):
        return f"the connection failed while reading: {text}"
    return f"{type(exc).__name__}: {text}"
