"""The Discord adapter under a flood of thread messages, against a bare discord.py client.

Both connect to the same fake Discord (tests/fake_discord.py, plain TEXT frames so no
zlib work hides the difference) and read the same MESSAGE_CREATE frames, built before
the clock starts. The bare client has an empty `on_message` (it only counts); threadcast
runs the real `DiscordPlatform` with the core behind it: `App.dispatch`, the collector,
the group commit, an SQLite store. The clock stops when the last message is handled
(for threadcast: stored). The rate is messages per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import discord

from bench.common import T0, Timer, peak_rss_mb, rss_mb
from bot.app import App
from bot.collector import Collector
from bot.events import ReplyPosted
from bot.models import ArticleDraft, Community
from storage.store import SQLiteStore
from tests.fake_discord import FakeDiscord

THREAD_ID = 1_300_000_000_000_000_001  # a thread the client has not cached: a PartialMessageable
TEXT = "I lived through exactly this on night shift, reply {n} of a busy thread."


async def _flood(fake: FakeDiscord, count: int, done: asyncio.Event) -> float:
    frames = fake.message_frames(THREAD_ID, fake.member_id, count, TEXT)
    with Timer() as timer:
        await fake.send_frames(frames)
        await done.wait()
    return timer.seconds


@contextlib.asynccontextmanager
async def _running(client_run: Callable[[], Any], ready: asyncio.Event) -> AsyncIterator[None]:
    task = asyncio.create_task(client_run())
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield
    finally:
        waiting.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def adapter(count: int) -> dict[str, float]:
    from adapters.discord.platform import DiscordPlatform

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "flood.db")
        await store.open()
        async with FakeDiscord(compress=False, heartbeat_interval_ms=600_000) as fake:
            where = Community("discord", str(fake.guild_id))
            article = await store.save_article("k", ArticleDraft("Article", None, "", "bench"), T0)
            pending = await store.begin_discussion(
                article.id, where, "news", prompt="?", feed_id=None, now=T0
            )
            assert pending is not None
            await store.confirm_discussion(pending.id, "p", str(THREAD_ID), T0)
            app = App()
            Collector(store).register(app)
            done = asyncio.Event()
            seen = 0

            async def counted(event: ReplyPosted) -> None:
                nonlocal seen
                seen += 1
                if seen == count:
                    await app.flush()  # the last batch written: every message is stored
                    done.set()

            app.on(ReplyPosted, counted)
            platform = DiscordPlatform(app, guild_ready_timeout=0.1)
            async with _running(lambda: platform.run(fake.token), platform.ready):
                idle = rss_mb()
                seconds = await _flood(fake, count, done)
                busy = rss_mb()
                await platform.close()
        stored = (await store.period_counts(where, T0, T0.replace(year=2100))).replies
        await store.close()
    if stored != count:
        raise AssertionError(f"{stored} of {count} messages stored")
    return {"seconds": seconds, "rate": count / seconds, "rss_idle_mb": idle, "rss_busy_mb": busy,
            "rss_peak_mb": peak_rss_mb()}  # fmt: skip


async def bare(count: int) -> dict[str, float]:
    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = intents.message_content = intents.guild_reactions = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.1)
    ready = asyncio.Event()
    done = asyncio.Event()
    seen = 0

    @client.event
    async def on_ready() -> None:
        ready.set()

    @client.event
    async def on_message(message: discord.Message) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()

    async with FakeDiscord(compress=False, heartbeat_interval_ms=600_000) as fake:

        async def run() -> None:
            async with client:
                await client.start(fake.token)

        async with _running(run, ready):
            idle = rss_mb()
            seconds = await _flood(fake, count, done)
            busy = rss_mb()
            await client.close()
    return {"seconds": seconds, "rate": count / seconds, "rss_idle_mb": idle, "rss_busy_mb": busy,
            "rss_peak_mb": peak_rss_mb()}  # fmt: skip
