"""Stores behind `bot.store.Store`: SQLite (embedded, the default) and PostgreSQL (a server)."""

from __future__ import annotations

from storage.tables import TableStore

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def store_for_url(url: str) -> TableStore:
    """The store a database URL names, not yet opened.

    Each engine's driver is imported only when chosen, so a SQLite deployment never
    loads asyncpg (nor a PostgreSQL one aiosqlite).
    """
    if url.startswith("sqlite:///") and url != "sqlite:///":
        from storage.store import SQLiteStore

        return SQLiteStore(url.removeprefix("sqlite:///"))
    if url.startswith(POSTGRES_SCHEMES):
        from storage.store import PostgresStore

        return PostgresStore(url)
    scheme = url.split(":", 1)[0][:20]  # never the rest: it may hold a password
    raise ValueError(f"unsupported database URL (a {scheme!r} URL): use sqlite:///… or postgresql://…")
