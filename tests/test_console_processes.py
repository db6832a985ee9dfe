"""Several processes on one database: the console's messages are the store's (issue 12, items 1-2).

Two consoles and a `threadcast post` loop write to one file at once: every reply a console
shows is stored exactly once, in the discussion of the thread it was written in, and no
post is left pending (on SQLite, and on PostgreSQL when THREADCAST_TEST_POSTGRES_URL is
set). A console killed (SIGKILL) at random points during bursts of replies loses none of
the replies it showed: the next start reads them back from its threads.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.console.clock import ConsoleClock, recorded_clock
from adapters.console.platform import COMMUNITY
from bot.config import settings_from
from bot.store import Store
from storage.store import SQLiteStore
from tests.postgres import fresh_schema
from threadcast.wiring import runtime

CONSOLES = 2
ARTICLES_PER_CONSOLE = 3
REPLIES_PER_ARTICLE = 60
POSTS = 8

_SHOWN = re.compile(r"^\[(m\d+)\] (\S+): (.*)$")
_THREAD = re.compile(r"^· in the thread of (m\d+):")


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))}
    env["THREADCAST_DATABASE_URL"] = database_url
    env["THREADCAST_LOG_LEVEL"] = "WARNING"
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--env-file", os.devnull, *args]


async def _run(command: list[str], env: dict[str, str], stdin: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, command, input=stdin, env=env, capture_output=True, text=True, timeout=120
    )


@dataclass(frozen=True)
class Database:
    url: str
    store: Callable[[], Store]


@asynccontextmanager
async def _sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "shared.db"
    yield Database(f"sqlite:///{path}", lambda: SQLiteStore(path))


@asynccontextmanager
async def _postgres(tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_schema() as schema:
        yield Database(schema.store_url, schema.store)


ENGINES = {"sqlite": _sqlite, "postgres": _postgres}


def shown_replies(out: str) -> list[tuple[str, str, str, str]]:
    """(message id, author, text, thread) of each reply the console showed in a thread."""
    shown: list[tuple[str, str, str, str]] = []
    thread: str | None = None
    for line in out.splitlines():
        if entered := _THREAD.match(line):
            thread = entered[1]
        elif line.startswith("· in #") or line.startswith("· back in #"):
            thread = None
        elif (reply := _SHOWN.match(line)) and thread is not None:
            shown.append((reply[1], reply[2], reply[3], thread))
    return shown


async def stored_replies(database: Database) -> tuple[dict[str, tuple[str, str]], Counter[str], int]:
    """message id -> (text, thread of its discussion); how often each text is stored; pending posts."""
    store = database.store()
    await store.open()
    try:
        by_id: dict[str, tuple[str, str]] = {}
        texts: Counter[str] = Counter()
        for discussion, _, views in await store.export(COMMUNITY):
            for view in views:
                by_id[view.reply.message_id] = (view.reply.text, discussion.thread_id or "")
                texts[view.reply.text] += 1
        return by_id, texts, len(await store.pending_discussions())
    finally:
        await store.close()


def console_script(number: int) -> str:
    lines = [f".channel c{number}"]
    for article in range(ARTICLES_PER_CONSOLE):
        lines.append(".user mod")  # posting is the moderator's
        lines.append(
            f'/post "Console {number} article {article}: the harbour opens a night ferry to the islands,'
            f' route {number * 10 + article}." #c{number}'
        )
        lines += [".thread", f".user member{number}"]
        lines += [f"c{number}-a{article}-r{reply}" for reply in range(REPLIES_PER_ARTICLE)]
        lines.append(".leave")
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(ENGINES))
async def test_two_consoles_and_a_post_loop_on_one_database(tmp_path: Path, engine: str) -> None:
    async with ENGINES[engine](tmp_path) as database:
        env = _env(database.url)
        made = await _run(_command("console"), env, "")
        assert made.returncode == 0, made.stderr  # the schema, so the processes race on rows, not DDL
        scripts = []
        for number in range(CONSOLES):
            script = tmp_path / f"console{number}.txt"
            script.write_text(console_script(number), encoding="utf-8")
            scripts.append(script)
        consoles = [
            await asyncio.to_thread(
                subprocess.Popen,
                _command("console", "--script", str(script)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                text=True,
            )
            for script in scripts
        ]

        def post_loop() -> list[subprocess.CompletedProcess[str]]:
            runs = []
            for number in range(POSTS):
                article = tmp_path / f"post{number}.txt"
                article.write_text(
                    f"Loop article {number}: the valley railway reopens\n\nTrains run on line {number}.\n",
                    encoding="utf-8",
                )
                runs.append(
                    subprocess.run(
                        _command("post", str(article)), env=env, capture_output=True, text=True, timeout=120
                    )
                )
            return runs

        posted = await asyncio.to_thread(post_loop)
        outputs = [await asyncio.to_thread(c.communicate, timeout=300) for c in consoles]

        for run in posted:
            assert run.returncode == 0, run.stdout + run.stderr
        shown: list[tuple[str, str, str, str]] = []
        for console, (out, err) in zip(consoles, outputs, strict=True):
            assert console.returncode == 0, err
            assert "! that line failed" not in out and "Traceback" not in err, err[-3000:]
            shown += shown_replies(out)
        refusals = [out[out.index("✗") : out.index("✗") + 400] for out, _ in outputs if "✗" in out]
        assert not refusals, refusals
        assert len(shown) == CONSOLES * ARTICLES_PER_CONSOLE * REPLIES_PER_ARTICLE, refusals
        assert len({message_id for message_id, *_ in shown}) == len(shown)  # no id handed out twice

        by_id, texts, pending = await stored_replies(database)
        assert pending == 0
        for message_id, _, text, thread in shown:
            assert by_id.get(message_id) == (text, thread), (message_id, text, thread)
            assert texts[text] == 1, text
        posts_ids = [re.search(r"thread (m\d+) opened", run.stdout) for run in posted]
        assert all(posts_ids) and len({m[1] for m in posts_ids if m}) == POSTS


@pytest.mark.slow
async def test_a_killed_console_loses_no_reply_it_showed(tmp_path: Path) -> None:
    """20 cycles: a console writes bursts of replies and is killed (SIGKILL) at a random point;
    every reply it showed, in any cycle, is stored once after the next start."""
    rng = random.Random(12)
    db = tmp_path / "killed.db"
    env = _env(f"sqlite:///{db}")
    first = await _run(
        _command("console"),
        env,
        '/post "The city library stays open all night during exam weeks." #general\n',
    )
    assert first.returncode == 0, first.stderr
    thread = re.search(r"thread (m\d+) opened", first.stdout)
    assert thread is not None
    shown: list[tuple[str, str, str, str]] = []
    for cycle in range(20):
        console = await asyncio.to_thread(
            subprocess.Popen,
            _command("console"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        assert console.stdin is not None and console.stdout is not None
        console.stdin.write(f".thread {thread[1]}\n")
        burst = [f"cycle{cycle}-reply{n}" for n in range(rng.randint(10, 60))]
        console.stdin.write("".join(f"{text}\n" for text in burst))
        console.stdin.flush()
        # Kill once a random share of the burst was shown (or at a random moment while starting).
        target = rng.randint(0, len(burst))
        out: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(1 for line in out if _SHOWN.match(line)) >= target:
                break
            line = await asyncio.to_thread(console.stdout.readline)
            if not line:
                break
            out.append(line)
        os.kill(console.pid, signal.SIGKILL)
        rest, _ = await asyncio.to_thread(console.communicate)
        shown += shown_replies("".join(out) + rest)
    # The next start reads back what was shown but not written.
    last = await _run(_command("console"), env, "")
    assert last.returncode == 0, last.stderr

    by_id, texts, _ = await stored_replies(Database(env["THREADCAST_DATABASE_URL"], lambda: SQLiteStore(db)))
    assert len(shown) > 100
    lost = [(message_id, text) for message_id, _, text, _ in shown if message_id not in by_id]
    assert not lost, f"{len(lost)} of {len(shown)} shown replies were not stored: {lost[:5]}"
    for message_id, _, text, thread_id in shown:
        assert by_id[message_id] == (text, thread_id)
        assert texts[text] == 1, text


async def test_an_older_console_state_file_is_taken_in_once_and_kept(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    env = _env(f"sqlite:///{db}")
    state = tmp_path / "old.db.console.json"
    old = {
        "next_id": 9,  # m5…m8 were deleted: their numbers stay used
        "time_offset": 8 * 86400.0,
        "channels": ["general"],
        "messages": {
            "m1": {"id": "m1", "channel": "general", "author": "threadcast", "text": "Old post",
                   "thread": None, "opens_thread": True, "article": "text:x", "reactions": {}},
            "m4": {"id": "m4", "channel": "general", "author": "ann", "text": "Old reply", "thread": "m1",
                   "opens_thread": False, "article": None, "reactions": {"👍": ["bob"]}},
        },
    }  # fmt: skip
    state.write_text(json.dumps(old), encoding="utf-8")
    ran = await _run(_command("console"), env, ".show m4\n.thread m1\n.user cy\nA new reply\n")
    assert ran.returncode == 0, ran.stderr
    assert "[m4] ann: Old reply 👍×1" in ran.stdout
    assert "· in the thread of m1: Old post" in ran.stdout
    assert "[m9] cy: A new reply" in ran.stdout
    assert not state.exists() and json.loads((tmp_path / "old.db.console.json.imported").read_text()) == old
    # Taken in once: a second start (the file back in place, say) does not take it in again.
    state.write_text(json.dumps({**old, "time_offset": 0.0}), encoding="utf-8")
    again = await _run(_command("console"), env, ".user cy\n.thread m1\nAnother\n")
    assert "[m10] cy: Another" in again.stdout, again.stdout + again.stderr
    # Reading commands run at the console's recorded time (`.advance` added 8 days).
    settings = settings_from({"THREADCAST_DATABASE_URL": f"sqlite:///{db}"})
    async with runtime(settings, recorded_clock(state)) as rt:
        assert rt.services.clock.now() - datetime.now(UTC) > timedelta(days=7, hours=23)


async def test_advance_records_the_time_in_the_store_for_reading_commands(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    ran = await _run(_command("console"), _env(f"sqlite:///{db}"), ".advance 3d\n")
    assert ran.returncode == 0, ran.stderr
    settings = settings_from({"THREADCAST_DATABASE_URL": f"sqlite:///{db}"})
    async with runtime(settings, recorded_clock(Path(f"{db}.console.json"))) as rt:
        assert rt.services.clock.now() - datetime.now(UTC) > timedelta(days=2, hours=23)
    async with runtime(settings, ConsoleClock()) as rt:  # a clock not made to read it: real time
        assert rt.services.clock.now() - datetime.now(UTC) < timedelta(hours=1)
