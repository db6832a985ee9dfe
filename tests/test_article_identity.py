"""One article, one post per channel: a link posted before is the same article, whatever its GUID.

Feeds are served by a real HTTP server on 127.0.0.1 (tests/sources_server.py).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from aiohttp import web

from adapters.console.platform import COMMUNITY
from bot.identity import article_link
from bot.models import ArticleDraft
from bot.publisher import draft_key, item_keys
from tests.conftest import Harness
from tests.sources_server import SourcesServer

PAGE = """<!doctype html><html><head><title>{title}</title>
<meta property="og:title" content="{title}">
<meta property="og:description" content="What happened in {title}, told by the people who were there.">
</head><body><article><h1>{title}</h1>
<p>What happened in {title}, told by the people who were there, with photographs and a map.</p>
</article></body></html>"""


def rss(server: SourcesServer, items: list[tuple[int, str, str]]) -> str:
    """An RSS feed of (number, guid, title) items, newest first, each linking to a page of the server."""
    entries = []
    for n, guid, title in items:
        published = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
        entries.append(
            f"<item><title>{title}</title><link>{server.url(f'/story-{n}.html')}</link>"
            f'<guid isPermaLink="false">{guid}</guid>'
            f"<pubDate>{published:%a, %d %b %Y %H:%M:%S} +0000</pubDate>"
            f"<description>What happened in story {n}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Changing Gazette</title><link>{server.url('/')}</link>"
        f"<description>News</description>{''.join(entries)}</channel></rss>"
    )


def serve_changing_guids(server: SourcesServer, path: str, numbers: list[int]) -> list[int]:
    """Serve a feed whose every item gets a new GUID at every fetch; returns the fetch counter."""
    fetches = [0]
    counter = itertools.count(1)

    async def handler(request: web.Request) -> web.StreamResponse:
        fetches[0] += 1
        items = [(n, f"story-{n}-fetch-{next(counter)}", f"Story {n}") for n in numbers]
        return web.Response(text=rss(server, items), content_type="application/rss+xml")

    server.route(path, handler)
    return fetches


def serve_pages(server: SourcesServer, numbers: range) -> None:
    for n in numbers:
        server.serve(f"/story-{n}.html", PAGE.format(title=f"Story {n}"), content_type="text/html")


def thread_posts(h: Harness, channel: str = "news") -> list[str]:
    return [m.text for m in h.platform.state.messages.values() if m.opens_thread and m.channel == channel]


def titles(h: Harness, channel: str = "news") -> list[str]:
    return [text.splitlines()[0] for text in thread_posts(h, channel)]


async def poll_again(h: Harness) -> None:
    h.clock.advance(timedelta(seconds=h.services.settings.poll_interval + 1))
    await h.services.scheduler.run_once()


async def test_a_feed_whose_guids_change_at_every_fetch_posts_each_link_once(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    fetches = serve_changing_guids(server, "/changing.xml", list(range(12, 0, -1)))
    answer = await h.command(f"feed add {server.url('/changing.xml')} #news backlog 5")
    assert answer.ok, answer.text
    assert titles(h) == [f"Story {n}" for n in range(8, 13)]
    for _ in range(3):
        await poll_again(h)
    assert fetches[0] == 4
    # 5 posts, each link once; the 7 older items remembered at the first poll stay unposted.
    assert titles(h) == [f"Story {n}" for n in range(8, 13)]
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert feed.items_posted == 5 and feed.failures == 0


async def test_a_new_item_of_a_changing_guid_feed_is_still_posted_once(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    serve_changing_guids(server, "/changing.xml", [2, 1])
    assert (await h.command(f"feed add {server.url('/changing.xml')} #news backlog 1")).ok
    serve_changing_guids(server, "/changing.xml", [3, 2, 1])
    await poll_again(h)
    await poll_again(h)
    assert titles(h) == ["Story 2", "Story 3"]


async def test_post_of_a_link_that_a_feed_with_guids_posted_is_refused(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    serve_pages(server, range(1, 3))
    server.serve("/stable.xml", rss(server, [(2, "guid-2", "Story 2"), (1, "guid-1", "Story 1")]))
    assert (await h.command(f"feed add {server.url('/stable.xml')} #news backlog 2")).ok
    assert titles(h) == ["Story 1", "Story 2"]
    # The same link, spelled with a fragment and a tracking parameter: the same article.
    answer = await h.command(f"post {server.url('/story-2.html')}?utm_source=x#top #news")
    assert not answer.ok
    assert "was already posted in #news" in answer.text
    assert titles(h) == ["Story 1", "Story 2"]
    # Another channel may still get it.
    assert (await h.command(f"post {server.url('/story-2.html')} #general")).ok
    assert titles(h, "general") == ["Story 2"]


async def test_a_feed_item_whose_link_was_posted_by_hand_is_not_posted_again(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    serve_pages(server, range(1, 3))
    assert (await h.command(f"post {server.url('/story-2.html')} #news")).ok
    server.serve(
        "/stable.xml", rss(server, [(2, "guid-2", "Story 2 (updated title)"), (1, "guid-1", "Story 1")])
    )
    answer = await h.command(f"feed add {server.url('/stable.xml')} #news backlog 2")
    assert answer.ok, answer.text
    assert titles(h) == ["Story 2", "Story 1"]
    await poll_again(h)
    assert titles(h) == ["Story 2", "Story 1"]


async def test_an_updated_item_same_link_new_guid_and_title_is_not_reposted(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    server.serve("/stable.xml", rss(server, [(1, "guid-1", "Story 1")]))
    assert (await h.command(f"feed add {server.url('/stable.xml')} #news backlog 1")).ok
    server.serve("/stable.xml", rss(server, [(1, "guid-1-v2", "Story 1, corrected")]))
    await poll_again(h)
    assert titles(h) == ["Story 1"]  # the first post stands, with its first title


async def test_items_that_share_one_link_are_told_apart_by_their_guids(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    home = server.url("/")
    items = "".join(
        f"<item><title>Notice {n}</title><link>{home}</link><guid isPermaLink='false'>notice-{n}</guid>"
        f"<description>Notice number {n} of the village council.</description></item>"
        for n in (3, 2, 1)
    )
    server.serve(
        "/notices.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Council</title>'
        f"<link>{home}</link><description>d</description>{items}</channel></rss>",
    )
    assert (await h.command(f"feed add {server.url('/notices.xml')} #news backlog 3")).ok
    assert sorted(titles(h)) == ["Notice 1", "Notice 2", "Notice 3"]
    await poll_again(h)
    assert len(titles(h)) == 3


def test_the_identity_rule() -> None:
    draft = ArticleDraft("T", "HTTPS://Example.org:443/a?utm_medium=x&id=2#frag", "s", "src", guid="g-1")
    assert draft_key(draft) == "url:https://example.org/a?id=2"
    assert item_keys(draft.guid, draft.url, draft.source, lambda: draft) == [
        "url:https://example.org/a?id=2",
        "guid:example.org#g-1",
    ]
    # A link that does not tell items apart: the GUID is the identity.
    assert item_keys(draft.guid, draft.url, draft.source, lambda: draft, by_link=False) == [
        "guid:example.org#g-1"
    ]
    # No link: the GUID, else a content hash.
    no_link = ArticleDraft("T", None, "s", "src", guid="g-1")
    assert draft_key(no_link) == "guid:src#g-1"
    bare = ArticleDraft("Title", None, "Summary", "src")
    assert draft_key(bare).startswith("sha256:")
    assert article_link("ftp://example.org/x") is None and article_link("/relative") is None
