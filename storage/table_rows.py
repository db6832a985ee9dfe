"""Whole tables, for `threadcast migrate-db` (`storage.tables.TableStore`'s own methods).

Rows travel as plain Python values (int, str, bool, aware datetime, None); the layer encodes
what goes in, and `Kind` says how a stored value comes back (a time through `Db.when`, a
boolean with `bool`: SQLite keeps 0/1)."""

from __future__ import annotations

from collections.abc import Sequence

from storage.queries import Queries
from storage.tables import TABLES, Kind, Row, Table


def _mark(index: int) -> str:
    return f":p{index}"


class TableQueries(Queries):
    """`count_rows`, `read_rows`, `write_rows` and `after_copy` of `storage.tables.TableStore`."""

    async def count_rows(self, table: Table) -> int:
        return int(await self._db.fetch_value(f"SELECT count(*) FROM {table.name}"))

    async def read_rows(self, table: Table, after: Row | None, limit: int) -> list[Row]:
        keys = () if after is None else after
        params = {_mark(i).lstrip(":"): v for i, v in enumerate((*keys, limit), start=1)}
        rows = await self._db.fetch(table.select_sql(_mark, after=after is not None), params)
        return [tuple(map(self._value, table.kinds, row)) for row in rows]

    def _value(self, kind: Kind, value: object) -> object:
        if value is None:
            return None
        if kind is Kind.TIME:
            return self._db.when(value)
        if kind is Kind.BOOL:
            return bool(value)
        return value

    async def write_rows(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        names = [_mark(i).lstrip(":") for i in range(1, len(table.columns) + 1)]
        async with self._db.transaction() as tx:
            await tx.execute_many(
                table.insert_sql(_mark), [dict(zip(names, row, strict=True)) for row in rows]
            )

    async def after_copy(self) -> None:
        """PostgreSQL: each id counter follows the largest copied id. (SQLite numbers a new row
        of an INTEGER PRIMARY KEY past the largest id by itself.)"""
        if self._db.engine != "postgres":
            return
        async with self._db.transaction() as tx:
            for table in TABLES:
                if table.identity:
                    # The next id follows the largest copied one (or starts at 1 in an empty table).
                    await tx.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.identity}'),"
                        f" coalesce(max({table.identity}), 0) + 1, false) FROM {table.name}"
                    )
