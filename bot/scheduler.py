"""The schedule nobody watches: due feed polls and due digests, every tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.clock import Clock
from bot.digest_jobs import DigestJobs
from bot.lease import Lease
from bot.models import Feed
from bot.platform import ChatPlatform, is_connected
from bot.poller import FeedPoller, PollCycle
from bot.publisher import Publisher
from bot.redact import mask_url
from bot.store import Store

_log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE_TICKS = 3  # the lease outlives this many ticks: a dead holder's jobs move within about one more
# A cycle's successful polls are written in batches of up to this many, at most this long after
# the first of a batch, rather than one write (a hand-off to the database and a commit) each:
# see `PollCycle` for what a crash before a batch is written does.
SUCCESS_BATCH = 500
SUCCESS_DELAY = 1.0  # seconds


class Scheduler:
    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        poller: FeedPoller,
        digests: DigestJobs,
        clock: Clock,
        platforms: Mapping[str, ChatPlatform],
        *,
        tick_seconds: float = 30.0,
        concurrency: int = 8,
        lease: Lease | None = None,
        success_batch: int = SUCCESS_BATCH,
        success_delay: float = SUCCESS_DELAY,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._poller = poller
        self._digests = digests
        self._clock = clock
        self._platforms = platforms
        self._tick = tick_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._lease = lease  # None: no other process shares the store
        self._success_batch = success_batch
        self._success_delay = success_delay

    async def run_once(self) -> None:
        """Recover cut-off posts, poll every due feed (a few at a time), post due digests."""
        await self._publisher.recover_pending()
        # A platform that is down keeps its feeds due (nothing is fetched, nothing marked):
        # they are read at the first tick after it is connected again.
        feeds = [
            f
            for f in await self._store.due_feeds(self._clock.now())
            if is_connected(self._platforms, f.community.platform)
        ]

        cycle = PollCycle(self._store, batch=self._success_batch, delay=self._success_delay)

        async def poll(feed: Feed) -> None:
            # Read once for the cycle: a feed removed meanwhile is not re-read here; the poller
            # checks it still exists before it posts anything, and its writes touch no gone feed.
            async with self._limit:
                await self._poller.poll(feed, cycle=cycle)

        try:
            results = await asyncio.gather(*(poll(f) for f in feeds), return_exceptions=True)
        finally:
            # Also when the run is cancelled (its lease lost): these polls are done.
            await cycle.finish()
        for feed, result in zip(feeds, results, strict=True):
            if isinstance(result, BaseException):
                _log.error("polling %s failed", mask_url(feed.url), exc_info=result)
        await self._digests.run_due()

    async def run(self, stop: asyncio.Event, *, at_once: bool = False) -> None:
        """Tick until `stop` is set (the first tick after one interval unless `at_once`).

        Each tick renews the lease, when there is one, and while this process holds it
        starts `run_once` unless the previous run is still going: a long run never lets
        the lease run out. A lost lease cancels the run under way, as a crash would (the
        outbox makes that safe). On stop the run under way finishes, then the lease is
        given up so another process takes over at its next tick.
        """
        work: asyncio.Task[None] | None = None
        wait = not at_once
        try:
            while True:
                if wait:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=self._tick)
                        return
                    except TimeoutError:
                        pass
                wait = True
                try:
                    held = self._lease is None or await self._lease.renew()
                except Exception:
                    _log.exception("scheduler tick failed")
                    continue
                if not held:
                    if work is not None and not work.done():
                        work.cancel()
                elif work is None or work.done():
                    work = asyncio.create_task(self._run_logged(), name="scheduler-run")
        except asyncio.CancelledError:
            if work is not None:
                work.cancel()
            raise
        finally:
            if work is not None:
                await asyncio.gather(work, return_exceptions=True)
            if self._lease is not None:
                await self._lease.release()

    async def _run_logged(self) -> None:
        try:
            await self.run_once()
        except Exception:
            _log.exception("scheduler tick failed")
