"""The fetcher's resolver, which refuses names that lead off the public internet.

Its own module because it subclasses aiohttp's resolver: `bot.sources.http` loads it,
and aiohttp with it, when the fetcher opens its first connection."""

from __future__ import annotations

import socket

import aiohttp
import aiohttp.abc

from .http import PRIVATE_HINT, PrivateAddressError, is_public_address


class PublicResolver(aiohttp.abc.AbstractResolver):
    """Resolves names as usual, then refuses any that lead to a non-public address.

    Checked where the connection is made, so a name that resolves differently
    a second time (DNS rebinding) cannot slip through.
    """

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not found or not all(is_public_address(r["host"]) for r in found):
            raise PrivateAddressError(f"refused: {host} is not a public internet address ({PRIVATE_HINT})")
        return found

    async def close(self) -> None:
        await self._inner.close()
