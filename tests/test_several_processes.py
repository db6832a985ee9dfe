"""Two real `threadcast run` processes over one PostgreSQL schema, as Slack HTTP workers behind
a load balancer: the scheduled jobs run in the process holding the lease, every feed item and
every digest goes out once, a reply delivered to both workers is stored once, and when the
lease holder is killed the other process takes the jobs over within the lease's bound.

The processes run the real slack-bolt against tests/fake_slack.py (SLACK_API_URL), read a feed
from a local server, and share a fresh schema on THREADCAST_TEST_POSTGRES_URL (skipped
without one, failed under THREADCAST_CI: see tests/postgres.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import Community, DigestSchedule
from bot.scheduler import LEASE_NAME, LEASE_TICKS
from storage.store import PostgresStore
from tests.conftest import eventually
from tests.fake_slack import GENERAL, MEMBER, NEWS, FakeSlack
from tests.postgres import fresh_schema
from tests.sources_server import SourcesServer

pytestmark = pytest.mark.timeout(90)

SECRET = "fake-signing-secret"
TICK = 0.3  # seconds; the lease runs out LEASE_TICKS ticks after its last renewal
FEED_INTERVAL = 1  # seconds between polls of the feed


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_worker(tmp_path: Path, name: str, slack: FakeSlack, database_url: str) -> Worker:
    port, log = free_port(), tmp_path / f"{name}.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "THREADCAST_DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,  # HTTP mode
        "SLACK_API_URL": slack.api_url,
        "THREADCAST_HTTP_PORT": str(port),
        "THREADCAST_ALLOW_PRIVATE_URLS": "true",
        "THREADCAST_TICK_SECONDS": str(TICK),
        "THREADCAST_LOG_LEVEL": "INFO",
    }
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--env-file", str(tmp_path / "no.env"), "run",
            cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink,
        )  # fmt: skip
    return Worker(process, port, log)


async def until(check: Callable[[], object], timeout: float, what: str, workers: list[Worker]) -> float:
    """Seconds until `check()` holds; on timeout the workers' logs are in the failure."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            logs = "\n".join(f"--- {w.log.name}\n{w.log.read_text()[-3000:]}" for w in workers)
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        await asyncio.sleep(0.05)
    return time.monotonic() - began


def rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>https://news.example/{guid}</link><guid>{guid}</guid></item>"
        for guid, title in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Town news</title>{entries}</channel></rss>'
    )


def article_posts(slack: FakeSlack) -> list[tuple[str, str]]:
    """(article key, ts) of every article posted in #general."""
    return [
        (m["metadata"]["event_payload"]["article"], m["ts"])
        for m in slack.messages_in(GENERAL)
        if (m.get("metadata") or {}).get("event_payload")
    ]


def digests(slack: FakeSlack) -> list[str]:
    return [
        m["ts"]
        for m in slack.messages_in(NEWS)
        if any(b.get("type") == "header" and "digest" in b["text"]["text"] for b in m.get("blocks", []))
    ]


async def holder_pid(store: PostgresStore) -> int | None:
    holder = await store.lease_holder(LEASE_NAME, datetime.now(UTC))
    return None if holder is None else int(holder.split(":")[1])  # host:pid:random


async def test_two_run_processes_post_once_and_the_survivor_of_a_sigkill_takes_the_jobs_over(
    tmp_path: Path,
) -> None:
    items = [("one", "Bridge reopens"), ("two", "Market moves"), ("three", "Library stays open")]
    async with fresh_schema() as schema, FakeSlack() as slack, SourcesServer() as feeds:
        feeds.serve("/news.xml", rss(items))
        store = schema.store()
        await store.open()
        community = Community("slack", slack.team_id)
        now = datetime.now(UTC)
        await store.add_feed(
            community, GENERAL, feeds.url("/news.xml"), prompt=None, backlog=10,
            interval_seconds=FEED_INTERVAL, now=now,
        )  # fmt: skip
        due = now.replace(second=0, microsecond=0)  # a digest due now: one per period, whoever posts it
        await store.set_digest_schedule(
            DigestSchedule(community, NEWS, due.weekday(), due.time(), "UTC", True, due, None)
        )
        workers = [await start_worker(tmp_path, name, slack, schema.store_url) for name in ("a", "b")]
        try:
            await until(lambda: len(article_posts(slack)) >= 3 and digests(slack), 40, "posts", workers)
            await asyncio.sleep(2 * FEED_INTERVAL + 3 * TICK)  # more polls and ticks in both processes
            keys = sorted(key for key, _ in article_posts(slack))
            assert keys == sorted(f"url:https://news.example/{guid}" for guid, _ in items)  # each once
            assert len(digests(slack)) == 1

            # Slack retries an event that was slow to answer, and the balancer may pick the other
            # worker: both get the same reply, which is stored once.
            thread = article_posts(slack)[0][1]
            body = slack.event_body(
                slack.message_event(GENERAL, MEMBER, "I crossed it today.", thread_ts=thread)
            )
            for worker in workers:
                assert (await slack.http_event(worker.events_url, body, secret=SECRET)).status == 200

            async def stored_replies() -> list[str]:
                return [v.reply.text for _, _, views in await store.export(community) for v in views]

            await eventually(stored_replies, 10, "the reply stored")
            await asyncio.sleep(0.5)  # bolt answers before its listener runs: let the second one finish
            assert await stored_replies() == ["I crossed it today."]

            pids = {w.process.pid: w for w in workers}
            pid = await holder_pid(store)
            assert pid in pids, (pid, list(pids))
            victim, survivor = pids[pid], next(w for w in workers if w.process.pid != pid)
            victim.process.kill()  # SIGKILL: the lease is neither renewed nor released
            await victim.process.wait()
            killed = time.monotonic()
            items.append(("four", "Harbour crane stops"))
            feeds.serve("/news.xml", rss(items))

            await until(lambda: len(article_posts(slack)) >= 4, 20, "the survivor's post", workers)
            took = time.monotonic() - killed
            # The lease runs out, the survivor's next tick takes it, the feed falls due and is read.
            assert took <= LEASE_TICKS * TICK + TICK + FEED_INTERVAL + 3.0, took
            assert await holder_pid(store) == survivor.process.pid
            await asyncio.sleep(FEED_INTERVAL + 3 * TICK)
            keys = [key for key, _ in article_posts(slack)]
            assert sorted(keys) == sorted(f"url:https://news.example/{guid}" for guid, _ in items)
            assert len(digests(slack)) == 1
            assert "now runs the scheduler jobs" in survivor.log.read_text()

            survivor.process.send_signal(signal.SIGTERM)  # a clean stop gives the lease up
            assert await asyncio.wait_for(survivor.process.wait(), 15) == 0, survivor.log.read_text()[-3000:]
            assert await store.lease_holder(LEASE_NAME, datetime.now(UTC)) is None
        finally:
            for worker in workers:
                if worker.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        worker.process.kill()
                    await worker.process.wait()
            await store.close()
