"""Feed filters, per-feed post templates and `feed poll`, through the console's commands
over a real SQLite file and a feed server on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from aiohttp import web

from adapters.console.platform import COMMUNITY, article_lines
from adapters.console.shell import ConsoleShell
from bot.feed_filters import Candidate, FilterError, Rules, compile_pattern
from bot.models import FeedFilter
from bot.poller import NOTIFY_AFTER
from bot.post_layout import STANDARD, Part, TemplateError, parse_template
from tests.conftest import T0, Harness
from tests.feed_items import ELECTION, NEW_ITEMS, OLD, RUST, Item, rss
from tests.sources_server import SourcesServer
from tests.test_commands import FeedServer, bot_posts, feeds, rss_document  # noqa: F401  (the fixture)


def serve(server: FeedServer, items: list[Item]) -> str:
    server.pages["/gazette.xml"] = ("application/rss+xml", rss(items))
    return server.url("/gazette.xml")


def rule(n: int, action: str, pattern: str, field: str = "all") -> FeedFilter:
    return FeedFilter(n, 1, action, pattern, field, 0, T0)


# -- the rules themselves ----------------------------------------------------------------


def test_a_phrase_matches_whole_words_case_insensitively() -> None:
    rules = Rules([rule(1, "exclude", "rust")])
    assert rules.held_by(Candidate("RUST workshop", "")) == 1
    assert rules.held_by(Candidate("Trusty tools", "")) is None
    phrase = Rules([rule(2, "exclude", "lawn mowers", "summary")])
    assert phrase.held_by(Candidate("x", "The best lawn\n  mowers.")) == 2
    assert phrase.held_by(Candidate("lawn mowers", "nothing")) is None  # summary only


def test_includes_and_excludes_combine_as_documented() -> None:
    rules = Rules(
        [rule(1, "include", "rust"), rule(2, "include", "/elect(ion|ed)/"), rule(3, "exclude", "sponsored")]
    )
    assert rules.held_by(Candidate("Rust news", "")) is None
    assert rules.held_by(Candidate("Council elected", "")) is None
    assert rules.held_by(Candidate("Sponsored rust", "")) == 3  # an exclude wins over an include
    assert rules.held_by(Candidate("Weather", "")) == 0  # matched no include
    by_category = Rules([rule(4, "include", "programming", "categories")])
    assert by_category.held_by(Candidate("Anything", "", ("Programming",))) is None
    assert by_category.held_by(Candidate("programming", "programming", ())) == 0


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [("/(unclosed/", "not a valid regular expression"), ("//", "empty"), ("x" * 201, "at most 200")],
)
def test_a_bad_pattern_is_refused_with_a_reason(pattern: str, problem: str) -> None:
    with pytest.raises(FilterError, match=problem):
        compile_pattern(pattern)


def test_a_catastrophic_regex_is_cut_off_and_counts_as_no_match(caplog: pytest.LogCaptureFixture) -> None:
    rules = Rules([rule(1, "exclude", "/(a|aa)+$/", "title"), rule(2, "exclude", "sponsored")])
    with caplog.at_level(logging.WARNING, logger="bot.feed_filters"):
        assert rules.held_by(Candidate("a" * 4000 + "!", "")) is None
        # Left out for the rest of the poll: the next items cost no second timeout.
        assert [rules.held_by(Candidate("a" * 4000 + "!", "")) for _ in range(50)] == [None] * 50
        assert rules.held_by(Candidate("aaaa", "")) is None  # even one it would match quickly
        assert rules.held_by(Candidate("Sponsored: aaa", "")) == 2  # the other rules still work
    assert caplog.text.count("took too long") == 1


def test_templates_parse_and_refuse_what_cannot_be_shown() -> None:
    assert parse_template("title, excerpt,link prompt").parts == (
        Part.TITLE,
        Part.EXCERPT,
        Part.LINK,
        Part.PROMPT,
    )
    assert parse_template("TITLE,SOURCE").text == "title,source"
    for bad, problem in (
        ("title,title", "twice"),
        ("excerpt,prompt", "title or the link"),
        ("body", "unknown"),
    ):
        with pytest.raises(TemplateError, match=problem):
            parse_template(bad)


# -- through the console's commands ------------------------------------------------------


async def test_filters_template_and_poll_end_to_end(harness: Harness, feeds: FeedServer) -> None:  # noqa: F811
    h = harness
    url = serve(feeds, [OLD])
    assert (await h.command(f"feed add {url} #news")).ok  # primed: OLD remembered, none posted
    assert bot_posts(h, "news") == []

    added = await h.command('feed filter add 1 exclude "Sponsored" title')
    assert added.ok and "exclude items whose title matches Sponsored" in added.text
    assert "matches no exclude filter" in added.text  # the semantics are said
    assert (await h.command("feed filter add 1 include /rust|python/")).ok
    bad = await h.command('feed filter add 1 exclude "/(unclosed/"')
    assert not bad.ok and "Nothing saved" in bad.text and "not a valid regular expression" in bad.text
    assert len(await h.store.list_feed_filters(1)) == 2

    templated = await h.command("feed template 1 title,link,prompt")
    assert templated.ok and "now posts: title,link,prompt" in templated.text
    refused = await h.command("feed template 1 excerpt,prompt")
    assert not refused.ok and "Nothing saved" in refused.text

    serve(feeds, NEW_ITEMS)
    polled = await h.command("feed poll 1")
    assert polled.ok
    assert polled.text.splitlines()[:2] == [
        "Feed 1 (Village Gazette): posted 1 item:",
        "• Rust workshop at the library",
    ]
    assert "2 new items held back by filters (remembered as seen)." in polled.text
    [post] = bot_posts(h, "news")
    # The template: title, its link, the prompt; no excerpt, no source line.
    assert post.splitlines()[:3] == [RUST.title, "https://gazette.example/rust", ""]
    assert (
        post.splitlines()[3].startswith("💬 ") and "Learn the basics." not in post and "(Village" not in post
    )

    listed = (await h.command("feed list")).text
    assert "2 items held back by filters" in listed
    filters = (await h.command("feed filter list 1")).text
    assert "1. exclude Sponsored · title · 1 held back" in filters
    assert "2. include /rust|python/ · title, summary or categories" in filters
    assert "1 item matched no include filter" in filters and "Held back in all: 2 items" in filters

    # Held-back items stay seen: dropping the include filter posts nothing of them later.
    removed = await h.command("feed filter remove 1 2")
    assert removed.ok and "include /rust|python/" in removed.text
    again = await h.command("feed poll 1")
    assert again.ok and again.text == "Feed 1 (Village Gazette): no new items."
    assert len(bot_posts(h, "news")) == 1
    assert not (await h.command("feed filter remove 1 5")).ok

    # A new item: the standard post again after a reset.
    assert (await h.command("feed template 1 reset")).ok
    fresh = Item("fair", "Autumn fair this weekend", "Stalls and music.", hour=9)
    serve(feeds, [fresh, *NEW_ITEMS])
    assert "• Autumn fair this weekend" in (await h.command("feed poll 1")).text
    post = bot_posts(h, "news")[-1]
    assert "Stalls and music." in post and "(Village Gazette" in post


async def test_poll_says_why_nothing_was_posted(harness: Harness, feeds: FeedServer) -> None:  # noqa: F811
    h = harness
    url = serve(feeds, [OLD])
    assert (await h.command(f"feed add {url} #news")).ok
    assert (await h.command("feed poll 1")).text == "Feed 1 (Village Gazette): no new items."
    del feeds.pages["/gazette.xml"]
    failing = await h.command("feed poll 1")
    assert not failing.ok
    assert (
        failing.text.startswith("Feed 1 (Village Gazette) is failing (1 in a row):") and "404" in failing.text
    )
    assert "Backing off until " in failing.text
    assert not (await h.command("feed poll 9")).ok


async def test_preview_shows_the_latest_item_as_posted_without_posting(
    harness: Harness,
    feeds: FeedServer,  # noqa: F811
) -> None:
    h = harness
    url = serve(feeds, [OLD])
    assert (await h.command(f"feed add {url} #news")).ok
    serve(feeds, [ELECTION, OLD])
    assert (await h.command("feed template 1 link,title")).ok
    answer = await h.command("feed template 1 preview")
    assert answer.ok and answer.post is not None
    assert answer.post.article.title == ELECTION.title
    assert article_lines(answer.post.article, answer.post.prompt, answer.post.layout) == [
        "https://gazette.example/vote",
        ELECTION.title,
    ]
    assert bot_posts(h, "news") == []  # nothing posted
    # Typed in the console's shell, the preview shows under the answer.
    shell = ConsoleShell(h.app, h.platform, h.clock, h.services.scheduler.run_once, moderator="mod")  # type: ignore[arg-type]
    assert await shell.invoke(("feed", "template"), text="1 preview")
    assert "  │ https://gazette.example/vote\n  │ Council election results\n" in h.out.getvalue()
    # Without items, a sample.
    serve(feeds, [])
    sample = await h.command("feed template 1 preview")
    assert sample.post is not None and sample.post.article.title.startswith("Sample headline")
    assert "A sample is shown." in sample.text


async def test_the_standard_layout_keeps_the_console_post() -> None:
    article_text = article_lines
    from bot.models import Article

    article = Article(1, "k", "Title", "https://x.example/a", "Summary.", "Site", None, T0)
    assert article_text(article, "Talk?", STANDARD) == [
        "Title",
        "https://x.example/a",
        "",
        "Summary.",
        "",
        "(Site)",
        "",
        "💬 Talk?",
    ]
    assert COMMUNITY.platform == "console"


# -- a feed removed while the scheduler's cycle is under way ----------------------------------


async def test_a_feed_removed_while_it_is_read_is_not_posted_to(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler reads the due feeds once per cycle; a moderator's `feed remove` that lands
    while the feed is being fetched must still stop every post to its channel."""
    h = harness
    async with SourcesServer() as server:
        server.serve("/gazette.xml", rss_document([1], title="Village Gazette"))
        assert (await h.command(f"feed add {server.url('/gazette.xml')} #news")).ok

        async def removed_meanwhile(request: web.Request) -> web.StreamResponse:
            assert (await h.command("feed remove 1")).ok
            body = rss_document([3, 2, 1], title="Village Gazette")  # two new stories
            return web.Response(body=body.encode(), content_type="application/rss+xml")

        server.route("/gazette.xml", removed_meanwhile)
        h.clock.advance(timedelta(seconds=h.services.settings.poll_interval + 1))
        with caplog.at_level(logging.WARNING):
            await h.services.scheduler.run_once()
        assert len(server.requests_to("/gazette.xml")) == 2  # it was read in this cycle
    assert await h.store.list_feeds(COMMUNITY) == []
    assert bot_posts(h) == []
    assert [m.text for m in h.platform.state.messages.values()] == []  # no notice either
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_feed_removed_while_it_fails_is_not_reported_to_moderators(
    harness: Harness,
) -> None:
    h = harness
    async with SourcesServer() as server:
        server.serve("/gazette.xml", rss_document([1], title="Village Gazette"))
        assert (await h.command(f"feed add {server.url('/gazette.xml')} #news")).ok
        server.serve("/gazette.xml", "down", status=500, content_type="text/plain")
        for _ in range(NOTIFY_AFTER - 1):
            [feed] = await h.store.list_feeds(COMMUNITY)
            h.clock.current = feed.next_poll_at + timedelta(seconds=1)
            await h.services.scheduler.run_once()
        [feed] = await h.store.list_feeds(COMMUNITY)
        assert feed.failures == NOTIFY_AFTER - 1  # the next failure would tell the moderators

        async def removed_meanwhile(request: web.Request) -> web.StreamResponse:
            assert (await h.command("feed remove 1")).ok
            return web.Response(status=500, text="down")

        server.route("/gazette.xml", removed_meanwhile)
        h.clock.current = feed.next_poll_at + timedelta(seconds=1)
        await h.services.scheduler.run_once()
        assert len(server.requests_to("/gazette.xml")) == NOTIFY_AFTER + 1
    assert await h.store.list_feeds(COMMUNITY) == []
    assert [m.text for m in h.platform.state.messages.values()] == []
