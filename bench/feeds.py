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
import time
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


def _huge_rss(entries: int) -> bytes:
    # Bare items, newest first: 160,000 of them fit under the fetcher's 5 MB cap.
    items = "".join(f"<item><guid>g{i}</guid></item>" for i in reversed(range(entries)))
    return f'<rss version="2.0"><channel><title>Huge</title>{items}</channel></rss>'.encode()


async def _longest_gap(work: Any) -> float:
    """The longest wait of a task that ticks every 10 ms on this loop while `work` runs."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        await work
    finally:
        done.set()
        await ticking
    return max(gaps)


async def huge_feed(entries: int) -> dict[str, Any]:
    """A poll of one feed of `entries` items (read whole, parsed, its newest kept) while the
    loop must keep serving others: the loop's longest wait, against the same ticker's longest
    wait while the loop sleeps as long as the poll took (its own noise)."""
    from adapters.console.platform import ConsolePlatform
    from bot.config import Settings
    from bot.platform import ChatPlatform
    from bot.services import build_core
    from bot.sources.http import AiohttpFetcher
    from storage.store import SQLiteStore

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "huge.xml").write_bytes(_huge_rss(entries))
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", folder,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert server.stdout is not None
        try:
            line = (await server.stdout.readline()).decode()  # "Serving HTTP on 127.0.0.1 port N …"
            port = int(line.split(" port ")[1].split()[0])
            store = SQLiteStore(Path(folder) / "feeds.db")
            await store.open()
            console = ConsolePlatform(io.StringIO())
            where = Community(console.name, "console")
            feed = await store.add_feed(where, "news", f"http://127.0.0.1:{port}/huge.xml", prompt=None,
                                        backlog=0, interval_seconds=900, now=T0)  # fmt: skip
            fetcher = AiohttpFetcher(allow_private=True, timeout=60)
            platforms: dict[str, ChatPlatform] = {console.name: console}
            app, services = build_core(Settings(allow_private_urls=True), store, _Clock(), fetcher, platforms)
            started = time.perf_counter()
            report: list[Any] = []

            async def poll() -> None:
                report.append(await services.poller.poll(feed))

            longest = await _longest_gap(poll())
            took = time.perf_counter() - started
            if report[0].error:
                raise AssertionError(f"the huge feed failed: {report[0].error}")
            idle = await _longest_gap(asyncio.sleep(took))
            await app.shutdown()
            await fetcher.close()
            await store.close()
        finally:
            server.terminate()
            await server.wait()
    return {"seconds": longest, "idle_seconds": idle, "poll_seconds": took, "rss_peak_mb": peak_rss_mb()}
