"""Every command of the registry through `App.dispatch`, over real SQLite and the console platform.

Each command is tried the way a moderator types it: the success path (what
changed in the store, what the console printed), wrong or missing arguments
(a usage answer and nothing changed) and, for moderator commands, a member
calling it (refused, nothing changed). Feeds come from a real aiohttp server
on 127.0.0.1 serving documents written here.
"""

from __future__ import annotations

import io
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.app import App
from bot.commands.registry import Answer, CommandContext, CommandRegistry
from bot.config import Settings
from bot.events import Caller, CommandInvoked, ReactionChanged, ReplyDeleted, ReplyPosted
from bot.markdown import render as render_markdown
from bot.models import Article, Community, PostedMessage
from bot.platform import PlatformError
from bot.post_layout import STANDARD, PostLayout
from bot.prompts import split_prompts
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.conftest import T0, FakeClock, Harness

# -- a feed server on 127.0.0.1 --------------------------------------------------------------


@dataclass
class FeedServer:
    """Serves whatever a test puts in `pages`; anything else is a 404. Counts requests."""

    server: TestServer
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (content type, body)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def rss(self, path: str, items: list[int], *, title: str = "Village Gazette") -> str:
        self.pages[path] = ("application/rss+xml", rss_document(items, title=title))
        return self.url(path)


def rss_document(items: list[int], *, title: str) -> str:
    """An RSS 2.0 feed of "Story N" items, listed in the order given (newest first)."""
    entries = []
    for n in items:
        published = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
        entries.append(
            f"<item><title>Story {n}</title><link>https://gazette.example/story-{n}</link>"
            f'<guid isPermaLink="false">gazette-story-{n}</guid>'
            f"<pubDate>{published:%a, %d %b %Y %H:%M:%S} +0000</pubDate>"
            f"<description>What happened in story {n}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://gazette.example/</link><description>News</description>"
        + "".join(entries)
        + "</channel></rss>"
    )


HTML_PAGE = """<!doctype html>
<html><head><title>Bridge reopens after repairs</title>
<meta property="og:title" content="Bridge reopens after repairs">
<meta property="og:description" content="The old stone bridge is open again after ten years.">
</head><body><article><h1>Bridge reopens after repairs</h1>
<p>The old stone bridge is open again after ten years of repairs, and the village celebrated.</p>
<p>Traffic returns today. What do you think? Tell us your own stories of the old bridge.</p>
</article></body></html>"""


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    app = web.Application()
    holder: dict[str, FeedServer] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        server = holder["server"]
        server.hits[request.path] = server.hits.get(request.path, 0) + 1
        page = server.pages.get(request.path)
        if page is None:
            return web.Response(status=404, text="not found")
        content_type, body = page
        response = web.Response(body=body.encode())
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_route("GET", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    holder["server"] = FeedServer(server)
    yield holder["server"]
    await server.close()


# -- what "nothing changed" means ------------------------------------------------------------


def db_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a second, read-only connection."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if not r[0].startswith("sqlite_")
        ]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, list[tuple[Any, ...]]]
    printed: str
    messages: int


def snapshot(h: Harness, db: Path) -> Snapshot:
    return Snapshot(db_rows(db), h.out.getvalue(), len(h.platform.state.messages))


def assert_unchanged(before: Snapshot, h: Harness, db: Path) -> None:
    after = snapshot(h, db)
    changed = [t for t in before.rows if before.rows[t] != after.rows.get(t)]
    assert not changed, f"tables changed by a call that failed: {changed}"
    assert after.printed == before.printed, "the console printed something"
    assert after.messages == before.messages, "a message was posted"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "test.db"  # where the conftest `store` keeps its file
    assert path.exists()
    return path


# -- helpers -------------------------------------------------------------------------------------


def bot_posts(h: Harness, channel: str | None = None) -> list[str]:
    """Texts of discussion posts (messages that open a thread), oldest first."""
    return [
        m.text
        for m in h.platform.state.messages.values()
        if m.opens_thread and (channel is None or m.channel == channel)
    ]


def titles_posted(h: Harness, channel: str | None = None) -> list[str]:
    return [text.splitlines()[0] for text in bot_posts(h, channel)]


def digests_posted(h: Harness, channel: str | None = None) -> list[str]:
    return [
        m.text
        for m in h.platform.state.messages.values()
        if m.text.startswith("# Community digest") and (channel is None or m.channel == channel)
    ]


async def start_discussion(h: Harness, text: str, channel: str = "general") -> str:
    """Post an article by hand; return its thread id."""
    before = {m.id for m in h.platform.state.messages.values() if m.opens_thread}
    answer = await h.command(f'post "{text}" #{channel}')
    assert answer.ok, answer.text
    new = [m for m in h.platform.state.messages.values() if m.opens_thread and m.id not in before]
    assert len(new) == 1
    discussion = await h.store.discussion_for_thread(COMMUNITY, new[0].id)
    assert discussion is not None and discussion.thread_id == new[0].id
    return new[0].id


BRIDGE = "The old stone bridge reopened after ten years of repairs. What do you remember of it?"
BAKERY = "The village bakery won the regional bread prize for the third year running."


# ==================================================================================================
# feed add / remove / list
# ==================================================================================================


