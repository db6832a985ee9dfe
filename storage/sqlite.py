"""The embedded store: one SQLite file through aiosqlite, WAL mode."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.models import (
    DIGEST_STYLES,
    FILTER_ACTIONS,
    FILTER_FIELDS,
    SUMMARY_ENGINES,
    Article,
    ArticleDraft,
    ChannelSettings,
    Community,
    CommunitySettings,
    DigestClaim,
    DigestSchedule,
    Discussion,
    DiscussionActivity,
    Feed,
    FeedFilter,
    MemberPrefs,
    NewReply,
    PeriodCounts,
    Reply,
    ReplyView,
    StatsRow,
)
from bot.store import ConsoleMessage, DuplicateError, StoreError
from storage import migrations
from storage.rows import (
    ARTICLE_COLS,
    CONSOLE_COLS,
    DISCUSSION_COLS,
    FEED_COLS,
    FILTER_COLS,
    MARK_COLS,
    REPLY_COLS,
    SCHEDULE_COLS,
    Rows,
    console_message,
    console_seq,
)
from storage.tables import Kind, Row, Table

_log = logging.getLogger(__name__)

_IN_CHUNK = 500  # stay well under SQLite's bound-parameter limit


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    # isoformat pads the year to four digits (strftime does not below 1000), so text order is time order.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _ts_or_none(value: datetime | None) -> str | None:
    return None if value is None else _ts(value)


def _dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value)  # the "Z" makes it UTC-aware (Python 3.11+)


def _dt_req(value: str) -> datetime:
    parsed = _dt(value)
    assert parsed is not None
    return parsed


_rows = Rows(_dt)


# Errors of the disk or the permissions, not of the file's content.
_NOT_DAMAGE = frozenset({"SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_FULL", "SQLITE_IOERR"})


def _hint(exc: sqlite3.Error) -> str:
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


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


_INSERT_REPLY = (
    "INSERT INTO replies (discussion_id, message_id, author_id, author_name, text, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


class _SomeStoredBefore(Exception):
    """Rolls a batch back: some of its replies were stored before."""


def _first_of_each(batch: Sequence[NewReply]) -> set[int]:
    """Indexes of the first reply of each (discussion, message) in the batch: a later
    copy is a second delivery, reported as not stored."""
    seen: dict[tuple[int, str], int] = {}
    for index, r in enumerate(batch):
        seen.setdefault((r.discussion_id, r.message_id), index)
    return set(seen.values())


class _NoParameters(logging.Filter):
    """aiosqlite logs every call it runs at DEBUG with its arguments: the SQL and the values
    bound to it, which hold a private feed's password and the members' replies. The SQL
    stays in the log; the values never reach it."""

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


def _hide_parameters_in_aiosqlite_log() -> None:
    """Once per process: the filter sits on aiosqlite's own logger, so it holds wherever
    that logger's records go (the CLI's handler, pytest's, an operator's)."""
    library = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _NoParameters) for f in library.filters):
        library.addFilter(_NoParameters())


class SQLiteStore:
    """`bot.store.Store` on one SQLite file.

    One connection serves the process. aiosqlite runs it on its own thread;
    the lock keeps one task's multi-statement unit of work from interleaving
    with another's on that shared connection.
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self._path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------
    async def open(self) -> None:
        _hide_parameters_in_aiosqlite_log()
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self._path}: {exc}") from exc
        self._db = db
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await self._check_integrity(db)
            await db.execute("PRAGMA foreign_keys = ON")
            await self._use_wal(db)
            await db.execute("PRAGMA synchronous = NORMAL")
            await self._migrate()
        except StoreError:
            await self.close()
            raise
        except sqlite3.Error as exc:
            await self.close()
            raise StoreError(f"cannot prepare the database {self._path}: {exc}") from exc

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
            await self._db.close()
            self._db = None

    async def _migrate(self) -> None:
        db = self._conn
        await db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for migration in migrations.load("sqlite"):
            # DDL is transactional in SQLite: a failing migration leaves nothing behind.
            await db.execute("BEGIN IMMEDIATE")
            # Asked inside the write lock: another process may have just applied it.
            done = await db.execute_fetchall(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            )
            if list(done):
                await db.execute("COMMIT")
                continue
            _log.info("applying migration %04d_%s", migration.version, migration.name)
            try:
                for statement in _statements(migration.sql):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, _ts(datetime.now(UTC))),
                )
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def schema_version(self) -> int:
        rows = await self._conn.execute_fetchall("SELECT max(version) FROM schema_migrations")
        return int(next(iter(rows))[0] or 0)

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            db = self._conn
            try:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    # Also when COMMIT itself failed: never leave the shared connection mid-transaction.
                    if db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            await db.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise DuplicateError(str(exc)) from exc
            except sqlite3.Error as exc:
                # Locked, read-only, full or corrupt: the core sees a StoreError, never sqlite3.
                raise StoreError(f"database {self._path}: {exc}{_hint(exc)}") from exc

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreError(f"database {self._path}: {exc}") from exc

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any] | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; returns rows changed."""
        async with self._tx() as db:
            cursor = await db.execute(sql, params)
            return cursor.rowcount

    # -- integrity and backup -------------------------------------------------------
    def _damaged(self, problem: str) -> StoreError:
        path = self._path
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
                raise StoreError(f"cannot use the database {self._path}: {exc}{_hint(exc)}") from exc
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
                await self._conn.backup(copy)
            await asyncio.to_thread(copy.execute, "PRAGMA journal_mode = DELETE")  # one file
            problems = await asyncio.to_thread(lambda: copy.execute("PRAGMA quick_check").fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"backup of {self._path} to {final} failed: {exc}") from exc
        finally:
            await asyncio.to_thread(copy.close)
        if problems != [("ok",)]:
            raise StoreError(f"the backup {partial} does not pass its check: {problems[:3]}")
        await asyncio.to_thread(partial.replace, final)

    # -- articles ---------------------------------------------------------------
    async def save_article(self, key: str, draft: ArticleDraft, now: datetime) -> Article:
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO articles (key, title, url, summary, source, published_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, draft.title, draft.url, draft.summary, draft.source,
                 _ts_or_none(draft.published_at), _ts(now)),
            )  # fmt: skip
            rows = await db.execute_fetchall(f"SELECT {ARTICLE_COLS} FROM articles a WHERE key = ?", (key,))
        return _rows.article(next(iter(rows)))

    async def get_article(self, article_id: int) -> Article | None:
        row = await self._one(f"SELECT {ARTICLE_COLS} FROM articles a WHERE id = ?", (article_id,))
        return None if row is None else _rows.article(row)

    # -- feeds --------------------------------------------------------------------
    async def add_feed(
        self,
        community: Community,
        channel_id: str,
        url: str,
        *,
        prompt: str | None,
        backlog: int,
        interval_seconds: int,
        now: datetime,
    ) -> Feed:
        try:
            async with self._tx() as db:
                cursor = await db.execute(
                    "INSERT INTO feeds (platform, community_id, channel_id, url, prompt, backlog,"
                    " interval_seconds, next_poll_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (community.platform, community.id, channel_id, url, prompt, backlog,
                     interval_seconds, _ts(now), _ts(now)),
                )  # fmt: skip
                feed_id = cursor.lastrowid
        except DuplicateError as exc:
            raise DuplicateError(f"{channel_id} already follows {url}") from exc
        assert feed_id is not None
        feed = await self.get_feed(feed_id)
        assert feed is not None
        return feed

    async def get_feed(self, feed_id: int) -> Feed | None:
        row = await self._one(f"SELECT {FEED_COLS} FROM feeds WHERE id = ?", (feed_id,))
        return None if row is None else _rows.feed(row)

    async def list_feeds(self, community: Community) -> list[Feed]:
        rows = await self._all(
            f"SELECT {FEED_COLS} FROM feeds WHERE platform = ? AND community_id = ? ORDER BY id",
            (community.platform, community.id),
        )
        return [_rows.feed(r) for r in rows]

    async def remove_feed(self, feed_id: int) -> bool:
        async with self._tx() as db:
            # Its discussions keep the feed's name, so stats still say where they came from.
            await db.execute(
                "UPDATE discussions SET removed_feed ="
                " (SELECT coalesce(title, url) FROM feeds WHERE id = ?) WHERE feed_id = ?",
                (feed_id, feed_id),
            )
            cursor = await db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            return cursor.rowcount > 0

    async def due_feeds(self, now: datetime) -> list[Feed]:
        rows = await self._all(
            f"SELECT {FEED_COLS} FROM feeds WHERE next_poll_at <= ? ORDER BY next_poll_at",
            (_ts(now),),
        )
        return [_rows.feed(r) for r in rows]

    async def record_feed_success(
        self,
        feed_id: int,
        *,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime,
        now: datetime,
    ) -> None:
        await self._write(
            "UPDATE feeds SET title = coalesce(?, title), etag = ?, last_modified = ?,"
            " last_success_at = ?, failures = 0, next_poll_at = ?, primed = 1 WHERE id = ?",
            (title, etag, last_modified, _ts(now), _ts(next_poll_at), feed_id),
        )

    async def record_feed_failure(
        self, feed_id: int, *, error: str, next_poll_at: datetime, now: datetime
    ) -> None:
        await self._write(
            "UPDATE feeds SET last_error = ?, last_error_at = ?, failures = failures + 1,"
            " next_poll_at = ? WHERE id = ?",
            (error, _ts(now), _ts(next_poll_at), feed_id),
        )

    async def unseen_item_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        unseen = set(keys)
        for chunk in _chunks(list(dict.fromkeys(keys))):
            rows = await self._all(
                f"SELECT key FROM feed_items WHERE feed_id = ? AND key IN ({_marks(len(chunk))})",
                (feed_id, *chunk),
            )
            unseen.difference_update(r[0] for r in rows)
        return unseen

    async def remember_items(self, feed_id: int, keys: Iterable[str], now: datetime) -> None:
        stamp = _ts(now)
        async with self._tx() as db:
            await db.executemany(
                "INSERT INTO feed_items (feed_id, key, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(feed_id, key, stamp) for key in keys],
            )

    async def count_feed_post(self, feed_id: int) -> None:
        await self._write("UPDATE feeds SET items_posted = items_posted + 1 WHERE id = ?", (feed_id,))

    # -- feed controls ------------------------------------------------------------------
    async def set_feed_template(self, feed_id: int, template: str | None) -> bool:
        return await self._write("UPDATE feeds SET post_template = ? WHERE id = ?", (template, feed_id)) > 0

    async def add_feed_filter(
        self, feed_id: int, *, action: str, pattern: str, field: str, now: datetime
    ) -> FeedFilter | None:
        _check_choice("filter action", action, FILTER_ACTIONS)
        _check_choice("filter field", field, FILTER_FIELDS)
        async with self._tx() as db:
            cursor = await db.execute(
                "INSERT INTO feed_filters (feed_id, action, pattern, field, created_at)"
                " SELECT id, ?, ?, ?, ? FROM feeds WHERE id = ?",
                (action, pattern, field, _ts(now), feed_id),
            )
            if cursor.rowcount == 0:
                return None
            filter_id = cursor.lastrowid
        row = await self._one(f"SELECT {FILTER_COLS} FROM feed_filters WHERE id = ?", (filter_id,))
        assert row is not None
        return _rows.feed_filter(row)

    async def list_feed_filters(self, feed_id: int) -> list[FeedFilter]:
        rows = await self._all(
            f"SELECT {FILTER_COLS} FROM feed_filters WHERE feed_id = ? ORDER BY id", (feed_id,)
        )
        return [_rows.feed_filter(r) for r in rows]

    async def remove_feed_filter(self, feed_id: int, filter_id: int) -> bool:
        return (
            await self._write("DELETE FROM feed_filters WHERE feed_id = ? AND id = ?", (feed_id, filter_id))
            > 0
        )

    async def count_held_back(self, feed_id: int, by_filter: Mapping[int, int], unmatched: int) -> None:
        total = sum(by_filter.values()) + unmatched
        if total == 0:
            return
        async with self._tx() as db:
            await db.execute(
                "UPDATE feeds SET items_held_back = items_held_back + ?, held_unmatched = held_unmatched + ?"
                " WHERE id = ?",
                (total, unmatched, feed_id),
            )
            await db.executemany(
                "UPDATE feed_filters SET held_back = held_back + ? WHERE feed_id = ? AND id = ?",
                [(n, feed_id, filter_id) for filter_id, n in by_filter.items() if n],
            )

    # -- channel settings -----------------------------------------------------------
    async def set_channel_prompt(self, community: Community, channel_id: str, prompt: str | None) -> None:
        await self._write(
            "INSERT INTO channel_settings (platform, community_id, channel_id, prompt)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET prompt = excluded.prompt",
            (community.platform, community.id, channel_id, prompt),
        )

    async def get_channel_settings(self, community: Community, channel_id: str) -> ChannelSettings | None:
        row = await self._one(
            "SELECT prompt, digest_style FROM channel_settings"
            " WHERE platform = ? AND community_id = ? AND channel_id = ?",
            (community.platform, community.id, channel_id),
        )
        return None if row is None else ChannelSettings(community, channel_id, row[0], row[1])

    async def set_digest_style(self, community: Community, channel_id: str, style: str) -> None:
        _check_choice("digest style", style, DIGEST_STYLES)
        await self._write(
            "INSERT INTO channel_settings (platform, community_id, channel_id, digest_style)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET digest_style = excluded.digest_style",
            (community.platform, community.id, channel_id, style),
        )

    # -- community settings -------------------------------------------------------------
    async def get_community_settings(self, community: Community) -> CommunitySettings:
        row = await self._one(
            "SELECT language, summaries FROM community_settings WHERE platform = ? AND community_id = ?",
            (community.platform, community.id),
        )
        return CommunitySettings(community) if row is None else CommunitySettings(community, row[0], row[1])

    async def set_community_language(self, community: Community, language: str | None) -> None:
        await self._write(
            "INSERT INTO community_settings (platform, community_id, language) VALUES (?, ?, ?)"
            " ON CONFLICT DO UPDATE SET language = excluded.language",
            (community.platform, community.id, language),
        )

    async def set_community_summaries(self, community: Community, engine: str) -> None:
        _check_choice("summary engine", engine, SUMMARY_ENGINES)
        await self._write(
            "INSERT INTO community_settings (platform, community_id, summaries) VALUES (?, ?, ?)"
            " ON CONFLICT DO UPDATE SET summaries = excluded.summaries",
            (community.platform, community.id, engine),
        )

    # -- gists (kept clean of deleted, hidden, edited and opted-out words by triggers) ----
    async def save_gist(
        self,
        discussion_id: int,
        period_start: datetime,
        fingerprint: str,
        engine: str,
        text: str,
        now: datetime,
    ) -> None:
        await self._write(
            "INSERT INTO gists (discussion_id, period_start, fingerprint, engine, text, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET engine = excluded.engine, text = excluded.text,"
            " created_at = excluded.created_at",
            (discussion_id, _ts(period_start), fingerprint, engine, text, _ts(now)),
        )

    async def get_gist(
        self, discussion_id: int, period_start: datetime, fingerprint: str
    ) -> tuple[str, str] | None:
        row = await self._one(
            "SELECT engine, text FROM gists WHERE discussion_id = ? AND period_start = ? AND fingerprint = ?",
            (discussion_id, _ts(period_start), fingerprint),
        )
        return None if row is None else (str(row[0]), str(row[1]))

    # -- discussions ------------------------------------------------------------------
    async def begin_discussion(
        self,
        article_id: int,
        community: Community,
        channel_id: str,
        *,
        prompt: str,
        feed_id: int | None,
        now: datetime,
    ) -> Discussion | None:
        async with self._tx() as db:
            cursor = await db.execute(
                "INSERT INTO discussions (article_id, platform, community_id, channel_id, prompt,"
                " state, feed_id, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"
                " ON CONFLICT DO NOTHING",
                (article_id, community.platform, community.id, channel_id, prompt, feed_id, _ts(now)),
            )
            if cursor.rowcount == 0:
                return None
            discussion_id = cursor.lastrowid
        assert discussion_id is not None
        return await self.get_discussion(discussion_id)

    async def confirm_discussion(
        self, discussion_id: int, message_id: str, thread_id: str, now: datetime
    ) -> Discussion:
        await self._write(
            "UPDATE discussions SET message_id = ?, thread_id = ?, state = 'posted', posted_at = ?"
            " WHERE id = ?",
            (message_id, thread_id, _ts(now), discussion_id),
        )
        discussion = await self.get_discussion(discussion_id)
        if discussion is None:
            raise StoreError(f"discussion {discussion_id} vanished while it was confirmed")
        return discussion

    async def abandon_discussion(self, discussion_id: int) -> None:
        await self._write("DELETE FROM discussions WHERE id = ? AND state = 'pending'", (discussion_id,))

    async def get_discussion(self, discussion_id: int) -> Discussion | None:
        row = await self._one(f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE id = ?", (discussion_id,))
        return None if row is None else _rows.discussion(row)

    async def find_discussion(
        self, article_id: int, community: Community, channel_id: str
    ) -> Discussion | None:
        row = await self._one(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE article_id = ? AND platform = ?"
            " AND community_id = ? AND channel_id = ?",
            (article_id, community.platform, community.id, channel_id),
        )
        return None if row is None else _rows.discussion(row)

    async def discussion_for_thread(self, community: Community, thread_id: str) -> Discussion | None:
        row = await self._one(
            f"SELECT {DISCUSSION_COLS} FROM discussions d"
            " WHERE platform = ? AND community_id = ? AND thread_id = ?",
            (community.platform, community.id, thread_id),
        )
        return None if row is None else _rows.discussion(row)

    async def pending_discussions(self) -> list[Discussion]:
        rows = await self._all(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE state = 'pending' ORDER BY id"
        )
        return [_rows.discussion(r) for r in rows]

    async def recent_discussions(self, community: Community, since: datetime) -> list[Discussion]:
        rows = await self._all(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE platform = ? AND community_id = ?"
            " AND state = 'posted' AND posted_at >= ? ORDER BY posted_at DESC",
            (community.platform, community.id, _ts(since)),
        )
        return [_rows.discussion(r) for r in rows]

    # -- replies -------------------------------------------------------------------------
    async def add_reply(
        self,
        discussion_id: int,
        *,
        message_id: str,
        author_id: str,
        author_name: str,
        text: str,
        created_at: datetime,
    ) -> bool:
        async with self._tx() as db:
            cursor = await db.execute(
                "INSERT INTO replies (discussion_id, message_id, author_id, author_name, text,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (discussion_id, message_id, author_id, author_name, text, _ts(created_at)),
            )
            return cursor.rowcount > 0

    async def latest_reply_message_id(self, discussion_id: int) -> str | None:
        row = await self._one(
            "SELECT message_id FROM replies WHERE discussion_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (discussion_id,),
        )
        return None if row is None else str(row[0])

    async def count_anonymous_reply(self, discussion_id: int) -> None:
        await self._write(
            "UPDATE discussions SET anonymous_replies = anonymous_replies + 1 WHERE id = ?",
            (discussion_id,),
        )

    # Led by the message id (indexed), then one check of its discussion.
    _REPLY_IN_COMMUNITY = (
        "message_id = ? AND EXISTS (SELECT 1 FROM discussions d WHERE d.id = replies.discussion_id"
        " AND d.platform = ? AND d.community_id = ?)"
    )

    async def edit_reply(self, community: Community, message_id: str, text: str, edited_at: datetime) -> bool:
        changed = await self._write(
            # A moderator featured the words they read; new words must earn it again.
            # SET sees the old row: the mark stays only when the words did not change.
            "UPDATE replies SET featured = featured AND text = ?, text = ?, edited_at = ?"
            f" WHERE {self._REPLY_IN_COMMUNITY}",
            (text, text, _ts(edited_at), message_id, community.platform, community.id),
        )
        return changed > 0

    async def delete_reply(self, community: Community, message_id: str) -> bool:
        changed = await self._write(
            f"DELETE FROM replies WHERE {self._REPLY_IN_COMMUNITY}",
            (message_id, community.platform, community.id),
        )
        return changed > 0

    async def delete_thread_replies(self, discussion_id: int) -> int:
        return await self._write("DELETE FROM replies WHERE discussion_id = ?", (discussion_id,))

    async def get_reply(self, community: Community, message_id: str) -> Reply | None:
        row = await self._one(
            f"SELECT {REPLY_COLS} FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " WHERE r.message_id = ? AND d.platform = ? AND d.community_id = ?",
            (message_id, community.platform, community.id),
        )
        return None if row is None else _rows.reply(row)

    async def thread_replies(self, discussion_id: int) -> list[tuple[Reply, dict[str, set[str]]]]:
        replies = await self._all(
            f"SELECT {REPLY_COLS} FROM replies r WHERE r.discussion_id = ? ORDER BY r.created_at, r.id",
            (discussion_id,),
        )
        reactions = await self._all(
            "SELECT x.reply_id, x.emoji, x.user_id FROM reactions x JOIN replies r ON r.id = x.reply_id"
            " WHERE r.discussion_id = ?",
            (discussion_id,),
        )
        return _rows.thread_replies(replies, reactions)

    async def set_reaction(
        self, community: Community, message_id: str, user_id: str, emoji: str, present: bool
    ) -> bool:
        async with self._tx() as db:
            rows = list(
                await db.execute_fetchall(
                    f"SELECT id FROM replies WHERE {self._REPLY_IN_COMMUNITY}",
                    (message_id, community.platform, community.id),
                )
            )
            if not rows:
                return False
            reply_id = rows[0][0]
            if present:
                await db.execute(
                    "INSERT INTO reactions (reply_id, user_id, emoji) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (reply_id, user_id, emoji),
                )
            else:
                await db.execute(
                    "DELETE FROM reactions WHERE reply_id = ? AND user_id = ? AND emoji = ?",
                    (reply_id, user_id, emoji),
                )
            return True

    async def clear_reactions(self, community: Community, message_id: str, emoji: str | None) -> int:
        return await self._write(
            "DELETE FROM reactions WHERE (?1 IS NULL OR emoji = ?1) AND reply_id IN"
            " (SELECT r.id FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            "  WHERE r.message_id = ?2 AND d.platform = ?3 AND d.community_id = ?4)",
            (emoji, message_id, community.platform, community.id),
        )

    async def set_reply_flags(
        self,
        community: Community,
        message_id: str,
        *,
        featured: bool | None = None,
        hidden: bool | None = None,
    ) -> bool:
        changed = await self._write(
            "UPDATE replies SET featured = coalesce(?, featured), hidden = coalesce(?, hidden)"
            f" WHERE {self._REPLY_IN_COMMUNITY}",
            (featured, hidden, message_id, community.platform, community.id),
        )
        return changed > 0

    # -- reply batches -----------------------------------------------------------------------
    async def add_replies(self, batch: Sequence[NewReply]) -> list[bool]:
        firsts = _first_of_each(batch)
        rows = [batch[i] for i in sorted(firsts)]
        if not rows:
            return [False] * len(batch)
        values = [(r.discussion_id, r.message_id, r.author_id, r.author_name, r.text, _ts(r.created_at))
                  for r in rows]  # fmt: skip
        try:
            async with self._tx() as db:
                # Usually every row is new: one executemany, and its row count says so.
                cursor = await db.executemany(_INSERT_REPLY, values)
                if cursor.rowcount != len(values):
                    raise _SomeStoredBefore
            return [i in firsts for i in range(len(batch))]
        except _SomeStoredBefore:
            pass
        # Some were stored before (a replayed event, history read back): asked inside the write
        # transaction, so nothing can be stored in between, which ones; then the rest go in.
        known: set[tuple[int, str]] = set()
        async with self._tx() as db:
            for chunk in _chunks([r.message_id for r in rows]):
                found = await db.execute_fetchall(
                    "SELECT discussion_id, message_id FROM replies"
                    f" WHERE message_id IN ({_marks(len(chunk))})",
                    chunk,
                )
                known.update((r[0], r[1]) for r in found)
            await db.executemany(_INSERT_REPLY, [v for v in values if (v[0], v[1]) not in known])
        return [i in firsts and (r.discussion_id, r.message_id) not in known for i, r in enumerate(batch)]

    async def discussions_for_threads(
        self, community: Community, thread_ids: Iterable[str]
    ) -> dict[str, Discussion]:
        found: dict[str, Discussion] = {}
        for chunk in _chunks(sorted(set(thread_ids))):
            rows = await self._all(
                f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE platform = ? AND community_id = ?"
                f" AND thread_id IN ({_marks(len(chunk))})",
                (community.platform, community.id, *chunk),
            )
            found.update((r[6], _rows.discussion(r)) for r in rows)
        return found

    async def prefs_of(self, platform: str, user_ids: Iterable[str]) -> dict[str, MemberPrefs]:
        found: dict[str, MemberPrefs] = {}
        for chunk in _chunks(sorted(set(user_ids))):
            rows = await self._all(
                "SELECT user_id, opted_out, anonymous FROM member_prefs WHERE platform = ?"
                f" AND user_id IN ({_marks(len(chunk))})",
                (platform, *chunk),
            )
            found.update(
                (r[0], MemberPrefs(platform, r[0], opted_out=bool(r[1]), anonymous=bool(r[2]))) for r in rows
            )
        return found

    # -- members ---------------------------------------------------------------------------
    async def get_prefs(self, platform: str, user_id: str) -> MemberPrefs:
        row = await self._one(
            "SELECT opted_out, anonymous FROM member_prefs WHERE platform = ? AND user_id = ?",
            (platform, user_id),
        )
        if row is None:
            return MemberPrefs(platform, user_id)
        return MemberPrefs(platform, user_id, opted_out=bool(row[0]), anonymous=bool(row[1]))

    async def set_prefs(self, prefs: MemberPrefs) -> None:
        await self._write(
            "INSERT INTO member_prefs (platform, user_id, opted_out, anonymous) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET opted_out = excluded.opted_out, anonymous = excluded.anonymous",
            (prefs.platform, prefs.user_id, prefs.opted_out, prefs.anonymous),
        )

    async def member_replies(self, platform: str, user_id: str) -> list[tuple[Reply, Article]]:
        rows = await self._all(
            f"SELECT {REPLY_COLS}, {ARTICLE_COLS} FROM replies r"
            " JOIN discussions d ON d.id = r.discussion_id JOIN articles a ON a.id = d.article_id"
            " WHERE d.platform = ? AND r.author_id = ? ORDER BY r.created_at",
            (platform, user_id),
        )
        return [(_rows.reply(r[:11]), _rows.article(r[11:])) for r in rows]

    async def forget_member(self, platform: str, user_id: str) -> tuple[int, int]:
        in_platform = "(SELECT id FROM discussions WHERE platform = ?)"
        async with self._tx() as db:
            reactions = await db.execute(
                "DELETE FROM reactions WHERE user_id = ? AND reply_id IN"
                f" (SELECT id FROM replies WHERE discussion_id IN {in_platform})",
                (user_id, platform),
            )
            replies = await db.execute(
                f"DELETE FROM replies WHERE author_id = ? AND discussion_id IN {in_platform}",
                (user_id, platform),
            )
            # The opt-out itself is kept: forgetting must not start storing again.
            await db.execute(
                "UPDATE member_prefs SET anonymous = 0 WHERE platform = ? AND user_id = ?",
                (platform, user_id),
            )
            await db.execute(
                "DELETE FROM member_prefs WHERE platform = ? AND user_id = ? AND opted_out = 0",
                (platform, user_id),
            )
            return replies.rowcount, reactions.rowcount

    # -- digests -------------------------------------------------------------------------------
    async def set_digest_schedule(self, schedule: DigestSchedule) -> None:
        c = schedule.community
        await self._write(
            f"INSERT INTO digest_schedules ({SCHEDULE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET weekday = excluded.weekday, at = excluded.at,"
            " timezone = excluded.timezone, enabled = excluded.enabled,"
            " next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at",
            (c.platform, c.id, schedule.channel_id, schedule.weekday,
             schedule.at.isoformat(timespec="minutes"), schedule.timezone, schedule.enabled,
             _ts_or_none(schedule.next_run_at), _ts_or_none(schedule.last_run_at)),
        )  # fmt: skip

    async def digest_schedules(self, community: Community) -> list[DigestSchedule]:
        rows = await self._all(
            f"SELECT {SCHEDULE_COLS} FROM digest_schedules WHERE platform = ? AND community_id = ?"
            " ORDER BY channel_id",
            (community.platform, community.id),
        )
        return [_rows.schedule(r) for r in rows]

    async def disable_digests(self, community: Community) -> int:
        return await self._write(
            "UPDATE digest_schedules SET enabled = 0 WHERE platform = ? AND community_id = ? AND enabled = 1",
            (community.platform, community.id),
        )

    async def advance_digest_schedule(
        self, community: Community, channel_id: str, last_run_at: datetime, next_run_at: datetime
    ) -> None:
        await self._write(
            "UPDATE digest_schedules SET last_run_at = ?, next_run_at = ?"
            " WHERE platform = ? AND community_id = ? AND channel_id = ?",
            (_ts(last_run_at), _ts(next_run_at), community.platform, community.id, channel_id),
        )

    async def due_digest_schedules(self, now: datetime) -> list[DigestSchedule]:
        rows = await self._all(
            f"SELECT {SCHEDULE_COLS} FROM digest_schedules"
            " WHERE enabled = 1 AND next_run_at <= ? ORDER BY next_run_at",
            (_ts(now),),
        )
        return [_rows.schedule(r) for r in rows]

    async def claim_digest(
        self,
        community: Community,
        channel_id: str,
        period_start: datetime,
        period_end: datetime,
        now: datetime,
    ) -> bool:
        changed = await self._write(
            "INSERT INTO digests (platform, community_id, channel_id, period_start, period_end,"
            " state, created_at) VALUES (?, ?, ?, ?, ?, 'claimed', ?) ON CONFLICT DO NOTHING",
            (community.platform, community.id, channel_id, _ts(period_start), _ts(period_end), _ts(now)),
        )
        return changed > 0

    async def confirm_digest(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        await self._write(
            "UPDATE digests SET state = 'posted', message_ids = ?"
            " WHERE platform = ? AND community_id = ? AND channel_id = ? AND period_end = ?",
            (",".join(message_ids), community.platform, community.id, channel_id, _ts(period_end)),
        )

    async def release_digest(self, community: Community, channel_id: str, period_end: datetime) -> None:
        await self._write(
            "DELETE FROM digests WHERE platform = ? AND community_id = ? AND channel_id = ?"
            " AND period_end = ? AND state = 'claimed'",
            (community.platform, community.id, channel_id, _ts(period_end)),
        )

    async def record_digest_messages(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        await self._write(
            "UPDATE digests SET message_ids = ? WHERE platform = ? AND community_id = ?"
            " AND channel_id = ? AND period_end = ? AND state = 'claimed'",
            (",".join(message_ids), community.platform, community.id, channel_id, _ts(period_end)),
        )

    async def unfinished_digests(self, before: datetime) -> list[DigestClaim]:
        rows = await self._all(
            "SELECT platform, community_id, channel_id, period_start, period_end, message_ids, created_at"
            " FROM digests WHERE state = 'claimed' AND created_at < ? ORDER BY created_at, period_end",
            (_ts(before),),
        )
        return [
            DigestClaim(
                Community(r[0], r[1]), r[2], _dt_req(r[3]), _dt_req(r[4]),
                tuple(i for i in r[5].split(",") if i), _dt_req(r[6]),
            )
            for r in rows
        ]  # fmt: skip

    async def activity(
        self, community: Community, start: datetime, end: datetime
    ) -> list[DiscussionActivity]:
        params = (community.platform, community.id, _ts(start), _ts(end))
        # The period's replies first: they name the discussions with replies, which then are
        # read by id rather than by probing every discussion of the community for one.
        marks = await self._all(
            f"SELECT r.discussion_id, {MARK_COLS}, coalesce(p.opted_out, 0), coalesce(p.anonymous, 0)"
            " FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            " WHERE d.platform = ? AND d.community_id = ? AND d.state = 'posted'"
            " AND r.created_at >= ? AND r.created_at < ? ORDER BY r.created_at, r.id",
            params,
        )
        by_discussion = _rows.marks(marks)
        discussions = await self._all(
            f"SELECT {DISCUSSION_COLS}, {ARTICLE_COLS},"
            " (SELECT count(*) FROM replies r WHERE r.discussion_id = d.id)"
            " FROM discussions d JOIN articles a ON a.id = d.article_id"
            " WHERE d.platform = ? AND d.community_id = ? AND d.state = 'posted' AND ("
            "   (d.posted_at >= ?3 AND d.posted_at < ?4) OR d.id IN (SELECT value FROM json_each(?5)))"
            " ORDER BY d.posted_at, d.id",
            (*params, json.dumps(list(by_discussion))),
        )
        return [
            DiscussionActivity(
                discussion=_rows.discussion(row[:13]),
                article=_rows.article(row[13:21]),
                marks=by_discussion.get(row[0], []),
                replies_ever=row[21],
            )
            for row in discussions
        ]

    async def period_replies(
        self, discussion_ids: Collection[int], start: datetime, end: datetime
    ) -> dict[int, list[ReplyView]]:
        if not discussion_ids:
            return {}
        return await self._reply_views(
            "r.discussion_id IN (SELECT value FROM json_each(?)) AND r.created_at >= ? AND r.created_at < ?",
            (json.dumps(sorted(discussion_ids)), _ts(start), _ts(end)),
        )

    async def _reply_views(self, where: str, params: Sequence[Any]) -> dict[int, list[ReplyView]]:
        """Replies matching `where` with their authors' preferences, by discussion, oldest first."""
        rows = await self._all(
            f"SELECT {REPLY_COLS}, coalesce(p.opted_out, 0), coalesce(p.anonymous, 0)"
            " FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            f" WHERE {where} ORDER BY r.created_at, r.id",
            params,
        )
        return _rows.reply_views(rows)

    async def period_counts(self, community: Community, start: datetime, end: datetime) -> PeriodCounts:
        params = (community.platform, community.id, _ts(start), _ts(end))
        articles = await self._one(
            "SELECT count(*) FROM discussions WHERE platform = ? AND community_id = ?"
            " AND state = 'posted' AND posted_at >= ? AND posted_at < ?",
            params,
        )
        replies = await self._one(
            "SELECT count(*), count(DISTINCT r.author_id) FROM replies r"
            " JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            " WHERE d.platform = ? AND d.community_id = ? AND d.state = 'posted'"
            " AND r.created_at >= ? AND r.created_at < ? AND coalesce(p.opted_out, 0) = 0",
            params,
        )
        assert articles is not None and replies is not None
        return PeriodCounts(articles=articles[0], replies=replies[0], participants=replies[1])

    async def first_reply_times(self, community: Community, author_ids: Iterable[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for chunk in _chunks(sorted(set(author_ids))):
            # Per author, the oldest of their replies (index replies_author_created) that is in
            # this community: usually the first one looked at, not every reply of the community.
            rows = await self._all(
                "SELECT w.value, (SELECT r.created_at FROM replies r"
                "  JOIN discussions d ON d.id = r.discussion_id"
                "  WHERE r.author_id = w.value AND d.platform = ? AND d.community_id = ?"
                "  ORDER BY r.created_at LIMIT 1) FROM json_each(?) w",
                (community.platform, community.id, json.dumps(list(chunk))),
            )
            found.update((r[0], _dt_req(r[1])) for r in rows if r[1] is not None)
        return found

    # -- stats and export ---------------------------------------------------------------------------
    async def stats(self, community: Community, since: datetime) -> tuple[list[StatsRow], list[StatsRow]]:
        def query(label: str, group: str) -> str:
            return (
                f"SELECT {label} AS label, count(DISTINCT d.id), count(r.id),"
                " count(DISTINCT r.author_id), count(DISTINCT d.id || ':' || r.author_id)"
                " FROM discussions d LEFT JOIN feeds f ON f.id = d.feed_id"
                # The opt-out test sits in the join so each discussion probes its own replies.
                " LEFT JOIN replies r ON r.discussion_id = d.id AND NOT EXISTS (SELECT 1 FROM"
                "   member_prefs p WHERE p.platform = ?1 AND p.user_id = r.author_id AND p.opted_out = 1)"
                " WHERE d.platform = ?1 AND d.community_id = ?2 AND d.state = 'posted'"
                f" AND d.posted_at >= ?3 GROUP BY {group} ORDER BY count(r.id) DESC, label"
            )

        params = (community.platform, community.id, _ts(since))
        per_feed = await self._all(
            query(
                "coalesce(f.title, f.url, d.removed_feed || ' (removed feed)', 'posted by hand')",
                "d.feed_id, label",  # two feeds with one title stay two rows
            ),
            params,
        )
        per_prompt = await self._all(query("d.prompt", "label"), params)
        return (
            [StatsRow(*r) for r in per_feed],
            [StatsRow(*r) for r in per_prompt],
        )

    async def export(self, community: Community | None) -> list[tuple[Discussion, Article, list[ReplyView]]]:
        where, params = ("", ()) if community is None else (
            " AND d.platform = ? AND d.community_id = ?", (community.platform, community.id)
        )  # fmt: skip
        discussions = await self._all(
            f"SELECT {DISCUSSION_COLS}, {ARTICLE_COLS} FROM discussions d"
            f" JOIN articles a ON a.id = d.article_id WHERE d.state = 'posted'{where}"
            " ORDER BY d.posted_at, d.id",
            params,
        )
        by_discussion = await self._reply_views(f"1 = 1{where}", params)
        return [
            (_rows.discussion(r[:13]), _rows.article(r[13:21]), by_discussion.get(r[0], []))
            for r in discussions
        ]

    # -- whole tables, for migrate-db ------------------------------------------------------------------
    async def count_rows(self, table: Table) -> int:
        row = await self._one(f"SELECT count(*) FROM {table.name}")
        assert row is not None
        return int(row[0])

    async def read_rows(self, table: Table, after: Row | None, limit: int) -> list[Row]:
        sql = table.select_sql(lambda _: "?", after=after is not None)
        keys = () if after is None else tuple(map(_to_column, table.key_kinds(), after))
        rows = await self._all(sql, (*keys, limit))
        return [tuple(map(_from_column, table.kinds, row)) for row in rows]

    async def write_rows(self, table: Table, rows: Sequence[Row]) -> None:
        async with self._tx() as db:
            await db.executemany(
                table.insert_sql(lambda _: "?"), [tuple(map(_to_column, table.kinds, row)) for row in rows]
            )

    async def after_copy(self) -> None:
        """Nothing to do: an INTEGER PRIMARY KEY numbers new rows past the largest id."""

    # -- leases --------------------------------------------------------------------------------------
    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        # One statement under the write lock: two processes cannot both see the lease free.
        changed = await self._write(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, _ts(now + ttl), _ts(now)),
        )
        return changed == 1

    async def release_lease(self, name: str, holder: str) -> bool:
        return await self._write("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)) == 1

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        row = await self._one("SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, _ts(now)))
        return None if row is None else str(row[0])

    # -- catch-up marks ----------------------------------------------------------------------------
    async def catch_up_from(self, discussion_ids: Sequence[int]) -> dict[int, str | None]:
        starts: dict[int, str | None] = {}
        async with self._tx() as db:
            for discussion_id in discussion_ids:
                # A mark left by an unfinished reading wins; else the newest reply becomes the mark.
                await db.execute(
                    "INSERT INTO catchup_marks (discussion_id, after_message_id)"
                    " SELECT ?, (SELECT message_id FROM replies WHERE discussion_id = ?"
                    " ORDER BY created_at DESC, id DESC LIMIT 1) ON CONFLICT DO NOTHING",
                    (discussion_id, discussion_id),
                )
                rows = await db.execute_fetchall(
                    "SELECT after_message_id FROM catchup_marks WHERE discussion_id = ?", (discussion_id,)
                )
                starts[discussion_id] = next(iter(rows))[0]
        return starts

    async def caught_up(self, discussion_id: int) -> None:
        await self._write("DELETE FROM catchup_marks WHERE discussion_id = ?", (discussion_id,))

    # -- the console platform's messages (bot.store.ConsoleStore) ---------------------------
    async def add_console_message(
        self,
        channel: str,
        author: str,
        text: str,
        created_at: datetime,
        *,
        thread: str | None = None,
        opens_thread: bool = False,
        article: str | None = None,
    ) -> ConsoleMessage:
        # The number comes from the table under SQLite's write lock: one sequence for every
        # process on the file (and never a number of a deleted message: those stay as tombstones).
        async with self._tx() as db:
            cursor = await db.execute(
                "INSERT INTO console_messages (channel, author, text, thread, opens_thread, article,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (channel, author, text, thread, int(opens_thread), article, _ts(created_at)),
            )
            seq = cursor.lastrowid
        assert seq is not None
        row = (seq, channel, author, text, thread, opens_thread, article)
        return console_message(row, created_at.astimezone(UTC))

    async def console_message(self, message_id: str) -> ConsoleMessage | None:
        seq = console_seq(message_id)
        if seq is None:
            return None
        row = await self._one(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE seq = ? AND deleted = 0", (seq,)
        )
        if row is None:
            return None
        message = console_message(row, _dt_req(row[7]))
        for emoji, user in await self._all(
            "SELECT emoji, user_id FROM console_reactions WHERE seq = ? ORDER BY rowid", (seq,)
        ):
            message.reactions.setdefault(emoji, []).append(user)
        return message

    async def latest_console_opener(
        self, channel: str | None = None, article: str | None = None
    ) -> ConsoleMessage | None:
        row = await self._one(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE opens_thread = 1 AND deleted = 0"
            " AND (? IS NULL OR channel = ?) AND (? IS NULL OR article = ?) ORDER BY seq DESC LIMIT 1",
            (channel, channel, article, article),
        )
        return None if row is None else console_message(row, _dt_req(row[7]))

    async def console_thread(self, thread: str) -> list[ConsoleMessage]:
        rows = await self._all(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE thread = ? AND deleted = 0 ORDER BY seq",
            (thread,),
        )
        return [console_message(r, _dt_req(r[7])) for r in rows]

    async def edit_console_message(self, message_id: str, text: str) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        return (
            await self._write(
                "UPDATE console_messages SET text = ? WHERE seq = ? AND deleted = 0", (text, seq)
            )
            == 1
        )

    async def delete_console_message(self, message_id: str) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        async with self._tx() as db:
            cursor = await db.execute(
                "UPDATE console_messages SET deleted = 1, text = '' WHERE seq = ? AND deleted = 0", (seq,)
            )
            await db.execute("DELETE FROM console_reactions WHERE seq = ?", (seq,))
            return cursor.rowcount == 1

    async def set_console_reaction(self, message_id: str, emoji: str, user_id: str, present: bool) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        if present:
            sql = (
                "INSERT INTO console_reactions (seq, emoji, user_id) SELECT seq, ?, ? FROM console_messages"
                " WHERE seq = ? AND deleted = 0 ON CONFLICT DO NOTHING"
            )
            return await self._write(sql, (emoji, user_id, seq)) == 1
        sql = "DELETE FROM console_reactions WHERE seq = ? AND emoji = ? AND user_id = ?"
        return await self._write(sql, (seq, emoji, user_id)) == 1

    async def console_time_offset(self) -> float | None:
        row = await self._one("SELECT value FROM console_state WHERE name = 'time_offset'")
        return None if row is None else float(row[0])

    async def set_console_time_offset(self, seconds: float) -> None:
        await self._write(
            "INSERT INTO console_state (name, value) VALUES ('time_offset', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (repr(float(seconds)),),
        )

    async def import_console_messages(
        self, messages: Sequence[ConsoleMessage], next_number: int, time_offset: float
    ) -> bool:
        async with self._tx() as db:
            cursor = await db.execute(
                "INSERT INTO console_state (name, value) VALUES ('imported', 'yes') ON CONFLICT DO NOTHING"
            )
            if cursor.rowcount != 1:
                return False
            numbered = [(console_seq(m.id), m) for m in messages]
            rows = [(seq, m) for seq, m in numbered if seq is not None]
            await db.executemany(
                "INSERT INTO console_messages (seq, channel, author, text, thread, opens_thread, article,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(seq, m.channel, m.author, m.text, m.thread, int(m.opens_thread), m.article,
                  _ts(m.created_at)) for seq, m in rows],
            )  # fmt: skip
            await db.executemany(
                "INSERT INTO console_reactions (seq, emoji, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(seq, e, u) for seq, m in rows for e, users in m.reactions.items() for u in users],
            )
            # Numbers handed out before (messages since deleted) stay used: a tombstone at the top.
            top = max([seq for seq, _ in rows], default=0)
            if next_number - 1 > top:
                await db.execute(
                    "INSERT INTO console_messages (seq, channel, author, text, deleted, created_at)"
                    " VALUES (?, '', '', '', 1, ?) ON CONFLICT DO NOTHING",
                    (next_number - 1, _ts(datetime.now(UTC))),
                )
            await db.execute(
                "INSERT INTO console_state (name, value) VALUES ('time_offset', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (repr(float(time_offset)),),
            )
        return True


def _to_column(kind: Kind, value: object) -> object:
    if value is None:
        return None
    if kind is Kind.TIME:
        assert isinstance(value, datetime)
        return _ts(value)
    if kind is Kind.BOOL:
        return int(bool(value))
    return value


def _from_column(kind: Kind, value: object) -> object:
    if value is None:
        return None
    if kind is Kind.TIME:
        return _dt_req(str(value))
    if kind is Kind.BOOL:
        return bool(value)
    return value


def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, not {value!r}")


def _statements(script: str) -> list[str]:
    """Split a migration into statements, using SQLite's own completeness test."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete statement at the end of a migration: {current[:80]!r}")
    return statements
