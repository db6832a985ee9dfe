"""Leases: a named job that one process at a time runs (the scheduler's)."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.queries import Queries


class LeaseQueries(Queries):
    """`bot.store.LeaseStore`."""

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        # One statement: SQLite runs it under its write lock, PostgreSQL locks the conflicting
        # row while the WHERE is checked, so two processes cannot both take a free or expired lease.
        # RETURNING gives a row only when the lease was inserted or taken over.
        row = await self._db.fetch_one(
            "INSERT INTO leases (name, holder, expires_at) VALUES (:name, :holder, :until)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= :now RETURNING holder",
            {"name": name, "holder": holder, "until": now + ttl, "now": now},
        )
        return row is not None

    async def release_lease(self, name: str, holder: str) -> bool:
        changed = await self._db.execute(
            "DELETE FROM leases WHERE name = :name AND holder = :holder", {"name": name, "holder": holder}
        )
        return changed == 1

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        holder = await self._db.fetch_value(
            "SELECT holder FROM leases WHERE name = :name AND expires_at > :now", {"name": name, "now": now}
        )
        return None if holder is None else str(holder)
