"""threadcast on the real, unmodified discord.py, against the fake Discord in tests/fake_discord.py.

Every test drives the bot as Discord would (gateway dispatches, interactions) and asserts on
what the fake received (REST calls and their bodies) and on what the store holds: a callback
error inside discord.py's CommandTree is logged and swallowed, so "no exception" proves nothing.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from PIL import Image

from adapters.discord.platform import DiscordPlatform, DiscordStartError, supervise
from adapters.discord.render import article_embed, split_content
from bot.app import App
from bot.config import Settings
from bot.models import Article, ArticleDraft, Community, Discussion, DiscussionState
from bot.platform import ChatPlatform
from bot.publisher import PublishError
from bot.services import Services, build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests import feed_items
from tests.conftest import eventually
from tests.fake_discord import (
    EPHEMERAL,
    FORUM,
    MANAGE_GUILD,
    MESSAGE_CONTENT,
    PUBLIC_THREAD,
    FakeDiscord,
    Interaction,
    Json,
    Request,
    api_error,
    rate_limited,
    server_error,
)
from tests.sources_server import SourcesServer

pytestmark = pytest.mark.timeout(15)

MODERATOR_ROLE = "Community Team"  # DISCORD_MODERATOR_ROLE in these tests
NO_PINGS: dict[str, list[str]] = {"parse": []}
WEEK_IN_MINUTES = 10080

LONG_TITLE = (
    "Town library will stay open until midnight on weekdays after readers asked for quiet evening"
    " study space and longer hours for working parents"
)
assert len(LONG_TITLE) > 100


class OffsetClock:
    """Real time (replies carry Discord's real timestamps), movable forward for due polls."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@dataclass
class Bot:
    """The core over a real SQLite file, wired to a DiscordPlatform on the fake Discord."""

    fake: FakeDiscord
    app: App
    services: Services
    store: SQLiteStore
    clock: OffsetClock
    platforms: dict[str, ChatPlatform]
    tmp_path: Path
    platform: DiscordPlatform | None = None
    task: asyncio.Task[None] | None = None
    started: list[DiscordPlatform] = field(default_factory=list)
    expected_errors: set[str] = field(default_factory=set)  # loggers a test expects errors from

    @property
    def community(self) -> Community:
        return Community("discord", str(self.fake.guild_id))

    @property
    def client(self) -> discord.Client:
        assert self.platform is not None
        return self.platform.client

    def new_platform(self, **options: Any) -> DiscordPlatform:
        options.setdefault("guild_ids", (self.fake.guild_id,))
        options.setdefault("moderator_role", MODERATOR_ROLE)
        options.setdefault("guild_ready_timeout", 0.05)
        self.platform = DiscordPlatform(self.app, **options)
        self.platforms["discord"] = self.platform
        return self.platform

    async def start(self, **options: Any) -> None:
        """Start (or start again) the client and wait until it is ready."""
        if self.platform is None or options:
            self.new_platform(**options)
        platform, client = self.platform, self.client
        assert platform is not None
        task = self.task = asyncio.create_task(platform.run(self.fake.token))  # again: as supervise does
        if platform not in self.started:
            self.started.append(platform)
        await self.fake.wait_for(lambda: client.is_ready() or task.done())
        if task.done():
            task.result()  # raises what stopped it

    async def stop(self) -> None:
        for platform in self.started:
            if not platform.client.is_closed():
                await platform.client.close()
        if self.task is not None:
            await asyncio.wait_for(asyncio.gather(self.task, return_exceptions=True), 3)
            self.task = None
        await self.app.drain(3)

    async def command(
        self,
        user_id: int,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        channel_id: int | None = None,
    ) -> Interaction:
        """Run a slash command and wait for the bot's (first) answer."""
        interaction = await self.fake.slash_command(
            user_id, channel_id or self.fake.general_id, command, options
        )
        await self.fake.wait_for(lambda: interaction.followups, 3)
        return interaction

    async def menu(self, user_id: int, message_id: int, name: str) -> Interaction:
        interaction = await self.fake.context_menu(user_id, message_id, name)
        await self.fake.wait_for(lambda: interaction.followups, 3)
        return interaction

    async def replies(self) -> dict[str, str]:
        """Stored replies, message id -> text, over every discussion."""
        return {
            view.reply.message_id: view.reply.text
            for _, _, views in await self.store.export(self.community)
            for view in views
        }

    async def reply_count(self) -> int:
        return sum(len(views) for _, _, views in await self.store.export(self.community))

    async def wait_for_replies(self, count: int, timeout: float = 3.0) -> dict[str, str]:
        async def exactly() -> dict[str, str] | None:
            found = await self.replies()
            return found if len(found) == count else None

        return await eventually(exactly, timeout, f"{count} stored replies")

    async def post(self, title: str, channel_id: int | None = None) -> tuple[int, int]:
        """Post an article through the core and the real adapter: (message id, thread id)."""
        draft = ArticleDraft(
            title=title,
            url=f"https://news.example/{abs(hash(title))}",
            summary=f"About {title}.",
            source="news.example",
        )
        published = await self.services.publisher.publish(
            draft, self.community, str(channel_id or self.fake.general_id)
        )
        discussion = published.discussion
        assert discussion.message_id is not None and discussion.thread_id is not None
        return int(discussion.message_id), int(discussion.thread_id)


def answer_text(interaction: Interaction) -> str:
    return "\n".join(m["content"] for m in interaction.followups)


def assert_ephemeral(interaction: Interaction) -> None:
    assert interaction.responses[0]["type"] == 5  # deferred first: the work may take over 3 s
    assert interaction.responses[0]["data"]["flags"] & EPHEMERAL
    assert all(m["flags"] & EPHEMERAL for m in interaction.followups)


def message_bodies(fake: FakeDiscord) -> list[tuple[str, Json]]:
    """Every message body the bot sent: channel messages, forum starters, answers, edits."""
    bodies: list[tuple[str, Json]] = []
    for request in fake.requests:
        body = request.json
        where = f"{request.method} {request.path}"
        if request.method == "POST" and request.path.endswith("/messages"):
            bodies.append((where, body))
        elif request.method == "POST" and request.path.endswith("/threads") and "message" in (body or {}):
            bodies.append((where, body["message"]))
        elif (request.method, request.path.split("/")[1]) == ("POST", "webhooks") or (
            request.method == "PATCH" and "/messages/" in request.path
        ):
            bodies.append((where, body))
    return bodies


def assert_no_pings(fake: FakeDiscord) -> None:
    for where, body in message_bodies(fake):
        assert body.get("allowed_mentions") == NO_PINGS, (where, body.get("allowed_mentions"))
    for messages in fake.messages.values():
        for message in messages:
            if int(message["author"]["id"]) == fake.bot_id:
                assert not message["mention_everyone"] and not message["mentions"], message
                assert not message["mention_roles"], message


def embeds_posted(fake: FakeDiscord, channel_id: int) -> list[list[Json]]:
    """The embeds of each message the bot posted in a channel, in order."""
    return [
        r.json.get("embeds") or []
        for r in fake.requests_to("POST", f"/channels/{channel_id}/messages")
        if r.status == 200
    ]


def embed_text(embeds: list[Json]) -> str:
    parts = []
    for embed in embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


def page(title: str, description: str) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title} | Town Times</title>"
        "<meta property='og:site_name' content='Town Times'>"
        f"<meta property='og:title' content='{title}'>"
        f"<meta property='og:description' content='{description}'>"
        "<meta property='article:published_time' content='2026-10-30T08:00:00+00:00'>"
        "</head><body><article>"
        f"<h1>{title}</h1><p>{description}</p>"
        "<p>What do you think? Tell us about your own evenings at the library in the comments below.</p>"
        "</article></body></html>"
    )


