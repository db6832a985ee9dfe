"""A scheduler cycle records its feeds' successful polls in batches: a crash before a batch is
written makes those feeds fetched again, and never loses or double-posts an item."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.config import Settings
from bot.models import Feed
from bot.platform import ChatPlatform
from bot.poller import PollCycle
from bot.scheduler import Scheduler
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from bot.store import StoreError
from storage.store import SQLiteStore
from tests.conftest import FakeClock, eventually
from tests.feed_items import ELECTION, OLD, RUST, Item, rss
from tests.sources_server import SourcesServer

INTERVAL = 900


def _serve(server: SourcesServer, path: str, items: list[Item], version: str) -> None:
    """The feed with an ETag, answering 304 to a request that names it."""
    body = rss(items).encode()
    etag = f'"{version}"'

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    server.route(path, handler)


class _Bot:
    """The core as one process runs it, over the store file (a new one is a restart)."""

    def __init__(self, path: Path, clock: FakeClock, *, success_delay: float) -> None:
        self.store = SQLiteStore(path)
        self.out = io.StringIO()
        self.platform = ConsolePlatform(self.out)
        self.fetcher = AiohttpFetcher(allow_private=True, timeout=5)
        platforms: dict[str, ChatPlatform] = {self.platform.name: self.platform}
        self.app, services = build_core(Settings(), self.store, clock, self.fetcher, platforms)
        self.services = services
        self.scheduler = Scheduler(
            self.store, services.publisher, services.poller, services.digests, clock, platforms,
            success_delay=success_delay,
        )  # fmt: skip

    async def stop(self) -> None:
        await self.app.shutdown()
        await self.fetcher.close()
        await self.store.close()

    def posts_of(self, title: str) -> int:
        """Discussion posts of the item titled so (messages that open a thread)."""
        return sum(
            1 for m in self.platform.state.messages.values() if m.opens_thread and m.text.startswith(title)
        )


async def _feed(store: SQLiteStore, feed_id: int) -> Feed:
    feed = await store.get_feed(feed_id)
    assert feed is not None
    return feed


async def test_a_crash_before_the_successes_are_written_refetches_and_posts_each_item_once(
    tmp_path: Path, server: SourcesServer
) -> None:
    clock = FakeClock()
    path = tmp_path / "bot.db"
    bot = _Bot(path, clock, success_delay=60)  # no batch is written before the cycle ends
    await bot.store.open()
    changing = await bot.store.add_feed(COMMUNITY, "general", server.url("/changing.xml"), prompt=None,
                                        backlog=0, interval_seconds=INTERVAL, now=clock.now())  # fmt: skip
    quiet = await bot.store.add_feed(COMMUNITY, "general", server.url("/quiet.xml"), prompt=None,
                                     backlog=0, interval_seconds=INTERVAL, now=clock.now())  # fmt: skip
    slow = await bot.store.add_feed(COMMUNITY, "general", server.url("/slow.xml"), prompt=None,
                                    backlog=0, interval_seconds=INTERVAL, now=clock.now())  # fmt: skip
    _serve(server, "/changing.xml", [OLD], "c1")
    _serve(server, "/quiet.xml", [ELECTION], "q1")
    _serve(server, "/slow.xml", [OLD], "s1")
    await bot.scheduler.run_once()  # first polls: primed, items remembered, none posted (backlog 0)
    first = await _feed(bot.store, changing.id)
    assert (first.primed, first.etag) == (True, '"c1"')
    assert first.next_poll_at == clock.now() + timedelta(seconds=INTERVAL)
    assert bot.posts_of(OLD.title) == 0

    # The next cycle: one feed has a new item, one is unchanged (304), one hangs.
    clock.advance(timedelta(seconds=INTERVAL + 1))
    _serve(server, "/changing.xml", [RUST, OLD], "c2")
    hanging = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        hanging.set()
        await server.released.wait()
        return web.Response(status=503)

    server.route("/slow.xml", hang)
    cycle = asyncio.create_task(bot.scheduler.run_once())

    async def posted() -> bool:
        return bot.posts_of(RUST.title) == 1

    async def read_twice() -> bool:
        return len(server.requests_to("/quiet.xml")) == 2

    await eventually(posted, what="the new item posted")
    await eventually(read_twice, what="the 304 read")
    await hanging.wait()
    await asyncio.sleep(0.1)  # the polls finish: their successes are queued, not written
    for feed_id in (changing.id, quiet.id):
        unrecorded = await _feed(bot.store, feed_id)
        assert unrecorded.next_poll_at <= clock.now()  # still due: nothing written yet
    assert (await _feed(bot.store, changing.id)).etag == '"c1"'

    # The crash: the store goes away under the cycle, so nothing queued is written.
    await bot.store.close()
    cycle.cancel()
    await asyncio.gather(cycle, return_exceptions=True)
    await bot.app.shutdown()
    await bot.fetcher.close()

    # A restart: the feeds whose success was lost are fetched again; nothing is posted twice.
    _serve(server, "/slow.xml", [OLD], "s1")
    again = _Bot(path, clock, success_delay=60)
    await again.store.open()
    asked = len(server.requests)
    await again.scheduler.run_once()
    refetched = server.requests[asked:]
    assert sorted(r.path for r in refetched) == ["/changing.xml", "/quiet.xml", "/slow.xml"]
    changed = next(r for r in refetched if r.path == "/changing.xml")
    assert changed.headers.get("if-none-match") == '"c1"'  # the last recorded validators
    assert again.posts_of(RUST.title) == 0  # known: posted before the crash, never again
    assert len(await again.store.recent_discussions(COMMUNITY, clock.now() - timedelta(days=1))) == 1
    for feed_id, etag in ((changing.id, '"c2"'), (quiet.id, '"q1"'), (slow.id, '"s1"')):
        recorded = await _feed(again.store, feed_id)
        assert (recorded.etag, recorded.failures) == (etag, 0)
        assert recorded.next_poll_at == clock.now() + timedelta(seconds=INTERVAL)

    # And the item that comes next is posted: nothing was lost on the way.
    clock.advance(timedelta(seconds=INTERVAL + 1))
    _serve(server, "/changing.xml", [ELECTION, RUST, OLD], "c3")
    await again.scheduler.run_once()
    assert again.posts_of(ELECTION.title) == 1
    await again.stop()


async def test_a_first_poll_is_recorded_at_once_and_a_cycle_writes_every_success_before_it_ends(
    tmp_path: Path, server: SourcesServer
) -> None:
    clock = FakeClock()
    bot = _Bot(tmp_path / "bot.db", clock, success_delay=60)
    await bot.store.open()
    fresh = await bot.store.add_feed(COMMUNITY, "general", server.url("/fresh.xml"), prompt=None,
                                     backlog=0, interval_seconds=INTERVAL, now=clock.now())  # fmt: skip
    slow = await bot.store.add_feed(COMMUNITY, "general", server.url("/slow.xml"), prompt=None,
                                    backlog=0, interval_seconds=INTERVAL, now=clock.now())  # fmt: skip
    _serve(server, "/fresh.xml", [RUST, OLD], "f1")
    release = asyncio.Event()

    async def slow_feed(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(body=rss([ELECTION]).encode(), content_type="application/rss+xml")

    server.route("/slow.xml", slow_feed)
    cycle = asyncio.create_task(bot.scheduler.run_once())
    # The first poll primes the feed (its items remembered, none posted): written at once, so a
    # crash now could not leave a new item to meet the backlog rule a second time.
    primed = await eventually(lambda: _primed(bot.store, fresh.id), what="the first poll recorded")
    assert primed.etag == '"f1"'
    release.set()
    await cycle
    assert (await _feed(bot.store, slow.id)).primed

    # Primed feeds' successes are queued: still, all are written when the cycle returns.
    clock.advance(timedelta(seconds=INTERVAL + 1))
    await bot.scheduler.run_once()
    assert await bot.store.due_feeds(clock.now()) == []
    for feed_id in (fresh.id, slow.id):
        assert (await _feed(bot.store, feed_id)).last_success_at == clock.now()
    await bot.stop()


async def _primed(store: SQLiteStore, feed_id: int) -> Feed | None:
    feed = await _feed(store, feed_id)
    return feed if feed.primed else None


async def test_the_lookups_of_a_cycles_polls_waiting_together_are_one_query(
    tmp_path: Path, server: SourcesServer
) -> None:
    store = SQLiteStore(tmp_path / "bot.db")
    await store.open()
    now = FakeClock().now()
    feeds = []
    for n in range(4):
        url = server.url(f"/{n}.xml")
        feeds.append(await store.add_feed(COMMUNITY, "general", url, prompt=None, backlog=0,
                                          interval_seconds=INTERVAL, now=now))  # fmt: skip
    await store.remember_items(feeds[0].id, ["old", "shared"], now)
    await store.remember_items(feeds[1].id, ["shared"], now)
    cycle = PollCycle(store, batch=10, delay=60)
    statements: list[str] = []
    await store.sqlite_db.connection.set_trace_callback(statements.append)
    found = await asyncio.gather(*(cycle.unseen_item_keys(f.id, ["old", "shared", "new"]) for f in feeds))
    await store.sqlite_db.connection.set_trace_callback(None)  # type: ignore[arg-type]  # aiosqlite omits None
    assert found == [{"new"}, {"old", "new"}, {"old", "shared", "new"}, {"old", "shared", "new"}]
    assert len([s for s in statements if "feed_items" in s]) == 1
    # A lookup alone is answered too; a failed query fails each poll that waited for it.
    assert await cycle.unseen_item_keys(feeds[0].id, ["new"]) == {"new"}
    await store.close()
    failed = await asyncio.gather(
        *(cycle.unseen_item_keys(f.id, ["new"]) for f in feeds[:2]), return_exceptions=True
    )
    assert [type(e) for e in failed] == [StoreError, StoreError]
