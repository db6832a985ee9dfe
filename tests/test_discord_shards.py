"""Discord sharding: two processes, each connecting one shard of two, over one store.

Each "process" is the core over its own store on one SQLite file with a DiscordPlatform on
the real discord.py AutoShardedClient, against tests/fake_discord.py, which sends the guild's
events to the shard Discord would: (guild_id >> 22) % shard count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import discord
import pytest

from adapters.discord.platform import DiscordPlatform, make_client
from bot.app import App
from bot.clock import SystemClock
from bot.config import Settings
from bot.events import Event, ReplyPosted
from bot.models import ArticleDraft, Community
from bot.platform import ChatPlatform
from bot.services import Services, build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.conftest import eventually
from tests.fake_discord import FakeDiscord, shard_of

pytestmark = pytest.mark.timeout(20)


@dataclass
class Process:
    shard: int
    app: App
    services: Services
    store: SQLiteStore
    fetcher: AiohttpFetcher
    platform: DiscordPlatform
    events: list[Event] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


async def start_process(fake: FakeDiscord, database: Path, shard: int, count: int) -> Process:
    store = SQLiteStore(database)
    await store.open()
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    platforms: dict[str, ChatPlatform] = {}
    app, services = build_core(Settings(), store, SystemClock(), fetcher, platforms)
    platform = DiscordPlatform(
        app, guild_ids=(fake.guild_id,), guild_ready_timeout=0.05, shard_count=count, shard_ids=[shard]
    )
    platforms[platform.name] = platform
    process = Process(shard, app, services, store, fetcher, platform)
    dispatch = platform._dispatch

    async def recorded(event: Event, *, wait: bool = True) -> None:
        process.events.append(event)
        await dispatch(event, wait=wait)

    platform._dispatch = recorded  # type: ignore[method-assign]
    process.task = asyncio.create_task(platform.run(fake.token))
    return process


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


def test_a_shard_count_or_ids_make_a_sharded_client_with_small_caches() -> None:
    plain = make_client(1.0)
    assert type(plain) is discord.Client
    sharded = make_client(1.0, 4, [1, 3])
    assert isinstance(sharded, discord.AutoShardedClient)
    assert (sharded.shard_count, sharded.shard_ids) == (4, [1, 3])
    automatic = make_client(1.0, 0)  # Discord's recommended count, asked at start
    assert isinstance(automatic, discord.AutoShardedClient) and automatic.shard_count is None
    for client in (plain, sharded):
        assert client._connection.max_messages == 200
        assert client._connection.member_cache_flags.value == 0  # no member is kept


async def test_two_processes_with_one_shard_each_connect_and_the_guild_reaches_only_its_shard(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    home = shard_of(fake.guild_id, 2)
    processes = [await start_process(fake, tmp_path / "shared.db", shard, 2) for shard in (0, 1)]
    owner, other = processes[home], processes[1 - home]
    try:
        for process in processes:
            await asyncio.wait_for(process.platform.ready.wait(), 10)
        identified = sorted(f["d"]["shard"] for c in fake.connections for f in c.received if f["op"] == 2)
        assert identified == [[0, 2], [1, 2]]
        assert fake.guildless_shards == [1 - home]
        assert [g.id for g in owner.platform.client.guilds] == [fake.guild_id]
        assert list(other.platform.client.guilds) == []
        # Commands are synced once, by the process that connects shard 0.
        synced = fake.requests_to("PUT", f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands")
        assert len(synced) == 1

        # The process without the guild's shard still posts there (the lease holder may be any).
        community = Community("discord", str(fake.guild_id))
        draft = ArticleDraft("Harbour reopens", "https://news.example/harbour", "About it.", "news.example")
        published = await other.services.publisher.publish(draft, community, str(fake.general_id))
        thread_id = int(published.discussion.thread_id or 0)
        assert thread_id

        await fake.user_message(thread_id, fake.member_id, "I watched the ships come back in.")

        async def stored() -> bool:
            ((_, _, views),) = await owner.store.export(community)
            return len(views) == 1

        await eventually(stored, 5, "the reply stored")
        replies = [e for p in processes for e in p.events if isinstance(e, ReplyPosted)]
        assert [(r.text, r in owner.events) for r in replies] == [("I watched the ships come back in.", True)]
    finally:
        for process in processes:
            await process.platform.close()
            if process.task is not None:
                await asyncio.wait_for(asyncio.gather(process.task, return_exceptions=True), 5)
            await process.app.drain(3)
            await process.fetcher.close()
            await process.store.close()