def rss(*items: tuple[str, str]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<description>{title}: the details.</description></item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Town Times</title><link>https://town.example/</link>{entries}</channel></rss>"
    )


@pytest.fixture
async def bot(tmp_path: Path, store: SQLiteStore, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Bot]:
    """The bot, not started; at the end: stopped, and checked for pings and logged errors."""
    caplog.set_level(logging.WARNING)
    clock = OffsetClock()
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)  # pages and feeds come from 127.0.0.1
    platforms: dict[str, ChatPlatform] = {}
    app, services = build_core(Settings(), store, clock, fetcher, platforms)
    async with FakeDiscord() as fake:
        harness = Bot(fake, app, services, store, clock, platforms, tmp_path)
        try:
            yield harness
        finally:
            await harness.stop()
            await app.shutdown()
            await fetcher.close()
        assert_no_pings(fake)
    # discord.py's CommandTree logs and swallows a failing callback: a logged error fails the test.
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name not in harness.expected_errors
    ]
    assert errors == []


# -- posting ---------------------------------------------------------------------------------


async def test_a_moderators_post_of_a_url_creates_the_message_and_its_public_thread(
    bot: Bot, server: SourcesServer
) -> None:
    fake = bot.fake
    server.serve("/library", page(LONG_TITLE, "Readers asked for it."), content_type="text/html")
    url = server.url("/library")
    await bot.start()

    interaction = await bot.command(fake.mod_id, "post", {"article": url})

    assert_ephemeral(interaction)
    assert "Posted" in answer_text(interaction), answer_text(interaction)
    (starter,) = fake.messages_in(fake.general_id)
    (embed,) = starter["embeds"]
    assert embed["title"] == LONG_TITLE and len(embed["title"]) <= 256
    assert embed["url"] == url and "Readers asked for it." in embed["description"]
    assert embed["footer"]["text"] == "Town Times" and embed["timestamp"].startswith("2026-10-30T08:00")
    assert (
        starter["content"] == f"What do you make of “{LONG_TITLE}”? Share your own experience in the thread."
    )
    thread = fake.channels[int(starter["id"])]  # a thread on a message has the message's id
    assert thread["type"] == PUBLIC_THREAD and thread["parent_id"] == str(fake.general_id)
    assert thread["thread_metadata"]["auto_archive_duration"] == WEEK_IN_MINUTES
    assert 1 <= len(thread["name"]) <= 100 and thread["name"].endswith("…")
    assert LONG_TITLE.startswith(thread["name"][:-1].rstrip())

    ((discussion, article, replies),) = await bot.store.export(bot.community)
    assert (discussion.channel_id, discussion.message_id) == (str(fake.general_id), starter["id"])
    assert discussion.thread_id == thread["id"] and article.title == LONG_TITLE and replies == []
    # The answer links the channel (<#id>) and pings nobody.
    assert f"<#{fake.general_id}>" in answer_text(interaction)


