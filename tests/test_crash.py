"""`threadcast run` killed with SIGKILL at random moments, twenty times, while a feed publishes
and members reply: nothing is posted twice, no reply is lost or doubled, the database stays whole.

The bot is a real subprocess on the real slack-bolt (Socket Mode) against the fake Slack, fed by a
local RSS server. Replies go out live while the bot is connected and are only written into the
fake's threads while it is down, so catch-up must read them back on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.models import Community
from storage.store import SQLiteStore
from tests.fake_slack import ADMIN, GENERAL, MEMBER, OWNER, TEAM_ID, FakeSlack, delayed
from tests.sources_server import SourcesServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

ROUNDS = 20
SEED = int(os.environ.get("THREADCAST_CRASH_SEED", "20261102"))
MAX_UNPOSTED = 3  # the feed never gets more than this ahead: no "while threadcast was away" summary
AUTHORS = (MEMBER, ADMIN, OWNER)


@dataclass
class World:
    """What the test made happen, to compare with what the bot did."""

    items: list[tuple[str, str]] = field(default_factory=list)  # guid, title; oldest first
    replies: dict[str, str] = field(default_factory=dict)  # "channel:ts", as stored -> its thread ts
    kills: list[float] = field(default_factory=list)  # seconds after each start

    def rss(self) -> str:
        entries = "".join(
            f"<item><title>{title}</title><link>https://news.example/{guid}</link><guid>{guid}</guid>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(1_790_000_000 + n * 60, UTC))}</pubDate>"
            "</item>"
            for n, (guid, title) in enumerate(self.items)
        )
        channel = f"<channel><title>Crash news</title>{entries}</channel>"
        return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def article_posts(slack: FakeSlack) -> list[tuple[str, str]]:
    """(article key, ts) of every article the bot posted in #general."""
    return [
        (m["metadata"]["event_payload"]["article"], m["ts"])
        for m in slack.messages_in(GENERAL)
        if m.get("user") == slack.bot_user_id and (m.get("metadata") or {}).get("event_payload")
    ]


