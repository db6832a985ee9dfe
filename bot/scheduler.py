"""The schedule nobody watches: due feed polls and due digests, every tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Container

from bot.clock import Clock
from bot.digest_jobs import DigestJobs
from bot.poller import FeedPoller
from bot.publisher import Publisher
from bot.store import Store

_log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        poller: FeedPoller,
        digests: DigestJobs,
        clock: Clock,
        platforms: Container[str],
        *,
        tick_seconds: float = 30.0,
        concurrency: int = 8,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._poller = poller
        self._digests = digests
        self._clock = clock
        self._platforms = platforms
        self._tick = tick_seconds
        self._limit = asyncio.Semaphore(concurrency)

    async def run_once(self) -> None:
        """Recover cut-off posts, poll every due feed (a few at a time), post due digests."""
        await self._publisher.recover_pending()
        feeds = [
            f
            for f in await self._store.due_feeds(self._clock.now())
            if f.community.platform in self._platforms
        ]

        async def poll(feed_id: int) -> None:
            async with self._limit:
                feed = await self._store.get_feed(feed_id)  # may have been removed meanwhile
                if feed is not None:
                    await self._poller.poll(feed)

        results = await asyncio.gather(*(poll(f.id) for f in feeds), return_exceptions=True)
        for feed, result in zip(feeds, results, strict=True):
            if isinstance(result, BaseException):
                _log.error("polling %s failed", feed.url, exc_info=result)
        await self._digests.run_due()

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set (the first tick after one interval: callers
        run `run_once` at start themselves); a failing tick is logged."""
        while True:
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._tick)
                return
            except TimeoutError:
                pass
            try:
                await self.run_once()
            except Exception:
                _log.exception("scheduler tick failed")
