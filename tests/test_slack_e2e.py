"""threadcast on the real, unmodified slack-bolt and slack-sdk, against the fake Slack in
tests/fake_slack.py, in Socket Mode and in HTTP mode.

Tests drive the bot as Slack would (events, slash commands, shortcuts over the socket or
signed HTTP requests) and assert on what the fake received and on what the store holds.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from adapters.slack.platform import SlackPlatform, SlackStartError
from adapters.slack.render import BLOCKS_PER_MESSAGE, SECTION_LIMIT, article_blocks, digest_blocks, pack
from bot.app import App
from bot.config import Settings
from bot.events import PlatformReady
from bot.models import Article, ArticleDraft, Community, Discussion, DiscussionState, Reply
from bot.platform import ChatPlatform, IncompleteHistory
from bot.post_layout import parse_template
from bot.services import Services, build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests import feed_items
from tests.conftest import FakeClock, eventually
from tests.digest_views import layout_of
from tests.fake_slack import (
    ADMIN,
    FIRST_TS,
    GENERAL,
    MEMBER,
    OWNER,
    FakeSlack,
    Json,
    api_error,
    delayed,
    ratelimited,
)
from tests.sources_server import SourcesServer

pytestmark = pytest.mark.timeout(10)

SECRET = "fake-signing-secret"
# The fake's message ts start at FIRST_TS; the core's clock starts just before it.
START = datetime.fromtimestamp(FIRST_TS / 1_000_000, UTC) - timedelta(seconds=30)
ARTICLE = '"Library opens late <!channel> & <@U0ADMIN>: readers asked <https://evil.example|click> for it."'


MODES = ("socket", "http")
both_modes = pytest.mark.parametrize("mode", MODES)  # overrides the `mode` fixture below


class TimedCalls(list[Any]):
    """The fake's call list, with the monotonic time each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, call: Any) -> None:
        self.times.append(time.monotonic())
        super().append(call)


@dataclass
class Bot:
    """The bot under test and a driver that reaches it as Slack would in `mode`: envelopes over
    the Socket Mode websocket, or signed HTTP requests to bolt's events endpoint."""

    fake: FakeSlack
    app: App
    services: Services
    store: SQLiteStore
    clock: FakeClock
    platforms: dict[str, ChatPlatform]
    mode: str = "socket"
    platform: SlackPlatform | None = None
    acknowledged: int = 0  # envelopes acked over the socket, or requests answered 200 over HTTP

    @property
    def community(self) -> Community:
        return Community("slack", self.fake.team_id)

    @property
    def http(self) -> bool:
        return self.mode == "http"

    async def start(self, *, http: bool | None = None, **options: Any) -> SlackPlatform:
        if http is not None:
            self.mode = "http" if http else "socket"
        if self.http:
            options.update(signing_secret=SECRET, http_host="127.0.0.1", http_port=0)
        else:
            options.update(app_token=self.fake.app_token)
        options.setdefault("moderators", ())
        options.setdefault("bot_token", self.fake.bot_token)
        platform = SlackPlatform(self.app, base_url=self.fake.api_url, pace=0.0, **options)
        self.platform = platform
        self.platforms["slack"] = platform
        await platform.start()
        if not self.http:
            await self.fake.wait_connected()
        return platform

    async def _send(self, kind: str, body: Json) -> None:
        """One delivery from Slack, acknowledged (socket) or answered 200 (HTTP)."""
        if self.http:
            assert self.platform is not None and self.platform.http_url
            reply = await self.fake.http_event(self.platform.http_url, body, secret=SECRET)
            assert reply.status == 200, reply
        else:
            ack = await self.fake.send_envelope(kind, body)
            assert ack["envelope_id"] in self.fake.acks
        self.acknowledged += 1

    async def event(self, event: Json) -> Json:
        """An Events API event (built by the fake's ``*_event`` builders); returns it."""
        await self._send("events_api", self.fake.event_body(event))
        return event

    async def command(self, user: str, text: str, *, timeout: float = 2.0) -> Json:
        """A /threadcast command; returns the bot's first answer (a response_url body)."""
        seen = len(self.fake.responses)
        await self._send("slash_commands", self.fake.command_body(user, text))
        await self.fake.wait_for(lambda: len(self.fake.responses) > seen, timeout)
        await self.app.drain(2)
        return self.fake.responses[seen]

    async def shortcut(self, callback_id: str, channel: str, ts: str, user: str) -> Json:
        """A message shortcut on ``ts``; returns the bot's first answer."""
        seen = len(self.fake.responses)
        await self._send("interactive", self.fake.shortcut_body(callback_id, channel, ts, user))
        await self.fake.wait_for(lambda: len(self.fake.responses) > seen)
        await self.app.drain(2)
        return self.fake.responses[seen]

    async def discussions(self) -> list[Discussion]:
        return [d for d, _, _ in await self.store.export(self.community)]

    async def replies(self) -> dict[str, Reply]:
        return {
            v.reply.message_id: v.reply
            for _, _, views in await self.store.export(self.community)
            for v in views
        }


