"""Polling feeds: threadcast's scheduler and poller against a minimal aiohttp + feedparser loop.

Both read the same feeds from a server in another process (bench.feed_server), at the
same concurrency (the scheduler's, 8). A first cycle reads every feed whole (and, for
threadcast, remembers its items); the second cycle, the one timed, sends the ETags back:
half the feeds answer 304, the other half send the same items again. Peak memory is the
process's whole life (both cycles).
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import feedparser

from bench.common import T0, Timer, peak_rss_mb
from bot.clock import Clock
from bot.models import Community

CONCURRENCY = 8  # the scheduler's default


@asynccontextmanager
async def feed_server(count: int) -> AsyncIterator[str]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.feed_server", str(count),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    port = int(await server.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stdin.close()
        await server.wait()


class _Clock(Clock):
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> Any:
        return self.at


async def poller(count: int) -> dict[str, Any]:
    from adapters.console.platform import ConsolePlatform
    from bot.config import Settings
    from bot.platform import ChatPlatform
    from bot.services import build_core
    from bot.sources.http import AiohttpFetcher
    from storage.store import SQLiteStore

    async with feed_server(count) as base:
        with tempfile.TemporaryDirectory() as folder:
            store = SQLiteStore(Path(folder) / "feeds.db")
            await store.open()
            console = ConsolePlatform(io.StringIO())
            where = Community(console.name, "console")
            for i in range(count):
                await store.add_feed(where, "news", f"{base}/feed/{i}.xml", prompt=None, backlog=0,
                                     interval_seconds=900, now=T0)  # fmt: skip
            clock = _Clock()
            fetcher = AiohttpFetcher(allow_private=True, timeout=30)  # the feeds are on this machine
            platforms: dict[str, ChatPlatform] = {console.name: console}
            app, services = build_core(Settings(allow_private_urls=True), store, clock, fetcher, platforms)
            await services.scheduler.run_once()  # first cycle: every feed whole, items remembered
            clock.at += timedelta(seconds=901)
            with Timer() as timer:
                await services.scheduler.run_once()
            failing = [f for f in await store.list_feeds(where) if f.failures]
            await app.shutdown()
            await fetcher.close()
            await store.close()
    if failing:
        raise AssertionError(f"{len(failing)} feeds failed: {failing[0].last_error}")
    return {"seconds": timer.seconds, "rss_peak_mb": peak_rss_mb()}


async def minimal_loop(count: int) -> dict[str, Any]:
    async with feed_server(count) as base, aiohttp.ClientSession() as session:
        limit = asyncio.Semaphore(CONCURRENCY)
        etags: dict[int, str] = {}
        items = 0

        async def poll(i: int) -> None:
            nonlocal items
            async with limit:
                headers = {"If-None-Match": etags[i]} if i in etags else {}
                async with session.get(f"{base}/feed/{i}.xml", headers=headers) as response:
                    etags[i] = response.headers.get("ETag", "")
                    if response.status == 304:
                        return
                    body = await response.read()
                items += len(feedparser.parse(io.BytesIO(body)).entries)

        await asyncio.gather(*(poll(i) for i in range(count)))
        items = 0
        with Timer() as timer:
            await asyncio.gather(*(poll(i) for i in range(count)))
    if items != count // 2 * 20:
        raise AssertionError(f"read {items} items")
    return {"seconds": timer.seconds, "rss_peak_mb": peak_rss_mb()}
