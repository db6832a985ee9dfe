"""`bot.store.Store` on SQLite or PostgreSQL: one `Db` and the aggregates' queries over it.

Each aggregate (storage/articles.py, replies.py, …) is a class of queries written once for
both engines; `SqlStore` inherits them all, so every method is one aggregate's. Engine code
(opening, WAL, integrity and backup on SQLite; the pool on PostgreSQL) is in storage/db/.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from storage.articles import ArticleQueries
from storage.console import ConsoleQueries
from storage.db.core import Db
from storage.db.migrate import schema_version
from storage.digests import DigestQueries
from storage.feeds import FeedQueries
from storage.leases import LeaseQueries
from storage.members import MemberQueries
from storage.replies import ReplyQueries
from storage.stats import StatsQueries
from storage.table_rows import TableQueries


class SqlStore(
    ArticleQueries,
    ReplyQueries,
    MemberQueries,
    ConsoleQueries,
    FeedQueries,
    DigestQueries,
    StatsQueries,
    LeaseQueries,
    TableQueries,
):
    """The store on an unopened `Db`; `open()` connects and applies pending migrations."""

    def __init__(self, db: Db) -> None:
        super().__init__(db)

    @property
    def db(self) -> Db:
        return self._db

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def schema_version(self) -> int:
        return await schema_version(self._db)


class SQLiteStore(SqlStore):
    """The store on one SQLite file (WAL mode); it can copy itself while in use (`backup`)."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        from storage.db.sqlite import SqliteDb

        self.sqlite_db = SqliteDb(path, busy_timeout_ms=busy_timeout_ms)
        super().__init__(self.sqlite_db)

    async def backup(self, target: str | Path) -> None:
        """An online, consistent copy to `target` (see `SqliteDb.backup`)."""
        await self.sqlite_db.backup(target)


class PostgresStore(SqlStore):
    """The store on a PostgreSQL database, through a connection pool."""

    def __init__(
        self,
        url: str,
        *,
        server_settings: Mapping[str, str] | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> None:
        from storage.db.postgres import PgDb

        self.pg_db = PgDb(url, server_settings=server_settings, min_size=min_size, max_size=max_size)
        super().__init__(self.pg_db)
