"""The interactive console in a real pseudo-terminal: a reply longer than the terminal's
line limit (4,095 characters in canonical mode) arrives whole."""

from __future__ import annotations

import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.collector import MAX_REPLY_LENGTH

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


class Terminal:
    """`threadcast console` on the slave side of a pty; the test types on the master side."""

    def __init__(self, db: Path) -> None:
        self.master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm", THREADCAST_DATABASE_URL=f"sqlite:///{db}")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "console"],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=db.parent, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.seen = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the console closed the terminal
                    return

    def wait_for(self, text: str, seconds: float = 30) -> None:
        end = time.monotonic() + seconds
        while text.encode() not in self.seen and time.monotonic() < end:
            self.read(0.1)
        assert text.encode() in self.seen, self.seen[-2000:]

    def type(self, line: str) -> None:
        data = (line + "\r").encode()
        for start in range(0, len(data), 1024):  # as a person's paste arrives: in pieces
            os.write(self.master, data[start : start + 1024])
            self.read(0.01)

    def close(self, seconds: float = 60) -> int:
        end = time.monotonic() + seconds
        while self.process.poll() is None and time.monotonic() < end:
            self.read(0.1)
        if self.process.poll() is None:
            self.process.kill()
        os.close(self.master)
        return self.process.wait()


def test_a_ten_thousand_character_reply_typed_at_the_prompt_arrives_whole(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    terminal = Terminal(db)
    try:
        terminal.wait_for("mod@#general>")
        terminal.type('/post "A bridge reopened after ten years of repairs. What do you think?"')
        terminal.wait_for("thread m1 opened")
        terminal.type(".thread m1")
        terminal.wait_for("mod@#general/m1>")
        reply = "".join(f"w{n:05d} " for n in range(1700))[:10_000]
        terminal.type(reply)
        terminal.type(".quit")
    finally:
        code = terminal.close()
    assert code == 0, terminal.seen[-2000:]
    with sqlite3.connect(db) as conn:
        [(text,)] = conn.execute("SELECT text FROM replies").fetchall()
    # Whole as typed, then kept up to the collector's cap (8,000): the terminal cut nothing.
    assert len(reply) > MAX_REPLY_LENGTH > 4095
    assert text == reply[:MAX_REPLY_LENGTH]
