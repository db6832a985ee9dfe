"""URLs typed by moderators cannot reach this machine, the local network or cloud metadata."""

from __future__ import annotations

import pytest

from bot.sources.http import (
    AiohttpFetcher,
    FetchError,
    PrivateAddressError,
    _PublicResolver,
    is_public_address,
)
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
    resolver = _PublicResolver()
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