@pytest.fixture
def mode() -> str:
    """Socket Mode unless a test says otherwise (``@both_modes``)."""
    return "socket"


@pytest.fixture
async def bot(store: SQLiteStore, caplog: pytest.LogCaptureFixture, mode: str) -> AsyncIterator[Bot]:
    caplog.set_level(logging.WARNING)
    clock = FakeClock(START)
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    platforms: dict[str, ChatPlatform] = {}
    app, services = build_core(Settings(), store, clock, fetcher, platforms)
    async with FakeSlack() as fake:
        harness = Bot(fake, app, services, store, clock, platforms, mode)
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


async def post_article(bot: Bot, user: str = ADMIN) -> tuple[Json, Discussion]:
    answer = await bot.command(user, f"post {ARTICLE}")
    (discussion,) = await bot.discussions()
    return answer, discussion


def thread_of(discussion: Discussion) -> str:
    return (discussion.thread_id or "").split(":")[1]


# ----------------------------------------------------------------------------- both modes


@both_modes
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


@both_modes
async def test_replies_edit_delete_and_reactions_reach_storage(bot: Bot) -> None:
    await bot.start()
    _, discussion = await post_article(bot)
    thread_ts = thread_of(discussion)
    fake = bot.fake
    sent = bot.acknowledged
    first = await bot.event(fake.message_event(GENERAL, MEMBER, "first <!channel>", thread_ts))
    second = await bot.event(fake.message_event(GENERAL, OWNER, "second", thread_ts))
    await bot.event(fake.message_event(GENERAL, MEMBER, "not in a thread"))
    await bot.event(fake.bot_message_event(GENERAL, "another bot", thread_ts=thread_ts))
    replies = await eventually(lambda: _count(bot, 2), what="two stored replies")
    first_id = f"{GENERAL}:{first['ts']}"
    assert replies[first_id].author_id == MEMBER and replies[first_id].text == "first <!channel>"
    await bot.event(fake.edit_event(GENERAL, first["ts"], "first, edited"))
    await bot.event(fake.reaction_event(GENERAL, first["ts"], ADMIN, "star"))
    await bot.event(fake.reaction_event(GENERAL, first["ts"], OWNER, "tada"))

    async def two_reactions() -> bool:
        return (await bot.replies())[first_id].reactions == 2

    await eventually(two_reactions, what="two reactions stored")  # before taking one back
    await bot.event(fake.reaction_event(GENERAL, first["ts"], OWNER, "tada", added=False))
    await bot.event(fake.delete_event(GENERAL, second["ts"]))
    await bot.app.drain(2)

    async def settled() -> dict[str, Reply] | None:
        found = await bot.replies()
        reply = found.get(first_id)
        ok = len(found) == 1 and reply and reply.text == "first, edited" and reply.reactions == 1
        return found if ok else None

    replies = await eventually(settled, what="edit, reactions and delete stored")
    assert replies[first_id].edited_at is not None
    assert bot.acknowledged - sent == 9  # every event was acknowledged
    assert_harmless(fake)


async def _count(bot: Bot, n: int) -> dict[str, Reply] | None:
    found = await bot.replies()
    return found if len(found) == n else None


