"""The calls SQLite's connection thread runs: each statement, a batch of new rows, a
transaction's BEGIN and COMMIT, as functions of the `sqlite3.Connection` that aiosqlite's
thread calls; and how they are queued there (`queued`). `storage.db.sqlite` composes them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import aiosqlite

from bot.store import StoreError
from storage.db.core import Compiled, Insert, NewRows, Params, Plan, Row, Sql, compile_sql, iso_z

_log = logging.getLogger(__name__)

T = TypeVar("T")


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, list | tuple | set | frozenset):  # `= ANY(:x)` and json_each(:x)
        return json.dumps([iso_z(v) if isinstance(v, datetime) else v for v in value])
    return value


def _args(names: Sequence[str], params: Params) -> list[object]:
    return [_value(params[name]) for name in names]


def queued(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
    """Queue `work` to run on the connection's own thread, as one call; the future has its result.

    Every aiosqlite method is such a call, but it has no public name for running several
    statements in one (omnilib/aiosqlite#19), and it queues a call only once it is awaited.
    Queued here at once, a call can be queued under the store's lock and awaited after it: the
    thread runs calls first in, first out. Each call is a round trip through the event loop,
    which under a flood waits behind a long turn of the loop (about 10 ms with discord.py reading
    a busy gateway), so a transaction's statements go in as few calls as they can."""
    if not conn._running:
        raise StoreError("the database connection is closed")
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    conn._tx.put_nowait((future, functools.partial(work, conn._conn)))
    return future


async def on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    return await queued(conn, work)


def _statement(sql: Sql) -> Compiled:
    """The query for sqlite3, its text traced at DEBUG (never its values: see
    `_NoParameters` in storage.db.sqlite)."""
    query = compile_sql(sql, "sqlite")
    _log.debug("sql: %s", query.text)
    return query


def _insert_traced(into: NewRows, count: int) -> None:
    if _log.isEnabledFor(logging.DEBUG):
        _log.debug("sql: %s (%d rows)", _insert(into), count)


# Each statement as a call for the connection's thread: the SQL compiled and traced and the
# values bound as sqlite3 takes them where the call is made, the statement run where it is run.
def fetch_call(sql: Sql, params: Params) -> Callable[[sqlite3.Connection], list[Row]]:
    query = _statement(sql)
    args = _args(query.names, params)
    return lambda c: c.execute(query.text, args).fetchall()


def execute_call(sql: Sql, params: Params) -> Callable[[sqlite3.Connection], int]:
    query = _statement(sql)
    args = _args(query.names, params)
    return lambda c: max(c.execute(query.text, args).rowcount, 0)


def many_call(sql: Sql, rows: Iterable[Params]) -> Callable[[sqlite3.Connection], None]:
    query = _statement(sql)
    args = [_args(query.names, r) for r in rows]

    def run(c: sqlite3.Connection) -> None:
        c.executemany(query.text, args)

    return run


# How long an `executemany` may take against its own CPU time before it counts as starved,
# and how long it must have waited at least (a starved probe waits 10-20 ms; a busy machine's
# pause of a millisecond or two is not starvation).
_STARVED = 3.0
_WAITED = 0.004  # seconds
# While starved, every this many batches tries `executemany` again...
PROBE = 8
# ...on this many rows first: a starved `executemany` costs about a millisecond a row.
PROBE_ROWS = 16
# Rows a multi-row INSERT takes at most. sqlite3 keeps each statement text it prepared (128 of
# them): batches of every size up to 2,048 rows as one statement each held 10-12 MB more at the
# flood's peak than statements of at most 256 rows (docs/benchmarks.md).
ROWS_A_STATEMENT = 256


class Inserts:
    """How a batch of new rows goes in: chosen, and run, on the connection's thread.

    `executemany` costs SQLite the least, but it lets go of the interpreter's lock around each
    row's step and reset and must take it back twice a row. While the event loop's thread
    keeps the lock busy (a flood read from a socket), it gets it back only at that thread's
    next system call: a 512-row batch took up to 112 ms on the thread instead of 9
    (docs/benchmarks.md). So a batch's first `PROBE_ROWS` rows go by `executemany`, timed:
    if that waited far longer than it worked (wall time over `_STARVED` times its own CPU
    time, and over `_WAITED` more), the rest of the batch and the next ones go as multi-row
    statements, which take the lock once a statement, for 4-25% more work in SQLite; every
    `PROBE`th batch probes again, so the cheaper form comes back once the loop is quiet.
    (Timing whole batches instead cost a flood's first batch, and every eighth, 100-200 ms.)"""

    def __init__(self) -> None:
        self._starved = False
        self._since_probe = 0

    def run(self, c: sqlite3.Connection, into: NewRows, values: list[tuple[Any, ...]]) -> int:
        if not values:
            return 0
        if self._starved:
            self._since_probe += 1
            if self._since_probe < PROBE:
                return _insert_statements(c, into, values)
        probe, rest = values[:PROBE_ROWS], values[PROBE_ROWS:]
        wall, cpu = time.perf_counter(), time.thread_time()
        added = _insert_each(c, into, probe)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        self._starved = wall > _STARVED * cpu and wall - cpu > _WAITED
        self._since_probe = 0
        if rest:
            added += _insert_statements(c, into, rest) if self._starved else _insert_each(c, into, rest)
        return added


def _insert_each(c: sqlite3.Connection, into: NewRows, values: list[tuple[Any, ...]]) -> int:
    return max(c.executemany(_insert(into), values).rowcount, 0)


def _insert_statements(c: sqlite3.Connection, into: NewRows, values: list[tuple[Any, ...]]) -> int:
    """`values` in multi-row INSERTs of at most `ROWS_A_STATEMENT` rows (fewer if SQLite takes
    fewer parameters a statement)."""
    most = c.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(into.columns)
    per = max(1, min(ROWS_A_STATEMENT, most))
    added = 0
    for start in range(0, len(values), per):
        chunk = values[start : start + per]
        added += c.execute(_insert(into, len(chunk)), list(itertools.chain.from_iterable(chunk))).rowcount
    return max(added, 0)


def insert_call(
    into: NewRows, rows: Sequence[tuple[Any, ...]], inserts: Inserts
) -> Callable[[sqlite3.Connection], int]:
    values = _encoded(rows, into)
    _insert_traced(into, len(values))
    return lambda c: inserts.run(c, into, values)


def read_then_write_call(
    sql: Sql, params: Params, plan: Plan, inserts: Inserts, written: Callable[[], object] | None = None
) -> Callable[[sqlite3.Connection], int]:
    """The read, the plan and its writes as one call; `written` is called there once they are made."""
    read = fetch_call(sql, params)

    def run(c: sqlite3.Connection) -> int:
        added = 0
        for write in plan(read(c)):  # on the connection's thread, as `Tx.read_then_write` says
            if isinstance(write, Insert):
                added += insert_call(write.into, write.rows, inserts)(c)
            else:
                many_call(write.sql, write.rows)(c)
        if written is not None:
            written()
        return added

    return run


def roll_back(c: sqlite3.Connection) -> None:
    if c.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            c.execute("ROLLBACK")


def begun(work: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """BEGIN IMMEDIATE, then `work`; all taken back if it fails."""

    def call(c: sqlite3.Connection) -> T:
        c.execute("BEGIN IMMEDIATE")
        try:
            return work(c)
        except BaseException:
            roll_back(c)
            raise

    return call


def committed(work: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """`work`, then COMMIT; the transaction taken back if either fails."""

    def call(c: sqlite3.Connection) -> T:
        try:
            done = work(c)
            c.execute("COMMIT")
        except BaseException:
            roll_back(c)
            raise
        return done

    return call


def nothing(c: sqlite3.Connection) -> None:
    return None


def _times(into: NewRows) -> list[int]:
    return [i for i, t in enumerate(into.types) if t == "timestamptz"]


def _encoded(rows: Sequence[tuple[Any, ...]], into: NewRows) -> list[tuple[Any, ...]]:
    """The rows with their time columns as SQLite keeps them."""
    times = _times(into)
    if not times:
        return list(rows)
    if times == [len(into.columns) - 1] and into.types.count("timestamptz") == 1:
        # One time, last (replies): one pass, no list per row.
        return [(*row[:-1], None if row[-1] is None else iso_z(row[-1])) for row in rows]
    encoded = []
    for row in rows:
        values = list(row)
        for i in times:
            if values[i] is not None:
                values[i] = iso_z(values[i])
        encoded.append(tuple(values))
    return encoded


def _insert(into: NewRows, rows: int = 1) -> str:
    row = f"({', '.join('?' * len(into.columns))})"
    return (
        f"INSERT INTO {into.table} ({', '.join(into.columns)}) VALUES {', '.join([row] * rows)}"
        " ON CONFLICT DO NOTHING"
    )
