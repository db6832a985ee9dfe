"""Stopping threadcast with signals, as an operator or a service manager does: real processes.

The first SIGTERM/SIGINT stops intake, lets the work under way finish, writes what is pending
and exits 0; a second one during a slow stop exits at once (128 + the signal) with one
"forced stop" line; a signal while the process is still starting stops it cleanly too.
Slow stops are made real: another connection holds the SQLite write lock, or the fake Slack
takes its time to answer a post.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.models import Community
from storage.store import SQLiteStore
from tests.fake_slack import GENERAL, TEAM_ID, FakeSlack, delayed
from tests.sources_server import SourcesServer

pytestmark = pytest.mark.timeout(120)

OPENING = (
    '/post "Night trains return to the Alps this winter. Tickets go on sale Monday." #general\n'
    ".thread m1\n.user ana\nFirst reply, written at once.\n"
)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "THREADCAST_LOG_LEVEL": "INFO"}
    env.update(extra)
    return env


class Bot:
    """A `python -m bot …` process whose stdout is read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.out = ""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := await self.process.stdout.read(4096):
            self.out += chunk.decode()

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.returncode is not None or time.monotonic() > deadline:
                pytest.fail(f"gave up waiting; stdout:\n{self.out}\nlog:\n{self.log.read_text()}")
            await asyncio.sleep(0.05)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode())

    async def exit_code(self, timeout: float) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await self._reader
        return code

    @property
    def stderr(self) -> str:
        return self.log.read_text()


@contextlib.asynccontextmanager
async def threadcast(tmp_path: Path, *args: str, env: dict[str, str]) -> AsyncIterator[Bot]:
    log = tmp_path / "stderr.log"
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=sink,
        )  # fmt: skip
    bot = Bot(process, log)
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.contextmanager
def write_lock(database: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding SQLite's write lock: the bot's writes wait for it."""
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()


def stored_replies(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [r[0] for r in db.execute("SELECT text FROM replies ORDER BY id")]


def catches_sigterm(pid: int) -> bool:
    """The process has a handler for SIGTERM (bit 15 of SigCgt), so it is past the default."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


async def test_sigterm_writes_the_replies_still_pending_and_exits_0(tmp_path: Path) -> None:
    database = tmp_path / "c.db"
    async with threadcast(tmp_path, "console", "--db", str(database), env=clean_env(tmp_path)) as bot:
        bot.send(OPENING)
        await bot.wait_for(lambda: "[m2] ana: First reply" in bot.out)
        await bot.wait_for(lambda: stored_replies(database) == ["First reply, written at once."])
        with write_lock(database) as lock:
            # The line is taken in; its message (stored before it is shown) waits for the lock.
            bot.send("Second reply.\n")
            await asyncio.sleep(0.5)
            bot.process.send_signal(signal.SIGTERM)
            await bot.wait_for(lambda: "stopping (SIGTERM)" in bot.stderr)
            await asyncio.sleep(1.0)
            assert bot.process.returncode is None, "it must finish the line under way"
            lock.execute("COMMIT")
        assert await bot.exit_code(30) == 0, bot.stderr
        assert "[m3] ana: Second reply." in bot.out
    assert "forced" not in bot.stderr and "Traceback" not in bot.stderr
    assert stored_replies(database) == ["First reply, written at once.", "Second reply."]


async def test_lines_sent_after_the_stop_are_not_taken_in(tmp_path: Path) -> None:
    database = tmp_path / "c.db"
    async with threadcast(tmp_path, "console", "--db", str(database), env=clean_env(tmp_path)) as bot:
        bot.send(OPENING)
        await bot.wait_for(lambda: "[m2] ana: First reply" in bot.out)
        bot.process.send_signal(signal.SIGTERM)
        await bot.wait_for(lambda: "· stopping" in bot.out)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            bot.send("Too late.\n")
        assert await bot.exit_code(30) == 0, bot.stderr
    assert "Too late" not in bot.out
    assert stored_replies(database) == ["First reply, written at once."]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_second_signal_during_a_slow_stop_forces_an_immediate_exit(
    tmp_path: Path, signum: signal.Signals
) -> None:
    database = tmp_path / "c.db"
    async with threadcast(tmp_path, "console", "--db", str(database), env=clean_env(tmp_path)) as bot:
        bot.send(OPENING)
        await bot.wait_for(lambda: "[m2] ana: First reply" in bot.out)
        with write_lock(database):
            bot.send("A reply that cannot be written yet.\n")
            await asyncio.sleep(0.5)  # taken in: its message waits for the lock
            bot.process.send_signal(signum)
            await bot.wait_for(lambda: f"stopping ({signum.name})" in bot.stderr)
            await asyncio.sleep(0.3)
            assert bot.process.returncode is None
            started = time.monotonic()
            bot.process.send_signal(signum)
            code = await bot.exit_code(10)
            took = time.monotonic() - started
    assert code == 128 + signum, bot.stderr
    assert took < 2, f"the forced exit took {took:.1f} s"
    assert bot.stderr.count("forced stop") == 1
    assert "Traceback" not in bot.stderr


async def add_feed(tmp_path: Path, feed_url: str) -> None:
    store = SQLiteStore(tmp_path / "threadcast.db")
    await store.open()
    try:
        await store.add_feed(
            Community("slack", TEAM_ID), GENERAL, feed_url,
            prompt=None, backlog=5, interval_seconds=60, now=datetime.now(UTC),
        )  # fmt: skip
    finally:
        await store.close()


def run_env(tmp_path: Path, slack: FakeSlack) -> dict[str, str]:
    return clean_env(
        tmp_path,
        THREADCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'threadcast.db'}",
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        THREADCAST_ALLOW_PRIVATE_URLS="true",
        THREADCAST_TICK_SECONDS="0.2",
    )


