"""TEMPORARY (issue 14): the methods no aggregate module implements yet are served by the old
store (storage/sqlite.py, storage/postgres.py) on the same connection, so nothing changes for
callers while the aggregates are converted. Deleted with the old stores once every method is
an aggregate's: then `SqlStore` drops `Legacy` from its bases."""

from __future__ import annotations

from typing import Any

from storage.db.core import Db


def legacy_store(db: Db) -> Any:
    """The old store of the db's engine, sharing its open connection (and SQLite's lock)."""
    if db.engine == "sqlite":
        from storage.db.sqlite import SqliteDb
        from storage.sqlite import SQLiteStore

        assert isinstance(db, SqliteDb)
        old: Any = SQLiteStore(db.path)
        old._db, old._lock = db.connection, db._lock
        return old
    from storage.db.postgres import PgDb
    from storage.postgres import PostgresStore

    assert isinstance(db, PgDb)
    old = PostgresStore(db._url)
    old._pool = db.pool
    return old


class Legacy:
    """A base of `SqlStore`: what the store's own classes do not answer, the old store does."""

    _db: Db

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(legacy_store(self._db), name)  # made each time: always the open connection
