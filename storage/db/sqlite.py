"""SQLite through aiosqlite: one file, WAL mode, one connection per process.

aiosqlite runs the connection on its own thread; a lock keeps one task's transaction from
interleaving with another's on that shared connection. Reads outside a transaction take no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.store import DuplicateError, StoreError
from storage.db import migrate
from storage.db.core import (
    NO_PARAMS,
    Engine,
    NewRows,
    Params,
    Plan,
    Row,
    Sql,
    Tx,
    compile_sql,
)
from storage.db.sqlite_calls import (
    Inserts,
    begun,
    committed,
    execute_call,
    fetch_call,
    insert_call,
    many_call,
    nothing,
    on_thread,
    queued,
    read_then_write_call,
    roll_back,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")

# Errors of the disk or the permissions, not of the file's content.
_NOT_DAMAGE = frozenset({"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_FULL", "SQLITE_IOERR"})


def hint(exc: sqlite3.Error) -> str:
    """What an operator can do about a disk or permission error, in plain words."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_FULL":
        return " (the disk is full: free some space; nothing already stored is lost)"
    if name in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM"):
        return (
            " (threadcast must be able to write the file, and to create its -wal and -shm files"
            " beside it: is the file, its directory or the disk read-only?)"
        )
    return ""


class _NoParameters(logging.Filter):
    """aiosqlite logs every call it runs at DEBUG with its arguments: the SQL and the values
    bound to it, which hold a private feed's password and the members' replies. Only the
    call's name stays (the SQL is traced by this module, `sql: …`); the values never reach it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_without_parameters(arg) for arg in record.args)
        return True


def _without_parameters(call: object) -> object:
    if not isinstance(call, functools.partial):
        return call
    name = getattr(call.func, "__name__", type(call.func).__name__)
    sql = next((arg for arg in call.args if isinstance(arg, str)), None)
    return f"{name}({sql!r}, parameters not logged)" if sql is not None else f"{name}(...)"


def hide_parameters_in_aiosqlite_log() -> None:
    """Once per process: the filter sits on aiosqlite's own logger, so it holds wherever
    that logger's records go (the CLI's handler, pytest's, an operator's)."""
    library = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _NoParameters) for f in library.filters):
        library.addFilter(_NoParameters())


def statements(script: str) -> list[str]:
    """Split a migration into statements, using SQLite's own completeness test."""
    found: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete statement at the end of a migration: {current[:80]!r}")
    return found


class _Statements:
    """The statements of `Tx` on the shared connection (the caller holds the lock if it must),
    each one call on the connection's thread."""

    engine: Engine = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, inserts: Inserts) -> None:
        self._open = conn
        self._inserts = inserts

    def _connection(self) -> aiosqlite.Connection:
        return self._open

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await on_thread(self._connection(), work)

    async def fetch(self, sql: Sql, params: Params = NO_PARAMS) -> list[Row]:
        return await self._run(fetch_call(sql, params))

    async def fetch_one(self, sql: Sql, params: Params = NO_PARAMS) -> Row | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: Sql, params: Params = NO_PARAMS) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: Sql, params: Params = NO_PARAMS) -> int:
        return await self._run(execute_call(sql, params))

    async def execute_many(self, sql: Sql, rows: Iterable[Params]) -> None:
        await self._run(many_call(sql, rows))

    async def insert_rows(self, into: NewRows, rows: Sequence[tuple[Any, ...]]) -> int:
        return await self._run(insert_call(into, rows, self._inserts)) if rows else 0

    async def read_then_write(self, sql: Sql, params: Params, plan: Plan) -> int:
        return await self._run(read_then_write_call(sql, params, plan, self._inserts))

    async def run_script(self, script: str) -> None:
        found = statements(script)
        _log.debug("sql: a script of %d statements, first %s", len(found), found[0][:80] if found else "-")

        def run(c: sqlite3.Connection) -> None:
            for statement in found:
                c.execute(statement)

        await self._run(run)