@contextlib.asynccontextmanager
async def one_item_feed() -> AsyncIterator[str]:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><item>'
        "<title>Night trains are back</title><link>https://news.example/trains</link>"
        "<guid>trains-1</guid></item></channel></rss>"
    )

    async def feed(request: web.Request) -> web.StreamResponse:
        return web.Response(text=rss, content_type="application/rss+xml")

    async with SourcesServer() as feeds:
        feeds.route("/feed.xml", feed)
        yield feeds.url("/feed.xml")


def discussion_states(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return [r[0] for r in db.execute("SELECT state FROM discussions")]


async def test_run_finishes_the_post_under_way_on_sigterm_and_forces_on_a_second(tmp_path: Path) -> None:
    """`threadcast run` on the fake Slack: a post answered slowly is waited for after the first
    SIGTERM and recorded as posted; the same post answered very slowly is abandoned at the second."""
    async with FakeSlack() as slack, one_item_feed() as feed_url:
        await add_feed(tmp_path, feed_url)
        slack.inject("chat.postMessage", delayed(2.0))
        async with threadcast(tmp_path, "run", env=run_env(tmp_path, slack)) as bot:
            await bot.wait_for(lambda: slack.calls_to("chat.postMessage"))
            bot.process.send_signal(signal.SIGTERM)
            assert await bot.exit_code(30) == 0, bot.stderr
        assert discussion_states(tmp_path / "threadcast.db") == ["posted"]
        assert len(slack.messages_in(GENERAL)) == 1

    other = tmp_path / "second"
    other.mkdir()
    async with FakeSlack() as slack, one_item_feed() as feed_url:
        await add_feed(other, feed_url)
        slack.inject("chat.postMessage", delayed(10.0))
        async with threadcast(other, "run", env=run_env(other, slack)) as bot:
            await bot.wait_for(lambda: slack.calls_to("chat.postMessage"))
            bot.process.send_signal(signal.SIGTERM)
            await bot.wait_for(lambda: "stopping (SIGTERM)" in bot.stderr)
            await asyncio.sleep(0.5)
            assert bot.process.returncode is None, "the post under way is waited for"
            started = time.monotonic()
            bot.process.send_signal(signal.SIGTERM)
            code = await bot.exit_code(10)
        assert code == 128 + signal.SIGTERM
        assert time.monotonic() - started < 2
        assert bot.stderr.count("forced stop") == 1
        # Recorded before it was sent and never confirmed: the outbox looks for it on the next start.
        assert discussion_states(other / "threadcast.db") == ["pending"]


async def test_a_signal_while_starting_stops_cleanly(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        # Still importing and reading settings (the CLI's handler is in place, the bot's not yet).
        async with threadcast(tmp_path, "run", env=run_env(tmp_path, slack)) as bot:
            await bot.wait_for(lambda: catches_sigterm(bot.process.pid), timeout=30)
            bot.process.send_signal(signal.SIGTERM)
            assert await bot.exit_code(30) == 0, bot.stderr
        assert "Traceback" not in bot.stderr
        assert not slack.calls_to("apps.connections.open")

        # Connecting: Slack is slow to answer auth.test; nothing is connected after the stop.
        slack.inject("auth.test", delayed(8.0))
        async with threadcast(tmp_path, "run", env=run_env(tmp_path, slack)) as bot:
            await bot.wait_for(lambda: slack.calls_to("auth.test"))
            bot.process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            assert await bot.exit_code(30) == 0, bot.stderr
        assert time.monotonic() - started < 5
        assert "stopping (SIGTERM)" in bot.stderr and "Traceback" not in bot.stderr
        assert not slack.calls_to("apps.connections.open")
