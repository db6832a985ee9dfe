"""Every real-world feed of the corpus, subscribed in the console from a local server.

Skipped on a fresh clone (the corpus lives beside the project, in ../shared).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from adapters.console.platform import COMMUNITY
from bot.publisher import draft_key, item_keys
from bot.sources.feeds import parse_feed
from tests.conftest import Harness

# entries feedparser reads from each file (the corpus README's table)
ENTRIES = {
    "content-encoded.rss": 7, "craigslist.rss": 25, "encoding.rss": 40, "feedburner.atom": 25,
    "giantbomb-podcast.rss": 730, "guardian.rss": 55, "gulp-atom.atom": 10, "heise.atom": 15,
    "heraldsun.rss": 2, "incomplete-fields.atom": 1, "instant-article.rss": 1, "many-links.rss": 25,
    "missing-fields.atom": 1, "narro.rss": 1, "reddit-atom.rss": 24, "reddit.rss": 24,
    "rss-1.rss": 69, "uolNoticias.rss": 15,
}  # fmt: skip
BACKLOG = 50  # the most `feed add` allows


@pytest.fixture
async def feed_server(corpus: Path) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_static("/feeds/", corpus / "feeds")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/feeds/"
    await runner.cleanup()


def posts(h: Harness) -> list[str]:
    return [m.text for m in h.platform.state.messages.values() if m.opens_thread]


@pytest.mark.parametrize("name", sorted(ENTRIES))
async def test_each_feed_posts_its_items_once(harness: Harness, feed_server: str, name: str) -> None:
    h = harness
    answer = await h.command(f"feed add {feed_server}{name} #news backlog {BACKLOG}")
    assert answer.ok, answer.text
    expected = min(ENTRIES[name], BACKLOG)
    # A poll posts a few items; the rest of the backlog follows at the next polls.
    for _ in range(20):
        before = len(posts(h))
        (feed,) = await h.store.list_feeds(COMMUNITY)
        h.clock.advance(timedelta(seconds=feed.interval_seconds + 1))
        await h.services.scheduler.run_once()
        if len(posts(h)) == before:
            break
    texts = posts(h)
    # Items whose identity repeats inside one feed post once: count distinct articles.
    assert 0 < len(texts) <= expected
    for text in texts:
        title = text.splitlines()[0]
        assert title.strip() and len(title) <= 100
        assert "Untitled" not in title or name.endswith(".atom")
    feed = (await h.store.list_feeds(COMMUNITY))[0]
    assert feed.items_posted == len(texts) and feed.primed and feed.failures == 0
    # A later poll finds nothing new to post.
    h.clock.advance(timedelta(seconds=feed.interval_seconds + 1))
    await h.services.scheduler.run_once()
    assert len(posts(h)) == len(texts)


async def test_the_big_podcast_feed_follows_the_backlog_rule(harness: Harness, feed_server: str) -> None:
    h = harness
    answer = await h.command(f"feed add {feed_server}giantbomb-podcast.rss #pods backlog 3")
    assert answer.ok, answer.text
    assert "posted 3" in answer.text and "remembered 727" in answer.text
    assert len(posts(h)) == 3
    default = await h.command(f"feed add {feed_server}giantbomb-podcast.rss #other")
    assert "posted 0" in default.text and "remembered 730" in default.text
    assert len(posts(h)) == 3


async def test_items_keep_their_own_titles_and_links(harness: Harness, feed_server: str) -> None:
    h = harness
    await h.command(f"feed add {feed_server}guardian.rss #news backlog 5")
    texts = posts(h)
    assert len(texts) == 5
    assert len({t.splitlines()[0] for t in texts}) == 5
    assert all(t.splitlines()[1].startswith("https://www.theguardian.com/") for t in texts)


async def test_an_entry_without_a_title_gets_a_sensible_one(harness: Harness, feed_server: str) -> None:
    h = harness
    answer = await h.command(f"feed add {feed_server}missing-fields.atom backlog 1")
    assert answer.ok, answer.text
    (text,) = posts(h)
    assert text.splitlines()[0].strip()


async def test_not_a_feed_is_refused_naming_the_url(harness: Harness, feed_server: str) -> None:
    h = harness
    url = f"{feed_server}unrecognized.rss"
    answer = await h.command(f"feed add {url}")
    assert not answer.ok
    assert url in answer.text
    assert await h.store.list_feeds(COMMUNITY) == []


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_an_entry_is_known_by_the_same_key_before_and_after_its_draft_is_made(
    corpus: Path, name: str
) -> None:
    """A poll identifies entries without making their drafts; the key must be the one the
    draft itself would give, or a seen item would be posted again (or a new one skipped)."""
    url = f"https://feeds.example/{name}"
    lazy = parse_feed((corpus / "feeds" / name).read_bytes(), url).entries
    keys = [item_keys(e.guid, e.url, e.source, e.draft)[0] for e in lazy]
    drafted = [draft_key(d) for d in parse_feed((corpus / "feeds" / name).read_bytes(), url).items]
    assert keys == drafted and len(keys) == ENTRIES[name]
