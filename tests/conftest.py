"""Shared fixtures: a guard against the network, real SQLite files, a settable
clock, and the whole core wired over the console platform."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.app import App
from bot.commands.registry import Answer
from bot.config import Settings
from bot.events import Caller, CommandInvoked, ReplyPosted
from bot.platform import ChatPlatform
from bot.services import Services, build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.sources_server import SourcesServer

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday


def _loopback(address: Any) -> bool:
    if isinstance(address, tuple):
        host = address[0]
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # unix sockets


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not reach the network: a connect, a datagram or a name lookup for anything
    but loopback fails loudly (refusals of private addresses are checked before any of these)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_ex(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    real_getaddrinfo = socket.getaddrinfo
    real_sendto = socket.socket.sendto

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        # Resolving a name is already traffic (a DNS query): only loopback names and literals.
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _loopback((name, 0)):
            raise AssertionError(f"test tried to resolve a name: {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        if not _loopback(args[-1]):
            raise AssertionError(f"test tried to send a datagram to the network: {args[-1]!r}")
        return real_sendto(self, data, *args)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket.socket, "sendto", guarded_sendto)


T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 3.0, what: str = "") -> T:
    """Poll an async condition until it holds (the store announces nothing to wait on); its
    first truthy result (so never None: a check answers None for "not yet")."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not reached within {timeout} s: {what or check}") from None


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    db = SQLiteStore(tmp_path / "test.db")
    await db.open()
    yield db
    await db.close()


@dataclass
class Harness:
    """The core over a real SQLite file and the console platform, as the CLI wires it."""

    app: App
    services: Services
    store: SQLiteStore
    platform: ConsolePlatform
    clock: FakeClock
    out: io.StringIO

    async def command(
        self, line: str, *, user: str = "mod", moderator: bool | None = None, channel: str = "general"
    ) -> Answer:
        path, text = self.app.commands.split_line(line)
        answer = await self.app.dispatch(
            CommandInvoked(
                community=COMMUNITY,
                channel_id=channel,
                caller=Caller(user, user, is_moderator=(user == "mod") if moderator is None else moderator),
                path=path,
                text=text,
                local=True,
            )
        )
        assert answer is not None
        return answer

    async def reply(self, thread: str, author: str, text: str, message_id: str | None = None) -> str:
        message = self.platform.add_message("general", author, text, thread)
        await self.app.dispatch(
            ReplyPosted(COMMUNITY, thread, message_id or message.id, author, author, text, self.clock.now())
        )
        await self.app.flush()  # replies are written in batches; tests look at the store right after
        return message_id or message.id


@pytest.fixture
async def harness(tmp_path: Path, store: SQLiteStore, clock: FakeClock) -> AsyncIterator[Harness]:
    out = io.StringIO()
    platform = ConsolePlatform(out)
    platforms: dict[str, ChatPlatform] = {platform.name: platform}
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    app, services = build_core(Settings(), store, clock, fetcher, platforms)
    yield Harness(app, services, store, platform, clock, out)
    await app.shutdown()
    await fetcher.close()


@pytest.fixture
async def server() -> AsyncIterator[SourcesServer]:
    """A local HTTP server whose routes a test sets (for sources and feeds)."""
    async with SourcesServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[AiohttpFetcher]:
    async with AiohttpFetcher(allow_private=True, timeout=5) as f:
        yield f


@pytest.fixture
def corpus() -> Iterator[Path]:
    path = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not path.is_dir():
        if os.environ.get("THREADCAST_CI"):
            pytest.fail(f"CI must run the corpus tests, but {path} is missing")
        pytest.skip(f"the corpus is not beside the project ({path}); a fresh clone has none")
    yield path
