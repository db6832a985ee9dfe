"""The network boundary of the sources: a small Fetcher protocol and its aiohttp implementation.

Sources take a Fetcher instead of opening connections themselves, so the
composition root owns the one HTTP client and tests hand in a real fetcher
pointed at a local server.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from yarl import URL

from bot.redact import mask_url

from .errors import SourceError

if TYPE_CHECKING:
    import aiohttp  # loaded by the fetcher when it first fetches: importing the core stays light

_log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
PROJECT_URL = "https://github.com/threadcast/threadcast"

_CHUNK_SIZE = 64 * 1024
# Only what aiohttp can always inflate; brotli/zstd depend on optional packages.
_ACCEPT_ENCODING = "gzip, deflate"


def default_user_agent() -> str:
    try:
        version = importlib.metadata.version("threadcast")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout
        version = "dev"
    return f"threadcast/{version} (+{PROJECT_URL})"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete response. ``headers`` has lower-case names; repeated headers are joined by ", "."""

    status: int
    url: str  # the final URL, after redirects
    headers: Mapping[str, str]
    body: bytes

    @property
    def media_type(self) -> str | None:
        """The Content-Type without parameters, lower-cased ("text/html")."""
        value = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return value or None

    @property
    def charset(self) -> str | None:
        """The charset parameter of the Content-Type, if any."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip(" \"'"):
                return value.strip(" \"'")
        return None


class FetchError(SourceError):
    """A URL could not be fetched; the message names the URL and the cause."""

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status  # the HTTP status when the server answered with an error
        super().__init__(f"{mask_url(url)}: {reason}")


class InvalidURL(FetchError):
    """The text is not a well-formed URL: bad input, not a failure of the bot or the network."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "not a valid URL")


def parse_url(url: str) -> URL:
    """``url`` parsed, or InvalidURL if it cannot name a place on the network.

    Everything is checked here that would otherwise fail later, deeper and as an
    unexpected error: brackets that do not close or hold no IP address, a port out of
    range, and a host name that IDNA cannot encode or decode ("xn--", "a..b", a label
    over 63 characters). The scheme is not checked: callers say which they accept.
    """
    try:
        parsed = URL(url)
        raw_host = parsed.raw_host
        if raw_host:
            _ = parsed.host  # decodes "xn--" labels
            _ = parsed.port
            try:
                ipaddress.ip_address(raw_host.split("%", 1)[0])
            except ValueError:  # a name: it must encode as the resolver will encode it
                raw_host.encode("idna")
    except (ValueError, TypeError):  # UnicodeError is a ValueError
        raise InvalidURL(url) from None
    return parsed


class Fetcher(Protocol):
    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        """GET ``url`` following redirects; 304 is a normal response, other 4xx/5xx raise FetchError."""
        ...


def host_label(url: str) -> str:
    """The host of ``url`` without "www.", to name a source that names no site ("" if none)."""
    try:
        host = URL(url).host or ""
    except (ValueError, TypeError):
        return ""
    return host.removeprefix("www.")