async def test_post_in_a_forum_channel_creates_a_forum_post(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    text = "Bakery wins regional prize\n\nThe bakery on Main Street won the regional prize for its rye bread."

    interaction = await bot.command(fake.mod_id, "post", {"article": text, "channel": fake.forum_id})

    assert "Posted" in answer_text(interaction), answer_text(interaction)
    (request,) = fake.requests_to("POST", f"/channels/{fake.forum_id}/threads")
    assert request.json["name"] == "Bakery wins regional prize"
    assert request.json["auto_archive_duration"] == WEEK_IN_MINUTES
    starter = request.json["message"]
    assert starter["embeds"][0]["title"] == "Bakery wins regional prize"
    assert "Bakery wins regional prize" in starter["content"]
    ((discussion, _, _),) = await bot.store.export(bot.community)
    assert discussion.channel_id == str(fake.forum_id)
    thread_id = int(discussion.thread_id or 0)
    assert fake.channels[thread_id]["parent_id"] == str(fake.forum_id)
    assert discussion.message_id == discussion.thread_id  # a forum post's first message has its id
    assert not fake.requests_to("POST", f"/channels/{fake.forum_id}/messages")

    # Replies in the forum post are collected like any thread's; the starter (the bot's) is not.
    reply = await fake.user_message(thread_id, fake.member_id, "Their rye bread is the best in town.")
    assert await bot.wait_for_replies(1) == {reply["id"]: "Their rye bread is the best in town."}


async def test_feed_add_then_a_poll_posts_a_feed_item(bot: Bot, server: SourcesServer) -> None:
    fake = bot.fake
    server.serve("/feed.xml", rss(("Old news", "https://town.example/old")))
    await bot.start()

    interaction = await bot.command(fake.mod_id, "feed add", {"url": server.url("/feed.xml")})
    assert "Subscribed" in answer_text(interaction), answer_text(interaction)
    assert fake.messages_in(fake.general_id) == []  # backlog 0: the old item is remembered, not posted

    server.serve(
        "/feed.xml",
        rss(("Bridge reopens", "https://town.example/bridge"), ("Old news", "https://town.example/old")),
    )
    bot.clock.advance(timedelta(hours=1))
    await bot.services.scheduler.run_once()

    (starter,) = fake.messages_in(fake.general_id)
    assert starter["embeds"][0]["title"] == "Bridge reopens"
    assert starter["embeds"][0]["url"] == "https://town.example/bridge"
    assert fake.channels[int(starter["id"])]["name"] == "Bridge reopens"
    ((discussion, _, _),) = await bot.store.export(bot.community)
    assert discussion.feed_id is not None and discussion.thread_id == starter["id"]


# -- replies ---------------------------------------------------------------------------------


async def test_replies_edits_deletes_and_reactions_reach_the_store(bot: Bot) -> None:
    fake = bot.fake
    bob = fake.add_member(name="bob")
    robot = fake.add_member(name="robot", bot=True)
    await bot.start()
    _, thread = await bot.post("Library opens late")
    _, other_thread = await bot.post("Bakery wins prize")

    first = await fake.user_message(thread, fake.member_id, "I study there every evening now.")
    second = await fake.user_message(thread, bob, "My kids love the late hours.")
    third = await fake.user_message(thread, bob, "Me too!")
    await fake.user_message(thread, robot, "beep: another bot")
    await fake.user_message(thread, fake.bot_id, "the bot itself")
    await fake.user_message(fake.general_id, fake.member_id, "not in a discussion thread")
    await bot.wait_for_replies(3)
    reply = await bot.store.get_reply(bot.community, first["id"])
    assert reply is not None and reply.author_id == str(fake.member_id) and reply.author_name == "alice"

    await fake.user_edit(int(first["id"]), "I study there every evening now, and so does my sister.")
    await eventually(
        lambda: _text_is(bot, first["id"], "I study there every evening now, and so does my sister."),
        what="the edit",
    )
    edited = await bot.store.get_reply(bot.community, first["id"])
    assert edited is not None and edited.edited_at is not None

    await fake.reaction_add(fake.mod_id, int(first["id"]), "👍")
    await fake.reaction_add(bob, int(first["id"]), "❤️")
    await fake.reaction_add(fake.bot_id, int(first["id"]), "⭐")  # the bot's own: ignored
    await fake.reaction_add(robot, int(first["id"]), "🤖")  # another bot's: ignored
    await eventually(lambda: _reactions_are(bot, first["id"], 2), what="two reactions")
    await fake.reaction_remove(fake.mod_id, int(first["id"]), "👍")
    await eventually(lambda: _reactions_are(bot, first["id"], 1), what="one reaction left")

    await fake.user_delete(int(third["id"]))
    await bot.wait_for_replies(2)
    await fake.bulk_delete(thread, [int(second["id"])])
    assert await bot.wait_for_replies(1) == {
        first["id"]: "I study there every evening now, and so does my sister."
    }

    kept = await fake.user_message(other_thread, bob, "Best rye bread.")
    await bot.wait_for_replies(2)
    await fake.thread_delete(thread)
    assert await bot.wait_for_replies(1) == {kept["id"]: "Best rye bread."}


async def _text_is(bot: Bot, message_id: str, text: str) -> bool:
    reply = await bot.store.get_reply(bot.community, message_id)
    return reply is not None and reply.text == text


async def _reactions_are(bot: Bot, message_id: str, count: int) -> bool:
    reply = await bot.store.get_reply(bot.community, message_id)
    return reply is not None and reply.reactions == count


async def test_fifty_replies_at_once_are_stored_exactly_once(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    _, thread = await bot.post("Library opens late")
    sent = [await fake.user_message(thread, fake.member_id, f"reply number {i}") for i in range(50)]
    stored = await bot.wait_for_replies(50)
    assert stored == {m["id"]: m["content"] for m in sent}

    # A reconnect reads the thread's history again: still 50.
    history = len(fake.requests_to("GET", f"/channels/{thread}/messages"))
    await bot.stop()
    await bot.start()
    await fake.wait_for(lambda: len(fake.requests_to("GET", f"/channels/{thread}/messages")) > history)
    await bot.app.drain(3)
    assert await bot.reply_count() == 50


# -- who may do what -------------------------------------------------------------------------


async def test_a_member_without_manage_server_is_refused_and_nothing_changes(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    requests = len(fake.requests)

    post = await bot.command(fake.member_id, "post", {"article": "Breaking: our own article text."})
    schedule = await bot.command(fake.member_id, "digest schedule", {"weekday": "monday", "time": "09:00"})

    for interaction in (post, schedule):
        assert_ephemeral(interaction)
        assert "Only moderators" in answer_text(interaction), answer_text(interaction)
    assert fake.messages_in(fake.general_id) == []
    assert await bot.store.export(bot.community) == []
    assert await bot.store.digest_schedules(bot.community) == []
    # Nothing but the answers went out.
    assert {r.path.split("/")[1] for r in fake.requests[requests:]} <= {"interactions", "webhooks"}


async def test_manage_server_and_the_configured_role_make_a_moderator(bot: Bot) -> None:
    fake = bot.fake
    managers = fake.add_role("Server managers", MANAGE_GUILD)
    dana = fake.add_member(name="dana", roles=[managers])
    team = fake.add_role(MODERATOR_ROLE, 0)
    sam = fake.add_member(name="sam", roles=[team])
    await bot.start()

    for user in (fake.owner_id, fake.mod_id, dana, sam):
        interaction = await bot.command(user, "feed list")
        assert "No feeds yet" in answer_text(interaction), (user, answer_text(interaction))
    refused = await bot.command(fake.member_id, "feed list")
    assert "Only moderators" in answer_text(refused)
    # Members' own commands are open to everyone.
    mine = await bot.command(fake.member_id, "privacy anonymous")
    assert "Only moderators" not in answer_text(mine) and answer_text(mine)
    assert_ephemeral(mine)


async def test_members_privacy_commands_answer_privately_with_their_data(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    _, thread = await bot.post("Library opens late")
    reply = await fake.user_message(thread, fake.member_id, "I study there every evening.")
    await bot.wait_for_replies(1)

    mine = await bot.command(fake.member_id, "privacy my-data")
    await fake.wait_for(lambda: len(mine.followups) == 2)
    assert_ephemeral(mine)
    assert "1 reply" in mine.followups[0]["content"]
    (upload,) = [r for r in fake.requests_to("POST", f"/webhooks/{fake.app_id}/*") if r.files]
    data = json.loads(upload.files["threadcast-my-data.json"])
    assert [r["message_id"] for r in data["replies"]] == [reply["id"]]
    assert mine.followups[1]["attachments"][0]["filename"] == "threadcast-my-data.json"

    optout = await bot.command(fake.member_id, "privacy optout")
    assert "opted out" in answer_text(optout)
    await fake.user_message(thread, fake.member_id, "Not to be kept.")
    forget = await bot.command(fake.member_id, "privacy forget-me")
    assert "Deleted 1 stored reply" in answer_text(forget), answer_text(forget)
    await bot.app.drain(3)
    assert await bot.replies() == {}
    assert fake.messages_in(fake.general_id)[1:] == []  # only the article: every answer was private


async def test_the_slash_command_schema_covers_the_registry(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    (put,) = fake.requests_to("PUT", f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands")
    synced = {(c["name"], c.get("type", 1)): c for c in put.json}
    assert {name for name, kind in synced if kind == 1} == {
        "feed", "prompt", "digest", "reply", "privacy", "post", "stats", "help"
    }  # fmt: skip
    assert {name for name, kind in synced if kind == 3} == {"Feature in digest", "Hide from digest"}
    for command in bot.app.commands:
        top = synced[(command.path[0], 1)]
        if len(command.path) == 1:
            schema = top
        else:
            schema = top
            for depth, word in enumerate(command.path[1:], start=2):  # feed filter add: group, subgroup
                (schema,) = [o for o in schema["options"] if o["name"] == word]
                assert schema["type"] == (1 if depth == len(command.path) else 2), command.path
        assert [o["name"] for o in schema.get("options", [])] == [o.name for o in command.options]
        for option, declared in zip(command.options, schema.get("options", []), strict=True):
            assert declared.get("required", False) == option.required, (command.path, option.name)
        wanted = str(MANAGE_GUILD) if command.moderator else None
        assert str(top.get("default_member_permissions")) == str(wanted), command.path
        assert top.get("dm_permission") is False or top.get("contexts") == [0], command.path
    for name in ("Feature in digest", "Hide from digest"):
        assert str(synced[(name, 3)]["default_member_permissions"]) == str(MANAGE_GUILD)

    post = synced[("post", 1)]
    channel = next(o for o in post["options"] if o["name"] == "channel")
    assert channel["type"] == 7 and set(channel["channel_types"]) >= {0, 5, FORUM}
    digest = synced[("digest", 1)]
    schedule = next(o for o in digest["options"] if o["name"] == "schedule")
    weekday = next(o for o in schedule["options"] if o["name"] == "weekday")
    assert [c["value"] for c in weekday["choices"]][:2] == ["monday", "tuesday"]
    assert len(weekday["choices"]) == 7
    stats = next(o for o in synced[("stats", 1)]["options"] if o["name"] == "days")
    assert (stats["type"], stats["min_value"], stats["max_value"]) == (4, 1, 3650)


# -- a crash between sending a post and recording it ---------------------------------------------


async def pending_post(bot: Bot, title: str) -> tuple[Article, Discussion]:
    """What a crash leaves: the outbox row of a post that may or may not have reached Discord."""
    draft = ArticleDraft(title=title, url="https://news.example/crash", summary="About it.", source="news")
    article = await bot.services.publisher.save(draft)
    pending = await bot.store.begin_discussion(
        article.id, bot.community, str(bot.fake.general_id), prompt="p", feed_id=None, now=bot.clock.now()
    )
    assert pending is not None
    return article, pending


async def test_a_post_sent_before_a_crash_is_found_in_the_channel_and_kept(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    article, pending = await pending_post(bot, "Harbour crane stops for good")
    assert bot.platform is not None
    sent = await bot.platform.post_discussion(bot.community, str(fake.general_id), article, "Your view?")
    bot.clock.advance(timedelta(minutes=11))

    assert await bot.services.publisher.recover_pending() == 1
    kept = await bot.store.get_discussion(pending.id)
    assert kept is not None and kept.state is DiscussionState.POSTED
    assert (kept.message_id, kept.thread_id) == (sent.message_id, sent.thread_id)
    posts = [
        r for r in fake.requests_to("POST", f"/channels/{fake.general_id}/messages") if r.json.get("embeds")
    ]
    assert len(posts) == 1  # nothing sent again


async def test_a_post_whose_thread_was_never_opened_gets_it_after_a_crash(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    article, pending = await pending_post(bot, "Ferry fares rise again")
    channel = bot.client.get_channel(fake.general_id)
    assert isinstance(channel, discord.TextChannel)
    # Sent, then the process died before the thread was opened.
    message = await channel.send(content="Your view?", embed=article_embed(article))
    bot.clock.advance(timedelta(minutes=11))

    assert await bot.services.publisher.recover_pending() == 1
    kept = await bot.store.get_discussion(pending.id)
    assert kept is not None and kept.message_id == str(message.id)
    assert (
        kept.thread_id is not None and fake.channels[int(kept.thread_id)]["name"] == "Ferry fares rise again"
    )
    assert len(fake.requests_to("POST", f"/channels/{fake.general_id}/messages/{message.id}/threads")) == 1


async def test_a_post_that_never_reached_discord_is_posted_again(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    await bot.post("Someone else's article")  # the bot's other posts are not mistaken for it
    _, pending = await pending_post(bot, "Library hours extended")
    bot.clock.advance(timedelta(minutes=11))
    assert await bot.services.publisher.recover_pending() == 1
    assert await bot.store.get_discussion(pending.id) is None  # taken back: the next try posts it
    assert len([m for m in fake.messages_in(fake.general_id) if m.get("embeds")]) == 1


# -- digests -----------------------------------------------------------------------------------


async def test_digest_now_quotes_the_featured_reply_and_leaves_out_the_deleted_one(bot: Bot) -> None:
    fake = bot.fake
    bob = fake.add_member(name="bob")
    await bot.start()
    _, thread = await bot.post("Library opens late")
    featured = await fake.user_message(
        thread, bob, "The late hours changed my exam season. https://t.example/x"
    )
    deleted = await fake.user_message(thread, fake.member_id, "This one I will take back.")
    loud = await fake.user_message(thread, fake.member_id, "@everyone look <@123> and <@&456> here")
    await bot.wait_for_replies(3)

    menu = await bot.menu(fake.mod_id, int(featured["id"]), "Feature in digest")
    assert_ephemeral(menu)
    assert "Featured" in answer_text(menu), answer_text(menu)
    reply = await bot.store.get_reply(bot.community, featured["id"])
    assert reply is not None and reply.featured
    # The link's preview arrives later: the whole message again, but no edit.
    await fake.unfurl(int(featured["id"]), {"url": "https://t.example/x", "title": "Exams"})
    await fake.user_delete(int(deleted["id"]))
    await bot.wait_for_replies(2)
    reply = await bot.store.get_reply(bot.community, featured["id"])
    assert reply is not None and reply.featured and reply.edited_at is None

    interaction = await bot.command(fake.mod_id, "digest now")
    assert "Posted the digest" in answer_text(interaction), answer_text(interaction)

    posted = [e for e in embeds_posted(fake, fake.general_id) if e[0]["title"] != "Library opens late"]
    assert posted and posted[0][0]["title"] == "Community digest"
    text = "\n".join(embed_text(embeds) for embeds in posted)
    assert "★ The late hours changed my exam season. https://t.example/x" in text
    assert "bob" in text
    assert "take back" not in text
    assert "@everyone" not in text and "<@123>" not in text and "<@&456>" not in text
    assert "@\u200beveryone" in text  # still readable, unable to ping
    assert f"https://discord.com/channels/{fake.guild_id}/{thread}" in text  # a link to the thread
    for request in fake.requests_to("POST", f"/channels/{fake.general_id}/messages"):
        assert request.json["allowed_mentions"] == NO_PINGS
    for message in fake.messages_in(fake.general_id):
        assert not message["mention_everyone"] and message["mentions"] == [] == message["mention_roles"]
    assert loud["content"].startswith("@everyone")  # the member's own message did say it

    # The participation chart rides in the first digest message, shown inside its first embed.
    sent = [
        r for r in fake.requests_to("POST", f"/channels/{fake.general_id}/messages") if r.json.get("embeds")
    ]
    first = next(r for r in sent if r.json["embeds"][0]["title"] == "Community digest")
    assert list(first.files) == ["participation.png"]
    assert first.json["embeds"][0]["image"]["url"] == "attachment://participation.png"
    with Image.open(io.BytesIO(first.files["participation.png"])) as chart:
        assert (chart.format, chart.size) == ("PNG", (800, 340))
    assert all(not r.files for r in sent if r is not first)

    hide = await bot.menu(fake.mod_id, int(loud["id"]), "Hide from digest")
    assert "Hidden" in answer_text(hide), answer_text(hide)
    preview = await bot.command(fake.mod_id, "digest preview")
    await fake.wait_for(lambda: any(m.get("embeds") for m in preview.followups))
    shown = "\n".join(embed_text(m.get("embeds") or []) for m in preview.followups)
    assert "The late hours" in shown and "look" not in shown
    assert_ephemeral(preview)
    [with_chart] = [m for m in preview.followups if m.get("attachments")]
    assert with_chart["attachments"][0]["filename"] == "participation.png"


async def test_a_big_digest_is_split_across_messages_within_discords_limits(bot: Bot) -> None:
    fake = bot.fake
    members = [fake.add_member(name=f"member {i} " + "x" * 60) for i in range(3)]
    await bot.start()
    words = " ".join(["neighbourhood"] * 60)
    threads = []
    for i in range(12):
        _, thread = await bot.post(f"Article {i} " + " ".join(["headline"] * 40))
        threads.append(thread)
    for i in range(3):
        await bot.post(f"Waiting article {i}")
    for thread in threads:
        for member in members:
            await fake.user_message(thread, member, f"{words} {thread}")
    await bot.wait_for_replies(36, timeout=5)

    def digest_messages() -> list[Any]:
        requests = fake.requests_to("POST", f"/channels/{fake.general_id}/messages")
        return [r for r in requests if r.json.get("embeds") and not r.json.get("content")]  # no prompt

    # The compact style (the default) tightens the week into one message.
    interaction = await bot.command(fake.mod_id, "digest now")
    assert "Posted the digest" in answer_text(interaction), answer_text(interaction)
    [compact] = digest_messages()
    assert compact.status == 200 and sum(len(embed_text([e])) for e in compact.json["embeds"]) <= 6000

    styled = await bot.command(fake.mod_id, "digest style", {"style": "full"})
    assert "full" in answer_text(styled), answer_text(styled)
    interaction = await bot.command(fake.mod_id, "digest now")
    assert "Posted the digest" in answer_text(interaction), answer_text(interaction)
    digest = digest_messages()[1:]
    assert digest[0].json["embeds"][0]["title"] == "Community digest"
    assert len(digest) >= 2, "one message cannot hold this digest"
    assert all(r.status == 200 for r in digest)
    titles = []
    for request in digest:
        embeds = request.json["embeds"]
        assert 1 <= len(embeds) <= 10
        size = 0
        for embed in embeds:
            title, description = embed.get("title") or "", embed.get("description") or ""
            footer = (embed.get("footer") or {}).get("text") or ""
            assert len(title) <= 256 and len(description) <= 4096 and len(footer) <= 2048
            size += len(title) + len(description) + len(footer)
            titles.append(title)
        assert size <= 6000
        assert request.json["allowed_mentions"] == NO_PINGS
    assert titles[0] == "Community digest"
    ranked = [t for t in titles if t[:1].isdigit()]
    assert len(ranked) == 10 and ranked[0].startswith("1. Article") and ranked[0].endswith("…")
    assert "Waiting for a first reply" in titles
    # Shortened texts end after a whole word.
    text = "\n".join(embed_text(r.json["embeds"]) for r in digest)
    assert set(re.findall(r"(\w+)…", text)) <= {"neighbourhood", "headline"}


# -- catch-up ------------------------------------------------------------------------------------


async def test_replies_written_while_the_bot_was_away_are_collected_once(bot: Bot) -> None:
    fake = bot.fake
    bob = fake.add_member(name="bob")
    robot = fake.add_member(name="robot", bot=True)
    await bot.start()
    _, thread = await bot.post("Library opens late")
    live = await fake.user_message(thread, fake.member_id, "Written while the bot listened.")
    await bot.wait_for_replies(1)

    await bot.stop()
    away = [
        fake.store_message(thread, bob, "Written while the bot was stopped."),
        fake.store_message(thread, fake.member_id, "And another one."),
    ]
    fake.store_message(thread, robot, "a bot's words")
    fake.store_message(thread, fake.bot_id, "the bot's own words")
    history = f"/channels/{thread}/messages"

    def reads() -> list[Request]:
        # What was written after the mark; the other reading (newest first, no `after`) is the
        # one that brings stored replies back to what the thread shows.
        return [r for r in fake.requests_to("GET", history) if "after" in r.query]

    await bot.start()
    stored = await bot.wait_for_replies(3)
    assert stored == {m["id"]: m["content"] for m in [live, *away]}
    (read,) = reads()
    assert read.query["after"] == live["id"]  # only what came after the last stored reply

    # Started again: read from the newest stored reply on, and nothing is stored twice.
    await bot.stop()
    await bot.start()
    await fake.wait_for(lambda: len(reads()) == 2)
    await bot.app.drain(3)
    assert reads()[1].query["after"] == away[-1]["id"]
    assert await bot.reply_count() == 3

    # A dropped connection resumes: Discord replays the gap's message, so no history is read.
    requests = len(fake.requests_to("GET", history))
    await fake.drop_connection()
    gap = await fake.user_message(thread, bob, "Written during the gap.")
    stored = await bot.wait_for_replies(4)
    assert 6 in fake.connections[-1].ops and 2 not in fake.connections[-1].ops  # RESUMEd
    assert gap["id"] in stored and await bot.reply_count() == 4
    assert len(fake.requests_to("GET", history)) == requests


# -- resilience -----------------------------------------------------------------------------------


async def test_a_429_on_the_post_is_retried_and_posted_once(bot: Bot) -> None:
    fake = bot.fake
    route = f"/channels/{fake.general_id}/messages"
    fake.inject("POST", route, rate_limited(0.05))
    await bot.start()

    interaction = await bot.command(fake.mod_id, "post", {"article": "Bridge reopens\n\nThe bridge is open."})

    assert "Posted" in answer_text(interaction), answer_text(interaction)
    assert [r.status for r in fake.requests_to("POST", route)] == [429, 200]
    assert len(fake.messages_in(fake.general_id)) == 1
    assert len(await bot.store.export(bot.community)) == 1


async def test_missing_permissions_are_told_to_the_moderator_and_nothing_is_stored(bot: Bot) -> None:
    fake = bot.fake
    fake.deny(fake.general_id)
    await bot.start()

    interaction = await bot.command(fake.mod_id, "post", {"article": "Bridge reopens\n\nThe bridge is open."})

    answer = answer_text(interaction)
    assert "missing permission" in answer and "Send Messages" in answer, answer
    assert_ephemeral(interaction)
    assert fake.messages_in(fake.general_id) == []
    assert await bot.store.export(bot.community) == []
    assert await bot.store.pending_discussions() == []

    # Allowed again: the same article posts (nothing half-stored blocks it).
    fake.denied_channels.clear()
    again = await bot.command(fake.mod_id, "post", {"article": "Bridge reopens\n\nThe bridge is open."})
    assert "Posted" in answer_text(again), answer_text(again)


async def test_a_refused_thread_leaves_no_message_behind(bot: Bot) -> None:
    fake = bot.fake
    fake.inject(
        "POST",
        f"/channels/{fake.general_id}/messages/*/threads",
        api_error(403, 50013, "Missing Permissions"),
    )
    await bot.start()

    interaction = await bot.command(fake.mod_id, "post", {"article": "Bridge reopens\n\nThe bridge is open."})

    answer = answer_text(interaction)
    assert "Create Public Threads" in answer, answer
    assert fake.messages_in(fake.general_id) == []  # the starter message was taken back
    assert await bot.store.export(bot.community) == []
    assert await bot.store.pending_discussions() == []


async def test_a_server_error_or_a_missing_channel_stores_nothing(bot: Bot) -> None:
    fake = bot.fake
    fake.inject("POST", f"/channels/{fake.general_id}/messages", server_error(503))
    await bot.start()

    interaction = await bot.command(fake.mod_id, "post", {"article": "Bridge reopens\n\nThe bridge is open."})

    assert "503" in answer_text(interaction), answer_text(interaction)
    draft = ArticleDraft("Bakery wins prize", "https://news.example/bakery", "Rye.", "news.example")
    with pytest.raises(PublishError, match="does not exist"):
        await bot.services.publisher.publish(draft, bot.community, "123456789012345678")
    assert await bot.store.export(bot.community) == []
    assert await bot.store.pending_discussions() == []


async def test_supervise_starts_again_after_a_malformed_dispatch(bot: Bot) -> None:
    fake = bot.fake
    bot.expected_errors.add("adapters.discord.platform")  # "the Discord connection ended"
    platform = bot.new_platform()
    bot.started.append(platform)
    stop = asyncio.Event()
    running = asyncio.create_task(supervise(platform, fake.token, stop, delay=0.05))
    try:
        await fake.wait_for(lambda: platform.client.is_ready() or running.done())
        _, thread = await bot.post("Library opens late")

        # MESSAGE_CREATE without "content": discord.py's parser raises and Client.start ends.
        await fake.dispatch("MESSAGE_CREATE", {"id": "1", "channel_id": str(thread), "type": 0})
        await fake.wait_for(
            lambda: len([c for c in fake.connections if 2 in c.ops]) == 2 and platform.client.is_ready()
        )  # a second IDENTIFY: started again
        assert not running.done()

        reply = await fake.user_message(thread, fake.member_id, "Still listening?")
        assert await bot.wait_for_replies(1) == {reply["id"]: "Still listening?"}
    finally:
        stop.set()
        await platform.client.close()
        await asyncio.wait_for(running, 3)


async def test_a_refused_message_content_intent_is_a_clear_start_error(bot: Bot) -> None:
    fake = bot.fake
    fake.privileged_intents = 0
    platform = bot.new_platform()
    bot.started.append(platform)
    try:
        with pytest.raises(DiscordStartError, match="Message Content intent"):
            await asyncio.wait_for(supervise(platform, fake.token, asyncio.Event(), delay=0.05), 3)
    finally:
        await platform.client.close()
    identify = next(frame for c in fake.connections for frame in c.received if frame.get("op") == 2)
    assert identify["d"]["intents"] & MESSAGE_CONTENT


# -- command sync -------------------------------------------------------------------------------


async def test_commands_sync_to_the_guild_and_only_when_they_changed(bot: Bot) -> None:
    fake = bot.fake
    marker = bot.tmp_path / "commands.sync"
    guild_route = f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"
    global_route = f"/applications/{fake.app_id}/commands"

    await bot.start(sync_marker=marker)
    assert len(fake.requests_to("PUT", guild_route)) == 1 and not fake.requests_to("PUT", global_route)
    assert marker.exists()
    synced = {c["name"] for c in fake.commands[fake.guild_id]}
    assert {"post", "feed", "Feature in digest"} <= synced

    await bot.stop()
    await bot.start()  # the same client, started again (as supervise does)
    await bot.stop()
    await bot.start(sync_marker=marker)  # a new process: a new platform, the same marker
    assert len(fake.requests_to("PUT", guild_route)) == 1
    assert len([c for c in fake.connections if 2 in c.ops]) == 3

    # Commands still work without a new sync.
    interaction = await bot.command(fake.mod_id, "feed list")
    assert "No feeds yet" in answer_text(interaction)


async def test_without_guild_ids_commands_sync_globally(bot: Bot) -> None:
    fake = bot.fake
    await bot.start(guild_ids=())
    assert len(fake.requests_to("PUT", f"/applications/{fake.app_id}/commands")) == 1
    assert not fake.requests_to("PUT", f"/applications/{fake.app_id}/guilds/*")
    interaction = await bot.command(fake.mod_id, "help")
    # The whole answer, however many messages it takes, before the fake Discord closes.
    parts = len(split_content(bot.app.commands.help_text(moderator=True)))
    await fake.wait_for(lambda: len(interaction.followups) == parts, 3)
    assert "threadcast commands" in answer_text(interaction)


# -- the composition root -----------------------------------------------------------------------


async def test_threadcast_run_with_a_discord_token_runs_the_bot_until_sigterm(tmp_path: Path) -> None:
    from threadcast.wiring import run_platforms

    database = tmp_path / "threadcast.db"
    async with FakeDiscord() as fake:
        settings = Settings(
            database_url=f"sqlite:///{database}",
            discord_token=fake.token,
            discord_guild_ids=(fake.guild_id,),
        )
        ready = asyncio.Event()
        running = asyncio.create_task(run_platforms(settings, ready=ready))
        try:
            await fake.wait_for(
                lambda: running.done() or (ready.is_set() and fake.commands.get(fake.guild_id))
            )
            await fake.wait_for(lambda: running.done() or fake.session_id)
            assert not running.done()
            post = await fake.slash_command(
                fake.mod_id, fake.general_id, "post", {"article": "Bridge reopens"}
            )
            await fake.wait_for(lambda: post.followups)
            assert "Posted" in answer_text(post), answer_text(post)
        finally:
            if ready.is_set() and not running.done():  # its SIGTERM handler is installed
                os.kill(os.getpid(), signal.SIGTERM)  # as an operator stops it
            else:
                running.cancel()
            await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 5)
        running.result()  # stopped cleanly
        marker = Path(f"{database}.discord-commands")
        assert await asyncio.to_thread(marker.exists)  # synced once, remembered
    db = SQLiteStore(database)
    await db.open()
    try:
        ((discussion, article, _),) = await db.export(None)
        assert article.title == "Bridge reopens" and discussion.channel_id == str(fake.general_id)
    finally:
        await db.close()


async def test_timezone_options_are_autocompleted(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    options = {"weekday": "monday", "time": "09:00", "timezone": "berl"}
    typing = await fake.autocomplete(fake.mod_id, fake.general_id, "digest schedule", options, "timezone")
    await fake.wait_for(lambda: typing.responses)
    (response,) = typing.responses
    choices = [c["value"] for c in response["data"]["choices"]]
    assert response["type"] == 8 and choices[0] == "Europe/Berlin" and len(choices) <= 25


async def test_a_reply_deleted_at_once_is_not_kept(bot: Bot) -> None:
    """Events run in their own tasks; a delete must never overtake the reply it deletes."""
    fake = bot.fake
    await bot.start()
    _, thread = await bot.post("Quick regrets")
    for n in range(10):
        message = await fake.user_message(thread, fake.member_id, f"oops {n}")
        await fake.user_delete(int(message["id"]))
    keeper = await fake.user_message(thread, fake.member_id, "This one stays.")

    async def keeper_stored() -> dict[str, str] | None:
        found = await bot.replies()
        return found if keeper["id"] in found else None

    # Events are handled in order, so once the keeper is in, every earlier delete has run too.
    stored = await eventually(keeper_stored, 3.0, "the last reply stored")
    assert stored == {keeper["id"]: "This one stays."}


async def test_cleared_reactions_leave_the_store(bot: Bot) -> None:
    fake = bot.fake
    await bot.start()
    _, thread = await bot.post("Reactions come and go")
    reply = await fake.user_message(thread, fake.member_id, "React to me.")
    await bot.wait_for_replies(1)
    await fake.reaction_add(fake.mod_id, int(reply["id"]), "🎉")
    await eventually(lambda: _reactions_are(bot, reply["id"], 1), what="one reaction")
    await fake.reactions_clear(int(reply["id"]))
    await eventually(lambda: _reactions_are(bot, reply["id"], 0), what="no reactions")


async def test_refused_slash_commands_are_a_clear_start_error(bot: Bot) -> None:
    fake = bot.fake
    fake.inject(
        "PUT",
        f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands",
        api_error(403, 50001, "Missing Access"),
    )
    platform = bot.new_platform()
    bot.started.append(platform)
    try:
        with pytest.raises(DiscordStartError, match=r"applications\.commands"):
            await asyncio.wait_for(supervise(platform, fake.token, asyncio.Event(), delay=0.05), 3)
    finally:
        await platform.client.close()


# -- feeds: discovery and OPML ---------------------------------------------------------------


async def test_feed_add_of_a_page_import_and_export_over_discord(bot: Bot, server: SourcesServer) -> None:
    from bot.sources.opml import parse_opml

    fake = bot.fake
    server.serve("/", (
        "<!doctype html><html><head><title>Town Times</title>"
        '<link rel="alternate" type="application/atom+xml" href="/feed.xml"></head><body></body></html>'
    ), content_type="text/html")  # fmt: skip
    server.serve("/feed.xml", rss(("Old news", "https://town.example/old")))
    server.serve("/herald.xml", rss(("Harbour", "https://herald.example/1")))
    server.serve("/subs.opml", (
        '<?xml version="1.0"?><opml version="1.0"><head><title>Subscriptions</title></head><body>'
        f'<outline text="News"><outline type="rss" text="Times" xmlUrl="{server.url("/feed.xml")}"/>'
        f'<outline type="rss" text="Herald" xmlUrl="{server.url("/herald.xml")}"/>'
        '<outline type="rss" text="Bad" xmlUrl="file:///etc/passwd"/></outline></body></opml>'
    ), content_type="text/x-opml")  # fmt: skip
    await bot.start()

    added = await bot.command(fake.mod_id, "feed add", {"url": server.url("/")})
    assert f"Found the feed {server.url('/feed.xml')} on {server.url('/')}" in answer_text(added)
    assert_ephemeral(added)

    imported = await bot.command(fake.mod_id, "feed import", {"url": server.url("/subs.opml")})
    text = answer_text(imported)
    assert "Added 1, skipped 1 as duplicates, refused 1." in text, text
    assert "file:///etc/passwd: not a valid http(s) URL" in text
    assert_ephemeral(imported)
    assert fake.messages_in(fake.general_id) == []  # backlog 0: nothing posted

    exported = await bot.command(fake.mod_id, "feed export")
    await fake.wait_for(lambda: len(exported.followups) == 2)
    assert "2 feeds of 1 channel(s)" in exported.followups[0]["content"]
    assert exported.followups[1]["attachments"][0]["filename"] == "threadcast-feeds.opml"
    assert_ephemeral(exported)
    (upload,) = [r for r in fake.requests_to("POST", f"/webhooks/{fake.app_id}/*") if r.files]
    document = parse_opml(upload.files["threadcast-feeds.opml"])
    assert [f.url for f in document.feeds] == [server.url("/feed.xml"), server.url("/herald.xml")]
    assert [f.folder for f in document.feeds] == [f"#{fake.general_id}"] * 2


# -- feed controls: filters, template, poll --------------------------------------------------


async def test_feed_filters_template_and_poll_through_slash_commands(bot: Bot, server: SourcesServer) -> None:
    fake = bot.fake
    server.serve("/gazette.xml", feed_items.rss([feed_items.OLD]))
    await bot.start()
    added = await bot.command(fake.mod_id, "feed add", {"url": server.url("/gazette.xml")})
    assert "Subscribed" in answer_text(added), answer_text(added)
    (feed,) = await bot.store.list_feeds(bot.community)
    number = str(feed.id)

    exclude = await bot.command(
        fake.mod_id,
        "feed filter add",
        {"feed": number, "action": "exclude", "pattern": "Sponsored", "field": "title"},
    )
    assert "filter 1 added: exclude items whose title matches Sponsored" in answer_text(exclude)
    include = await bot.command(
        fake.mod_id, "feed filter add", {"feed": number, "action": "include", "pattern": "rust"}
    )
    assert "filter 2 added: include" in answer_text(include)
    templated = await bot.command(
        fake.mod_id, "feed template", {"feed": number, "parts": "link,title,prompt"}
    )
    assert "now posts: link,title,prompt" in answer_text(templated)
    assert_ephemeral(templated)

    server.serve("/gazette.xml", feed_items.rss(feed_items.NEW_ITEMS))
    preview = await bot.command(fake.mod_id, "feed template", {"feed": number, "parts": "preview"})
    await fake.wait_for(lambda: len(preview.followups) >= 2, 3)
    shown = preview.followups[1]
    (card,) = shown["embeds"]
    assert card["title"] == feed_items.RUST.title and card["description"] == "<https://gazette.example/rust>"
    assert "footer" not in card and shown["content"].startswith("What do you make of")
    assert fake.messages_in(fake.general_id) == []  # a preview posts nothing

    polled = await bot.command(fake.mod_id, "feed poll", {"feed": number})
    said = answer_text(polled)
    assert "posted 1 item:\n• Rust workshop at the library" in said, said
    assert "2 new items held back by filters" in said
    (starter,) = fake.messages_in(fake.general_id)
    (card,) = starter["embeds"]
    assert card["title"] == feed_items.RUST.title and card["url"] == "https://gazette.example/rust"
    assert card["description"] == "<https://gazette.example/rust>" and "footer" not in card
    assert starter["content"].startswith("What do you make of “Rust workshop")
    assert "Learn the basics." not in json.dumps(starter)  # the template leaves the excerpt out

    listed = await bot.command(fake.mod_id, "feed list")
    assert "2 items held back by filters" in answer_text(listed)
    again = await bot.command(fake.mod_id, "feed poll", {"feed": number})
    assert answer_text(again).endswith("no new items.")
    assert len(fake.messages_in(fake.general_id)) == 1


async def test_feed_subcommand_groups_are_synced_nested(bot: Bot) -> None:
    await bot.start()
    (feed,) = [c for c in bot.fake.commands[bot.fake.guild_id] if c["name"] == "feed"]
    by_name = {o["name"]: o for o in feed["options"]}
    assert by_name["filter"]["type"] == 2  # a subcommand group
    assert {o["name"] for o in by_name["filter"]["options"]} == {"add", "remove", "list"}
    assert {"add", "remove", "list", "template", "poll"} <= set(by_name)
