"""threadcast on the real, unmodified slack-bolt and slack-sdk, against the fake Slack in
tests/fake_slack.py, in Socket Mode and in HTTP mode.

Tests drive the bot as Slack would (events, slash commands, shortcuts over the socket or
signed HTTP requests) and assert on what the fake received and on what the store holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from adapters.slack.platform import SlackPlatform
from adapters.slack.render import BLOCKS_PER_MESSAGE, SECTION_LIMIT, article_blocks, digest_blocks, pack
from bot.app import App
from bot.config import Settings
from bot.models import Article, Community, Discussion
from bot.platform import ChatPlatform
from bot.services import Services, build_core
from bot.sources.http import AiohttpFetcher
from storage.sqlite import SQLiteStore
from tests.fake_slack import (
    ADMIN,
    FIRST_TS,
    GENERAL,
    MEMBER,
    OWNER,
    FakeSlack,
    Json,
    api_error,
    ratelimited,
)

pytestmark = pytest.mark.timeout(10)

T = TypeVar("T")
SECRET = "fake-signing-secret"
# The fake's message ts start at FIRST_TS; the core's clock starts just before it.
START = datetime.fromtimestamp(FIRST_TS / 1_000_000, UTC) - timedelta(seconds=30)
ARTICLE = '"Library opens late <!channel> & <@U0ADMIN>: readers asked <https://evil.example|click> for it."'


class Clock:
    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 2.0, what: str = "") -> T:
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not reached within {timeout} s: {what or check}") from None


@dataclass
class Bot:
    fake: FakeSlack
    app: App
    services: Services
    store: SQLiteStore
    clock: Clock
    platforms: dict[str, ChatPlatform]
    platform: SlackPlatform | None = None

    @property
    def community(self) -> Community:
        return Community("slack", self.fake.team_id)

    async def start(self, *, http: bool = False, **options: Any) -> SlackPlatform:
        if http:
            options.update(signing_secret=SECRET, http_host="127.0.0.1", http_port=0)
        else:
            options.update(app_token=self.fake.app_token)
        options.setdefault("moderators", ())
        platform = SlackPlatform(
            self.app, bot_token=self.fake.bot_token, base_url=self.fake.api_url, pace=0.0, **options
        )
        self.platform = platform
        self.platforms["slack"] = platform
        await platform.start()
        if not http:
            await self.fake.wait_connected()
        return platform

    async def command(self, user: str, text: str, *, http: bool = False) -> Json:
        """A /threadcast command; returns the bot's first answer (a response_url body)."""
        seen = len(self.fake.responses)
        if http:
            assert self.platform is not None and self.platform.http_url
            reply = await self.fake.http_event(
                self.platform.http_url, self.fake.command_body(user, text), secret=SECRET
            )
            assert reply.status == 200
        else:
            await self.fake.socket_command(user, text)
        await self.fake.wait_for(lambda: len(self.fake.responses) > seen)
        await self.app.drain(2)
        return self.fake.responses[seen]

    async def discussions(self) -> list[Discussion]:
        return [d for d, _, _ in await self.store.export(self.community)]

    async def replies(self) -> dict[str, Any]:
        return {
            v.reply.message_id: v.reply
            for _, _, views in await self.store.export(self.community)
            for v in views
        }


@pytest.fixture
async def bot(store: SQLiteStore, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Bot]:
    caplog.set_level(logging.WARNING)
    clock = Clock()
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    platforms: dict[str, ChatPlatform] = {}
    app, services = build_core(Settings(), store, clock, fetcher, platforms)
    async with FakeSlack() as fake:
        harness = Bot(fake, app, services, store, clock, platforms)
        try:
            yield harness
        finally:
            if harness.platform is not None:
                await harness.platform.close()
            await app.shutdown()
            await fetcher.close()
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors


def posted_texts(fake: FakeSlack) -> str:
    """Everything the bot wrote to Slack: messages, blocks and answers, as one string."""
    return json.dumps(
        [c.params for c in fake.calls if c.method in ("chat.postMessage", "response_url")], ensure_ascii=False
    )


