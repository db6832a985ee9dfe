"""Scheduled digests: on time, once per period (also across a restart), late or skipped."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.console.platform import BOT_NAME, COMMUNITY, ConsolePlatform
from bot.config import Settings
from bot.layout import DigestPost
from bot.markdown import render as render_markdown
from bot.models import Community
from bot.platform import ChatPlatform, PartlyPosted
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.conftest import FakeClock, Harness


async def start_discussion(h: Harness) -> str:
    answer = await h.command('post "A bridge reopened after ten years of repairs. What do you think?" #news')
    assert answer.ok, answer.text
    discussions = await h.store.recent_discussions(COMMUNITY, h.clock.now() - timedelta(days=1))
    assert discussions and discussions[0].thread_id
    return discussions[0].thread_id


def digests_in(platform: ConsolePlatform, channel: str = "digest") -> list[str]:
    return [
        m.text
        for m in platform.state.messages.values()
        if m.channel == channel and m.text.startswith("# Community")
    ]


async def test_scheduled_digest_posts_once_at_its_time(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h)
    await h.reply(thread, "ana", "I crossed it on the first day, it felt like a small festival.")
    answer = await h.command("digest schedule monday 09:00 UTC #digest")
    assert answer.ok, answer.text
    # Monday 2 Nov 12:00 now: the next run is Monday 9 Nov 09:00.
    h.clock.advance(timedelta(days=6, hours=20, minutes=59))
    await h.services.scheduler.run_once()
    assert digests_in(h.platform) == []
    h.clock.advance(timedelta(minutes=1))
    await h.services.scheduler.run_once()
    await h.services.scheduler.run_once()
    posted = digests_in(h.platform)
    assert len(posted) == 1
    assert "festival" in posted[0] and "Posted late" not in posted[0]
    schedule = (await h.store.digest_schedules(COMMUNITY))[0]
    assert schedule.last_run_at == datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    assert schedule.next_run_at == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


async def test_a_digest_missed_by_hours_is_posted_late_with_a_note(harness: Harness) -> None:
    h = harness
    await start_discussion(h)
    await h.command("digest schedule monday 09:00 UTC #digest")
    h.clock.current = datetime(2026, 11, 9, 20, 0, tzinfo=UTC)  # eleven hours late
    await h.services.scheduler.run_once()
    posted = digests_in(h.platform)
    assert len(posted) == 1 and "Posted late" in posted[0]


async def test_a_digest_missed_by_more_than_a_day_is_skipped_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await start_discussion(h)
    await h.command("digest schedule monday 09:00 UTC #digest")
    h.clock.current = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # 25 hours late
    with caplog.at_level(logging.WARNING):
        await h.services.scheduler.run_once()
    assert digests_in(h.platform) == []
    assert any("missed" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    schedule = (await h.store.digest_schedules(COMMUNITY))[0]
    assert schedule.next_run_at == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    # The next digest covers the skipped week too: nothing said then is lost.
    h.clock.current = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    await h.services.scheduler.run_once()
    (posted,) = digests_in(h.platform)
    assert "A bridge reopened" in posted and "Mon 02 Nov 2026 09:00" in posted


async def test_digest_now_moves_the_scheduled_period_on(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h)
    await h.reply(thread, "ana", "Words for the hand-made digest.")
    await h.command("digest schedule monday 09:00 UTC #digest")
    await h.command("digest style full #digest")  # quotes late replies too
    h.clock.advance(timedelta(hours=1))
    assert (await h.command("digest now")).ok
    h.clock.advance(timedelta(hours=1))
    await h.reply(thread, "ben", "Words said after it.")
    h.clock.current = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    await h.services.scheduler.run_once()
    by_hand, scheduled = digests_in(h.platform)
    assert "Words for the hand-made digest" in by_hand
    assert "Words said after it" in scheduled and "Words for the hand-made digest" not in scheduled


async def test_one_digest_per_period_across_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    """A crash after posting but before the schedule moved on must not post twice."""
    db = tmp_path / "restart.db"

    async def boot() -> tuple[Harness, AiohttpFetcher]:
        store = SQLiteStore(db)
        await store.open()
        out = io.StringIO()
        platform = ConsolePlatform(out)
        platforms: dict[str, ChatPlatform] = {platform.name: platform}
        fetcher = AiohttpFetcher(allow_private=True, timeout=5)
        app, services = build_core(Settings(), store, clock, fetcher, platforms)
        return Harness(app, services, store, platform, clock, out), fetcher

    first, fetcher = await boot()
    await start_discussion(first)
    await first.command("digest schedule monday 09:00 UTC #digest")
    schedule = (await first.store.digest_schedules(COMMUNITY))[0]
    clock.current = datetime(2026, 11, 9, 9, 1, tzinfo=UTC)
    await first.services.scheduler.run_once()
    assert len(digests_in(first.platform)) == 1
    # Simulate the crash window: the schedule is put back as it was before posting.
    await first.store.set_digest_schedule(schedule)
    await first.app.shutdown()
    await first.store.close()
    await fetcher.close()

    second, fetcher = await boot()
    try:
        await second.services.scheduler.run_once()
        assert digests_in(second.platform) == []  # the claim in the database said: done
        moved = (await second.store.digest_schedules(COMMUNITY))[0]
        assert moved.next_run_at == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    finally:
        await second.app.shutdown()
        await second.store.close()
        await fetcher.close()


@pytest.mark.parametrize(
    ("zone", "before_change"),
    [
        ("Europe/Berlin", datetime(2027, 3, 20, 12, 0, tzinfo=UTC)),  # clocks go forward on 28 March
        ("America/New_York", datetime(2027, 3, 6, 12, 0, tzinfo=UTC)),  # and on 14 March there
    ],
)
async def test_scheduled_digests_keep_their_local_time_across_a_dst_change(
    harness: Harness, zone: str, before_change: datetime
) -> None:
    """The scheduler itself, ticking every ten minutes for three weeks, posts at 09:00 local time
    each Monday, before and after the clocks change, one digest a week."""
    h = harness
    h.clock.current = before_change
    await start_discussion(h)
    assert (await h.command(f"digest schedule monday 09:00 {zone} #digest")).ok
    posted_at = []
    for _ in range(3 * 7 * 24 * 6):
        h.clock.advance(timedelta(minutes=10))
        before = len(digests_in(h.platform))
        await h.services.scheduler.run_once()
        if len(digests_in(h.platform)) > before:
            posted_at.append(h.clock.now().astimezone(ZoneInfo(zone)))
    assert posted_at, "no digest was posted in three weeks"
    winter = posted_at[0].utcoffset()
    assert winter is not None  # an aware time in a named zone has an offset
    assert [(t.strftime("%a %H:%M"), t.utcoffset()) for t in posted_at] == [
        ("Mon 09:00", winter),
        ("Mon 09:00", winter + timedelta(hours=1)),  # summer time now
        ("Mon 09:00", winter + timedelta(hours=1)),
    ]


async def test_a_failed_digest_post_is_not_recorded_and_is_retried(harness: Harness) -> None:
    h = harness
    await start_discussion(h)
    await h.command("digest schedule monday 09:00 UTC #digest")
    h.clock.current = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    real_post = h.platform.post_digest
    calls = 0

    async def failing(*args: object, **options: object) -> list[str]:
        nonlocal calls
        calls += 1
        raise ConnectionError("platform down")

    h.platform.post_digest = failing  # type: ignore[method-assign]
    await h.services.scheduler.run_once()
    assert calls == 1 and digests_in(h.platform) == []
    h.platform.post_digest = real_post  # type: ignore[method-assign]
    h.clock.advance(timedelta(minutes=1))
    await h.services.scheduler.run_once()
    assert len(digests_in(h.platform)) == 1


async def test_a_failing_feed_backs_off_and_tells_its_channel_once(harness: Harness) -> None:
    from aiohttp import web

    h = harness
    state = {"fail": False}

    async def feed(request: web.Request) -> web.Response:
        if state["fail"]:
            return web.Response(status=503)
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Town news</title>'
            "<item><title>One</title><link>https://example.org/1</link><guid>1</guid></item>"
            "</channel></rss>"
        )
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/feed"
    try:
        assert (await h.command(f"feed add {url} #news")).ok
        state["fail"] = True
        delays = []
        for _ in range(5):
            (feed_row,) = await h.store.list_feeds(COMMUNITY)
            h.clock.current = feed_row.next_poll_at
            await h.services.scheduler.run_once()
            (after,) = await h.store.list_feeds(COMMUNITY)
            delays.append(after.next_poll_at - h.clock.now())
        assert after.failures == 5 and "503" in (after.last_error or "")
        assert delays == sorted(delays) and delays[-1] > delays[0]  # backing off
        notices = [m.text for m in h.platform.state.messages.values() if m.text.startswith("⚠️")]
        assert len(notices) == 1 and "Town news" in notices[0] and "feed remove" in notices[0]
        listing = (await h.command("feed list")).text
        assert "failing (5 in a row)" in listing and "503" in listing
    finally:
        await runner.cleanup()


class SplitConsole(ConsolePlatform):
    """A console that sends a digest as three messages and, when `refuse_after` is set, is
    refused after that many went out (a crash part-way leaves the same trace: some sent)."""

    refuse_after: int | None = None

    async def post_digest(
        self,
        community: Community,
        channel_id: str,
        post: DigestPost,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        text = render_markdown(post.layout())
        parts = [f"# Community part {n}/3\n{text}" for n in (1, 2, 3)]
        ids: list[str] = []
        for number, part in enumerate(parts):
            if number < skip:
                continue
            if self.refuse_after is not None and number >= self.refuse_after:
                raise PartlyPosted("refused", ids)
            message = self.add_message(channel_id, BOT_NAME, part)
            ids.append(message.id)
            if sent is not None:
                await sent(message.id)
        return ids


async def test_a_digest_cut_off_part_way_is_finished_once_by_the_next_process(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "cut.db"

    async def boot(refuse_after: int | None) -> tuple[Harness, AiohttpFetcher, SplitConsole]:
        store = SQLiteStore(db)
        await store.open()
        platform = SplitConsole(io.StringIO())
        platform.refuse_after = refuse_after
        fetcher = AiohttpFetcher(allow_private=True, timeout=5)
        app, services = build_core(Settings(), store, clock, fetcher, {platform.name: platform})
        return Harness(app, services, store, platform, clock, io.StringIO()), fetcher, platform

    async def stop(h: Harness, fetcher: AiohttpFetcher) -> None:
        await h.app.shutdown()
        await h.store.close()
        await fetcher.close()

    first, fetcher, platform1 = await boot(refuse_after=1)
    await start_discussion(first)
    await first.command("digest schedule monday 09:00 UTC #digest")
    clock.current = datetime(2026, 11, 9, 9, 1, tzinfo=UTC)
    await first.services.scheduler.run_once()
    sent_first = [m.text.splitlines()[0] for m in platform1.state.messages.values() if m.channel == "digest"]
    assert sent_first == ["# Community part 1/3"]
    [claim] = await first.store.unfinished_digests(clock.now() + timedelta(seconds=1))
    assert len(claim.message_ids) == 1
    await stop(first, fetcher)  # the process ends with the digest part-way

    second, fetcher, platform2 = await boot(refuse_after=None)
    try:
        await second.services.scheduler.run_once()  # a fresh claim: not taken over yet
        assert [m for m in platform2.state.messages.values() if m.channel == "digest"] == []
        clock.advance(timedelta(minutes=11))
        await second.services.scheduler.run_once()
        await second.services.scheduler.run_once()
        rest = [m.text.splitlines()[0] for m in platform2.state.messages.values() if m.channel == "digest"]
        assert rest == ["# Community part 2/3", "# Community part 3/3"]  # only the rest, once
        assert await second.store.unfinished_digests(clock.now() + timedelta(days=1)) == []
        moved = (await second.store.digest_schedules(COMMUNITY))[0]
        assert moved.last_run_at == datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
        assert moved.next_run_at == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    finally:
        await stop(second, fetcher)


async def test_a_digest_cut_off_before_its_first_message_is_released_and_posted_once(
    harness: Harness,
) -> None:
    h = harness
    await start_discussion(h)
    await h.command("digest schedule monday 09:00 UTC #digest")
    h.clock.current = datetime(2026, 11, 9, 9, 1, tzinfo=UTC)
    end = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    # A crash right after the claim: claimed, nothing sent.
    assert await h.store.claim_digest(COMMUNITY, "digest", end - timedelta(days=7), end, h.clock.now())
    await h.services.scheduler.run_once()
    assert digests_in(h.platform) == []  # a fresh claim may be another process's, posting now
    h.clock.advance(timedelta(minutes=11))
    await h.services.scheduler.run_once()
    await h.services.scheduler.run_once()
    assert len(digests_in(h.platform)) == 1
