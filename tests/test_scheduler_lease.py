"""The scheduler's lease: over one database, the scheduled jobs run in one process at a time.

Each "process" here is the core over its own store on one SQLite file, as two
`threadcast run` processes would be (tests/test_several_processes.py runs real ones
on PostgreSQL). `run_once` is counted, not faked: the lease decides whether it runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import Settings
from bot.lease import Lease
from bot.platform import ChatPlatform
from bot.scheduler import LEASE_NAME, LEASE_TICKS, Scheduler
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore

pytestmark = pytest.mark.timeout(20)

TICK = 0.1


@dataclass
class Process:
    store: SQLiteStore
    scheduler: Scheduler
    lease: Lease
    runs: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.scheduler.run(self.stop, at_once=True))

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[list[Process]]:
    made: list[Process] = []
    fetchers: list[AiohttpFetcher] = []
    for _ in range(2):
        store = SQLiteStore(tmp_path / "shared.db")
        await store.open()
        fetcher = AiohttpFetcher(allow_private=True, timeout=5)
        fetchers.append(fetcher)
        platforms: dict[str, ChatPlatform] = {}
        _, services = build_core(Settings(tick_seconds=TICK), store, SystemClock(), fetcher, platforms)
        lease = services.scheduler._lease
        assert lease is not None  # two processes on one store: the scheduler holds a lease
        process = Process(store, services.scheduler, lease)

        async def counted(process: Process = process) -> None:
            process.runs.append(time.monotonic())

        services.scheduler.run_once = counted  # type: ignore[method-assign]
        made.append(process)
    try:
        yield made
    finally:
        for process in made:
            await process.halt()
            await process.store.close()
        for fetcher in fetchers:
            await fetcher.close()


async def until(check: Callable[[], object], timeout: float) -> float:
    """Seconds until `check()` holds (AssertionError after `timeout`)."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def test_only_the_holder_runs_the_jobs_and_a_clean_stop_hands_them_over_at_once(
    processes: list[Process],
) -> None:
    first, second = processes
    first.start()
    await until(lambda: first.runs, 2)
    second.start()
    await asyncio.sleep(6 * TICK)
    assert len(first.runs) >= 4 and second.runs == []
    assert await first.store.lease_holder(LEASE_NAME, datetime.now(UTC)) == first.lease.holder

    await first.halt()  # a clean stop gives the lease up: no waiting for it to run out
    assert await first.store.lease_holder(LEASE_NAME, datetime.now(UTC)) is None
    took = await until(lambda: second.runs, 2)
    assert took < LEASE_TICKS * TICK  # the next tick, not the lease's expiry
    assert await second.store.lease_holder(LEASE_NAME, datetime.now(UTC)) == second.lease.holder


async def test_a_dead_holders_jobs_are_taken_over_once_its_lease_runs_out(
    processes: list[Process], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.lease")
    first, second = processes
    assert await first.lease.renew()  # then the process dies: nothing renews or releases it
    died = time.monotonic()
    second.start()
    await until(lambda: second.runs, LEASE_TICKS * TICK + 2)
    waited = second.runs[0] - died
    ttl = LEASE_TICKS * TICK
    assert ttl * 0.9 <= waited <= ttl + 3 * TICK, waited
    # The hand-over is told once, not every tick.
    waiting = [r for r in caplog.records if "waits to take over" in r.getMessage()]
    assert len(waiting) == 1 and first.lease.holder in waiting[0].getMessage()
    took = [r for r in caplog.records if "now runs the scheduler jobs" in r.getMessage()]
    assert [second.lease.holder in r.getMessage() for r in took] == [False, True]  # first, then second


async def test_a_holder_that_lost_its_lease_stops_its_run_under_way(processes: list[Process]) -> None:
    first, second = processes
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def long_run() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    first.scheduler.run_once = long_run  # type: ignore[method-assign]
    first.start()
    await asyncio.wait_for(started.wait(), 2)
    # Another process took the lease (say this one was paused past its expiry).
    await first.store.release_lease(LEASE_NAME, first.lease.holder)
    assert await second.lease.renew()
    await asyncio.wait_for(cancelled.wait(), 2)
    second.start()
    await asyncio.sleep(3 * TICK)
    assert second.runs and not first.lease.held