def assert_harmless(fake: FakeSlack) -> None:
    text = posted_texts(fake)
    for markup in ("<!channel>", "<!here>", "<@U0", "<https://evil"):
        assert markup not in text, markup


async def post_article(bot: Bot, user: str = ADMIN, *, http: bool = False) -> tuple[Json, Discussion]:
    answer = await bot.command(user, f"post {ARTICLE}", http=http)
    (discussion,) = await bot.discussions()
    return answer, discussion


# ----------------------------------------------------------------------------- Socket Mode


async def test_moderator_post_posts_blocks_and_stores_the_discussion(bot: Bot) -> None:
    await bot.start()
    answer, discussion = await post_article(bot)
    (call,) = bot.fake.calls_to("chat.postMessage")
    blocks = call.params["blocks"]
    assert call.params["channel"] == GENERAL and call.params["text"]
    assert blocks[0]["type"] in ("header", "section")
    assert any(b["type"] == "context" for b in blocks)
    shown = json.dumps(blocks)
    assert "&lt;" in shown and "&amp;" in shown and "&gt;" in shown  # escaped, so shown as typed
    assert "<!channel>" not in shown and "<@U0ADMIN>" not in shown and "<https://evil" not in shown
    (message,) = bot.fake.messages_in(GENERAL)
    assert discussion.thread_id == discussion.message_id == f"{GENERAL}:{message['ts']}"
    assert discussion.channel_id == GENERAL
    assert answer["response_type"] == "ephemeral" and answer["channel"] == GENERAL
    assert_harmless(bot.fake)


async def test_replies_edit_delete_and_reactions_reach_storage(bot: Bot) -> None:
    await bot.start()
    _, discussion = await post_article(bot)
    thread_ts = discussion.thread_id.split(":")[1] if discussion.thread_id else ""
    await bot.fake.user_message(GENERAL, MEMBER, "first <!channel>", thread_ts=thread_ts)
    second = bot.fake.message_event(GENERAL, OWNER, "second", thread_ts=thread_ts)
    await bot.fake.socket_event(second)
    await bot.fake.user_message(GENERAL, MEMBER, "not in a thread")
    await bot.fake.bot_message(GENERAL, "another bot", thread_ts=thread_ts)
    replies = await eventually(lambda: _count(bot, 2), what="two stored replies")
    first_id = next(k for k, r in replies.items() if r.author_id == MEMBER)
    first_ts = first_id.split(":")[1]
    await bot.fake.user_edit(GENERAL, first_ts, "first, edited")
    await bot.fake.reaction_add(GENERAL, first_ts, ADMIN, "star")
    await bot.fake.reaction_add(GENERAL, first_ts, OWNER, "tada")
    await bot.fake.reaction_remove(GENERAL, first_ts, OWNER, "tada")
    await bot.fake.user_delete(GENERAL, second["ts"])
    await bot.app.drain(2)

    async def settled() -> dict[str, Any] | None:
        found = await bot.replies()
        reply = found.get(first_id)
        return found if len(found) == 1 and reply and reply.text == "first, edited" else None

    replies = await eventually(settled, what="edit and delete stored")
    assert replies[first_id].reactions == 1
    assert replies[first_id].edited_at is not None
    assert len(bot.fake.acks) >= 9  # every event was acknowledged


async def _count(bot: Bot, n: int) -> dict[str, Any] | None:
    found = await bot.replies()
    return found if len(found) == n else None


async def test_a_non_moderator_is_refused(bot: Bot) -> None:
    await bot.start()
    answer = await bot.command(MEMBER, f"post {ARTICLE}")
    assert "moderator" in answer["text"].lower() and answer["response_type"] == "ephemeral"
    assert bot.fake.calls_to("chat.postMessage") == []
    assert await bot.discussions() == []
    help_answer = await bot.command(MEMBER, "")
    assert "threadcast commands" in help_answer["text"]
    wrong = await bot.command(MEMBER, "frobnicate")
    assert "Unknown command" in wrong["text"]


async def test_slack_moderators_setting_grants_rights(bot: Bot) -> None:
    await bot.start(moderators=(MEMBER,))
    await post_article(bot, MEMBER)


