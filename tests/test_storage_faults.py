"""A read-only or full disk under the SQLite file, made real: a read-only bind mount and a small
tmpfs (tests run as root here; without the right to mount, they skip and say why).

Read-only at start: refused with the file named and the cause. Full while running: the bot
goes on, each reply it could not write is logged by its message id, its thread keeps its
catch-up mark, and once there is room again the next catch-up stores it."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.console.clock import ConsoleClock
from adapters.console.platform import COMMUNITY, ConsolePlatform
from adapters.console.shell import ConsoleShell
from bot.config import Settings
from bot.events import PlatformReady, ReplyPosted
from bot.models import Discussion
from threadcast.wiring import runtime

pytestmark = pytest.mark.timeout(120)


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip()}): needs root or CAP_SYS_ADMIN")


@contextlib.contextmanager
def mounted(target: Path, *args: str) -> Iterator[Path]:
    target.mkdir(exist_ok=True)
    mount(*args, str(target))
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_read_only_database_is_refused_at_start_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "THREADCAST_LOG_LEVEL": "WARNING"}

    def threadcast(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env,
            input="", capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    made = threadcast("console", "--db", str(source / "c.db"))
    assert made.returncode == 0, made.stderr
    with mounted(tmp_path / "ro", "--bind", str(source)) as ro:
        mount("-o", "remount,ro,bind", str(ro))
        for command in ("console", "export"):
            refused = threadcast(command, "--db", str(ro / "c.db"))
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert str(ro / "c.db") in refused.stderr and "read-only" in refused.stderr, refused.stderr
            assert "damaged" not in refused.stderr and "backup" not in refused.stderr
            assert "Traceback" not in refused.stderr


class HistoryConsole(ConsolePlatform):
    """The console platform with a history to read back, as Discord and Slack have."""

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        return [
            ReplyPosted(COMMUNITY, m.thread, m.id, m.author, m.author, m.text, ConsoleClock().now(), True)
            for m in self.state.messages.values()
            if m.thread is not None and m.thread == discussion.thread_id
        ]


def fill(disk: Path) -> Path:
    """Write until the filesystem says it is full."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return filler


async def test_a_full_disk_keeps_the_bot_running_and_the_reply_for_catch_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=2m", "tmpfs") as disk:
        settings = replace(Settings(), database_url=f"sqlite:///{disk / 'c.db'}")
        clock = ConsoleClock()
        async with runtime(settings, clock) as rt:
            out = io.StringIO()
            platform = HistoryConsole(out, state_file=tmp_path / "console.json")
            rt.platforms[platform.name] = platform
            shell = ConsoleShell(rt.app, platform, clock, rt.services.scheduler.run_once, moderator="mod")
            store = rt.services.store
            for line in ('/post "Night trains return. Tickets on sale Monday." #general', ".thread m1"):
                await shell.handle(line)
            await shell.handle("Written while there was room.")
            await rt.app.flush()
            [discussion] = await store.recent_discussions(COMMUNITY, clock.now().replace(year=2000))
            await store.catch_up_from([discussion.id])  # the mark a reconnect leaves

            filler = fill(disk)
            await shell.handle("Words that meet a full disk. " * 200)  # m3
            await rt.app.dispatch(PlatformReady(COMMUNITY))  # a catch-up reads it, cannot store it either
            await rt.app.drain()
            errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert any("m3" in e and "not stored" in e and "full" in e for e in errors), errors
            assert await store.get_reply(COMMUNITY, "m3") is None
            assert await store.catch_up_from([discussion.id]) == {discussion.id: "m2"}, "the mark must stay"
            await shell.handle("/feed list")  # the bot goes on: reading still works
            assert "No feeds yet" in out.getvalue()

            filler.unlink()  # room again: the next catch-up stores what was missed
            await rt.app.dispatch(PlatformReady(COMMUNITY))
            await rt.app.drain()
            await rt.app.flush()
            reply = await store.get_reply(COMMUNITY, "m3")
            assert reply is not None and reply.text.startswith("Words that meet a full disk.")
            assert await store.catch_up_from([discussion.id]) == {discussion.id: "m3"}
