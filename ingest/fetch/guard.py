"""No requests to private networks: an address policy, enforced where sockets are opened.

The check runs in an httpcore network backend, on the very address we connect to, for every
connection (so every redirect hop too). Checking a URL before the request would not do: a
public-looking name can resolve to 127.0.0.1, and DNS can answer differently a second later
(rebinding). We resolve the name ourselves, refuse if any answer is forbidden, then connect
to the vetted address; TLS still verifies the certificate against the original host name,
which httpcore passes to ``start_tls`` separately.

Forbidden unless listed in ``WIREFEED_FETCH_ALLOW_NETWORKS``: every address that is not globally
routable (loopback, RFC 1918 private, link-local including cloud metadata at 169.254.169.254,
carrier-grade NAT, documentation and benchmarking ranges, unspecified, broadcast), multicast,
and IPv6 forms that embed such an IPv4 address (mapped, 6to4, NAT64).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore

from ingest.errors import FetchBlocked

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
"""All IPv6 addresses in public use (RFC 4291 2.4); everything else (site-local fec0::/10,
IPv4-compatible ::/96 and other reserved space) is refused."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which destination addresses a fetch may connect to."""

    allow: tuple[IPNetwork, ...] = ()

    def problem(self, address: IPAddress) -> str | None:
        """Why ``address`` is forbidden, or ``None`` if a fetch may connect to it."""
        if any(address in net for net in self.allow if net.version == address.version):
            return None
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = self.problem(embedded)
            return f"it embeds {embedded}: {inner}" if inner else None
        if address.is_multicast:
            return "a multicast address"
        if address.is_loopback:
            return "a loopback address"
        if address.is_link_local:
            return "a link-local address"
        if address.is_unspecified:
            return "an unspecified address"
        if address.is_private:
            return "a private-network address"
        if not address.is_global or (address.version == 6 and address not in _GLOBAL_UNICAST):
            return "a reserved (not globally routable) address"
        return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Host name and port -> IP address strings. The default asks the system (getaddrinfo)."""


async def system_resolver(host: str, port: int) -> Sequence[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class TcpOnlyBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend wrapping another (``_inner``) that never opens a Unix socket."""

    _inner: httpcore.AsyncNetworkBackend

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchBlocked("refused to connect: Unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedBackend(TcpOnlyBackend):
    """An httpcore network backend that connects only to addresses the policy allows."""

    def __init__(
        self,
        policy: AddressPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.policy = policy
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolver = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        refused = [(a, self.policy.problem(a)) for a in addresses]
        bad = [(a, why) for a, why in refused if why]
        if bad:
            address, why = bad[0]
            literal = host.strip("[]") == str(address)
            named = f"{host} is" if literal else f"{host} resolves to {address},"
            raise FetchBlocked(
                f"refused to connect: {named} {why}; fetches to private networks are blocked "
                "(allow a network with WIREFEED_FETCH_ALLOW_NETWORKS)"
            )
        last: Exception | None = None
        for address in addresses:  # vetted: connect to exactly these, never re-resolve
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address to connect to for {host}")

    async def _resolve(
        self,
        host: str,
        port: int,
        timeout: float | None,  # noqa: ASYNC109
    ) -> Sequence[IPAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            answers = await asyncio.wait_for(self._resolver(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"DNS lookup of {host} failed: {exc}") from None
        try:
            found = dict.fromkeys(ipaddress.ip_address(a.split("%")[0]) for a in answers)
        except ValueError as exc:
            raise httpcore.ConnectError(f"DNS lookup of {host} gave a bad address: {exc}") from None
        if not found:
            raise httpcore.ConnectError(f"DNS lookup of {host} found no address")
        return list(found)
