"""URLs typed by moderators cannot reach this machine, the local network or cloud metadata."""

from __future__ import annotations

import ipaddress
import socket

import aiohttp.abc
import pytest

from bot.sources.http import (
    AiohttpFetcher,
    FetchError,
    PrivateAddressError,
    embedded_ipv4,
    is_public_address,
)
from bot.sources.resolver import PublicResolver
from tests.sources_server import SourcesServer


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/feed",
        "http://localhost:{port}/feed",
        "http://[::1]:{port}/feed",
        "http://[::ffff:127.0.0.1]:{port}/feed",
        "http://10.1.2.3/feed",
        "http://192.168.0.10/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://224.0.0.1/feed",
    ],
)
async def test_private_addresses_are_refused_before_any_request(server: SourcesServer, url: str) -> None:
    server.serve("/feed", b"<rss/>")
    async with AiohttpFetcher() as fetcher:
        with pytest.raises(FetchError, match="refused") as caught:
            await fetcher.get(url.format(port=server.url("/").split(":")[2].rstrip("/")))
    assert "THREADCAST_ALLOW_PRIVATE_URLS" in str(caught.value)
    assert server.requests_to("/feed") == []


async def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    resolver = PublicResolver()
    try:
        with pytest.raises(PrivateAddressError):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_a_redirect_to_a_private_address_is_refused(server: SourcesServer) -> None:
    """Every hop is checked: here the first hop is allowed only because the test server is local."""
    server.redirect("/hop", "http://169.254.169.254/latest/meta-data/")
    async with AiohttpFetcher(allow_private=True) as fetcher:
        fetcher.allow_private = False  # from here on, as if the first hop had been a public host
        with pytest.raises(FetchError, match=r"redirected to .*169\.254\.169\.254.*refused"):
            await fetcher._follow(server.url("/hop"), {})


def test_public_addresses_pass() -> None:
    assert is_public_address("93.184.216.34")
    assert is_public_address("2606:2800:220:1:248:1893:25c8:1946")
    assert not is_public_address("100.64.0.1")  # carrier-grade NAT
    assert not is_public_address("fd00::1")


# IPv6 addresses that carry an IPv4 address are judged by that address too: each of these
# reaches 127.0.0.1, 10.0.0.1, 169.254.169.254 (cloud metadata) or 192.168.1.1.
CARRYING_A_PRIVATE_IPV4 = [
    "http://[::127.0.0.1]:{port}/feed",  # IPv4-compatible, written with the dotted quad
    "http://[::7f00:1]:{port}/feed",  # the same, in hex
    "http://[::a9fe:a9fe]/latest/meta-data/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",  # IPv4-mapped
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 well-known prefix
    "http://[64:ff9b::127.0.0.1]:{port}/feed",
    "http://[64:ff9b:1::a00:1]/feed",  # local-use NAT64 prefix: never public
    "http://[2002:7f00:1::1]:{port}/feed",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/latest/meta-data/",  # 6to4 of 169.254.169.254
    "http://[2002:c0a8:101::1]/feed",  # 6to4 of 192.168.1.1
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/feed",  # Teredo, client 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/latest/meta-data/",  # Teredo, client 169.254.169.254
]


@pytest.mark.parametrize("url", CARRYING_A_PRIVATE_IPV4)
async def test_ipv6_carrying_a_private_ipv4_is_refused_before_any_connection(
    server: SourcesServer, url: str
) -> None:
    """Refused by the check, not by a failed connection: conftest's guard turns any connect
    outside loopback into an AssertionError, which `pytest.raises(FetchError)` would not catch."""
    server.serve("/feed", b"<rss/>")
    port = server.url("/").split(":")[2].rstrip("/")
    async with AiohttpFetcher() as fetcher:
        with pytest.raises(FetchError, match="refused") as caught:
            await fetcher.get(url.format(port=port))
    assert "THREADCAST_ALLOW_PRIVATE_URLS" in str(caught.value)
    assert server.requests_to("/feed") == []


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::7f00:1", "127.0.0.1"),
        ("::ffff:a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ("2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254"),  # the client, stored inverted
    ],
)
def test_the_embedded_ipv4_is_found_and_judged(address: str, carried: str) -> None:
    assert ipaddress.IPv4Address(carried) in embedded_ipv4(ipaddress.IPv6Address(address))
    assert not is_public_address(address)
    assert not is_public_address(carried)


def test_ipv6_carrying_a_public_ipv4_is_judged_like_that_ipv4() -> None:
    assert is_public_address("::ffff:93.184.216.34")  # IPv4-mapped: that IPv4 host
    assert is_public_address("64:ff9b::5db8:d822")  # NAT64 of 93.184.216.34
    assert is_public_address("2002:5db8:d822::1")  # 6to4 of 93.184.216.34
    assert embedded_ipv4(ipaddress.IPv6Address("2606:2800:220:1:248:1893:25c8:1946")) == []


class _Answers(aiohttp.abc.AbstractResolver):
    """A DNS answer given by the test (aiohttp's resolver interface), so no lookup leaves the machine."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        return [
            {"hostname": host, "host": self.address, "port": port,
             "family": socket.AF_INET6, "proto": 0, "flags": 0}
        ]  # fmt: skip

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("address", ["64:ff9b::a9fe:a9fe", "::7f00:1", "2002:a9fe:a9fe::1"])
async def test_a_name_that_resolves_to_ipv6_carrying_a_private_ipv4_is_refused(address: str) -> None:
    resolver = PublicResolver()
    await resolver._inner.close()
    resolver._inner = _Answers(address)  # type: ignore[assignment]
    with pytest.raises(PrivateAddressError, match="not a public internet address"):
        await resolver.resolve("metadata.example", 80)