class _Transaction(_Statements):
    """The statements of one write transaction, in as few calls as they allow: BEGIN IMMEDIATE
    goes with the first statement, a statement that returns nothing (`execute_many`) waits for
    the next call, and the COMMIT goes with what still waits. Inside the transaction this changes
    nothing but when an error is seen: all is taken back.

    The COMMIT's call takes the transaction back itself should it fail, so the store's lock is
    let go (`release`) as soon as that call is queued: the next transaction queues its calls
    behind it while it runs, and the connection's thread goes from one to the next."""

    def __init__(self, conn: aiosqlite.Connection, inserts: Inserts, release: Callable[[], None]) -> None:
        super().__init__(conn, inserts)
        self.begun = False
        self.ended = False  # the COMMIT is queued
        self._failed = False
        self._later: list[Callable[[sqlite3.Connection], object]] = []
        self._release = release

    def _check(self) -> None:
        if self.ended:
            raise StoreError("a statement after the end of its transaction")
        if self._failed:
            # As on PostgreSQL: a caller that caught the error goes no further (after a failed
            # BEGIN its statements would run outside any transaction).
            raise StoreError("a statement after one that failed in its transaction")

    def _ahead(self, work: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        """The transaction's next call: its BEGIN if it is the first, the statements waiting
        for it, then `work`."""
        self._check()
        begin, later = not self.begun, self._later
        self.begun, self._later = True, []

        def call(c: sqlite3.Connection) -> T:
            if begin:
                c.execute("BEGIN IMMEDIATE")
            for step in later:
                step(c)
            return work(c)

        return call

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        call = self._ahead(work)
        try:
            return await super()._run(call)
        except BaseException:
            self._failed = True
            raise

    async def execute_many(self, sql: Sql, rows: Iterable[Params]) -> None:
        self._check()
        self._later.append(many_call(sql, rows))

    async def end(self) -> None:
        """COMMIT, with what still waits, unless nothing was begun."""
        if not self.begun and not self._later:
            return
        commit = committed(self._ahead(nothing))
        self.ended = True
        done = queued(self._open, commit)
        self._release()
        await done


class SqliteDb(_Statements):
    """`storage.db.core.Db` on one SQLite file."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._inserts = Inserts()

    @property
    def where(self) -> str:
        return self.path

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    @property
    def connection(self) -> aiosqlite.Connection:
        """The open connection (for tests that trace the SQL run)."""
        return self._connection()

    # -- lifecycle ------------------------------------------------------------
    async def open(self) -> None:
        hide_parameters_in_aiosqlite_log()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        self._db = db
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await self._check_integrity(db)
            await db.execute("PRAGMA foreign_keys = ON")
            await self._use_wal(db)
            await db.execute("PRAGMA synchronous = NORMAL")
            await migrate.migrate(self)
        except StoreError:
            await self.close()
            raise
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(f"cannot prepare the database {self.path}: {exc}") from exc

    async def _use_wal(self, db: aiosqlite.Connection) -> None:
        """Switching a new file to WAL needs every other connection out, and SQLite answers
        "locked" at once rather than calling the busy handler when another process is opening
        the same file; so the switch is retried here, within the same busy timeout."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                await db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    # -- errors and transactions ----------------------------------------------------
    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """The core sees DuplicateError or StoreError, never sqlite3's exceptions."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(str(exc)) from exc
        except sqlite3.Error as exc:
            # Locked, read-only, full or corrupt: the core sees a StoreError, never sqlite3.
            raise StoreError(f"database {self.path}: {exc}{hint(exc)}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        db = self._connection()
        await self._lock.acquire()
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._lock.release()

        tx = _Transaction(db, self._inserts, release)
        try:
            with self._errors():
                try:
                    yield tx
                    await tx.end()
                except BaseException:
                    if not tx.ended:
                        # Also when the task was cancelled while a call was still queued: asked
                        # on the thread, after that call (first in, first out), so the shared
                        # connection is never left mid-transaction. (Once the COMMIT is queued,
                        # its call takes the transaction back itself.)
                        await on_thread(db, roll_back)
                    raise
        finally:
            release()

    async def _alone(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """A call that is a transaction of its own: queued under the lock, so it never lands
        inside another task's transaction, and awaited after it, so the next write can queue
        behind it while it runs."""
        async with self._lock:
            done = queued(self._connection(), work)
        with self._errors():
            return await done

    async def _atomically(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` as one transaction, BEGIN to COMMIT in a single call on the thread."""
        return await self._alone(committed(begun(work)))

    # -- statements on their own: reads straight on the connection, writes as one call each ----
    async def fetch(self, sql: Sql, params: Params = NO_PARAMS) -> list[Row]:
        if compile_sql(sql, "sqlite").writes:
            return await self._atomically(fetch_call(sql, params))
        with self._errors():
            return await super().fetch(sql, params)

    async def execute(self, sql: Sql, params: Params = NO_PARAMS) -> int:
        # One statement is a transaction of its own (the connection autocommits): SQLite takes
        # the write lock as it starts, as BEGIN IMMEDIATE would (waiting out the busy timeout),
        # and takes all of it back if it fails. One call to the connection's thread, not three.
        return await self._alone(execute_call(sql, params))

    async def execute_many(self, sql: Sql, rows: Iterable[Params]) -> None:
        await self._atomically(many_call(sql, rows))

    async def insert_rows(self, into: NewRows, rows: Sequence[tuple[Any, ...]]) -> int:
        return await self._atomically(insert_call(into, rows, self._inserts)) if rows else 0

    async def read_then_write(
        self, sql: Sql, params: Params, plan: Plan, *, staged: Callable[[], None] | None = None
    ) -> int:
        if staged is None:
            return await self._atomically(read_then_write_call(sql, params, plan, self._inserts))

        # Two calls queued together: the writes, then the COMMIT. Once the writes are made the
        # thread has `staged` called on the event loop: under a flood, a turn of the busy loop
        # sooner than this task would (docs/benchmarks.md). The caller's next write is then
        # prepared while this one commits.
        tell = functools.partial(asyncio.get_running_loop().call_soon_threadsafe, staged)
        writes = read_then_write_call(sql, params, plan, self._inserts, tell)
        async with self._lock:
            conn = self._connection()
            written, commit = queued(conn, begun(writes)), queued(conn, committed(nothing))
        with self._errors():
            try:
                added = await written
            except BaseException:
                with contextlib.suppress(Exception):  # the writes were taken back: no COMMIT to make
                    await commit
                raise
            await commit
        return added

    async def run_script(self, script: str) -> None:
        async with self.transaction() as tx:
            await tx.run_script(script)

    def when(self, value: Any) -> datetime | None:
        # The "Z" makes it UTC-aware (Python 3.11+).
        return None if value is None else datetime.fromisoformat(value)

    # -- integrity and backup -------------------------------------------------------
    def _damaged(self, problem: str) -> StoreError:
        path = self.path
        return StoreError(
            f"the database {path} is damaged ({problem}). threadcast will not run on it. Restore it"
            f" from a backup: stop threadcast, move {path} (and {path}-wal, {path}-shm) aside, copy"
            f" the backup (made by `threadcast backup FILE`) to {path}, and start again."
        )

    async def _check_integrity(self, db: aiosqlite.Connection) -> None:
        """`PRAGMA quick_check` before anything is written: a damaged file is refused, not grown."""
        try:
            rows = [str(r[0]) for r in await db.execute_fetchall("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", …
            if getattr(exc, "sqlite_errorname", "") in _NOT_DAMAGE:
                # A whole file on a read-only or full disk: restoring a backup would not help.
                raise StoreError(f"cannot use the database {self.path}: {exc}{hint(exc)}") from exc
            raise self._damaged(str(exc)) from exc
        if rows != ["ok"]:
            raise self._damaged("; ".join(rows[:3]))

    async def backup(self, target: str | Path) -> None:
        """An online copy to `target` through SQLite's backup API: a consistent snapshot (WAL
        content included) taken while this and other processes go on writing. Written beside
        the target and renamed into place, so a cut-off backup never looks complete."""
        final = Path(target)
        partial = final.with_name(final.name + ".partial")
        copy = await asyncio.to_thread(sqlite3.connect, partial, check_same_thread=False)
        try:
            async with self._lock:  # not between another task's statements on this connection
                await self._connection().backup(copy)
            await asyncio.to_thread(copy.execute, "PRAGMA journal_mode = DELETE")  # one file
            problems = await asyncio.to_thread(lambda: copy.execute("PRAGMA quick_check").fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"backup of {self.path} to {final} failed: {exc}") from exc
        finally:
            await asyncio.to_thread(copy.close)
        if problems != [("ok",)]:
            raise StoreError(f"the backup {partial} does not pass its check: {problems[:3]}")
        await asyncio.to_thread(partial.replace, final)
