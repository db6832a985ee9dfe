"""Apply the named migration files (storage/migrations/<engine>/NNNN_name.sql) in order.

`schema_migrations` records each applied file, so a database made by any earlier threadcast
upgrades in place. Each file runs in its own transaction (DDL is transactional on both
engines: a failing migration leaves nothing behind) under a lock every process takes: SQLite's
write lock (BEGIN IMMEDIATE), a PostgreSQL advisory lock.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storage import migrations
from storage.db.core import Tx

if TYPE_CHECKING:
    from storage.db.core import Db

_log = logging.getLogger(__name__)

# One number for every threadcast process: whoever holds it applies migrations, the others wait.
MIGRATION_LOCK = int.from_bytes(b"tcastmig", "big")

_CREATE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)",
}


async def _lock(tx: Tx) -> None:
    """PostgreSQL: taken first, for the transaction (SQLite's BEGIN IMMEDIATE is the lock)."""
    if tx.engine == "postgres":
        await tx.execute("SELECT pg_advisory_xact_lock(:lock)", {"lock": MIGRATION_LOCK})


async def migrate(db: Db) -> None:
    async with db.transaction() as tx:
        # Under the lock: two processes creating the table at once would collide in the catalog.
        await _lock(tx)
        await tx.execute(_CREATE)
    for migration in migrations.load(db.engine):
        async with db.transaction() as tx:
            await _lock(tx)
            # Asked under the lock: another process may have just applied it.
            if await tx.fetch_value(
                "SELECT 1 FROM schema_migrations WHERE version = :version", {"version": migration.version}
            ):
                continue
            _log.info("applying migration %04d_%s", migration.version, migration.name)
            await tx.run_script(migration.sql)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:version, :name, :now)",
                {"version": migration.version, "name": migration.name, "now": datetime.now(UTC)},
            )


async def schema_version(db: Db) -> int:
    return int(await db.fetch_value("SELECT max(version) FROM schema_migrations") or 0)
