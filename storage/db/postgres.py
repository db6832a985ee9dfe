"""PostgreSQL through an asyncpg connection pool.

Every statement on its own borrows a pooled connection (autocommit); a transaction keeps one.
`server_settings` go to every connection (tests set `search_path` to a schema of their own).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bot.redact import mask_url
from bot.store import DuplicateError, StoreError
from storage.db import migrate
from storage.db.core import NO_PARAMS, Engine, Insert, NewRows, Params, Plan, Row, Sql, Tx, compile_sql, utc


def text(value: str) -> str:
    """PostgreSQL text cannot hold U+0000 (SQLite's can): it becomes U+FFFD, not a failed write.

    Only raw text reaches a store with it (the collector drops control characters); a copy
    from SQLite of data written by other means is where it shows.
    """
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def value(item: object) -> object:
    """A parameter as asyncpg takes it: aware times, text without U+0000, lists as arrays."""
    if isinstance(item, str):
        return text(item)
    if isinstance(item, datetime):
        return utc(item)
    if isinstance(item, list | tuple | set | frozenset):
        return [value(v) for v in item]
    return item


def _column(kind: str, items: Sequence[Any]) -> list[Any]:
    """One column of a bulk insert as an array: converted only where its type needs it."""
    if kind == "text":
        return [None if v is None else text(v) for v in items]
    if kind == "timestamptz":
        return [None if v is None else utc(v) for v in items]
    return list(items)


def _insert(into: NewRows) -> str:
    """One statement over arrays, one per column: a single round trip for any number of rows."""
    arrays = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(into.types))
    return (
        f"INSERT INTO {into.table} ({', '.join(into.columns)}) SELECT * FROM unnest({arrays})"
        " ON CONFLICT DO NOTHING"
    )


def _columns(into: NewRows, rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [_column(kind, c) for kind, c in zip(into.types, zip(*rows, strict=True), strict=True)]


def _args(names: Sequence[str], params: Params) -> list[object]:
    return [value(params[name]) for name in names]


def changed(status: str) -> int:
    """Rows touched, from a command tag such as 'INSERT 0 1' or 'DELETE 3'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Statements:
    """The statements of `Tx` on a pooled connection, or on the pool (each its own unit)."""

    engine: Engine = "postgres"

    def __init__(self, conn: Any) -> None:
        self._open = conn

    def _connection(self) -> Any:
        return self._open

    async def fetch(self, sql: Sql, params: Params = NO_PARAMS) -> list[Row]:
        query = compile_sql(sql, "postgres")
        rows: list[Row] = await self._connection().fetch(query.text, *_args(query.names, params))
        return rows

    async def fetch_one(self, sql: Sql, params: Params = NO_PARAMS) -> Row | None:
        query = compile_sql(sql, "postgres")
        row: Row | None = await self._connection().fetchrow(query.text, *_args(query.names, params))
        return row

    async def fetch_value(self, sql: Sql, params: Params = NO_PARAMS) -> Any:
        query = compile_sql(sql, "postgres")
        return await self._connection().fetchval(query.text, *_args(query.names, params))

    async def execute(self, sql: Sql, params: Params = NO_PARAMS) -> int:
        query = compile_sql(sql, "postgres")
        return changed(await self._connection().execute(query.text, *_args(query.names, params)))

    async def execute_many(self, sql: Sql, rows: Iterable[Params]) -> None:
        query = compile_sql(sql, "postgres")
        args = [_args(query.names, r) for r in rows]
        if args:
            await self._connection().executemany(query.text, args)

    async def insert_rows(self, into: NewRows, rows: Sequence[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        return changed(await self._connection().execute(_insert(into), *_columns(into, rows)))

    async def read_then_write(self, sql: Sql, params: Params, plan: Plan) -> int:
        added = 0
        for write in plan(await self.fetch(sql, params)):
            if isinstance(write, Insert):
                added += await self.insert_rows(write.into, write.rows)
            else:
                await self.execute_many(write.sql, write.rows)
        return added

    async def run_script(self, script: str) -> None:
        await self._connection().execute(script)  # no arguments: the whole file in one simple query


class PgDb(_Statements):
    """`storage.db.core.Db` on a PostgreSQL database."""

    def __init__(
        self,
        url: str,
        *,
        server_settings: Mapping[str, str] | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> None:
        self._url = url
        self._where = mask_url(url)
        self._server_settings = dict(server_settings or {})
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None

    @property
    def where(self) -> str:
        return self._where

    @property
    def pool(self) -> Any:
        """The open pool (tests record the SQL run through it)."""
        return self._connection()

    @pool.setter
    def pool(self, pool: Any) -> None:
        self._pool = pool

    def _connection(self) -> Any:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self._url,
                min_size=self._min_size,
                max_size=self._max_size,
                server_settings=self._server_settings,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError, ValueError) as exc:
            raise StoreError(f"cannot open the database {self._where}: {exc}") from exc
        try:
            await migrate.migrate(self)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """The core sees DuplicateError or StoreError, never asyncpg's own exceptions."""
        try:
            yield
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise DuplicateError(str(exc)) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StoreError(f"database {self._where}: {exc}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        pool = self._connection()
        with self._errors():
            async with pool.acquire() as conn, conn.transaction():
                yield _Statements(conn)

    async def fetch(self, sql: Sql, params: Params = NO_PARAMS) -> list[Row]:
        with self._errors():
            return await super().fetch(sql, params)

    async def fetch_one(self, sql: Sql, params: Params = NO_PARAMS) -> Row | None:
        with self._errors():
            return await super().fetch_one(sql, params)

    async def fetch_value(self, sql: Sql, params: Params = NO_PARAMS) -> Any:
        with self._errors():
            return await super().fetch_value(sql, params)

    async def execute(self, sql: Sql, params: Params = NO_PARAMS) -> int:
        with self._errors():
            return await super().execute(sql, params)

    async def execute_many(self, sql: Sql, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    async def insert_rows(self, into: NewRows, rows: Sequence[tuple[Any, ...]]) -> int:
        with self._errors():
            return await super().insert_rows(into, rows)

    async def read_then_write(
        self, sql: Sql, params: Params, plan: Plan, *, staged: Callable[[], None] | None = None
    ) -> int:
        async with self.transaction() as tx:  # `staged` is never called: see `Db.read_then_write`
            return await tx.read_then_write(sql, params, plan)

    async def run_script(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx.run_script(script)

    def when(self, value: Any) -> datetime | None:
        return value  # type: ignore[no-any-return]  # asyncpg gives timestamptz as aware UTC datetimes
