"""A huge feed (160,000 entries, just under the 5 MB cap) is polled with bounded work and
without stalling the event loop; only its newest entries are looked at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.console.platform import COMMUNITY
from bot.models import Feed
from bot.publisher import item_key
from bot.sources.feeds import MAX_FEED_ENTRIES, parse_feed
from bot.sources.http import DEFAULT_MAX_BYTES
from tests.conftest import Harness
from tests.sources_server import SourcesServer

HUGE = 160_000


def _rss(guids: list[str], *, dated: bool = False) -> bytes:
    def item(guid: str) -> str:
        if not dated:
            return f"<item><guid>{guid}</guid></item>"
        day = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=int(guid.removeprefix("g")))
        return f"<item><guid>{guid}</guid><pubDate>{day:%a, %d %b %Y %H:%M:%S} +0000</pubDate></item>"

    items = "".join(item(g) for g in guids)
    return f'<rss version="2.0"><channel><title>Huge</title>{items}</channel></rss>'.encode()


async def _current(harness: Harness, feed_id: int) -> Feed:
    feed = await harness.store.get_feed(feed_id)
    assert feed is not None
    return feed


async def test_a_160k_entry_feed_is_polled_off_the_loop_and_only_its_newest_entries_count(
    harness: Harness, server: SourcesServer
) -> None:
    # Newest first, as most feeds list them: g159999 … g0.
    guids = [f"g{i}" for i in reversed(range(HUGE))]
    data = _rss(guids)
    assert len(data) < DEFAULT_MAX_BYTES  # read whole, not refused as too large
    server.serve("/huge.xml", data)
    feed = await harness.store.add_feed(
        COMMUNITY, "news", server.url("/huge.xml"), prompt=None, backlog=3, interval_seconds=900,
        now=harness.clock.now(),
    )  # fmt: skip

    # (How long the loop waits meanwhile is measured by `python -m bench --only feeds`: timing
    # is the benchmark's business, not a test's.)
    report = await harness.services.poller.poll(await _current(harness, feed.id))
    # The backlog rule over the newest MAX_FEED_ENTRIES entries: 3 posted, the others of those
    # remembered; the 159,000 older ones neither posted nor stored.
    assert (report.posted, report.remembered, report.error) == (3, MAX_FEED_ENTRIES - 3, None)
    posted = await harness.store.recent_discussions(COMMUNITY, datetime(1970, 1, 1, tzinfo=UTC))
    assert len(posted) == 3
    # The newest entry was posted (so remembered); an older one was never looked at.
    sample = parse_feed(_rss(["g159999", "g80000"]), server.url("/huge.xml")).entries
    newest, middle = (item_key(e.guid, e.url, e.source, e.draft) for e in sample)
    assert await harness.store.unseen_item_keys(feed.id, [newest, middle]) == {middle}

    # Two new entries on top and the two oldest dropped, as a rolling feed does: exactly the
    # new ones are posted at the next poll, none of the older ones the window moves over.
    server.serve("/huge.xml", _rss(["g160001", "g160000", *guids[:-2]]))
    harness.clock.advance(timedelta(seconds=901))
    report = await harness.services.poller.poll(await _current(harness, feed.id))
    assert (report.posted, report.remembered, report.waiting, report.error) == (2, 0, 0, None)


def test_only_the_newest_entries_are_kept_by_date_whatever_the_order() -> None:
    # Dated, listed oldest first: the newest by date are kept, in document order.
    oldest_first = [f"g{i}" for i in range(1_200)]
    result = parse_feed(_rss(oldest_first, dated=True), "https://news.example/feed")
    assert [e.guid for e in result.entries] == oldest_first[-MAX_FEED_ENTRIES:]
    assert result.skipped == 1_200 - MAX_FEED_ENTRIES


def test_without_dates_the_first_entries_are_kept_and_a_trimmed_end_brings_nothing_old() -> None:
    newest_first = [f"g{i}" for i in reversed(range(1_200))]
    result = parse_feed(_rss(newest_first), "https://news.example/feed")
    assert [e.guid for e in result.entries] == newest_first[:MAX_FEED_ENTRIES]
    small = parse_feed(_rss(newest_first[:MAX_FEED_ENTRIES]), "https://news.example/feed")
    assert len(small.entries) == MAX_FEED_ENTRIES and small.skipped == 0
