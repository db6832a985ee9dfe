"""Posts cut off half-way are recovered; members' words stay out of places they must not reach."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.events import ReactionChanged, ReplyEdited, ReplyPosted
from bot.export import to_csv, to_json
from bot.layout import DigestPost
from bot.models import Article, ArticleDraft, Community, Discussion, DiscussionState, PostedMessage
from bot.post_layout import STANDARD, PostLayout
from bot.publisher import PublishError
from storage.store import SQLiteStore
from tests.conftest import Harness


class StalledPlatform(ConsolePlatform):
    """A platform that never answers a post: the moment a crash or shutdown would hit."""

    def __init__(self) -> None:
        import io

        super().__init__(io.StringIO())
        self.started = asyncio.Event()

    async def post_discussion(
        self,
        community: Community,
        channel_id: str,
        article: Article,
        prompt: str,
        layout: PostLayout = STANDARD,
    ) -> PostedMessage:
        self.started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def post_digest(
        self,
        community: Community,
        channel_id: str,
        post: DigestPost,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        raise AssertionError("not used")


DRAFT = ArticleDraft(title="Ferry timetable changes", url="https://example.org/ferry", summary="", source="x")


async def test_a_post_cancelled_mid_way_is_taken_back(harness: Harness) -> None:
    h = harness
    stalled = StalledPlatform()
    h.services.platforms[COMMUNITY.platform] = stalled  # type: ignore[index]
    task = asyncio.create_task(h.services.publisher.publish(DRAFT, COMMUNITY, "news"))
    await stalled.started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await h.store.pending_discussions() == []
    h.services.platforms[COMMUNITY.platform] = h.platform  # type: ignore[index]
    published = await h.services.publisher.publish(DRAFT, COMMUNITY, "news")
    assert published.new and published.discussion.state is DiscussionState.POSTED


async def test_a_post_left_pending_by_a_crash_is_recovered(harness: Harness) -> None:
    h = harness
    article = await h.services.publisher.save(DRAFT)
    # What a process killed between recording and confirming leaves behind:
    pending = await h.store.begin_discussion(
        article.id, COMMUNITY, "news", prompt="p", feed_id=None, now=h.clock.now()
    )
    assert pending is not None
    with pytest.raises(PublishError, match="being posted"):  # not "already posted": it never was
        await h.services.publisher.publish(DRAFT, COMMUNITY, "news")
    await h.services.scheduler.run_once()
    assert await h.store.pending_discussions() != []  # too recent to call it cut off
    h.clock.advance(timedelta(minutes=11))
    await h.services.scheduler.run_once()
    assert await h.store.pending_discussions() == []
    published = await h.services.publisher.publish(DRAFT, COMMUNITY, "news")
    assert published.new


async def test_a_post_sent_just_before_a_crash_is_found_and_not_sent_again(harness: Harness) -> None:
    h = harness
    article = await h.services.publisher.save(DRAFT)
    pending = await h.store.begin_discussion(
        article.id, COMMUNITY, "news", prompt="p", feed_id=None, now=h.clock.now()
    )
    assert pending is not None
    # The platform took the post; the process died before recording it as done.
    sent = await h.platform.post_discussion(COMMUNITY, "news", article, "p")
    h.clock.advance(timedelta(minutes=11))
    await h.services.scheduler.run_once()

    kept = await h.store.get_discussion(pending.id)
    assert kept is not None and kept.state is DiscussionState.POSTED
    assert (kept.message_id, kept.thread_id) == (sent.message_id, sent.thread_id)
    again = await h.services.publisher.publish(DRAFT, COMMUNITY, "news")
    assert not again.new
    assert [m.id for m in h.platform.state.messages.values() if m.opens_thread] == [sent.message_id]
    # Its thread works as any other: replies there are kept.
    await h.reply(sent.thread_id, "ana", "Written in the thread that survived the crash.")
    assert (await h.store.latest_reply_message_id(pending.id)) is not None


async def thread_with_reply(h: Harness, author: str, text: str) -> tuple[Discussion, str]:
    published = await h.services.publisher.publish(DRAFT, COMMUNITY, "news")
    assert published.discussion.thread_id
    message = await h.reply(published.discussion.thread_id, author, text)
    return published.discussion, message


async def test_an_edit_takes_the_featured_mark_away(harness: Harness) -> None:
    h = harness
    discussion, message = await thread_with_reply(h, "ana", "A thoughtful story about ferries.")
    assert (await h.command(f"reply feature {message}")).ok
    assert discussion.thread_id
    await h.app.dispatch(
        ReplyEdited(COMMUNITY, discussion.thread_id, message, "BUY CHEAP WATCHES", h.clock.now())
    )
    reply = await h.store.get_reply(COMMUNITY, message)
    assert reply is not None and not reply.featured and reply.text == "BUY CHEAP WATCHES"


async def test_an_opted_out_member_leaves_no_reactions(harness: Harness) -> None:
    h = harness
    _, message = await thread_with_reply(h, "ana", "A story.")
    assert (await h.command("privacy optout", user="zed")).ok
    await h.app.dispatch(ReactionChanged(COMMUNITY, message, "zed", "👍", True))
    await h.app.dispatch(ReactionChanged(COMMUNITY, message, "ben", "👍", True))
    reply = await h.store.get_reply(COMMUNITY, message)
    assert reply is not None and reply.reactions == 1


def test_event_reprs_carry_no_member_words() -> None:
    event = ReplyPosted(COMMUNITY, "t1", "m1", "u1", "Secret Name", "my secret words", datetime.now(UTC))
    assert "secret" not in repr(event).lower()


async def test_exports_do_not_lead_to_an_anonymous_members_message(harness: Harness) -> None:
    h = harness
    _, named = await thread_with_reply(h, "ana", "Named words.")
    assert (await h.command("privacy anonymous", user="eve")).ok
    discussion = (await h.store.recent_discussions(COMMUNITY, h.clock.now() - timedelta(days=1)))[0]
    assert discussion.thread_id
    anonymous = await h.reply(discussion.thread_id, "eve", "Anonymous words.")
    rows = await h.store.export(COMMUNITY)
    data = json.loads(to_json(rows))
    replies = {r["text"]: r for d in data["discussions"] for r in d["replies"]}
    assert (
        replies["Anonymous words."]["author"] == "a member"
        and replies["Anonymous words."]["message_id"] == ""
    )
    assert replies["Named words."]["message_id"] == named
    csv_text = to_csv(rows)
    assert anonymous not in csv_text and "eve" not in csv_text and named in csv_text


async def test_ancient_dates_survive_the_store(store: SQLiteStore) -> None:
    old = ArticleDraft("Old", "https://example.org/old", "", "x", published_at=datetime(99, 1, 1, tzinfo=UTC))
    saved = await store.save_article("k", old, datetime.now(UTC))
    assert saved.published_at == datetime(99, 1, 1, tzinfo=UTC)
    again = await store.get_article(saved.id)
    assert again is not None and again.published_at == saved.published_at


async def test_an_edit_that_keeps_the_words_keeps_the_featured_mark(harness: Harness) -> None:
    h = harness
    discussion, message = await thread_with_reply(h, "ana", "Same words.")
    assert (await h.command(f"reply feature {message}")).ok
    assert discussion.thread_id
    await h.app.dispatch(ReplyEdited(COMMUNITY, discussion.thread_id, message, "Same words.", h.clock.now()))
    reply = await h.store.get_reply(COMMUNITY, message)
    assert reply is not None and reply.featured