@both_modes
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


@both_modes
async def test_digest_now_quotes_the_featured_reply_and_leaves_out_the_deleted(bot: Bot) -> None:
    await bot.start()
    _, discussion = await post_article(bot)
    thread_ts = thread_of(discussion)
    fake = bot.fake
    keep = await bot.event(
        fake.message_event(GENERAL, MEMBER, "A featured thought <!here> about evening hours", thread_ts)
    )
    gone = await bot.event(fake.message_event(GENERAL, OWNER, "Something I regret saying", thread_ts))
    await eventually(lambda: _count(bot, 2))
    featured = await bot.shortcut("feature_in_digest", GENERAL, keep["ts"], ADMIN)
    assert "Featured" in featured["text"]
    await bot.event(fake.delete_event(GENERAL, gone["ts"]))
    await eventually(lambda: _count(bot, 1), what="the deleted reply gone")
    bot.clock.advance(timedelta(minutes=5))

    answer = await bot.command(ADMIN, "digest now")
    assert "Posted the digest" in answer["text"]
    assert "<#C0GENERAL>" in answer["text"]
    digest_call = fake.calls_to("chat.postMessage")[-1]
    assert digest_call.params["channel"] == GENERAL
    shown = json.dumps(digest_call.params["blocks"], ensure_ascii=False)
    assert "A featured thought" in shown and "★" in shown
    assert "regret" not in shown
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in digest_call.params["blocks"] if "text" in b)
    assert_harmless(fake)

    # The participation chart follows the figures as an uploaded PNG, shared in the channel.
    [chart] = fake.files.values()
    assert (chart["name"], chart["title"]) == ("participation.png", "Replies per day")
    assert chart["alt_txt"].startswith("Replies per day: 1 over ")
    with Image.open(io.BytesIO(chart["data"])) as image:
        assert (image.format, image.size) == ("PNG", (800, 340))
    shared = [m for m in fake.messages_in(GENERAL) if m.get("files")]
    assert [f["id"] for m in shared for f in m["files"]] == [chart["id"]]
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == GENERAL


