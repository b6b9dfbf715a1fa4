"""ingest.fetch.guard: which addresses a fetch may connect to (AddressPolicy.problem), and the
GuardedBackend's refusal, resolution and connection order over a hand-written inner backend
(no sockets; see tests/integration/test_guard_network.py for the real thing)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import pytest

from ingest.errors import FetchBlocked, FetchError
from ingest.fetch.guard import AddressPolicy, GuardedBackend, IPNetwork

DEFAULT = AddressPolicy()
BLOCKED = (
    "; fetches to private networks are blocked (allow a network with WIREFEED_FETCH_ALLOW_NETWORKS)"
)

LOOPBACK_TEXT = "a loopback address"
PRIVATE = "a private-network address"
LINK_LOCAL = "a link-local address"
RESERVED = "a reserved (not globally routable) address"
UNSPECIFIED = "an unspecified address"
MULTICAST = "a multicast address"


def nets(*cidrs: str) -> AddressPolicy:
    networks: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(c) for c in cidrs)
    return AddressPolicy(allow=networks)


# ---------------------------------------------------------------------------------------------
# AddressPolicy.problem with no allow-list: the exact reason, or None for a public address


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        # loopback
        pytest.param("127.0.0.1", LOOPBACK_TEXT, id="v4-loopback"),
        pytest.param("127.1.2.3", LOOPBACK_TEXT, id="v4-loopback-whole-slash-8"),
        pytest.param("127.255.255.254", LOOPBACK_TEXT, id="v4-loopback-top"),
        pytest.param("::1", LOOPBACK_TEXT, id="v6-loopback"),
        # RFC 1918
        pytest.param("10.0.0.1", PRIVATE, id="rfc1918-10"),
        pytest.param("10.255.255.255", PRIVATE, id="rfc1918-10-top"),
        pytest.param("172.16.0.1", PRIVATE, id="rfc1918-172.16"),
        pytest.param("172.31.255.255", PRIVATE, id="rfc1918-172.31-top"),
        pytest.param("192.168.1.1", PRIVATE, id="rfc1918-192.168"),
        # link-local, cloud metadata included
        pytest.param("169.254.169.254", LINK_LOCAL, id="cloud-metadata"),
        pytest.param("169.254.0.1", LINK_LOCAL, id="v4-link-local"),
        pytest.param("fe80::1", LINK_LOCAL, id="v6-link-local"),
        pytest.param("fe80::a9fe:a9fe", LINK_LOCAL, id="v6-link-local-metadata-lookalike"),
        # carrier-grade NAT (RFC 6598): neither private nor global
        pytest.param("100.64.0.1", RESERVED, id="cgnat-bottom"),
        pytest.param("100.127.255.255", RESERVED, id="cgnat-top"),
        # documentation (RFC 5737, RFC 3849) and benchmarking (RFC 2544)
        pytest.param("192.0.2.1", PRIVATE, id="doc-test-net-1"),
        pytest.param("198.51.100.7", PRIVATE, id="doc-test-net-2"),
        pytest.param("203.0.113.9", PRIVATE, id="doc-test-net-3"),
        pytest.param("2001:db8::1", PRIVATE, id="doc-v6"),
        pytest.param("198.18.0.1", PRIVATE, id="benchmark-bottom"),
        pytest.param("198.19.255.255", PRIVATE, id="benchmark-top"),
        # unspecified, "this network", broadcast, reserved class E
        pytest.param("0.0.0.0", UNSPECIFIED, id="v4-unspecified"),
        pytest.param("::", UNSPECIFIED, id="v6-unspecified"),
        pytest.param("0.1.2.3", PRIVATE, id="this-network"),
        pytest.param("255.255.255.255", PRIVATE, id="broadcast"),
        pytest.param("240.0.0.1", PRIVATE, id="class-e"),
        # multicast
        pytest.param("224.0.0.1", MULTICAST, id="v4-multicast-all-hosts"),
        pytest.param("239.255.255.250", MULTICAST, id="v4-multicast-ssdp"),
        pytest.param("ff02::1", MULTICAST, id="v6-multicast-link"),
        pytest.param("ff0e::1", MULTICAST, id="v6-multicast-global-scope"),
        # IPv6 unique-local fc00::/7 and Teredo
        pytest.param("fc00::1", PRIVATE, id="ula-fc"),
        pytest.param("fd12:3456::1", PRIVATE, id="ula-fd"),
        pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", PRIVATE, id="teredo"),
        # IPv6 forms embedding a forbidden IPv4 address: named by what they embed
        pytest.param(
            "::ffff:127.0.0.1", "it embeds 127.0.0.1: a loopback address", id="mapped-loopback"
        ),
        pytest.param(
            "::ffff:10.0.0.1", "it embeds 10.0.0.1: a private-network address", id="mapped-rfc1918"
        ),
        pytest.param(
            "::ffff:169.254.169.254",
            "it embeds 169.254.169.254: a link-local address",
            id="mapped-metadata",
        ),
        pytest.param(
            "2002:7f00:1::", "it embeds 127.0.0.1: a loopback address", id="6to4-loopback"
        ),
        pytest.param(
            "2002:a9fe:a9fe::",
            "it embeds 169.254.169.254: a link-local address",
            id="6to4-metadata",
        ),
        pytest.param(
            "64:ff9b::7f00:1", "it embeds 127.0.0.1: a loopback address", id="nat64-loopback"
        ),
        pytest.param(
            "64:ff9b::a9fe:a9fe",
            "it embeds 169.254.169.254: a link-local address",
            id="nat64-metadata",
        ),
        pytest.param(
            "64:ff9b::a40:1", "it embeds 10.64.0.1: a private-network address", id="nat64-rfc1918"
        ),
        # public: allowed
        pytest.param("8.8.8.8", None, id="public-google-dns"),
        pytest.param("1.1.1.1", None, id="public-cloudflare-dns"),
        pytest.param("172.32.0.1", None, id="just-above-172.16/12"),
        pytest.param("100.128.0.1", None, id="just-above-cgnat"),
        pytest.param("198.20.0.1", None, id="just-above-benchmark"),
        pytest.param("2606:4700::1111", None, id="public-v6-cloudflare"),
        pytest.param("2001:4860:4860::8888", None, id="public-v6-google"),
        pytest.param("::ffff:8.8.8.8", None, id="mapped-public"),
        pytest.param("2002:808:808::", None, id="6to4-public"),
        pytest.param("64:ff9b::808:808", None, id="nat64-public"),
    ],
)
def test_default_policy_problem(address: str, problem: str | None) -> None:
    assert DEFAULT.problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(
            "::127.0.0.1",
            id="v4-compatible-loopback",
        ),
        pytest.param(
            "::a9fe:a9fe",
            id="v4-compatible-metadata",
        ),
        pytest.param(
            "fec0::1",
            id="v6-site-local",
        ),
    ],
)
def test_not_globally_routable_ipv6_is_refused(address: str) -> None:
    """The module promises to refuse every address that is not globally routable; any reason."""
    assert DEFAULT.problem(ipaddress.ip_address(address)) is not None


# ---------------------------------------------------------------------------------------------
# allow-lists: a listed network is allowed, matched by IP version


@pytest.mark.parametrize(
    ("allow", "address", "problem"),
    [
        pytest.param(("127.0.0.0/8",), "127.0.0.1", None, id="loopback-net-allows-127.0.0.1"),
        pytest.param(("127.0.0.0/8",), "127.9.8.7", None, id="loopback-net-allows-any-127"),
        pytest.param(
            ("127.0.0.0/8",), "::1", LOOPBACK_TEXT, id="loopback-v4-net-does-not-allow-::1"
        ),
        pytest.param(
            ("127.0.0.0/8",), "::ffff:127.0.0.1", None, id="loopback-v4-net-allows-mapped-form"
        ),
        pytest.param(("127.0.0.0/8",), "10.0.0.1", PRIVATE, id="loopback-net-not-rfc1918"),
        pytest.param(
            ("127.0.0.0/8",), "169.254.169.254", LINK_LOCAL, id="loopback-net-not-metadata"
        ),
        pytest.param(("10.1.2.3/32",), "10.1.2.3", None, id="slash-32-exact"),
        pytest.param(("10.1.2.3/32",), "10.1.2.4", PRIVATE, id="slash-32-neighbour"),
        pytest.param(
            ("10.1.2.3/32",),
            "::ffff:10.1.2.4",
            "it embeds 10.1.2.4: a private-network address",
            id="slash-32-mapped-neighbour",
        ),
        pytest.param(("::1/128",), "::1", None, id="v6-loopback-allowed"),
        pytest.param(("::1/128",), "127.0.0.1", LOOPBACK_TEXT, id="v6-loopback-not-v4"),
        pytest.param(("fd00::/8",), "fd12:3456::1", None, id="ula-fd-net-allows-fd"),
        pytest.param(("fd00::/8",), "fc00::1", PRIVATE, id="ula-fd-net-not-fc"),
        pytest.param(("fe80::/10",), "fe80::1", None, id="v6-link-local-net"),
        pytest.param(("fe80::/10",), "169.254.169.254", LINK_LOCAL, id="v6-net-not-v4-link"),
        pytest.param(("127.0.0.0/8", "fd00::/8"), "fd00::5", None, id="mixed-list-v6-member"),
        pytest.param(("127.0.0.0/8", "fd00::/8"), "127.0.0.5", None, id="mixed-list-v4-member"),
        pytest.param(
            ("127.0.0.0/8", "fd00::/8"), "192.168.0.1", PRIVATE, id="mixed-list-non-member"
        ),
        pytest.param(("0.0.0.0/0",), "169.254.169.254", None, id="everything-v4"),
        pytest.param(("0.0.0.0/0",), "fe80::1", LINK_LOCAL, id="everything-v4-not-v6"),
        pytest.param(("10.0.0.0/8",), "8.8.8.8", None, id="public-stays-allowed"),
    ],
)
def test_allow_list(allow: tuple[str, ...], address: str, problem: str | None) -> None:
    assert nets(*allow).problem(ipaddress.ip_address(address)) == problem


# ---------------------------------------------------------------------------------------------
# GuardedBackend over a hand-written inner backend: what it refuses, says and connects to


class FakeStream(httpcore.AsyncNetworkStream):
    def __init__(self, address: str) -> None:
        self.address = address

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        return None

    async def aclose(self) -> None:
        return None


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records each address it is asked to connect to; ``refuse`` ones fail like a closed port."""

    def __init__(self, refuse: Iterable[str] = ()) -> None:
        self.refuse = set(refuse)
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        if host in self.refuse:
            raise httpcore.ConnectError(f"[Errno 111] Connection refused: {host}")
        return FakeStream(host)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Resolver:
    """A resolver answering from a table; unknown names fail like getaddrinfo does."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


def backend(
    policy: AddressPolicy, table: dict[str, Sequence[str]], refuse: Iterable[str] = ()
) -> tuple[GuardedBackend, RecordingBackend, Resolver]:
    inner = RecordingBackend(refuse)
    resolver = Resolver(table)
    return GuardedBackend(policy, inner=inner, resolver=resolver), inner, resolver


@pytest.mark.parametrize(
    ("host", "answers", "message"),
    [
        pytest.param("127.0.0.1", [], "127.0.0.1 is a loopback address", id="v4-literal"),
        pytest.param("::1", [], "::1 is a loopback address", id="v6-literal"),
        pytest.param("[::1]", [], "[::1] is a loopback address", id="v6-literal-bracketed"),
        pytest.param(
            "169.254.169.254", [], "169.254.169.254 is a link-local address", id="metadata"
        ),
        pytest.param(
            "feeds.example.com",
            ["127.0.0.1"],
            "feeds.example.com resolves to 127.0.0.1, a loopback address",
            id="name-to-loopback",
        ),
        pytest.param(
            "feeds.example.com",
            ["8.8.8.8", "10.0.0.1"],
            "feeds.example.com resolves to 10.0.0.1, a private-network address",
            id="public-then-private",
        ),
        pytest.param(
            "feeds.example.com",
            ["2606:4700::1111", "fe80::1%eth0"],
            "feeds.example.com resolves to fe80::1, a link-local address",
            id="zone-id-stripped",
        ),
        pytest.param(
            "feeds.example.com",
            ["8.8.8.8", "::ffff:169.254.169.254"],
            f"feeds.example.com resolves to {ipaddress.ip_address('::ffff:169.254.169.254')}, "
            "it embeds 169.254.169.254: a link-local address",
            id="mapped-answer",
        ),
    ],
)
async def test_backend_refuses_before_connecting(
    host: str, answers: list[str], message: str
) -> None:
    guarded, inner, _ = backend(DEFAULT, {host: answers})
    with pytest.raises(FetchBlocked) as caught:
        await guarded.connect_tcp(host, 80)
    assert str(caught.value) == f"refused to connect: {message}{BLOCKED}"
    assert isinstance(caught.value, FetchError)
    assert inner.connects == []


async def test_backend_refuses_a_mapped_literal_by_what_it_embeds() -> None:
    # Not the exact text: how Python prints a mapped address (::ffff:7f00:1 or ::ffff:127.0.0.1)
    # differs between versions, and the message quotes it.
    guarded, inner, resolver = backend(DEFAULT, {})
    with pytest.raises(FetchBlocked) as caught:
        await guarded.connect_tcp("::ffff:127.0.0.1", 80)
    message = str(caught.value)
    assert message.startswith("refused to connect: ::ffff:")
    assert message.endswith(f"it embeds 127.0.0.1: a loopback address{BLOCKED}")
    assert resolver.calls == []
    assert inner.connects == []


async def test_backend_does_not_resolve_literals() -> None:
    guarded, inner, resolver = backend(DEFAULT, {})
    await guarded.connect_tcp("8.8.8.8", 443)
    await guarded.connect_tcp("[2606:4700::1111]", 443)
    assert resolver.calls == []
    assert inner.connects == [("8.8.8.8", 443), ("2606:4700::1111", 443)]


async def test_backend_connects_to_vetted_addresses_in_order_without_duplicates() -> None:
    answers = ["127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.4"]
    guarded, inner, resolver = backend(
        nets("127.0.0.0/8"), {"feeds.example.com": answers}, refuse={"127.0.0.2", "127.0.0.3"}
    )
    stream = await guarded.connect_tcp("feeds.example.com", 8080)
    assert isinstance(stream, FakeStream)
    assert stream.address == "127.0.0.4"
    assert resolver.calls == [("feeds.example.com", 8080)]  # resolved once, never again
    assert inner.connects == [("127.0.0.2", 8080), ("127.0.0.3", 8080), ("127.0.0.4", 8080)]


async def test_backend_raises_the_last_connect_error_when_every_address_fails() -> None:
    guarded, inner, _ = backend(
        nets("127.0.0.0/8"),
        {"feeds.example.com": ["127.0.0.2", "127.0.0.3"]},
        refuse={"127.0.0.2", "127.0.0.3"},
    )
    with pytest.raises(httpcore.ConnectError, match=r"Connection refused: 127\.0\.0\.3$"):
        await guarded.connect_tcp("feeds.example.com", 80)
    assert len(inner.connects) == 2


@pytest.mark.parametrize(
    ("table", "error", "message"),
    [
        pytest.param(
            {},
            httpcore.ConnectError,
            "DNS lookup of feeds.example.com failed: [Errno -2] Name or service not known",
            id="lookup-fails",
        ),
        pytest.param(
            {"feeds.example.com": []},
            httpcore.ConnectError,
            "DNS lookup of feeds.example.com found no address",
            id="empty-answer",
        ),
    ],
)
async def test_backend_dns_failures(
    table: dict[str, Sequence[str]], error: type[Exception], message: str
) -> None:
    guarded, inner, _ = backend(DEFAULT, table)
    with pytest.raises(error) as caught:
        await guarded.connect_tcp("feeds.example.com", 80)
    assert str(caught.value) == message
    assert inner.connects == []


async def test_backend_dns_timeout_is_a_connect_timeout() -> None:
    async def slow(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(30)
        return ["8.8.8.8"]

    guarded = GuardedBackend(DEFAULT, inner=RecordingBackend(), resolver=slow)
    with pytest.raises(httpcore.ConnectTimeout, match=r"^DNS lookup of slow\.example timed out$"):
        await guarded.connect_tcp("slow.example", 80, timeout=0.01)


async def test_backend_never_opens_unix_sockets() -> None:
    guarded, inner, _ = backend(nets("0.0.0.0/0", "::/0"), {})
    with pytest.raises(FetchBlocked, match=r"^refused to connect: Unix sockets are never fetched$"):
        await guarded.connect_unix_socket("/var/run/docker.sock")
    assert inner.connects == []