async def test_digest_now_quotes_the_featured_reply_and_leaves_out_the_deleted(bot: Bot) -> None:
    await bot.start()
    _, discussion = await post_article(bot)
    thread_ts = (discussion.thread_id or "").split(":")[1]
    keep = bot.fake.message_event(
        GENERAL, MEMBER, "A featured thought <!here> about evening hours", thread_ts
    )
    gone = bot.fake.message_event(GENERAL, OWNER, "Something I regret saying", thread_ts)
    for event in (keep, gone):
        await bot.fake.socket_event(event)
    await eventually(lambda: _count(bot, 2))
    ack = await bot.fake.socket_interactive("feature_in_digest", GENERAL, keep["ts"], ADMIN)
    assert ack["envelope_id"] in bot.fake.acks
    await bot.fake.wait_for(lambda: bot.fake.responses[1:])
    assert "Featured" in bot.fake.responses[-1]["text"]
    await bot.fake.user_delete(GENERAL, gone["ts"])
    await bot.app.drain(2)
    bot.clock.advance(timedelta(minutes=5))

    answer = await bot.command(ADMIN, "digest now")
    assert "Posted the digest" in answer["text"]
    assert "<#C0GENERAL>" in answer["text"]
    digest_call = bot.fake.calls_to("chat.postMessage")[-1]
    shown = json.dumps(digest_call.params["blocks"], ensure_ascii=False)
    assert "A featured thought" in shown and "★" in shown
    assert "regret" not in shown
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in digest_call.params["blocks"] if "text" in b)
    assert_harmless(bot.fake)


async def test_help_and_preview_are_private_answers(bot: Bot) -> None:
    await bot.start()
    preview = await bot.command(ADMIN, "digest preview")
    assert preview["response_type"] == "ephemeral"
    await bot.fake.wait_for(lambda: any("blocks" in r for r in bot.fake.responses))
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_a_rate_limited_post_is_retried_and_stored_once(bot: Bot) -> None:
    await bot.start()
    bot.fake.inject("chat.postMessage", ratelimited(retry_after=0))
    started = time.monotonic()
    await post_article(bot)
    assert len(bot.fake.calls_to("chat.postMessage")) == 2
    assert len(bot.fake.messages_in(GENERAL)) == 1
    assert len(await bot.discussions()) == 1
    assert time.monotonic() - started < 2.0


async def test_a_refused_post_tells_the_moderator_and_records_nothing_posted(bot: Bot) -> None:
    await bot.start()
    bot.fake.inject("chat.postMessage", api_error("not_in_channel"))
    answer = await bot.command(ADMIN, f"post {ARTICLE}")
    assert "/invite" in answer["text"]
    assert bot.fake.messages_in(GENERAL) == []
    assert all(d.message_id is None for d in await bot.discussions())


async def test_catch_up_reads_replies_missed_while_away(bot: Bot) -> None:
    platform = await bot.start()
    _, discussion = await post_article(bot)
    thread_ts = (discussion.thread_id or "").split(":")[1]
    bot.fake.store(GENERAL, {"user": MEMBER, "text": "while you were away"}, thread_ts=thread_ts)
    missed = await platform.replies_since(discussion, None)
    assert [r.text for r in missed] == ["while you were away"] and missed[0].from_history
    bot.fake.replies_per_minute, bot.fake.replies_retry_after = 0, 60
    started = time.monotonic()
    assert await platform.replies_since(discussion, None) == []  # gives up at once on a 429
    assert time.monotonic() - started < 1.0


# ----------------------------------------------------------------------------- HTTP mode


async def test_http_mode_signed_command_posts_and_events_reach_storage(bot: Bot) -> None:
    platform = await bot.start(http=True)
    assert platform.http_url
    _, discussion = await post_article(bot, http=True)
    thread_ts = (discussion.thread_id or "").split(":")[1]
    body = bot.fake.event_body(bot.fake.message_event(GENERAL, MEMBER, "over HTTP <!channel>", thread_ts))
    reply = await bot.fake.http_event(platform.http_url, body, secret=SECRET)
    assert reply.status == 200
    replies = await eventually(lambda: _count(bot, 1))
    assert [r.text for r in replies.values()] == ["over HTTP <!channel>"]  # stored as written
    member = await bot.command(MEMBER, f"post {ARTICLE}", http=True)
    assert "moderator" in member["text"].lower()
    assert_harmless(bot.fake)