async def test_feed_add_backlog_posts_only_the_newest_and_remembers_the_rest(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", list(range(30, 0, -1)))  # Story 30 (newest) … Story 1

    answer = await h.command(f"feed add {url} #news backlog 2")

    assert answer.ok, answer.text
    assert "Subscribed #news to Village Gazette" in answer.text
    assert "posted 2, remembered 28" in answer.text
    # The two newest, posted oldest first so the channel reads in order.
    assert titles_posted(h) == ["Story 29", "Story 30"]
    assert titles_posted(h, "news") == ["Story 29", "Story 30"]
    printed = h.out.getvalue()
    assert "Story 30" in printed and "Story 29" in printed and "Story 28" not in printed
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert (feed.url, feed.channel_id, feed.backlog) == (url, "news", 2)
    assert feed.primed and feed.items_posted == 2 and feed.title == "Village Gazette"
    # All 30 are remembered: 28 as seen, 2 as posted.
    assert (
        await h.store.unseen_item_keys(
            feed.id, [f"guid:gazette.example#gazette-story-{n}" for n in range(1, 31)]
        )
        == set()
    )


async def test_feed_later_polls_post_nothing_old_and_a_new_item_exactly_once(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", list(range(30, 0, -1)))
    assert (await h.command(f"feed add {url} #news backlog 2")).ok
    interval = timedelta(seconds=h.services.settings.poll_interval)

    h.clock.advance(interval + timedelta(seconds=1))
    await h.services.scheduler.run_once()
    assert feeds.hits["/gazette.xml"] == 2
    assert titles_posted(h) == ["Story 29", "Story 30"]

    feeds.rss("/gazette.xml", list(range(31, 0, -1)))  # Story 31 appears
    h.clock.advance(interval + timedelta(seconds=1))
    await h.services.scheduler.run_once()
    assert titles_posted(h) == ["Story 29", "Story 30", "Story 31"]

    h.clock.advance(interval + timedelta(seconds=1))
    await h.services.scheduler.run_once()
    assert feeds.hits["/gazette.xml"] == 4
    assert titles_posted(h) == ["Story 29", "Story 30", "Story 31"]
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert feed.items_posted == 3


async def test_feed_add_without_backlog_posts_nothing_and_a_poll_before_the_interval_does_not_fetch(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", [3, 2, 1])
    answer = await h.command(f"feed add {url}")
    assert answer.ok, answer.text
    assert "Subscribed #general" in answer.text and "posted 0, remembered 3" in answer.text
    assert titles_posted(h) == []
    h.clock.advance(timedelta(seconds=60))
    await h.services.scheduler.run_once()
    assert feeds.hits["/gazette.xml"] == 1


async def test_feed_add_with_a_prompt_uses_it_for_the_feeds_posts(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", [2, 1])
    answer = await h.command(f"feed add {url} #news Did {{title}} affect you? backlog 1")
    assert answer.ok, answer.text
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert (feed.channel_id, feed.prompt, feed.backlog) == ("news", "Did {title} affect you?", 1)
    [post] = bot_posts(h, "news")
    assert post.endswith("💬 Did Story 2 affect you?")


async def test_after_downtime_the_newest_items_are_posted_and_the_rest_named_once(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", [2, 1])
    assert (await h.command(f"feed add {url} #news")).ok  # primed: both remembered, none posted
    # The bot is away for a day while the gazette publishes 14 stories.
    feeds.rss("/gazette.xml", list(range(16, 0, -1)))
    h.clock.advance(timedelta(days=1))
    await h.services.scheduler.run_once()

    assert titles_posted(h, "news") == [f"Story {n}" for n in range(12, 17)]  # the newest 5, in order
    notes = [m.text for m in h.platform.state.messages.values() if m.channel == "news" and not m.opens_thread]
    assert len(notes) == 1
    assert notes[0].startswith("While threadcast was away, Village Gazette published 9 more articles")
    assert [line for line in notes[0].splitlines() if line.startswith("• ")] == [
        f"• Story {n}" for n in range(11, 2, -1)
    ]
    # Nothing more follows: the older items are remembered, not queued.
    h.clock.advance(timedelta(seconds=h.services.settings.poll_interval))
    await h.services.scheduler.run_once()
    assert len(titles_posted(h, "news")) == 5
    assert len([m for m in h.platform.state.messages.values() if m.channel == "news"]) == 6


class RefusingConsole(ConsolePlatform):
    """The console, with the bot's permission to post in one channel taken away."""

    refused = "news"

    async def post_discussion(
        self,
        community: Community,
        channel_id: str,
        article: Article,
        prompt: str,
        layout: PostLayout = STANDARD,
    ) -> PostedMessage:
        if channel_id == self.refused:
            raise PlatformError(f"missing permission in #{channel_id}: the bot needs Send Messages there")
        return await super().post_discussion(community, channel_id, article, prompt, layout)


async def test_a_feed_whose_posts_are_refused_backs_off_and_tells_moderators_once(
    tmp_path: Path, clock: FakeClock, feeds: FeedServer
) -> None:
    store = SQLiteStore(tmp_path / "refused.db")
    await store.open()
    platform = RefusingConsole(io.StringIO())
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    settings = Settings(mod_channels={COMMUNITY: "mods"})  # THREADCAST_MOD_CHANNELS=console:local:mods
    app, services = build_core(settings, store, clock, fetcher, {platform.name: platform})
    h = Harness(app, services, store, platform, clock, io.StringIO())
    try:
        url = feeds.rss("/gazette.xml", [1])
        assert (await h.command(f"feed add {url} #news")).ok
        feeds.rss("/gazette.xml", [2, 1])  # a new story the bot may not post
        for _ in range(4):
            [feed] = await store.list_feeds(COMMUNITY)
            clock.current = feed.next_poll_at + timedelta(seconds=1)
            await services.scheduler.run_once()
        [feed] = await store.list_feeds(COMMUNITY)
        assert feed.failures == 4 and feed.items_posted == 0
        assert feed.last_error == (
            "could not post in #news: missing permission in #news: the bot needs Send Messages there"
        )
        assert feed.next_poll_at - clock.now() > timedelta(seconds=feed.interval_seconds)  # backing off
        # One notice, in the moderators' channel: the feed's own channel is the one refusing.
        notices = [(m.channel, m.text) for m in platform.state.messages.values() if not m.opens_thread]
        assert [channel for channel, _ in notices] == ["mods"]
        assert "posting in #news has failed 3 times in a row: could not post in #news" in notices[0][1]
        listed = (await h.command("feed list")).text
        assert "failing (4 in a row)" in listed and "missing permission" in listed

        # Permission given back: the waiting story is posted once, the feed is healthy again.
        platform.refused = ""
        clock.current = feed.next_poll_at + timedelta(seconds=1)
        await services.scheduler.run_once()
        [feed] = await store.list_feeds(COMMUNITY)
        assert titles_posted(h, "news") == ["Story 2"] and feed.failures == 0
    finally:
        await app.shutdown()
        await fetcher.close()
        await store.close()


async def test_feed_add_backlog_larger_than_one_poll_posts_the_rest_next_poll(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", list(range(10, 0, -1)))
    answer = await h.command(f"feed add {url} backlog=8")
    assert answer.ok, answer.text
    assert "posted 5, remembered 2 older items as seen, 3 more to post next poll." in answer.text
    assert titles_posted(h) == [f"Story {n}" for n in range(3, 8)]
    h.clock.advance(timedelta(seconds=h.services.settings.poll_interval))
    await h.services.scheduler.run_once()
    assert titles_posted(h) == [f"Story {n}" for n in range(3, 11)]
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert feed.items_posted == 8


async def test_feed_add_with_the_channel_written_after_the_prompt(
    harness: Harness, feeds: FeedServer
) -> None:
    """parse_text: "an optional channel is recognised by its form ... at its place in the order
    or at the very end"."""
    h = harness
    url = feeds.rss("/gazette.xml", [2, 1])
    answer = await h.command(f"feed add {url} Share your story about {{title}} #news backlog 1")
    assert answer.ok, answer.text
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert (feed.channel_id, feed.prompt) == ("news", "Share your story about {title}")
    assert titles_posted(h, "news") == ["Story 2"]


async def test_feed_add_twice_to_one_channel_is_refused(
    harness: Harness, feeds: FeedServer, db: Path
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", [2, 1])
    assert (await h.command(f"feed add {url} #news")).ok
    before = snapshot(h, db)

    answer = await h.command(f"feed add {url} #news backlog 2")

    assert not answer.ok
    assert "#news already follows" in answer.text and url in answer.text
    assert_unchanged(before, h, db)
    # Another channel may follow the same feed.
    assert (await h.command(f"feed add {url} #other")).ok
    assert [f.channel_id for f in await h.store.list_feeds(COMMUNITY)] == ["news", "other"]


async def test_feed_add_the_same_feed_written_with_a_fragment_is_a_duplicate(
    harness: Harness, feeds: FeedServer
) -> None:
    """`feed remove` treats URLs differing by a fragment or utm_* as one feed; `feed add` should too."""
    h = harness
    url = feeds.rss("/gazette.xml", [2, 1])
    assert (await h.command(f"feed add {url} #news")).ok
    answer = await h.command(f"feed add {url}?utm_source=newsletter#top #news")
    assert not answer.ok, answer.text
    assert len(await h.store.list_feeds(COMMUNITY)) == 1


async def test_feed_add_of_a_web_page_names_the_url_and_subscribes_nothing(
    harness: Harness, feeds: FeedServer, db: Path
) -> None:
    h = harness
    feeds.pages["/bridge.html"] = ("text/html; charset=utf-8", HTML_PAGE)
    url = feeds.url("/bridge.html")
    before = snapshot(h, db)

    answer = await h.command(f"feed add {url} backlog 2")

    assert not answer.ok
    assert url in answer.text
    assert "no feed found on that page" in answer.text  # discovery looked for a feed link
    assert_unchanged(before, h, db)
    assert await h.store.list_feeds(COMMUNITY) == []


async def test_feed_add_of_a_missing_feed_reports_the_404(
    harness: Harness, feeds: FeedServer, db: Path
) -> None:
    h = harness
    url = feeds.url("/nothing-here.xml")
    before = snapshot(h, db)

    answer = await h.command(f"feed add {url}")

    assert not answer.ok
    assert url in answer.text and "HTTP 404" in answer.text
    assert feeds.hits["/nothing-here.xml"] == 1
    assert_unchanged(before, h, db)


@pytest.mark.parametrize(
    "url", ["ftp://gazette.example/feed.xml", "file:///etc/passwd", "gazette.example/feed.xml", "http://"]
)
async def test_feed_add_of_a_non_http_url_is_a_usage_answer(harness: Harness, db: Path, url: str) -> None:
    h = harness
    before = snapshot(h, db)
    answer = await h.command(f"feed add {url}")
    assert not answer.ok
    assert "is not an http(s) URL" in answer.text and url in answer.text
    assert "Usage: feed add <url>" in answer.text
    assert_unchanged(before, h, db)


async def test_feed_remove_by_id_and_by_url(harness: Harness, feeds: FeedServer) -> None:
    h = harness
    gazette = feeds.rss("/gazette.xml", [2, 1])
    herald = feeds.rss("/herald.xml", [5, 4], title="Harbour Herald")
    assert (await h.command(f"feed add {gazette} #news backlog 1")).ok
    assert (await h.command(f"feed add {herald} #harbour")).ok
    first, second = await h.store.list_feeds(COMMUNITY)

    answer = await h.command(f"feed remove {first.id}")
    assert answer.ok, answer.text
    assert f"Removed feed {first.id} (Village Gazette)" in answer.text
    assert [f.id for f in await h.store.list_feeds(COMMUNITY)] == [second.id]
    # Posted discussions stay.
    assert titles_posted(h, "news") == ["Story 2"]
    assert await h.store.discussion_for_thread(COMMUNITY, next(iter(h.platform.state.messages))) is not None

    # By URL, written the way a browser shows it (upper-case scheme, a fragment).
    answer = await h.command(f"feed remove {herald.replace('http://', 'HTTP://')}#latest")
    assert answer.ok, answer.text
    assert "Harbour Herald" in answer.text
    assert await h.store.list_feeds(COMMUNITY) == []
    # A removed feed is no longer polled.
    h.clock.advance(timedelta(days=1))
    hits = dict(feeds.hits)
    await h.services.scheduler.run_once()
    assert feeds.hits == hits


async def test_feed_remove_of_an_unknown_feed_changes_nothing(
    harness: Harness, feeds: FeedServer, db: Path
) -> None:
    h = harness
    assert (await h.command(f"feed add {feeds.rss('/gazette.xml', [1])}")).ok
    before = snapshot(h, db)
    for wanted in ("99", "https://elsewhere.example/feed.xml", "gazette"):
        answer = await h.command(f"feed remove {wanted}")
        assert not answer.ok
        assert repr(wanted) in answer.text and "feed list" in answer.text
    assert_unchanged(before, h, db)


async def test_feed_list_shows_health(harness: Harness, feeds: FeedServer) -> None:
    h = harness
    assert (await h.command("feed list")).text.startswith("No feeds yet")
    url = feeds.rss("/gazette.xml", [3, 2, 1])
    assert (await h.command(f"feed add {url} #news backlog 1")).ok

    listing = await h.command("feed list")
    assert listing.ok
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert f"{feed.id}. Village Gazette → #news · ok · last success just now · 1 posted" in listing.text
    assert url in listing.text

    del feeds.pages["/gazette.xml"]  # the feed disappears
    h.clock.advance(timedelta(hours=1))
    await h.services.scheduler.run_once()
    listing = await h.command("feed list")
    assert "failing (1 in a row)" in listing.text
    assert "last success 60 min ago" in listing.text
    assert "last error just now" in listing.text and "HTTP 404" in listing.text


# ==================================================================================================
# post
# ==================================================================================================


async def test_post_text_opens_a_discussion_with_the_default_prompt(harness: Harness) -> None:
    h = harness
    answer = await h.command(f'post "{BRIDGE}" #news')

    assert answer.ok, answer.text
    assert answer.text.startswith("Posted “") and "to #news and opened its thread" in answer.text
    [post] = bot_posts(h, "news")
    assert "The old stone bridge reopened after ten years of repairs" in post
    assert "💬 What do you make of “" in post and "Share your own experience in the thread." in post
    assert "┌─ #news" in h.out.getvalue() and "thread m1 opened" in h.out.getvalue()
    discussion = await h.store.discussion_for_thread(COMMUNITY, "m1")
    assert discussion is not None
    assert (discussion.channel_id, discussion.message_id, discussion.feed_id) == ("news", "m1", None)
    assert discussion.posted_at == T0


async def test_post_twice_is_refused_and_posts_nothing_more(harness: Harness, db: Path) -> None:
    h = harness
    assert (await h.command(f'post "{BRIDGE}"')).ok
    before = snapshot(h, db)
    answer = await h.command(f'post "{BRIDGE}"')
    assert not answer.ok
    assert "was already posted in #general" in answer.text
    assert_unchanged(before, h, db)
    # Another channel may get it.
    assert (await h.command(f'post "{BRIDGE}" #news')).ok
    assert len(bot_posts(h)) == 2


async def test_post_with_the_channel_written_after_the_prompt(harness: Harness) -> None:
    h = harness
    answer = await h.command(f'post "{BRIDGE}" Tell us what {{title}} means to you #news')
    assert answer.ok, answer.text
    assert "to #news" in answer.text
    [post] = bot_posts(h, "news")
    assert post.splitlines()[-1].startswith("💬 Tell us what ") and post.endswith("means to you")


async def test_post_of_unquoted_text_does_not_post_its_first_word_as_the_article(harness: Harness) -> None:
    """DESIGN: `post <url or text> [channel] [prompt]`. Text typed without quotes must not become
    an article called "The" whose prompt is the rest of the sentence: post the whole text or refuse."""
    h = harness
    answer = await h.command("post The old stone bridge reopened after ten years of repairs.")
    if not answer.ok:
        assert "Usage: post" in answer.text
        assert bot_posts(h) == []
        return
    [post] = bot_posts(h)
    article_part = post.rsplit("💬", 1)[0]
    assert "ten years of repairs" in article_part, post


async def test_post_neutralises_mentions_in_the_article(harness: Harness) -> None:
    h = harness
    answer = await h.command(
        'post "@everyone The bridge is open again after ten years of repairs. <@U1> <!here>"'
    )
    assert answer.ok, answer.text
    [post] = bot_posts(h)
    for live in ("@everyone", "<@U1>", "<!here>"):
        assert live not in post
        assert live not in answer.text


async def test_post_a_url_reads_the_page(harness: Harness, feeds: FeedServer) -> None:
    h = harness
    feeds.pages["/bridge.html"] = ("text/html; charset=utf-8", HTML_PAGE)
    url = feeds.url("/bridge.html")
    answer = await h.command(f"post {url} #news Were you there when {{title}} happened?")
    assert answer.ok, answer.text
    [post] = bot_posts(h, "news")
    lines = post.splitlines()
    assert lines[0] == "Bridge reopens after repairs"
    assert lines[1] == url
    assert post.endswith("💬 Were you there when Bridge reopens after repairs happened?")


async def test_post_a_feed_url_says_to_use_feed_add(harness: Harness, feeds: FeedServer, db: Path) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", [1])
    before = snapshot(h, db)
    answer = await h.command(f"post {url}")
    assert not answer.ok
    assert url in answer.text and "feed add" in answer.text
    assert_unchanged(before, h, db)


async def test_post_a_missing_page_reports_the_404(harness: Harness, feeds: FeedServer, db: Path) -> None:
    h = harness
    before = snapshot(h, db)
    answer = await h.command(f"post {feeds.url('/gone.html')}")
    assert not answer.ok
    assert "HTTP 404" in answer.text and feeds.url("/gone.html") in answer.text
    assert_unchanged(before, h, db)


async def test_post_a_local_file(harness: Harness, tmp_path: Path) -> None:
    h = harness
    article = tmp_path / "bridge.txt"
    article.write_text("Bridge reopens\n\n" + BRIDGE + "\n", encoding="utf-8")
    answer = await h.command(f"post {article}")
    assert answer.ok, answer.text
    assert titles_posted(h) == ["Bridge reopens"]


# ==================================================================================================
# prompt set / show
# ==================================================================================================


async def test_prompt_set_show_and_reset(harness: Harness) -> None:
    h = harness
    shown = await h.command("prompt show #news")
    assert shown.ok and "Prompt for #news (the default):" in shown.text
    assert "What do you make of “{title}”?" in shown.text

    answer = await h.command("prompt set How did {title} change your week? #news")
    assert answer.ok, answer.text
    assert (
        "Prompt for #news set" in answer.text and "How did An example title change your week?" in answer.text
    )
    settings = await h.store.get_channel_settings(COMMUNITY, "news")
    assert settings is not None and settings.prompt == "How did {title} change your week?"
    assert await h.store.get_channel_settings(COMMUNITY, "general") is None

    shown = await h.command("prompt show #news")
    assert "How did {title} change your week?" in shown.text
    assert "Example:\nHow did An example title change your week?" in shown.text

    # Posts in #news use it.
    assert (await h.command(f'post "{BRIDGE}" #news')).ok
    [post] = bot_posts(h, "news")
    assert post.splitlines()[-1].startswith("💬 How did ") and post.endswith("change your week?")

    answer = await h.command("prompt set default #news")
    assert answer.ok and "default prompt again" in answer.text
    settings = await h.store.get_channel_settings(COMMUNITY, "news")
    assert settings is not None and settings.prompt is None
    assert "What do you make of “{title}”?" in (await h.command("prompt show #news")).text


async def test_prompts_added_to_a_channel_take_turns(harness: Harness) -> None:
    h = harness
    assert (await h.command("prompt set What did {title} change for you? #news")).ok
    answer = await h.command("prompt add Have you lived through something like {title}? #news")
    assert answer.ok and "Added prompt 2 to #news. 2 prompts now take turns." in answer.text
    assert not (await h.command("prompt add Have you lived through something like {title}? #news")).ok
    assert (await h.command("prompt add Tell us one detail the article missed. #news")).ok

    for n in range(4):
        h.clock.advance(timedelta(minutes=1))
        assert (await h.command(f'post "Story number {n} about the harbour. More text follows." #news')).ok
    prompts = [post.splitlines()[-1] for post in bot_posts(h, "news")]
    assert [p.split("💬 ")[1][:12] for p in prompts] == ["What did Sto", "Have you liv", "Tell us one ",
                                                          "What did Sto"]  # fmt: skip

    # One reply under the second prompt's post: `prompt show` says which prompt draws replies.
    discussions = await h.store.recent_discussions(COMMUNITY, h.clock.now() - timedelta(hours=1))
    second = next(d for d in discussions if d.prompt.startswith("Have you"))
    assert second.thread_id
    await h.reply(second.thread_id, "ana", "Yes, the 1998 floods, we lost the boat shed.")
    shown = (await h.command("prompt show #news")).text.splitlines()
    assert shown[0] == "Prompts for #news, taking turns (last 90 days):"
    assert shown[1:3] == [
        "1. What did {title} change for you?",
        "   2 articles; per article 0.0 replies and 0.0 participants",
    ]
    assert shown[3:5] == ["2. Have you lived through something like {title}? ← next",
                          "   1 article; per article 1.0 replies and 1.0 participants"]  # fmt: skip
    assert shown[6] == "   1 article; per article 0.0 replies and 0.0 participants"

    # Removing by number; a wrong number changes nothing.
    assert not (await h.command("prompt remove 7 #news")).ok
    answer = await h.command("prompt remove 1 #news")
    assert answer.ok and "#news uses 2 prompts." in answer.text
    settings = await h.store.get_channel_settings(COMMUNITY, "news")
    assert settings is not None
    assert split_prompts(settings.prompt) == (
        "Have you lived through something like {title}?",
        "Tell us one detail the article missed.",
    )


async def test_prompt_set_in_the_current_channel(harness: Harness) -> None:
    h = harness
    assert (await h.command("prompt set Tell us about {title} ({source})", channel="talk")).ok
    settings = await h.store.get_channel_settings(COMMUNITY, "talk")
    assert settings is not None and settings.prompt == "Tell us about {title} ({source})"


async def test_prompt_set_accepts_an_apostrophe(harness: Harness) -> None:
    """An ordinary English prompt: a lone apostrophe is not an unbalanced quote in free text."""
    h = harness
    answer = await h.command("prompt set What's your own experience with {title}? #news")
    assert answer.ok, answer.text
    settings = await h.store.get_channel_settings(COMMUNITY, "news")
    assert settings is not None and settings.prompt == "What's your own experience with {title}?"


async def test_prompt_set_with_an_unknown_placeholder_changes_nothing(harness: Harness, db: Path) -> None:
    h = harness
    before = snapshot(h, db)
    answer = await h.command("prompt set Thoughts on {headline}? #news")
    assert not answer.ok
    assert "unknown placeholder {headline}" in answer.text and "{title}, {url}, {source}" in answer.text
    assert "Usage: prompt set <text> [#channel]" in answer.text
    assert_unchanged(before, h, db)


# ==================================================================================================
# reply feature / unfeature / hide / show
# ==================================================================================================


async def test_reply_flags_change_the_stored_reply(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    message = await h.reply(thread, "ana", "I walked across it every day to school.")

    steps = [
        ("feature", "Featured", (True, False)),
        ("hide", "Hidden", (True, True)),
        ("unfeature", "No longer featured", (False, True)),
        ("show", "Shown again", (False, False)),
    ]
    for word, said, flags in steps:
        answer = await h.command(f"reply {word} {message}")
        assert answer.ok and answer.text.startswith(said), answer.text
        reply = await h.store.get_reply(COMMUNITY, message)
        assert reply is not None and (reply.featured, reply.hidden) == flags


async def test_reply_feature_accepts_a_message_link(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    message = await h.reply(thread, "ana", "I walked across it every day to school.")
    answer = await h.command(f"reply feature console://general/{message}")
    assert answer.ok, answer.text
    reply = await h.store.get_reply(COMMUNITY, message)
    assert reply is not None and reply.featured


async def test_reply_flags_on_a_message_that_is_not_a_reply_change_nothing(
    harness: Harness, db: Path
) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    await h.reply(thread, "ana", "I walked across it every day to school.")
    before = snapshot(h, db)
    for word in ("feature", "unfeature", "hide", "show"):
        for message in ("m999", thread):  # unknown, and the bot's own post
            answer = await h.command(f"reply {word} {message}")
            assert not answer.ok
            assert "not a stored reply" in answer.text
    assert_unchanged(before, h, db)


# ==================================================================================================
# digest preview / now / schedule / off
# ==================================================================================================


async def discussion_with_replies(h: Harness) -> tuple[str, dict[str, str]]:
    """One discussion, three replies (one reacted to twice), the clock a little later."""
    thread = await start_discussion(h, BRIDGE)
    h.clock.advance(timedelta(minutes=5))
    ids = {
        "ana": await h.reply(thread, "ana", "I walked across it every day to school."),
        "ben": await h.reply(thread, "ben", "My grandfather helped build the railing."),
        "cy": await h.reply(thread, "cy", "The detour added twenty minutes to my commute."),
    }
    for user in ("dee", "eve"):
        await h.app.dispatch(ReactionChanged(COMMUNITY, ids["cy"], user, "👍", True))
    h.clock.advance(timedelta(minutes=5))
    return thread, ids


def highlight_lines(markdown: str) -> list[str]:
    return [line.strip() for line in markdown.splitlines() if line.strip().startswith(">")]


async def test_digest_preview_is_exactly_what_digest_now_posts(harness: Harness) -> None:
    h = harness
    await discussion_with_replies(h)
    printed_before = h.out.getvalue()

    preview = await h.command("digest preview")

    assert preview.ok and preview.private
    assert preview.digest is not None
    assert "`digest now` would post this to #general" in preview.text
    assert h.out.getvalue() == printed_before, "a preview must not be posted"
    assert digests_posted(h) == []
    expected = render_markdown(preview.digest.layout())
    assert "I walked across it every day to school." in expected

    now = await h.command("digest now")

    assert now.ok, now.text
    assert "Posted the digest to #general" in now.text
    assert digests_posted(h, "general") == [expected]
    printed = h.out.getvalue()[len(printed_before) :]
    assert printed.splitlines()[1:-1] == [f"│ {line}" for line in expected.rstrip().splitlines()]


async def test_digest_quotes_a_featured_reply_first(harness: Harness) -> None:
    h = harness
    _, ids = await discussion_with_replies(h)
    # Without a feature, the most reacted reply comes first.
    plain = (await h.command("digest preview")).digest
    assert plain is not None
    first = highlight_lines(render_markdown(plain.layout()))
    assert "twenty minutes" in first[0]

    assert (await h.command(f"reply feature {ids['ben']}")).ok
    preview = await h.command("digest preview")
    assert preview.digest is not None
    lines = highlight_lines(render_markdown(preview.digest.layout()))
    assert lines[0] == "> ★ My grandfather helped build the railing. — *ben*"
    assert "twenty minutes" in lines[1]
    assert preview.digest.digest.discussions[0].highlights[0].featured


async def test_digest_never_shows_a_hidden_reply(harness: Harness) -> None:
    h = harness
    _, ids = await discussion_with_replies(h)
    assert (await h.command(f"reply hide {ids['ben']}")).ok
    assert (await h.command(f"reply feature {ids['ben']}")).ok  # featured and hidden: still hidden

    preview = await h.command("digest preview")
    assert preview.digest is not None
    markdown = render_markdown(preview.digest.layout())
    assert "railing" not in markdown
    assert (await h.command("digest now")).ok
    assert "railing" not in digests_posted(h)[0]

    assert (await h.command(f"reply show {ids['ben']}")).ok
    shown = (await h.command("digest preview")).digest
    assert shown is not None
    assert "railing" in render_markdown(shown.layout())


async def test_digest_never_shows_a_deleted_reply(harness: Harness) -> None:
    h = harness
    thread, ids = await discussion_with_replies(h)
    assert (await h.command(f"reply feature {ids['ana']}")).ok
    await h.app.dispatch(ReplyDeleted(COMMUNITY, ids["ana"], thread))
    assert await h.store.get_reply(COMMUNITY, ids["ana"]) is None

    preview = await h.command("digest preview")
    assert preview.digest is not None
    assert "every day to school" not in render_markdown(preview.digest.layout())
    assert preview.digest.digest.figures.replies == 2
    assert (await h.command("digest now")).ok
    assert "every day to school" not in digests_posted(h)[0]


async def test_digest_neutralises_mass_mentions_in_replies(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    await h.reply(thread, "ana", "@everyone come see the bridge! @here too, and <@U123> <!channel>")
    await h.reply(thread, "@here", "A display name can try it too.")
    h.clock.advance(timedelta(minutes=1))
    preview = await h.command("digest preview")
    assert preview.digest is not None
    assert (await h.command("digest now")).ok
    [posted] = digests_posted(h)
    assert posted == render_markdown(preview.digest.layout())
    for live in ("@everyone", "@here", "<@U123>", "<!channel>"):
        assert live not in posted
        assert live not in h.out.getvalue()
    assert "@\u200beveryone come see the bridge" in posted


async def test_digest_now_posts_to_the_scheduled_channel(harness: Harness) -> None:
    h = harness
    await discussion_with_replies(h)
    assert (await h.command("digest schedule friday 17:30 UTC #digest")).ok
    preview = await h.command("digest preview")
    assert "would post this to #digest" in preview.text
    answer = await h.command("digest now")
    assert answer.ok and "Posted the digest to #digest." in answer.text
    assert "Tip:" not in answer.text
    assert digests_posted(h, "general") == []
    assert preview.digest is not None
    assert digests_posted(h, "digest") == [render_markdown(preview.digest.layout())]


async def test_digest_schedule_stores_the_schedule(harness: Harness) -> None:
    h = harness
    answer = await h.command("digest schedule Monday 09:00 Europe/Berlin #digest")
    assert answer.ok, answer.text
    # Now is Monday 2 Nov 2026 12:00 UTC = 13:00 in Berlin: the next one is a week away.
    assert answer.text == (
        "Digest for #digest: every Monday at 09:00 Europe/Berlin. Next one: Mon 09 Nov 2026 09:00 CET."
    )
    [schedule] = await h.store.digest_schedules(COMMUNITY)
    assert (schedule.channel_id, schedule.weekday, schedule.at, schedule.timezone) == (
        "digest", 0, time(9, 0), "Europe/Berlin",
    )  # fmt: skip
    assert schedule.enabled and schedule.next_run_at == datetime(2026, 11, 9, 8, 0, tzinfo=UTC)

    # Setting it again replaces that channel's schedule.
    assert (await h.command("digest schedule wed 7:05 UTC #digest")).ok
    [schedule] = await h.store.digest_schedules(COMMUNITY)
    assert (schedule.weekday, schedule.at, schedule.timezone) == (2, time(7, 5), "UTC")
    assert schedule.next_run_at == datetime(2026, 11, 4, 7, 5, tzinfo=UTC)


async def test_digest_schedule_without_a_timezone_uses_the_default(harness: Harness) -> None:
    h = harness
    answer = await h.command("digest schedule tuesday 18:00", channel="digest")
    assert answer.ok, answer.text
    [schedule] = await h.store.digest_schedules(COMMUNITY)
    assert (schedule.channel_id, schedule.timezone) == ("digest", "UTC")


async def test_digest_schedule_with_a_channel_but_no_timezone(harness: Harness) -> None:
    """The optional channel written last must be read as the channel, not as a timezone."""
    h = harness
    answer = await h.command("digest schedule monday 09:00 #digest")
    assert answer.ok, answer.text
    [schedule] = await h.store.digest_schedules(COMMUNITY)
    assert (schedule.channel_id, schedule.timezone) == ("digest", "UTC")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("funday 09:00 UTC #digest", "weekday must be a weekday such as monday, not 'funday'"),
        ("mo 09:00 UTC #digest", "weekday must be a weekday"),
        ("monday 25:00 UTC #digest", "time must be a 24-hour time such as 09:00, not '25:00'"),
        ("monday 9am UTC #digest", "time must be a 24-hour time"),
        ("monday 09:60 UTC", "time must be a 24-hour time"),
        ("monday 09:00 Mars/Olympus_Mons #digest", "'Mars/Olympus_Mons' is not an IANA timezone"),
        ("monday 09:00 CEST", "'CEST' is not an IANA timezone"),
        ("monday 09:00 ../../etc/passwd", "is not an IANA timezone"),
        ("monday", "missing time"),
        ("", "missing weekday, time"),
        ("monday 09:00 UTC #digest extra", "unexpected 'extra'"),
    ],
)
async def test_digest_schedule_with_bad_arguments_is_a_usage_answer(
    harness: Harness, db: Path, args: str, problem: str
) -> None:
    h = harness
    assert (await h.command("digest schedule friday 17:00 UTC #digest")).ok
    before = snapshot(h, db)
    answer = await h.command(f"digest schedule {args}")
    assert not answer.ok
    assert problem in answer.text
    assert "Usage: digest schedule <weekday> <time> [timezone] [#channel]" in answer.text
    assert_unchanged(before, h, db)


async def test_digest_off(harness: Harness, db: Path) -> None:
    h = harness
    before = snapshot(h, db)
    answer = await h.command("digest off")
    assert not answer.ok and "No digest was scheduled" in answer.text
    assert_unchanged(before, h, db)

    assert (await h.command("digest schedule monday 09:00 UTC #digest")).ok
    answer = await h.command("digest off")
    assert answer.ok and "Weekly digests are off" in answer.text
    [schedule] = await h.store.digest_schedules(COMMUNITY)
    assert not schedule.enabled
    # Nothing is posted when its time comes.
    h.clock.advance(timedelta(days=8))
    await h.services.scheduler.run_once()
    assert digests_posted(h) == []
    # And `digest schedule` turns it on again.
    assert (await h.command("digest schedule monday 09:00 UTC #digest")).ok
    assert (await h.store.digest_schedules(COMMUNITY))[0].enabled


# ==================================================================================================
# stats
# ==================================================================================================


async def test_stats_counts_articles_replies_and_participants(harness: Harness, feeds: FeedServer) -> None:
    h = harness
    assert (await h.command("stats")).text == "No articles posted in the last 30 days."
    url = feeds.rss("/gazette.xml", [2, 1])
    assert (await h.command(f"feed add {url} #news Did {{title}} matter? backlog 2")).ok
    story_threads = [m.id for m in h.platform.state.messages.values() if m.opens_thread]
    thread = await start_discussion(h, BRIDGE)
    await h.reply(thread, "ana", "I walked across it every day.")
    await h.reply(thread, "ben", "So did I.")
    await h.reply(thread, "ana", "And my kids do now.")
    await h.reply(story_threads[0], "cy", "Story one was news to me.")

    answer = await h.command("stats")
    assert answer.ok
    lines = answer.text.splitlines()
    assert lines[0] == "Last 30 days: 3 articles, 4 replies."
    assert "Per feed:" in lines and "Per prompt:" in lines
    assert (
        "  posted by hand: 1 article, 3 replies, 2 participants, per article 3.0 replies and 2.0 participants"
    ) in lines
    assert (
        "  Village Gazette: 2 articles, 1 reply, 1 participant, per article 0.5 replies and 0.5 participants"
    ) in lines
    per_article = "per article 0.5 replies and 0.5 participants"
    assert f"  Did {{title}} matter?: 2 articles, 1 reply, 1 participant, {per_article}" in lines

    # Older than the window: not counted.
    h.clock.advance(timedelta(days=8))
    assert (await h.command("stats 7")).text == "No articles posted in the last 7 days."
    assert (await h.command("stats 8")).text.startswith("Last 8 days: 3 articles, 4 replies.")


async def test_stats_of_a_removed_feed_are_not_called_posted_by_hand(
    harness: Harness, feeds: FeedServer
) -> None:
    h = harness
    url = feeds.rss("/gazette.xml", [2, 1])
    assert (await h.command(f"feed add {url} #news backlog 2")).ok
    assert "Village Gazette: 2 articles" in (await h.command("stats")).text
    assert (await h.command("feed remove 1")).ok
    answer = await h.command("stats")
    assert answer.text.startswith("Last 30 days: 2 articles, 0 replies.")
    assert "posted by hand" not in answer.text, answer.text


# ==================================================================================================
# help, unknown commands, the registry
# ==================================================================================================


async def test_help_lists_member_commands_for_members_and_everything_for_moderators(harness: Harness) -> None:
    h = harness
    member = await h.command("help", user="ana")
    moderator = await h.command("help")
    assert member.ok and moderator.ok and member.private
    for command in h.app.commands:
        line = f"  {command.usage} — {command.help}"
        assert line in moderator.text
        assert (line in member.text) == (not command.moderator)
    assert "privacy forget-me" in member.text and "feed add" not in member.text


async def test_an_unknown_command_lists_what_there_is(harness: Harness) -> None:
    h = harness
    answer = await h.command("frobnicate now", user="ana")
    assert not answer.ok
    assert "Unknown command 'frobnicate now'" in answer.text
    assert "privacy optout" in answer.text and "feed add" not in answer.text
    answer = await h.command("feed subscribe https://gazette.example/feed.xml")
    assert not answer.ok and "Unknown command 'feed subscribe'" in answer.text and "feed add" in answer.text


@pytest.mark.parametrize(
    "line",
    [
        'post "The bridge reopened #news',
        'feed add "http://127.0.0.1:9/feed.xml',
        'prompt set "Thoughts on {title}? #news',
    ],
)
async def test_quotes_that_do_not_balance_give_a_usage_answer(harness: Harness, db: Path, line: str) -> None:
    h = harness
    before = snapshot(h, db)
    answer = await h.command(line)
    assert not answer.ok
    assert "check the quotes" in answer.text and "Usage:" in answer.text
    assert_unchanged(before, h, db)


async def _ok(ctx: CommandContext) -> Answer:
    return Answer("ok")


def _sync(ctx: CommandContext) -> Answer:
    return Answer("sync")


async def _two(ctx: CommandContext, extra: int) -> Answer:
    return Answer("two")


async def _none() -> Answer:
    return Answer("none")


async def _unannotated(ctx):  # type: ignore[no-untyped-def]
    return Answer("unannotated")


async def _wrong_param(ctx: str) -> Answer:
    return Answer("wrong")


async def _wrong_return(ctx: CommandContext) -> str:
    return "text"


async def _keyword_only(*, ctx: CommandContext) -> Answer:
    return Answer("kw")


@pytest.mark.parametrize(
    "handler", [_sync, _two, _none, _unannotated, _wrong_param, _wrong_return, _keyword_only]
)
def test_registering_a_handler_with_a_wrong_signature_raises_type_error(handler: Callable[..., Any]) -> None:
    registry = CommandRegistry()
    with pytest.raises(TypeError):
        registry.add("bad", handler, help="bad")
    assert list(registry) == []


def test_registering_a_command_twice_or_with_two_options_of_one_name_raises() -> None:
    from bot.commands.registry import Kind, Option

    registry = CommandRegistry()
    registry.add("good", _ok, help="good")
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("good", _ok, help="again")
    with pytest.raises(ValueError, match="two options"):
        registry.add(
            "other", _ok, help="x", options=(Option("a", Kind.WORD, "a"), Option("a", Kind.TEXT, "a"))
        )


async def test_a_command_that_raises_answers_not_ok_and_the_next_command_works(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness

    async def explode(ctx: CommandContext) -> Answer:
        raise RuntimeError("disk on fire")

    h.app.commands.add("explode", explode, help="always fails", moderator=False)
    with caplog.at_level(logging.ERROR, logger="bot.commands.registry"):
        answer = await h.command("explode", user="ana")
    assert not answer.ok
    assert "failed on our side" in answer.text and "disk on fire" not in answer.text
    assert any(
        r.name == "bot.commands.registry" and "command explode failed" in r.getMessage() and r.exc_info
        for r in caplog.records
    )
    answer = await h.command(f'post "{BRIDGE}"')
    assert answer.ok, answer.text
    assert len(bot_posts(h)) == 1


async def test_typed_options_are_validated_like_typed_text(harness: Harness, db: Path) -> None:
    """Discord hands options over typed; the registry checks them the same way."""
    h = harness
    moderator = Caller("mod", "mod", is_moderator=True)

    async def typed(path: tuple[str, ...], options: dict[str, object]) -> Answer:
        answer = await h.app.dispatch(CommandInvoked(COMMUNITY, "general", moderator, path, options=options))
        assert answer is not None
        return answer

    before = snapshot(h, db)
    bad = await typed(("digest", "schedule"), {"weekday": "funday", "time": "09:00"})
    assert not bad.ok and "weekday must be a weekday" in bad.text and "Usage:" in bad.text
    bad = await typed(("digest", "schedule"), {"weekday": "monday", "time": "09:00", "colour": "red"})
    assert not bad.ok and "unknown option 'colour'" in bad.text
    bad = await typed(("stats",), {"days": 0})
    assert not bad.ok and "days must be at least 1" in bad.text
    assert_unchanged(before, h, db)

    good = await typed(("digest", "schedule"), {"weekday": "fri", "time": "8:15", "channel": "digest"})
    assert good.ok, good.text
    [schedule] = await h.store.digest_schedules(COMMUNITY)
    assert (schedule.channel_id, schedule.weekday, schedule.at) == ("digest", 4, time(8, 15))


# ==================================================================================================
# App.dispatch: the error boundary of event handlers
# ==================================================================================================


async def test_a_failing_event_handler_is_logged_and_the_others_still_run(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    seen: list[str] = []

    async def broken(event: ReplyPosted) -> None:
        raise RuntimeError(f"cannot handle {event.message_id}")

    async def recorder(event: ReplyPosted) -> None:
        seen.append(event.message_id)

    h.app.on(ReplyPosted, broken)
    h.app.on(ReplyPosted, recorder)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        first = await h.reply(thread, "ana", "I walked across it every day to school.")
        second = await h.reply(thread, "ben", "My grandfather helped build the railing.")

    failures = [r for r in caplog.records if r.name == "bot.app" and "broken" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info for r in failures)
    exc_info = failures[0].exc_info
    assert exc_info is not None
    assert "cannot handle" in str(exc_info[1])
    assert seen == [first, second]
    # The collector (registered before) stored both replies.
    for message in (first, second):
        assert await h.store.get_reply(COMMUNITY, message) is not None


async def test_the_first_handler_failing_does_not_stop_the_next_one() -> None:
    app = App()
    seen: list[str] = []

    async def broken(event: ReplyPosted) -> None:
        raise ValueError("boom")

    async def recorder(event: ReplyPosted) -> None:
        seen.append(event.text)

    app.on(ReplyPosted, broken)
    app.on(ReplyPosted, recorder)
    event = ReplyPosted(COMMUNITY, "t1", "m1", "ana", "ana", "hello", T0)
    assert await app.dispatch(event) is None
    assert await app.dispatch(event) is None
    assert seen == ["hello", "hello"]


def test_event_handlers_are_checked_when_registered() -> None:
    app = App()

    async def for_command(event: CommandInvoked) -> None: ...

    def not_async(event: ReplyPosted) -> None: ...

    async def returns_something(event: ReplyPosted) -> int:
        return 1

    with pytest.raises(TypeError, match=r"app\.commands\.add"):
        app.on(CommandInvoked, for_command)
    # Deliberately ill-typed handlers: the check at run time is what is tested.
    with pytest.raises(TypeError):
        app.on(ReplyPosted, not_async)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        app.on(ReplyPosted, returns_something)  # type: ignore[arg-type]


# ==================================================================================================
# Every command: members refused, bad arguments answered with usage, nothing changed
# ==================================================================================================

MODERATOR_CALLS = {
    ("feed", "add"): "feed add {feed} #news backlog 2",
    ("feed", "remove"): "feed remove 1",
    ("feed", "list"): "feed list",
    ("feed", "import"): "feed import {opml} #news",
    ("feed", "export"): "feed export",
    ("feed", "filter", "add"): 'feed filter add 1 exclude "Story 3" title',
    ("feed", "filter", "remove"): "feed filter remove 1 1",
    ("feed", "filter", "list"): "feed filter list 1",
    ("feed", "template"): "feed template 1 title,link,prompt",
    ("feed", "poll"): "feed poll 1",
    ("post",): 'post "' + BAKERY + '" #news',
    ("prompt", "set"): "prompt set Tell us about {{title}} #general",
    ("prompt", "show"): "prompt show",
    ("prompt", "add"): "prompt add Tell us about {{title}} #general",
    ("prompt", "remove"): "prompt remove 1 #general",
    ("digest", "preview"): "digest preview",
    ("digest", "now"): "digest now",
    ("digest", "schedule"): "digest schedule monday 09:00 UTC #digest",
    ("digest", "off"): "digest off",
    ("digest", "style"): "digest style full #digest",
    ("digest", "summaries"): "digest summaries model",
    ("digest", "language"): "digest language de",
    ("digest", "settings"): "digest settings",
    ("reply", "feature"): "reply feature {reply}",
    ("reply", "unfeature"): "reply unfeature {featured}",
    ("reply", "hide"): "reply hide {reply}",
    ("reply", "show"): "reply show {hidden}",
    ("stats",): "stats 7",
}

MEMBER_COMMANDS = {
    ("privacy", "optout"), ("privacy", "optin"), ("privacy", "anonymous"), ("privacy", "named"),
    ("privacy", "forget-me"), ("privacy", "my-data"), ("help",),
}  # fmt: skip

# Wrong or missing arguments for every command (moderator commands called by a moderator).
BAD_CALLS: list[tuple[str, str]] = [
    ("feed add", "missing url"),
    ("feed add not-a-url", "is not an http(s) URL"),
    ("feed add {feed} backlog", "backlog"),
    ("feed add {feed} backlog two", "backlog must be a whole number, not 'two'"),
    ("feed add {feed} backlog -1", "backlog must be at least 0"),
    ("feed add {feed} backlog 51", "backlog must be at most 50"),
    ("feed add {feed} #news Thoughts on {{headline}}?", "unknown placeholder {headline}"),
    ("feed remove", "missing feed"),
    ("feed remove 1 2", "unexpected '2'"),
    ("feed list everything", "unexpected 'everything'"),
    ("feed import", "missing url"),
    ("feed import subs.opml", "is not an http(s) URL"),
    ("feed import {opml} #news now", "unexpected"),
    ("feed export all", "unexpected 'all'"),
    ("feed filter add", "missing feed, action, pattern"),
    ("feed filter add 1 maybe rust", "action must be include | exclude, not 'maybe'"),
    ("feed filter add 1 exclude rust body", "field must be all | title | summary | categories, not 'body'"),
    ("feed filter add 1 exclude " + "x" * 201, "pattern is longer than 200 characters"),
    ("feed filter remove 1", "missing n"),
    ("feed filter remove 1 first", "n must be a whole number, not 'first'"),
    ("feed filter remove 1 0", "n must be at least 1"),
    ("feed filter list", "missing feed"),
    ("feed filter list 1 2", "unexpected '2'"),
    ("feed template", "missing feed"),
    ("feed template 1 title link", "unexpected 'link'"),
    ("feed poll", "missing feed"),
    ("feed poll 1 2", "unexpected '2'"),
    ("post", "missing article"),
    ('post ""', "article is empty"),
    ('post "' + BAKERY + '" #news Thoughts on {{headline}}?', "unknown placeholder {headline}"),
    ("prompt set", "missing text"),
    ("prompt set #news", "missing text"),
    ("prompt set {{nope}}", "unknown placeholder {nope}"),
    ("prompt set " + "x" * 501, "text is longer than 500 characters"),
    ("prompt show news", "unexpected 'news'"),
    ("prompt add", "missing text"),
    ("prompt add {{nope}} #news", "unknown placeholder {nope}"),
    ("prompt remove", "missing number"),
    ("prompt remove first", "number"),
    ("prompt remove 11", "at most 10"),
    ("digest preview please", "unexpected 'please'"),
    ("digest now #digest", "unexpected '#digest'"),
    ("digest schedule", "missing weekday, time"),
    ("digest schedule someday 09:00", "weekday must be a weekday"),
    ("digest schedule monday noon", "time must be a 24-hour time"),
    ("digest schedule monday 09:00 Europe/Atlantis", "is not an IANA timezone"),
    ("digest off now", "unexpected 'now'"),
    ("digest style", "missing style"),
    ("digest style huge", "style must be compact | full, not 'huge'"),
    ("digest style full #digest more", "unexpected"),
    ("digest summaries", "missing engine"),
    ("digest summaries oracle", "engine must be model | builtin, not 'oracle'"),
    ("digest language", "missing language"),
    (
        "digest language klingon",
        "'klingon' is not a supported language; choose one of English (en), Deutsch (de)",
    ),
    ("digest settings everything", "unexpected 'everything'"),
    ("reply feature", "missing message"),
    ("reply feature {reply} {reply}", "unexpected"),
    ("reply unfeature", "missing message"),
    ("reply hide", "missing message"),
    ("reply hide <>", "that is not a message id or link"),
    ("reply show", "missing message"),
    ("stats 0", "days must be at least 1"),
    ("stats 3651", "days must be at most 3650"),
    ("stats week", "days must be a whole number, not 'week'"),
    ("stats 7 30", "unexpected '30'"),
    ("privacy optout now", "unexpected 'now'"),
    ("privacy optin please", "unexpected 'please'"),
    ("privacy anonymous yes", "unexpected 'yes'"),
    ("privacy named ana", "unexpected 'ana'"),
    ("privacy forget-me ana", "unexpected 'ana'"),
    ("privacy my-data json", "unexpected 'json'"),
    ("help feed", "unexpected 'feed'"),
]


@dataclass
class World:
    """A community with something to change: a feed, a discussion, replies, a schedule, prefs."""

    h: Harness
    db: Path
    feeds: FeedServer
    values: dict[str, str]

    def line(self, template: str) -> str:
        return template.format(**self.values)


@pytest.fixture
async def world(harness: Harness, feeds: FeedServer, db: Path) -> World:
    h = harness
    gazette = feeds.rss("/gazette.xml", [2, 1])
    herald = feeds.rss("/herald.xml", [9, 8, 7])
    assert (await h.command(f"feed add {gazette} #general")).ok
    assert (await h.command("feed filter add 1 exclude sponsored")).ok
    thread = await start_discussion(h, BRIDGE)
    reply = await h.reply(thread, "ana", "I walked across it every day to school.")
    featured = await h.reply(thread, "ben", "My grandfather helped build the railing.")
    hidden = await h.reply(thread, "cy", "The detour added twenty minutes to my commute.")
    assert (await h.command(f"reply feature {featured}")).ok
    assert (await h.command(f"reply hide {hidden}")).ok
    assert (await h.command("digest schedule friday 17:00 UTC #digest")).ok
    assert (await h.command("privacy anonymous", user="ana")).ok
    assert (await h.command("prompt set Your story about {title}? #general")).ok
    h.clock.advance(timedelta(minutes=5))
    feeds.pages["/subs.opml"] = (
        "text/x-opml",
        f'<opml version="2.0"><body><outline text="Herald" xmlUrl="{herald}"/></body></opml>',
    )
    values = {"feed": herald, "opml": feeds.url("/subs.opml"), "reply": reply, "featured": featured}
    return World(h, db, feeds, {**values, "hidden": hidden})


def test_the_tables_here_cover_every_registered_command(harness: Harness) -> None:
    registered = {c.path for c in harness.app.commands}
    assert registered == set(MODERATOR_CALLS) | MEMBER_COMMANDS
    assert {c.path for c in harness.app.commands if c.moderator} == set(MODERATOR_CALLS)
    assert {c.path for c in harness.app.commands if not c.moderator} == MEMBER_COMMANDS
    called = {tuple(line.split()[:size]) for line, _ in BAD_CALLS for size in (1, 2, 3)}
    assert registered <= called, registered - called


@pytest.mark.parametrize("path", sorted(MODERATOR_CALLS), ids=" ".join)
async def test_a_member_cannot_use_a_moderator_command(world: World, path: tuple[str, ...]) -> None:
    h = world.h
    line = world.line(MODERATOR_CALLS[path])
    before = snapshot(h, world.db)
    hits = dict(world.feeds.hits)

    answer = await h.command(line, user="ana")

    assert not answer.ok
    assert answer.text == f"Only moderators can use `{' '.join(path)}`."
    assert answer.digest is None and answer.attachment is None
    assert_unchanged(before, h, world.db)
    assert world.feeds.hits == hits, "a refused call fetched something"


@pytest.mark.parametrize("path", sorted(MODERATOR_CALLS), ids=" ".join)
async def test_a_moderator_can_use_each_moderator_command(world: World, path: tuple[str, ...]) -> None:
    """The same calls that members are refused do work for a moderator (so the refusals mean something)."""
    answer = await world.h.command(world.line(MODERATOR_CALLS[path]))
    assert answer.ok, answer.text


@pytest.mark.parametrize(("template", "problem"), BAD_CALLS, ids=[line for line, _ in BAD_CALLS])
async def test_bad_arguments_get_a_usage_answer_and_change_nothing(
    world: World, template: str, problem: str
) -> None:
    h = world.h
    line = world.line(template)
    command = h.app.commands.get(h.app.commands.split_line(line)[0])
    assert command is not None
    user = "mod" if command.moderator else "ana"
    before = snapshot(h, world.db)
    hits = dict(world.feeds.hits)

    answer = await h.command(line, user=user)

    assert not answer.ok
    assert problem in answer.text
    assert f"Usage: {command.usage}" in answer.text
    assert answer.private
    assert_unchanged(before, h, world.db)
    assert world.feeds.hits == hits, "a call with bad arguments fetched something"
