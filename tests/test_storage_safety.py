"""The SQLite file under faults: an online backup while another connection writes, a damaged
file refused at start with a way out, PostgreSQL pointed to pg_dump."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import ArticleDraft
from bot.store import StoreError
from storage.store import SQLiteStore
from tests.conftest import T0


def threadcast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "THREADCAST_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


async def write_articles(path: Path, count: int) -> None:
    store = SQLiteStore(path)
    await store.open()
    try:
        for n in range(count):
            draft = ArticleDraft(f"Article {n}", f"https://news.example/{n}", "Summary " * 50, "News")
            await store.save_article(f"key-{n}", draft, T0 + timedelta(seconds=n))
    finally:
        await store.close()


def articles_in(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])


async def test_a_backup_taken_while_another_connection_writes_is_whole_and_opens(tmp_path: Path) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "backup.db"
    await write_articles(live, 50)
    store = SQLiteStore(live)
    await store.open()
    try:
        writer = asyncio.create_task(write_articles(live, 2000))  # another connection, writing on
        await asyncio.sleep(0.05)
        await store.backup(copy)
        assert not writer.done(), "the backup should overlap the writes"
        await writer
    finally:
        await store.close()
    copied = await asyncio.to_thread(articles_in, copy)
    assert 50 <= copied <= 2000
    assert not copy.with_name("backup.db.partial").exists()
    restored = SQLiteStore(copy)  # restored: the store opens it and finds its schema
    await restored.open()
    try:
        assert await restored.get_article(1) is not None
    finally:
        await restored.close()


async def test_threadcast_backup_writes_a_checked_copy_and_refuses_to_overwrite(tmp_path: Path) -> None:
    await write_articles(tmp_path / "threadcast.db", 20)
    done = await asyncio.to_thread(threadcast, "backup", "copy.db", "--db", "threadcast.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "copy.db" in done.stdout and "integrity check" in done.stdout
    assert await asyncio.to_thread(articles_in, tmp_path / "copy.db") == 20
    again = await asyncio.to_thread(threadcast, "backup", "copy.db", "--db", "threadcast.db", cwd=tmp_path)
    assert again.returncode == 1 and "exists already" in again.stderr


def test_threadcast_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("THREADCAST_DATABASE_URL=postgresql://tc:s3cret-pw@db.example/tc\n")
    done = threadcast("backup", "copy.db", cwd=tmp_path)
    assert done.returncode == 1 and "pg_dump" in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout


def damage(path: Path) -> None:
    """Scribble over the pages after the first: what a failing disk or a bad copy leaves."""
    with path.open("r+b") as f:
        f.seek(4096)
        f.write(os.urandom(4096 * 3))


@pytest.mark.parametrize("how", ["scribbled pages", "not a database"])
async def test_a_damaged_file_is_refused_at_start_with_how_to_restore(tmp_path: Path, how: str) -> None:
    path = tmp_path / "threadcast.db"
    await write_articles(path, 200)
    if how == "not a database":
        path.write_bytes(b"this is not SQLite at all " * 400)
    else:
        await asyncio.to_thread(damage, path)
    store = SQLiteStore(path)
    with pytest.raises(StoreError) as refused:
        await store.open()
    message = str(refused.value)
    assert str(path) in message and "damaged" in message and "threadcast backup" in message
    done = await asyncio.to_thread(threadcast, "export", "--db", str(path), cwd=tmp_path)
    assert done.returncode == 1 and "damaged" in done.stderr and "Traceback" not in done.stderr