async def test_a_digest_without_the_files_scope_is_posted_without_its_chart(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.start()
    _, discussion = await post_article(bot)
    fake = bot.fake
    await bot.event(
        fake.message_event(GENERAL, MEMBER, "Evening hours helped me study.", thread_of(discussion))
    )
    await eventually(lambda: _count(bot, 1))
    bot.clock.advance(timedelta(minutes=5))
    fake.inject("files.getUploadURLExternal", api_error("missing_scope"))

    answer = await bot.command(ADMIN, "digest now")
    assert "Posted the digest" in answer["text"]
    digest_posts = [
        c for c in fake.calls_to("chat.postMessage") if "Community digest" in json.dumps(c.params)
    ]
    assert len(digest_posts) == 1 and fake.files == {}
    assert "files:write" in caplog.text


async def test_a_post_sent_before_a_crash_is_recognised_by_its_metadata(bot: Bot) -> None:
    await bot.start()
    fake = bot.fake
    assert bot.platform is not None
    await post_article(bot)  # another post of the bot's in the channel, not the one looked for
    draft = ArticleDraft(
        title="Harbour crane stops", url="https://news.example/crane", summary="", source="x"
    )
    article = await bot.services.publisher.save(draft)
    pending = await bot.store.begin_discussion(
        article.id, bot.community, GENERAL, prompt="p", feed_id=None, now=bot.clock.now()
    )
    assert pending is not None
    sent = await bot.platform.post_discussion(bot.community, GENERAL, article, "Your view?")
    bot.clock.advance(timedelta(minutes=11))

    assert await bot.services.publisher.recover_pending() == 1
    kept = await bot.store.get_discussion(pending.id)
    assert kept is not None and kept.state is DiscussionState.POSTED
    assert (kept.message_id, kept.thread_id) == (sent.message_id, sent.thread_id)
    assert len(fake.calls_to("chat.postMessage")) == 2  # the other post and this one, once
    [history] = fake.calls_to("conversations.history")
    assert history.params["include_all_metadata"] in (True, "true", "1")

    # A post that never reached Slack is taken back, to be posted again.
    other = await bot.services.publisher.save(replace(draft, url="https://news.example/other"))
    lost = await bot.store.begin_discussion(
        other.id, bot.community, GENERAL, prompt="p", feed_id=None, now=bot.clock.now()
    )
    assert lost is not None
    bot.clock.advance(timedelta(minutes=11))
    assert await bot.services.publisher.recover_pending() == 1
    assert await bot.store.get_discussion(lost.id) is None


@both_modes
async def test_a_reply_with_channel_markup_stays_harmless(bot: Bot) -> None:
    """Stored as written, but never echoed to Slack as a live ping (posts, digests, answers)."""
    await bot.start()
    _, discussion = await post_article(bot)
    loud = await bot.event(
        bot.fake.message_event(
            GENERAL, MEMBER, "<!channel> <!here> <@U0OWNER> <https://evil.example|go>", thread_of(discussion)
        )
    )
    replies = await eventually(lambda: _count(bot, 1))
    assert [r.text for r in replies.values()] == [loud["text"]]  # stored as written
    await bot.shortcut("feature_in_digest", GENERAL, loud["ts"], ADMIN)
    bot.clock.advance(timedelta(minutes=5))
    await bot.command(ADMIN, "digest preview")
    await bot.fake.wait_for(lambda: any("blocks" in r for r in bot.fake.responses))
    answer = await bot.command(ADMIN, "digest now")
    assert "Posted the digest" in answer["text"]
    shown = json.dumps(bot.fake.calls_to("chat.postMessage")[-1].params["blocks"], ensure_ascii=False)
    assert "!channel&gt;" in shown and "&lt;https://evil" in shown  # quoted, shown as typed
    assert_harmless(bot.fake)


async def test_help_and_preview_are_private_answers(bot: Bot) -> None:
    await bot.start()
    preview = await bot.command(ADMIN, "digest preview")
    assert preview["response_type"] == "ephemeral"
    await bot.fake.wait_for(lambda: any("blocks" in r for r in bot.fake.responses))
    assert bot.fake.calls_to("chat.postMessage") == []


# ----------------------------------------------------------------------------- faults


@pytest.mark.timeout(15)
async def test_a_rate_limited_post_waits_out_retry_after_and_is_stored_once(bot: Bot) -> None:
    await bot.start()
    bot.fake.calls = calls = TimedCalls()
    bot.fake.inject("chat.postMessage", ratelimited(retry_after=1))
    # slack-sdk sleeps Retry-After + random() seconds before trying again: up to 2 s.
    await post_article(bot)
    posts = [i for i, call in enumerate(calls) if call.method == "chat.postMessage"]
    assert len(posts) == 2
    first, second = (calls.times[i] for i in posts)
    assert second - first >= 1.0, f"retried after {second - first:.3f} s"
    (message,) = bot.fake.messages_in(GENERAL)
    (discussion,) = await bot.discussions()
    assert discussion.message_id == f"{GENERAL}:{message['ts']}"


async def test_a_refused_post_tells_the_moderator_and_records_nothing_posted(bot: Bot) -> None:
    await bot.start()
    bot.fake.inject("chat.postMessage", api_error("not_in_channel"))
    answer = await bot.command(ADMIN, f"post {ARTICLE}")
    assert "/invite" in answer["text"]
    assert bot.fake.messages_in(GENERAL) == []
    assert all(d.message_id is None for d in await bot.discussions())


@both_modes
async def test_a_refused_bot_token_stops_the_start_and_nothing_runs(bot: Bot) -> None:
    with pytest.raises(SlackStartError, match="invalid_auth") as refused:
        await bot.start(bot_token="xoxb-revoked")
    assert "SLACK_BOT_TOKEN" in str(refused.value)
    platform = bot.platform
    assert platform is not None
    assert not platform.ready.is_set() and platform.http_url is None
    assert [c.method for c in bot.fake.calls] == ["auth.test"]  # no socket opened, nothing posted
    assert bot.fake.socket_connections == 0
    await asyncio.sleep(0.1)
    assert await bot.discussions() == [] and bot.fake.responses == []


async def test_catch_up_reads_replies_missed_while_away(bot: Bot) -> None:
    platform = await bot.start()
    _, discussion = await post_article(bot)
    thread_ts = thread_of(discussion)
    bot.fake.store(GENERAL, {"user": MEMBER, "text": "while you were away"}, thread_ts=thread_ts)
    missed = await platform.replies_since(discussion, None)
    assert [r.text for r in missed] == ["while you were away"] and missed[0].from_history
    bot.fake.replies_per_minute, bot.fake.replies_retry_after = 0, 60
    started = time.monotonic()
    with pytest.raises(IncompleteHistory, match="ratelimited, retry after 60 s") as stopped:
        await platform.replies_since(discussion, None)  # gives up at once on a 429, and says so
    assert stopped.value.replies == [] and time.monotonic() - started < 1.0


@both_modes
async def test_an_event_slack_delivers_again_is_taken_once(bot: Bot) -> None:
    await bot.start()
    fake = bot.fake
    _, discussion = await post_article(bot)
    said = await bot.event(
        fake.message_event(GENERAL, MEMBER, "Evening hours, finally.", thread_of(discussion))
    )
    await eventually(lambda: _count(bot, 1))
    added = fake.event_body(fake.reaction_event(GENERAL, said["ts"], OWNER, "tada"))
    await bot._send("events_api", added)
    await bot._send(
        "events_api", fake.event_body(fake.reaction_event(GENERAL, said["ts"], OWNER, "tada", added=False))
    )
    # Slack thought the first ack was late and sends "added" again, after the removal.
    await bot._send("events_api", added)
    await asyncio.sleep(0.2)
    [reply] = (await bot.replies()).values()
    assert reply.reactions == 0


async def test_a_thread_read_only_in_part_is_read_again_at_the_next_catch_up(bot: Bot) -> None:
    await bot.start()
    fake = bot.fake
    _, discussion = await post_article(bot)
    thread_ts = thread_of(discussion)
    for text in ("written while away, one", "written while away, two"):
        fake.store(GENERAL, {"user": MEMBER, "text": text}, thread_ts=thread_ts)
    fake.replies_per_minute, fake.replies_retry_after = 0, 60  # every history read is refused
    await bot.app.dispatch(PlatformReady(bot.community))
    await bot.app.drain(5)
    assert await bot.replies() == {}
    # A live reply arrives meanwhile: it must not move the next reading past the two.
    await bot.event(fake.message_event(GENERAL, OWNER, "live, after the refused read", thread_ts))
    await eventually(lambda: _count(bot, 1))
    fake.replies_per_minute = None
    await bot.app.dispatch(PlatformReady(bot.community))
    await bot.app.drain(5)
    texts = sorted(r.text for r in (await bot.replies()).values())
    assert texts == ["live, after the refused read", "written while away, one", "written while away, two"]


# ----------------------------------------------------------------------------- HTTP mode only


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


async def test_a_scheduled_digest_cut_off_part_way_sends_only_the_rest_next_time(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.start()
    fake, store = bot.fake, bot.store
    vocabulary = [f"{word}{n}" for n, word in enumerate(("ferry", "crane", "quay", "tide", "gull") * 4)]
    for n in range(12):
        draft = ArticleDraft(f"Story {n} " + "about the harbour " * 8, f"https://news.example/{n}", "", "x")
        discussion = (await bot.services.publisher.publish(draft, bot.community, GENERAL)).discussion
        for m in range(3):
            await store.add_reply(
                discussion.id, message_id=f"{GENERAL}:9{n:02d}{m}.000100", author_id=f"U{n}{m}",
                author_name=f"member {n}{m}", created_at=bot.clock.now(),
                # Each discussion's own words: two alike replies would be quoted once in a digest.
                text=" ".join(vocabulary[(n * 3 + m + 7 * k) % 20] + f"{k}x{n}" for k in range(50)),
            )  # fmt: skip
    assert (await bot.command(ADMIN, "digest schedule monday 09:00 UTC")).get("text")
    assert (await bot.command(ADMIN, "digest style full")).get("text")  # the compact one is one message
    [schedule] = await store.digest_schedules(bot.community)
    assert schedule.next_run_at is not None
    bot.clock.current = schedule.next_run_at + timedelta(seconds=1)
    posts_before = len(fake.calls_to("chat.postMessage"))

    # The first message goes out, the second is refused.
    fake.inject("chat.postMessage", delayed(0), api_error("internal_error"))
    assert await bot.services.digests.run_due() == 0
    assert "digest for slack" in caplog.text
    first_try = fake.calls_to("chat.postMessage")[posts_before:]
    assert [c.params["blocks"][0]["type"] for c in first_try][:1] == ["header"]

    # A tick once the claim is stale (10 min) sends only what is missing, for the same period.
    assert await bot.services.digests.run_due() == 0
    bot.clock.advance(timedelta(minutes=11))
    assert await bot.services.digests.run_due() == 1
    sent = [c for c in fake.calls_to("chat.postMessage")[posts_before:] if c.params.get("blocks")]
    headers = [c for c in sent if c.params["blocks"][0]["type"] == "header"]
    assert len(headers) == 1  # the digest's start was not posted twice
    digest_messages = [m for m in fake.messages_in(GENERAL) if m.get("blocks") and "thread_ts" not in m]
    texts = json.dumps([m["blocks"] for m in digest_messages], ensure_ascii=False)
    assert texts.count("Community digest") == 1
    assert await bot.services.digests.run_due() == 0  # done: confirmed once


def test_a_long_digest_is_split_into_messages_within_limits() -> None:
    from bot.digest import Digest, DiscussionSummary, Figures, Highlight
    from bot.models import PeriodCounts

    highlight = Highlight("a member", "word " * 56, 0, False)
    summaries = tuple(
        DiscussionSummary(f"Title {i}", None, None, 3, 2, 1, (highlight,) * 3, gist="said " * 80)
        for i in range(60)
    )
    digest = Digest(
        Community("slack", "T"),
        START,
        START,
        "UTC",
        Figures(60, 180, 10, 1, PeriodCounts(0, 0, 0)),
        summaries,
    )
    messages = pack(digest_blocks(layout_of(digest)))
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

    from tests.fake_discord import FakeDiscord
    from threadcast.wiring import run_platforms

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


async def test_digest_now_cut_off_part_way_is_finished_by_the_scheduler_once(bot: Bot) -> None:
    await bot.start()
    fake, store = bot.fake, bot.store
    vocabulary = [f"{word}{n}" for n, word in enumerate(("ferry", "crane", "quay", "tide", "gull") * 4)]
    for n in range(12):
        draft = ArticleDraft(f"Story {n} " + "about the harbour " * 8, f"https://news.example/{n}", "", "x")
        discussion = (await bot.services.publisher.publish(draft, bot.community, GENERAL)).discussion
        for m in range(3):
            await store.add_reply(
                discussion.id, message_id=f"{GENERAL}:9{n:02d}{m}.000100", author_id=f"U{n}{m}",
                author_name=f"member {n}{m}", created_at=bot.clock.now(),
                text=" ".join(vocabulary[(n * 3 + m + 7 * k) % 20] + f"{k}x{n}" for k in range(50)),
            )  # fmt: skip
    assert (await bot.command(ADMIN, "digest schedule monday 09:00 UTC")).get("text")
    assert (await bot.command(ADMIN, "digest style full")).get("text")
    [schedule] = await store.digest_schedules(bot.community)
    bot.clock.advance(timedelta(minutes=1))  # the replies fall inside the period [start, now)
    posts_before = len(fake.calls_to("chat.postMessage"))

    fake.inject("chat.postMessage", delayed(0), api_error("internal_error"))
    answer = json.dumps(await bot.command(ADMIN, "digest now"), ensure_ascii=False)
    assert "only its first message went out" in answer
    [claim] = await store.unfinished_digests(bot.clock.now() + timedelta(seconds=1))
    assert len(claim.message_ids) == 1

    bot.clock.advance(timedelta(minutes=11))
    assert await bot.services.digests.run_due() == 1
    sent = [c for c in fake.calls_to("chat.postMessage")[posts_before:] if c.params.get("blocks")]
    assert len([c for c in sent if c.params["blocks"][0]["type"] == "header"]) == 1
    shown = [
        json.dumps(m["blocks"]) for m in fake.messages_in(GENERAL) if m.get("blocks") and "thread_ts" not in m
    ]
    digest_parts = [
        b for b in shown if "Community digest" in b or "more discussions" in b or "Join the thread" in b
    ]
    assert len(digest_parts) >= 2 and len(set(digest_parts)) == len(digest_parts)  # each part once
    assert await store.unfinished_digests(bot.clock.now() + timedelta(days=1)) == []
    [after] = await store.digest_schedules(bot.community)
    assert after.last_run_at == claim.period_end  # the scheduled digest starts where it ended
    assert after.next_run_at == schedule.next_run_at
    assert await bot.services.digests.run_due() == 0


# ----------------------------------------------------------------------------- feeds: discovery, OPML


def _feed_page(feed_path: str) -> str:
    return (
        "<!doctype html><html><head><title>Town Times</title>"
        f'<link rel="alternate" type="application/rss+xml" href="{feed_path}" title="Posts"></head>'
        "<body><h1>Town Times</h1></body></html>"
    )


def _rss(title: str, *links: str) -> str:
    items = "".join(
        f"<item><title>{link}</title><link>{link}</link><guid>{link}</guid></item>" for link in links
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def test_feed_add_of_a_page_import_and_export_over_slack(bot: Bot, server: SourcesServer) -> None:
    from bot.sources.opml import parse_opml

    server.serve("/", _feed_page("/feed.xml"), content_type="text/html")
    server.serve("/feed.xml", _rss("Town Times", "https://town.example/a", "https://town.example/b"))
    server.serve("/herald.xml", _rss("Harbour Herald", "https://herald.example/1"))
    server.serve("/subs.opml", (
        '<?xml version="1.0"?><opml version="1.0"><head><title>Subscriptions</title></head><body>'
        f'<outline text="News"><outline type="rss" text="Times" xmlUrl="{server.url("/feed.xml")}"/>'
        f'<outline type="rss" text="Herald" xmlUrl="{server.url("/herald.xml")}"/>'
        f'<outline type="rss" text="Gone" xmlUrl="{server.url("/gone.xml")}"/></outline></body></opml>'
    ), content_type="text/x-opml")  # fmt: skip
    await bot.start()

    added = await bot.command(ADMIN, f"feed add {server.url('/')}")
    assert f"Found the feed {server.url('/feed.xml')} on {server.url('/')}" in added["text"], added["text"]
    assert "Subscribed" in added["text"]

    seen = len(bot.fake.responses)
    imported = await bot.command(ADMIN, f"feed import {server.url('/subs.opml')}")
    text = "\n".join(r["text"] for r in bot.fake.responses[seen:])
    assert imported["response_type"] == "ephemeral"
    assert "Added 1, skipped 1 as duplicates, refused 1." in text, text
    assert f"{server.url('/gone.xml')}: HTTP 404" in text
    assert {f.url for f in await bot.store.list_feeds(bot.community)} == {
        server.url("/feed.xml"), server.url("/herald.xml"),
    }  # fmt: skip
    assert bot.fake.calls_to("chat.postMessage") == []  # backlog 0: nothing posted

    seen = len(bot.fake.responses)
    await bot.command(ADMIN, "feed export")
    await bot.fake.wait_for(lambda: len(bot.fake.responses) >= seen + 2)
    answers = bot.fake.responses[seen:]
    assert "2 feeds of 1 channel(s)" in answers[0]["text"]
    assert all(r["response_type"] == "ephemeral" for r in answers)
    code = "".join(_unescape(r["text"]).strip("`").strip("\n") + "\n" for r in answers[1:])
    document = parse_opml(code.encode())
    assert [f.url for f in document.feeds] == [server.url("/feed.xml"), server.url("/herald.xml")]
    assert bot.fake.calls_to("files.getUploadURLExternal") == []  # never uploaded to the channel


async def test_an_export_too_large_for_slack_says_where_to_get_it(bot: Bot) -> None:
    for n in range(150):
        await bot.store.add_feed(
            bot.community, GENERAL, f"https://feeds.example/{'long-path/' * 5}{n}.xml", prompt=None,
            backlog=0, interval_seconds=900, now=bot.clock.now(),
        )  # fmt: skip
    await bot.start()
    seen = len(bot.fake.responses)
    await bot.command(ADMIN, "feed export")
    await bot.fake.wait_for(lambda: len(bot.fake.responses) >= seen + 2)
    await bot.app.drain(2)
    answers = bot.fake.responses[seen:]
    assert len(answers) == 2  # within Slack's five answers per response_url
    assert "150 feeds" in answers[0]["text"]
    assert "is too large to show in Slack" in answers[1]["text"]
    assert "threadcast feeds export" in answers[1]["text"]


# ----------------------------------------------------------------------------- feed controls


async def test_feed_filters_template_and_poll_through_the_slash_command(
    bot: Bot, server: SourcesServer
) -> None:
    server.serve("/gazette.xml", feed_items.rss([feed_items.OLD]))
    await bot.start()
    added = await bot.command(ADMIN, f"feed add {server.url('/gazette.xml')}")
    assert "Subscribed" in added["text"], added
    (feed,) = await bot.store.list_feeds(bot.community)

    exclude = await bot.command(ADMIN, f'feed filter add {feed.id} exclude "Sponsored" title')
    assert "filter 1 added: exclude items whose title matches Sponsored" in exclude["text"]
    include = await bot.command(ADMIN, f"feed filter add {feed.id} include /rust|python/")
    assert "filter 2 added: include" in include["text"]
    bad = await bot.command(ADMIN, f'feed filter add {feed.id} exclude "/(unclosed/"')
    assert "Nothing saved" in bad["text"] and len(await bot.store.list_feed_filters(feed.id)) == 2
    templated = await bot.command(ADMIN, f"feed template {feed.id} title,link,prompt")
    assert "now posts: title,link,prompt" in templated["text"]

    server.serve("/gazette.xml", feed_items.rss(feed_items.NEW_ITEMS))
    seen = len(bot.fake.responses)
    preview = await bot.command(ADMIN, f"feed template {feed.id} preview")
    assert preview["response_type"] == "ephemeral" and "not posted" in preview["text"]
    await bot.fake.wait_for(lambda: len(bot.fake.responses) >= seen + 2)
    shown = bot.fake.responses[seen + 1]["blocks"]
    expected, _ = article_blocks(
        Article(
            0, "k", feed_items.RUST.title, "https://gazette.example/rust", "x", "Village Gazette", None, START
        ),
        "p",
        parse_template("title,link,prompt"),
    )
    assert [b["type"] for b in shown] == [b["type"] for b in expected] == ["section", "section", "section"]
    assert shown[1]["text"]["text"] == "<https://gazette.example/rust>"
    assert bot.fake.calls_to("chat.postMessage") == []  # a preview posts nothing

    polled = await bot.command(ADMIN, f"feed poll {feed.id}")
    assert "posted 1 item:\n• Rust workshop at the library" in polled["text"], polled
    assert "2 new items held back by filters" in polled["text"]
    (call,) = bot.fake.calls_to("chat.postMessage")
    blocks = call.params["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section", "section"]
    assert blocks[0]["text"]["text"] == f"*<https://gazette.example/rust|{feed_items.RUST.title}>*"
    assert blocks[1]["text"]["text"] == "<https://gazette.example/rust>"
    assert blocks[2]["text"]["text"].startswith("What do you make of")
    assert "Learn the basics." not in json.dumps(blocks)  # no excerpt in this template

    listed = await bot.command(ADMIN, "feed list")
    assert "2 items held back by filters" in listed["text"]
    again = await bot.command(ADMIN, f"feed poll {feed.id}")
    assert again["text"].endswith("no new items.")
    assert len(bot.fake.calls_to("chat.postMessage")) == 1
    assert_harmless(bot.fake)