def stored(database: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Stored reply message ids (with repeats) and posted discussions (message id, state)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        replies = [r[0] for r in db.execute("SELECT message_id FROM replies")]
        discussions = [
            (r[0], r[1]) for r in db.execute("SELECT coalesce(message_id, ''), state FROM discussions")
        ]
    return replies, discussions


def age_pending_posts(database: Path) -> None:
    """Let the outbox's ten minutes pass while the bot is down: a post recorded and never
    confirmed is then looked for in the channel on the next start, as after a long outage."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE discussions SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')"
            " WHERE state = 'pending'"
        )


async def start_bot(tmp_path: Path, slack: FakeSlack, log: Path) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "THREADCAST_DATABASE_URL": f"sqlite:///{tmp_path / 'threadcast.db'}",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.api_url,
        "THREADCAST_ALLOW_PRIVATE_URLS": "true",
        "THREADCAST_TICK_SECONDS": "0.2",
        "THREADCAST_LOG_LEVEL": "INFO",
    }
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink,
        )  # fmt: skip


async def live_for(seconds: float, rng: random.Random, slack: FakeSlack, world: World) -> None:
    """A feed that publishes now and then and members who reply to what is posted."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        posts = article_posts(slack)
        if rng.random() < 0.3 and len(world.items) - len(posts) < MAX_UNPOSTED:
            n = len(world.items)
            world.items.append((f"crash-{n:03d}", f"Crash test article {n}"))
            # Slow posts widen the gap between "recorded" and "confirmed" that a kill may hit.
            slack.inject("chat.postMessage", delayed(rng.uniform(0.0, 0.5)))
        elif posts:
            _, thread = rng.choice(posts)
            await reply(slack, world, thread, rng.choice(AUTHORS), live=True)
        await asyncio.sleep(rng.uniform(0.02, 0.15))


async def reply(slack: FakeSlack, world: World, thread: str, user: str, *, live: bool) -> None:
    event = slack.message_event(GENERAL, user, f"reply {len(world.replies)}", thread_ts=thread)
    world.replies[f"{GENERAL}:{event['ts']}"] = thread
    if live and slack._connected.is_set():
        # The bot may die before it acks: the reply is in the thread either way.
        with contextlib.suppress(TimeoutError, AssertionError, ConnectionError):
            await slack.socket_event(event, timeout=0.5)


async def test_sigkill_at_random_moments_posts_once_and_keeps_every_reply_once(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    database = tmp_path / "threadcast.db"
    log = tmp_path / "bot.log"
    world = World()
    async with FakeSlack() as slack, SourcesServer() as feeds:
        slack._clock = time.time_ns() // 1000  # message ts near now, as the outbox looks back in time

        async def feed(request: web.Request) -> web.StreamResponse:
            return web.Response(text=world.rss(), content_type="application/rss+xml")

        feeds.route("/feed.xml", feed)
        store = SQLiteStore(database)
        await store.open()
        # A one-second interval (the command's minimum is a minute) so every life polls.
        await store.add_feed(
            Community("slack", TEAM_ID), GENERAL, feeds.url("/feed.xml"),
            prompt=None, backlog=100, interval_seconds=1, now=datetime.now(UTC),
        )  # fmt: skip
        await store.close()

        started = time.monotonic()
        try:
            for _ in range(ROUNDS):
                # Slow history reading keeps catch-up running while live replies arrive.
                slack.inject("conversations.replies", *(delayed(rng.uniform(0.0, 0.3)) for _ in range(3)))
                bot = await start_bot(tmp_path, slack, log)
                lifetime = rng.uniform(0.3, 3.0)
                await live_for(lifetime, rng, slack, world)
                if bot.returncode is not None:
                    pytest.fail(f"the bot stopped by itself ({bot.returncode}); see {log}")
                bot.send_signal(signal.SIGKILL)
                await bot.wait()
                world.kills.append(lifetime)
                for _ in range(rng.randint(0, 2)):  # members go on talking while it is down
                    if posts := article_posts(slack):
                        await reply(slack, world, rng.choice(posts)[1], rng.choice(AUTHORS), live=False)
                age_pending_posts(database)

            connections = slack.socket_connections
            bot = await start_bot(tmp_path, slack, log)
            try:
                settled = time.monotonic() + 30
                # SIGTERM is the bot's to handle once it runs.
                await slack.wait_for(lambda: slack.socket_connections > connections, timeout=30)
                while time.monotonic() < settled:
                    replies, discussions = await asyncio.to_thread(stored, database)
                    if (
                        len(article_posts(slack)) >= len(world.items)
                        and all(state == "posted" for _, state in discussions)
                        and set(replies) >= set(world.replies)
                    ):
                        break
                    await asyncio.sleep(0.2)
            finally:
                bot.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(bot.wait(), 15) == 0, log.read_text()
        finally:
            print(f"seed {SEED}: {len(world.kills)} kills after", [f"{k:.2f}" for k in world.kills])
            took = time.monotonic() - started
            print(f"{len(world.items)} articles, {len(world.replies)} replies, {took:.1f} s")

    posts = article_posts(slack)
    keys = [key for key, _ in posts]
    assert sorted(set(keys)) == sorted(keys), f"posted twice: {sorted(k for k in keys if keys.count(k) > 1)}"
    assert sorted(keys) == sorted(f"url:https://news.example/{guid}" for guid, _ in world.items), (
        "not every article was posted"
    )
    replies, discussions = stored(database)
    assert len(replies) == len(set(replies)), "a reply was stored twice"
    lost = sorted(set(world.replies) - set(replies))
    assert not lost, f"lost: {[(r, world.replies[r]) for r in lost]}"
    assert set(replies) == set(world.replies)
    assert sorted(message for message, _ in discussions) == sorted(f"{GENERAL}:{ts}" for _, ts in posts)
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