@pytest.mark.parametrize("fault", ["bad_signature", "stale_timestamp"])
async def test_http_mode_refuses_bad_signature_and_stale_timestamp(bot: Bot, fault: str) -> None:
    platform = await bot.start(http=True)
    assert platform.http_url
    body = bot.fake.command_body(ADMIN, f"post {ARTICLE}")
    calls = len(bot.fake.calls)
    if fault == "bad_signature":
        reply = await bot.fake.http_event(platform.http_url, body, secret=SECRET, bad_signature=True)
    else:
        stale = int(time.time()) - 6 * 60
        reply = await bot.fake.http_event(platform.http_url, body, secret=SECRET, timestamp=stale)
    assert reply.status == 401
    await asyncio.sleep(0.1)
    await bot.app.drain(1)
    assert len(bot.fake.calls) == calls and bot.fake.responses == []
    assert await bot.discussions() == []


# ----------------------------------------------------------------------------- rendering


def test_article_blocks_escape_and_stay_within_limits() -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    article = Article(1, "k", "T" * 400, None, "<!here> & " * 900, "src <@U1>", now, now)
    blocks, fallback = article_blocks(article, "What do you think, <!channel>?")
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    shown = json.dumps(blocks) + fallback
    assert "<!" not in shown and "<@" not in shown


def test_a_long_digest_is_split_into_messages_within_limits() -> None:
    from bot.digest import Digest, DiscussionSummary, Figures, Highlight
    from bot.models import PeriodCounts

    highlight = Highlight("a member", "word " * 56, 0, False)
    summaries = tuple(
        DiscussionSummary(f"Title {i}", None, None, 3, 2, 1, (highlight,) * 3) for i in range(60)
    )
    digest = Digest(
        Community("slack", "T"),
        START,
        START,
        "UTC",
        Figures(60, 180, 10, 1, PeriodCounts(0, 0, 0)),
        summaries,
    )
    messages = pack(digest_blocks(digest))
    assert len(messages) > 1
    for blocks in messages:
        assert len(blocks) <= BLOCKS_PER_MESSAGE
        assert blocks[0]["type"] != "divider" and blocks[-1]["type"] != "divider"


# ----------------------------------------------------------------------------- the composition root


async def test_threadcast_run_serves_discord_and_slack_over_one_store(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from bot.wiring import run_platforms
    from tests.fake_discord import FakeDiscord

    database = tmp_path / "threadcast.db"
    async with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        settings = Settings(
            database_url=f"sqlite:///{database}",
            discord_token=discord_fake.token,
            discord_guild_ids=(discord_fake.guild_id,),
            slack_bot_token=slack_fake.bot_token,
            slack_app_token=slack_fake.app_token,
            slack_api_url=slack_fake.api_url,
        )
        ready = asyncio.Event()
        running = asyncio.create_task(run_platforms(settings, ready=ready))
        try:
            await eventually(lambda: _true(running.done() or ready.is_set()), 5, "ready")
            await discord_fake.wait_for(lambda: running.done() or discord_fake.session_id)
            assert not running.done()
            post = await discord_fake.slash_command(
                discord_fake.mod_id, discord_fake.general_id, "post", {"article": "Bridge reopens"}
            )
            await discord_fake.wait_for(lambda: post.followups)
            await slack_fake.socket_command(ADMIN, 'post "Ferry returns"')
            await slack_fake.wait_for(lambda: slack_fake.responses)
            assert "Posted" in slack_fake.responses[0]["text"], slack_fake.responses[0]
        finally:
            if ready.is_set() and not running.done():
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                running.cancel()
            await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 5)
        running.result()
    db = SQLiteStore(database)
    await db.open()
    try:
        stored = {(d.community.platform, a.title) for d, a, _ in await db.export(None)}
        assert stored == {("discord", "Bridge reopens"), ("slack", "Ferry returns")}
    finally:
        await db.close()


async def _true(value: bool) -> bool:
    return value
