"""The dialect layer: each query is written once, for SQLite and PostgreSQL.

Queries name their parameters (`:name`, reused as often as needed) and are rewritten once per
engine (cached) into the driver's own placeholders: `?N` for sqlite3, `$N` for asyncpg. Two more
rules make one text serve both engines:

- a cast right after a parameter (`:name::text`, `:ids::bigint[]`) is kept on PostgreSQL, where
  it tells the server a type it cannot infer (`:x::text IS NULL`), and dropped on SQLite;
- `col = ANY(:ids)` takes a list: PostgreSQL binds it as an array, SQLite reads it as
  `col IN (SELECT value FROM json_each(?N))` (one bound JSON text: no limit on its length).

Text in quotes and comments is left alone. Where an engine truly needs other SQL, a query is a
`{"sqlite": ..., "postgres": ...}` mapping (`Sql`) and `pick` chooses.

Values: a datetime must be aware; SQLite stores it as ISO text in UTC ending in "Z" (so text
order is time order), PostgreSQL as timestamptz; `Db.when` reads either back as an aware UTC
datetime. Booleans are 0/1 on SQLite and bool on PostgreSQL: write `true`/`false` in SQL
(SQLite knows both words) and read a boolean column with `bool(...)`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

Engine = Literal["sqlite", "postgres"]
ENGINES: tuple[Engine, ...] = ("sqlite", "postgres")
Params = Mapping[str, object]
Row = Sequence[Any]
Sql = str | Mapping[str, str]  # one text, or one per engine
NO_PARAMS: Params = {}

# Quoted text and comments first (skipped whole), then `col = ANY(:name[::type])`, then `:name[::type]`.
_TOKEN = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*)"""
    r"|(?P<any>(?P<col>[\w.]+)\s*=\s*ANY\(\s*:(?P<list>\w+)(?P<listcast>::\w+\[\])?\s*\))"
    r"|(?<![:\w]):(?P<name>\w+)(?P<cast>::\w+(?:\[\])?)?"
)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A query as its driver takes it."""

    text: str
    names: tuple[str, ...]  # the parameter of each placeholder, in order
    lists: frozenset[str]  # parameters bound as a list (`= ANY(:name)`)
    writes: bool  # not a plain read: on SQLite it must run inside a write transaction


@dataclass(frozen=True, slots=True)
class NewRows:
    """Where `Tx.insert_rows` puts rows: the table, its columns in the rows' order, and their
    PostgreSQL types ("timestamptz" columns are also encoded as times on SQLite)."""

    table: str
    columns: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Insert:
    """A write of `Tx.read_then_write`: rows inserted as by `Tx.insert_rows`."""

    into: NewRows
    rows: Sequence[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class EachRow:
    """A write of `Tx.read_then_write`: one statement per parameter set, as `Tx.execute_many`."""

    sql: Sql
    rows: Sequence[Params]


Write = Insert | EachRow
# What `Tx.read_then_write` writes, made from the rows it read.
Plan = Callable[[list[Row]], Sequence[Write]]


def pick(sql: Sql, engine: Engine) -> str:
    """The text of a query for an engine (a plain string serves both)."""
    return sql if isinstance(sql, str) else sql[engine]


@functools.lru_cache(maxsize=1024)
def _compile(sql: str, engine: Engine) -> Compiled:
    names: list[str] = []
    lists: set[str] = set()

    def mark(name: str) -> str:
        if name not in names:
            names.append(name)
        number = names.index(name) + 1
        return f"?{number}" if engine == "sqlite" else f"${number}"

    def rewrite(m: re.Match[str]) -> str:
        if m["skip"] is not None:
            return m["skip"]
        if m["any"] is not None:
            lists.add(m["list"])
            if engine == "sqlite":
                return f"{m['col']} IN (SELECT value FROM json_each({mark(m['list'])}))"
            return f"{m['col']} = ANY({mark(m['list'])}{m['listcast'] or ''})"
        placeholder = mark(m["name"])
        return placeholder if engine == "sqlite" else placeholder + (m["cast"] or "")

    text = _TOKEN.sub(rewrite, sql)
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    writes = head not in ("SELECT", "VALUES", "PRAGMA") and not (
        head == "WITH" and not re.search(r"\b(INSERT|UPDATE|DELETE)\b", sql, re.IGNORECASE)
    )
    return Compiled(text, tuple(names), frozenset(lists), writes)


def compile_sql(sql: Sql, engine: Engine) -> Compiled:
    """A query rewritten for an engine's driver (cached: each text is rewritten once)."""
    return _compile(pick(sql, engine), engine)


def utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is a bug of the caller."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC)


@functools.lru_cache(maxsize=64)
def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat() + "T"


def iso_z(value: datetime) -> str:
    """How SQLite keeps a time: ISO text in UTC with "Z" (the year padded: text order is time order)."""
    if value.tzinfo is UTC:
        # The usual case, a flood's worth of times: the day's text is kept, the time of day is
        # the quickest form (it leaves out a zero microsecond); half the cost of isoformat().
        clock = value.time().isoformat()
        day = _day(value.toordinal())
        return day + clock + "Z" if value.microsecond else day + clock + ".000000Z"
    return utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class Tx(Protocol):
    """Statements on one connection. Inside `Db.transaction()` they share one transaction;
    on the `Db` itself each is its own unit (a write commits before it returns)."""

    @property
    def engine(self) -> Engine: ...

    async def fetch(self, sql: Sql, params: Params = NO_PARAMS) -> list[Row]:
        """Every row (also of INSERT/UPDATE/DELETE … RETURNING)."""

    async def fetch_one(self, sql: Sql, params: Params = NO_PARAMS) -> Row | None:
        """The first row, or None."""

    async def fetch_value(self, sql: Sql, params: Params = NO_PARAMS) -> Any:
        """The first column of the first row, or None when there is no row."""

    async def execute(self, sql: Sql, params: Params = NO_PARAMS) -> int:
        """Run one statement; returns how many rows it changed."""

    async def execute_many(self, sql: Sql, rows: Iterable[Params]) -> None:
        """The same statement once per parameter set (one driver call). Inside a transaction,
        SQLite runs it with the transaction's next statement or its COMMIT: its error, if any,
        is raised there (the whole transaction is taken back either way)."""

    async def insert_rows(self, into: NewRows, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert `rows`, skipping those whose unique key is stored (also a row repeated within
        `rows` is inserted once); returns how many were new."""

    async def read_then_write(self, sql: Sql, params: Params, plan: Plan) -> int:
        """Read, then make the writes `plan` returns for the rows read, as one step in one
        transaction (on the `Db` itself, a transaction of its own); returns how many rows the
        inserts added. On SQLite the whole step is one call on the connection's thread, so
        `plan` runs there: it only computes, from the rows and what it was given."""

    async def run_script(self, script: str) -> None:
        """A migration file's statements as they are (no parameters; for storage/db/migrate.py)."""


class Db(Tx, Protocol):
    """A database of one engine, opened once per process; see storage/db/sqlite.py and postgres.py."""

    async def read_then_write(
        self, sql: Sql, params: Params, plan: Plan, *, staged: Callable[[], None] | None = None
    ) -> int:
        """`Tx.read_then_write` as a transaction of its own. SQLite has `staged` called on the
        event loop (a callback, while this call is still under way) once the writes are made
        and only the COMMIT is left, queued before anything started after it (a write started
        then is applied after this one); PostgreSQL never calls it (a write started then would
        run beside this one, on another connection)."""

    @property
    def where(self) -> str:
        """The database's name for messages (a URL with its password masked)."""

    async def open(self) -> None:
        """Connect and prepare the database; raises StoreError with a plain message."""

    async def close(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """One write transaction (SQLite: BEGIN IMMEDIATE, so a reader never has to become a
        writer half way; PostgreSQL: a pooled connection's transaction). Commits on leaving,
        rolls back on any exception. Errors come out as DuplicateError / StoreError."""

    def when(self, value: Any) -> datetime | None:
        """A stored time (or NULL) as an aware UTC datetime."""
