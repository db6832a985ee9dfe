"""The state of a database, read without changing it (for `threadcast check`).

Opening a store applies its migrations and makes a missing SQLite file; this reads which
migrations are applied and which feeds are subscribed, and writes nothing: a missing SQLite
file stays missing, and a PostgreSQL database gets no table.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from bot.checkup import DatabaseState, SubscribedFeed
from bot.redact import mask_url
from bot.store import StoreError
from storage import POSTGRES_SCHEMES, migrations

_FEEDS = "SELECT id, url FROM feeds ORDER BY id"


async def database_state(url: str, *, timeout: float = 10.0) -> DatabaseState:
    """Raises StoreError (its message names the database, masked) when it cannot be read."""
    if url.startswith("sqlite:///") and url != "sqlite:///":
        return await _sqlite_state(url.removeprefix("sqlite:///"), timeout)
    if url.startswith(POSTGRES_SCHEMES):
        return await _postgres_state(url, timeout)
    scheme = url.split(":", 1)[0][:20]
    raise StoreError(f"unsupported database URL (a {scheme!r} URL): use sqlite:///… or postgresql://…")


def _state(
    where: str, engine: str, applied: set[int], feeds: list[tuple[Any, ...]], *, exists: bool = True
) -> DatabaseState:
    shipped = migrations.load(engine)
    return DatabaseState(
        where=where,
        exists=exists,
        version=max(applied, default=0),
        known=len(shipped),
        pending=tuple(f"{m.version:04d}_{m.name}" for m in shipped if m.version not in applied),
        feeds=tuple(SubscribedFeed(int(row[0]), str(row[1])) for row in feeds),
    )


async def _sqlite_state(path: str, timeout: float) -> DatabaseState:
    import aiosqlite

    if path == ":memory:":
        return _state(path, "sqlite", set(), [], exists=False)
    uri = await asyncio.to_thread(_sqlite_uri, path)
    if uri is None:
        return _state(path, "sqlite", set(), [], exists=False)
    try:
        async with aiosqlite.connect(uri, uri=True, timeout=timeout) as db:
            await db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            tables = {row[0] for row in await db.execute_fetchall("SELECT name FROM sqlite_master")}
            applied: set[int] = set()
            if "schema_migrations" in tables:
                rows = await db.execute_fetchall("SELECT version FROM schema_migrations")
                applied = {int(row[0]) for row in rows}
            feeds = list(await db.execute_fetchall(_FEEDS)) if "feeds" in tables else []
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {path}: {exc}") from None
    return _state(path, "sqlite", applied, [tuple(row) for row in feeds])


def _sqlite_uri(path: str) -> str | None:
    """The file as an URI that opens it without creating it; None when it does not exist yet."""
    file = Path(path)
    if not file.exists():
        if not file.parent.is_dir():
            raise StoreError(f"cannot open the database {path}: the folder {file.parent} does not exist")
        return None
    # mode=rw never creates the file, and (unlike mode=ro) lets the last connection out remove the
    # WAL files it opened; a write-protected file is opened read-only. Nothing is written.
    return f"{file.absolute().as_uri()}?mode=rw"


async def _postgres_state(url: str, timeout: float) -> DatabaseState:
    import asyncpg  # type: ignore[import-untyped]

    where = mask_url(url)
    try:
        conn = await asyncpg.connect(url, timeout=timeout, command_timeout=timeout)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, ValueError) as exc:
        raise StoreError(f"cannot open the database {where}: {exc}") from None
    try:
        applied: set[int] = set()
        if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            applied = {int(row[0]) for row in await conn.fetch("SELECT version FROM schema_migrations")}
        feeds = []
        if await conn.fetchval("SELECT to_regclass('feeds') IS NOT NULL"):
            feeds = [tuple(row) for row in await conn.fetch(_FEEDS)]
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        raise StoreError(f"cannot read the database {where}: {exc}") from None
    finally:
        await conn.close()
    return _state(where, "postgres", applied, feeds)