def _human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class AiohttpFetcher:
    """Fetcher on aiohttp with a total timeout, a body size cap and a redirect limit.

    Pass ``session`` to share a ClientSession owned elsewhere (it must keep
    aiohttp's default automatic decompression); otherwise the fetcher creates
    its own on first use and closes it in ``close()`` or at ``async with`` exit.
    """

    def __init__(
        self,
        *,
        user_agent: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        session: aiohttp.ClientSession | None = None,
        allow_private: bool = False,
    ) -> None:
        self.user_agent = user_agent or default_user_agent()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._session = session
        self._owns_session = session is None
        # URLs come from moderators on chat platforms: by default none may reach
        # this machine, the local network or a cloud metadata address.
        self.allow_private = allow_private

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession must be made inside the running loop.
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the ClientSession given to AiohttpFetcher is closed")
            import aiohttp

            from .resolver import PublicResolver

            connector = None if self.allow_private else aiohttp.TCPConnector(resolver=PublicResolver())
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        url = url.strip()
        _check_fetchable(url, self.allow_private)
        request_headers = {"User-Agent": self.user_agent, "Accept-Encoding": _ACCEPT_ENCODING}
        request_headers.update(headers or {})
        return await self._follow(url, request_headers)

    async def _follow(self, url: str, headers: Mapping[str, str]) -> HttpResponse:
        """Redirects are followed here, not by aiohttp, so every hop is checked like the first."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        current = url
        for _ in range(self.max_redirects + 1):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise FetchError(url, f"timed out after {self.timeout:g} s")
            response = await self._get(current, headers, timeout=remaining, shown=url)
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                return response
            try:
                current = str(URL(current).join(parse_url(location)))
            except (InvalidURL, ValueError):
                raise FetchError(url, "redirected to an address that is not a valid URL") from None
            try:
                _check_fetchable(current, self.allow_private)
            except FetchError as exc:
                raise FetchError(
                    url, f"redirected to {mask_url(current)}, which is refused: {exc.reason}"
                ) from None
        raise FetchError(url, f"too many redirects (more than {self.max_redirects})")

    async def _get(
        self,
        url: str,
        request_headers: Mapping[str, str],
        *,
        timeout: float | None = None,
        shown: str | None = None,
    ) -> HttpResponse:
        """One request; errors name `shown` (the URL the caller asked for)."""
        import aiohttp

        original = url
        url = shown or url
        try:
            async with self._client().get(
                original,
                headers=request_headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            ) as response:
                if response.status in _REDIRECTS:
                    return HttpResponse(response.status, str(response.url), _headers(response), b"")
                if response.status >= 400:
                    reason = f"HTTP {response.status}" + (f" {response.reason}" if response.reason else "")
                    raise FetchError(url, reason, status=response.status)
                body = await self._read_body(url, response)
                _log.debug("GET %s -> %d, %d bytes", mask_url(original), response.status, len(body))
                return HttpResponse(response.status, str(response.url), _headers(response), body)
        except TimeoutError:
            raise FetchError(url, f"timed out after {self.timeout:g} s") from None
        except aiohttp.InvalidURL:
            raise FetchError(url, "not a valid URL") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, PrivateAddressError):
                raise FetchError(url, str(exc.os_error)) from None
            if isinstance(exc, aiohttp.ClientConnectorDNSError):
                raise FetchError(url, "cannot connect (the host name could not be resolved)") from None
            raise FetchError(url, f"cannot connect ({exc.strerror or exc.os_error})") from None
        except aiohttp.ClientSSLError as exc:
            raise FetchError(url, f"secure connection failed ({exc})") from None
        except aiohttp.ClientPayloadError:
            raise FetchError(url, "the response was cut short or could not be decompressed") from None
        except aiohttp.ClientError as exc:
            raise FetchError(url, f"request failed ({type(exc).__name__}: {exc})") from None

    async def _read_body(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        too_large = f"response larger than {_human_size(self.max_bytes)}"
        try:
            declared = response.content_length
        except ValueError:  # a malformed Content-Length: count while reading instead
            declared = None
        if declared is not None and declared > self.max_bytes:
            raise FetchError(url, too_large)
        # aiohttp inflates gzip/deflate as it streams, so these are the bytes
        # after decompression: a small compressed body cannot sneak past the cap.
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK_SIZE):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(url, too_large)
            chunks.append(chunk)
        return b"".join(chunks)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
PRIVATE_HINT = "set THREADCAST_ALLOW_PRIVATE_URLS=true to allow it"


class PrivateAddressError(OSError):
    """The host is this machine, the local network, or otherwise not on the public internet."""


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, but still routed to the IPv4 address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): never public


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a packet to ``ip`` may end up at: IPv4-mapped and IPv4-compatible
    addresses, NAT64 64:ff9b::/96, 6to4 2002::/16 and Teredo 2001::/32 (its server and its
    client, whose address is stored inverted)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE or ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        carried = embedded_ipv4(ip)
        if not all(_is_public(v4) for v4 in carried):
            return False
        if ip.ipv4_mapped is not None:  # ::ffff:8.8.8.8 is not global as IPv6: it is that IPv4 host
            return True
    return _is_public(ip)


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _check_fetchable(url: str, allow_private: bool = True) -> None:
    named = url
    parsed = parse_url(url)
    if parsed.scheme not in ("http", "https"):
        raise FetchError(named, "only http:// and https:// URLs can be fetched")
    if not parsed.host:
        raise FetchError(named, "the URL has no host name")
    if allow_private:
        return
    host = parsed.host.strip("[]")
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise FetchError(named, f"refused: {host} is this machine ({PRIVATE_HINT})")
    try:
        literal = is_public_address(host)
    except ValueError:
        return  # a name: the resolver checks where it leads
    if not literal:
        raise FetchError(named, f"refused: {host} is not a public internet address ({PRIVATE_HINT})")
