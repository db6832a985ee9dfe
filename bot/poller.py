"""Polling one feed: fetch conditionally, post what is new, remember the rest.

The backlog rule: the first successful poll of a subscription posts at most
`backlog` of the items already in the feed (newest ones) and remembers every
other item as seen, so subscribing to a feed with 700 items posts 0 by default.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from bot.clock import Clock
from bot.models import ArticleDraft, Feed
from bot.platform import ChatPlatform
from bot.publisher import Publisher, PublishError, draft_key
from bot.sources.errors import SourceError
from bot.sources.feeds import FeedResult, fetch_feed
from bot.sources.http import Fetcher
from bot.store import Store
from bot.text import safe

_log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOTIFY_AFTER = 3  # consecutive failures before moderators are told, once


@dataclass(frozen=True, slots=True)
class PollReport:
    posted: int = 0
    remembered: int = 0
    waiting: int = 0  # new items left for the next poll
    error: str | None = None


def backoff(feed: Feed) -> timedelta:
    """Doubling delay after each consecutive failure, never above MAX_BACKOFF."""
    base = timedelta(seconds=feed.interval_seconds)
    return min(base * (1 << min(feed.failures + 1, 16)), MAX_BACKOFF)


class FeedPoller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        publisher: Publisher,
        clock: Clock,
        platforms: Mapping[str, ChatPlatform],
        *,
        max_posts_per_poll: int = 5,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._publisher = publisher
        self._clock = clock
        self._platforms = platforms
        self._max_posts = max_posts_per_poll

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FeedResult:
        return await fetch_feed(self._fetcher, url, etag=etag, last_modified=last_modified)

    async def poll(self, feed: Feed, prefetched: FeedResult | None = None) -> PollReport:
        try:
            result = prefetched or await self.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            report = PollReport() if result.not_modified else await self._take_items(feed, result.items)
        except SourceError as exc:
            return await self._failed(feed, str(exc))
        except Exception as exc:  # a bug or a storage fault must back off too, not retry every tick
            _log.exception("polling %s failed", feed.url)
            return await self._failed(feed, f"internal error ({type(exc).__name__}); see the bot's log")
        # With items left to post, fetch in full next time: a 304 would hide them.
        complete = report.waiting == 0 and report.error is None
        now = self._clock.now()
        await self._store.record_feed_success(
            feed.id,
            title=result.title,
            etag=result.etag if complete else None,
            last_modified=result.last_modified if complete else None,
            next_poll_at=now + timedelta(seconds=feed.interval_seconds),
            now=now,
        )
        return report

    async def _failed(self, feed: Feed, error: str) -> PollReport:
        now = self._clock.now()
        delay = backoff(feed)
        _log.warning(
            "feed %s failed (%d in a row), next try in %s: %s", feed.url, feed.failures + 1, delay, error
        )
        await self._store.record_feed_failure(feed.id, error=error, next_poll_at=now + delay, now=now)
        if feed.failures + 1 == NOTIFY_AFTER:
            await self._tell_moderators(feed, error, delay)
        return PollReport(error=error)

    async def _take_items(self, feed: Feed, items: list[ArticleDraft]) -> PollReport:
        keyed: dict[str, ArticleDraft] = {}
        for item in items:  # feed order, newest first; a repeated item counts once
            keyed.setdefault(draft_key(item), item)
        unseen = await self._store.unseen_item_keys(feed.id, list(keyed))
        new = [(key, item) for key, item in keyed.items() if key in unseen]
        if all(item.published_at for _, item in new):
            # Dates beat document order: some feeds list oldest first.
            new.sort(key=lambda pair: pair[1].published_at or _EPOCH, reverse=True)
        if not feed.primed:
            to_post, old = new[: feed.backlog], new[feed.backlog :]
            await self._store.remember_items(feed.id, [key for key, _ in old], self._clock.now())
            remembered = len(old)
        else:
            to_post, remembered = new, 0
        to_post.reverse()  # oldest first, so the channel reads in order
        waiting = max(0, len(to_post) - self._max_posts)
        posted = 0
        for key, item in to_post[: self._max_posts]:
            try:
                published = await self._publisher.publish(
                    item, feed.community, feed.channel_id, prompt=feed.prompt, feed_id=feed.id
                )
            except PublishError as exc:
                # Not remembered: the item is tried again at the next poll.
                _log.warning("feed %s: could not post %r: %s", feed.url, item.title, exc)
                return PollReport(posted, remembered, len(to_post) - posted, str(exc))
            await self._store.remember_items(feed.id, [key], self._clock.now())
            posted += published.new  # another feed may have brought the same article here first
        return PollReport(posted, remembered, waiting)

    async def _tell_moderators(self, feed: Feed, error: str, delay: timedelta) -> None:
        """Nothing is disabled silently: the channel the feed posts in hears about it once."""
        platform = self._platforms.get(feed.community.platform)
        if platform is None:
            return
        text = (
            f"⚠️ The feed {safe(feed.title or _public(feed.url), 120)} (feed {feed.id}) has failed"
            f" {NOTIFY_AFTER} times in a row: {safe(error, 300)}\n"
            f"threadcast keeps trying, now every {int(delay.total_seconds() // 60)} min."
            f" Check the address, or a moderator can `feed remove {feed.id}`."
        )
        try:
            await platform.notify(feed.community, feed.channel_id, text)
        except Exception:
            _log.exception("could not tell %s about failing feed %s", feed.channel_id, feed.url)


def _public(url: str) -> str:
    """A feed's address fit for a public channel: no credentials, query or fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
