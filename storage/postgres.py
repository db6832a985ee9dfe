"""The server store: PostgreSQL through an asyncpg connection pool.

It behaves as `SQLiteStore` does in every method (the contract tests run on
both); where SQLite leaves the order of ties to chance, this store breaks them
by id, and text is ordered bytewise (COLLATE "C") as SQLite's BINARY does.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]

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
from bot.redact import mask_url
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
from storage.tables import TABLES, Kind, Row, Table

_log = logging.getLogger(__name__)

# One number for every threadcast process: whoever holds it applies migrations, the others wait.
_MIGRATION_LOCK = int.from_bytes(b"tcastmig", "big")

_DISCUSSION_RETURNING = DISCUSSION_COLS.replace("d.", "")  # for INSERT/UPDATE … RETURNING, no alias
# Led by the message id (indexed), then one check of its discussion; $1 message, $2 platform, $3 community.
_REPLY_IN_COMMUNITY = (
    "message_id = $1 AND EXISTS (SELECT 1 FROM discussions d WHERE d.id = replies.discussion_id"
    " AND d.platform = $2 AND d.community_id = $3)"
)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


_rows = Rows(_utc_or_none)


def _text(value: str) -> str:
    """PostgreSQL text cannot hold U+0000 (SQLite's can): it becomes U+FFFD, not a failed write.

    Only raw text reaches a store with it (the collector drops control characters); a copy
    from SQLite of data written by other means is where it shows.
    """
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _text_or_none(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, not {value!r}")


def _changed(status: str) -> int:
    """Rows touched, from a command tag such as 'INSERT 0 1' or 'DELETE 3'."""
    return int(status.rsplit(" ", 1)[-1])


def _mark(index: int) -> str:
    return f"${index}"


def _to_db(kind: Kind, value: object) -> object:
    if value is not None and kind is Kind.TIME:
        assert isinstance(value, datetime)
        return _utc(value)
    if isinstance(value, str):
        return _text(value)
    return value


class PostgresStore:
    """`bot.store.Store` on a PostgreSQL database.

    Every method borrows a pooled connection for one short transaction (or
    one statement), so several processes and tasks can share the database.
    `server_settings` go to every connection (tests set `search_path` to a
    schema of their own).
    """

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

    # -- lifecycle ------------------------------------------------------------
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
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _migrate(self) -> None:
        async with self._tx() as conn:
            # Taken first: two processes creating the table at once would collide in the catalog.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)"
            )
        for migration in migrations.load("postgres"):
            # DDL is transactional in PostgreSQL: a failing migration leaves nothing behind.
            async with self._tx() as conn:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                # Asked under the lock: another process may have just applied it.
                applied = "SELECT 1 FROM schema_migrations WHERE version = $1"
                if await conn.fetchval(applied, migration.version):
                    continue
                _log.info("applying migration %04d_%s", migration.version, migration.name)
                await conn.execute(migration.sql)  # no arguments: the whole file in one simple query
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
                    migration.version,
                    migration.name,
                )

    async def schema_version(self) -> int:
        row = await self._one("SELECT max(version) FROM schema_migrations")
        return int(row[0] or 0) if row else 0

    # -- plumbing ------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """The core sees DuplicateError or StoreError, never asyncpg's own exceptions."""
        try:
            yield
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise DuplicateError(str(exc)) from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StoreError(f"database {self._where}: {exc}") from exc

    @property
    def _pool_open(self) -> Any:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[Any]:
        pool = self._pool_open
        with self._errors():
            async with pool.acquire() as conn, conn.transaction():
                yield conn

    async def _all(self, sql: str, *args: object) -> list[Sequence[Any]]:
        pool = self._pool_open
        with self._errors():
            rows: list[Sequence[Any]] = await pool.fetch(sql, *args)
        return rows

    async def _one(self, sql: str, *args: object) -> Sequence[Any] | None:
        pool = self._pool_open
        with self._errors():
            row: Sequence[Any] | None = await pool.fetchrow(sql, *args)
        return row

    async def _write(self, sql: str, *args: object) -> int:
        """Run one statement (its own transaction); returns rows changed."""
        pool = self._pool_open
        with self._errors():
            status: str = await pool.execute(sql, *args)
        return _changed(status)

    # -- articles ---------------------------------------------------------------
    async def save_article(self, key: str, draft: ArticleDraft, now: datetime) -> Article:
        async with self._tx() as conn:
            await conn.execute(
                "INSERT INTO articles (key, title, url, summary, source, published_at, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING",
                _text(key), _text(draft.title), _text_or_none(draft.url), _text(draft.summary),
                _text(draft.source), _utc_or_none(draft.published_at), _utc(now),
            )  # fmt: skip
            row = await conn.fetchrow(f"SELECT {ARTICLE_COLS} FROM articles a WHERE key = $1", _text(key))
        return _rows.article(row)

    async def get_article(self, article_id: int) -> Article | None:
        row = await self._one(f"SELECT {ARTICLE_COLS} FROM articles a WHERE id = $1", article_id)
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
            async with self._tx() as conn:
                row = await conn.fetchrow(
                    "INSERT INTO feeds (platform, community_id, channel_id, url, prompt, backlog,"
                    " interval_seconds, next_poll_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
                    f" RETURNING {FEED_COLS}",
                    community.platform, community.id, channel_id, _text(url), _text_or_none(prompt), backlog,
                    interval_seconds, _utc(now),
                )  # fmt: skip
        except DuplicateError as exc:
            raise DuplicateError(f"{channel_id} already follows {url}") from exc
        return _rows.feed(row)

    async def get_feed(self, feed_id: int) -> Feed | None:
        row = await self._one(f"SELECT {FEED_COLS} FROM feeds WHERE id = $1", feed_id)
        return None if row is None else _rows.feed(row)

    async def list_feeds(self, community: Community) -> list[Feed]:
        rows = await self._all(
            f"SELECT {FEED_COLS} FROM feeds WHERE platform = $1 AND community_id = $2 ORDER BY id",
            community.platform,
            community.id,
        )
        return [_rows.feed(r) for r in rows]

    async def remove_feed(self, feed_id: int) -> bool:
        async with self._tx() as conn:
            # Its discussions keep the feed's name, so stats still say where they came from.
            await conn.execute(
                "UPDATE discussions SET removed_feed ="
                " (SELECT coalesce(title, url) FROM feeds WHERE id = $1) WHERE feed_id = $1",
                feed_id,
            )
            status = await conn.execute("DELETE FROM feeds WHERE id = $1", feed_id)
        return _changed(status) > 0

    async def due_feeds(self, now: datetime) -> list[Feed]:
        rows = await self._all(
            f"SELECT {FEED_COLS} FROM feeds WHERE next_poll_at <= $1 ORDER BY next_poll_at, id", _utc(now)
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
            "UPDATE feeds SET title = coalesce($1, title), etag = $2, last_modified = $3,"
            " last_success_at = $4, failures = 0, next_poll_at = $5, primed = true WHERE id = $6",
            _text_or_none(title), _text_or_none(etag), _text_or_none(last_modified), _utc(now),
            _utc(next_poll_at), feed_id,
        )  # fmt: skip

    async def record_feed_failure(
        self, feed_id: int, *, error: str, next_poll_at: datetime, now: datetime
    ) -> None:
        await self._write(
            "UPDATE feeds SET last_error = $1, last_error_at = $2, failures = failures + 1,"
            " next_poll_at = $3 WHERE id = $4",
            _text(error), _utc(now), _utc(next_poll_at), feed_id,
        )  # fmt: skip

    async def unseen_item_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        rows = await self._all(
            "SELECT key FROM feed_items WHERE feed_id = $1 AND key = ANY($2::text[])", feed_id, wanted
        )
        return set(wanted).difference(r[0] for r in rows)

    async def remember_items(self, feed_id: int, keys: Iterable[str], now: datetime) -> None:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return
        await self._write(
            "INSERT INTO feed_items (feed_id, key, seen_at) SELECT $1, k, $3 FROM unnest($2::text[]) AS k"
            " ON CONFLICT DO NOTHING",
            feed_id,
            unique,
            _utc(now),
        )

    async def count_feed_post(self, feed_id: int) -> None:
        await self._write("UPDATE feeds SET items_posted = items_posted + 1 WHERE id = $1", feed_id)

    # -- feed controls ------------------------------------------------------------------
    async def set_feed_template(self, feed_id: int, template: str | None) -> bool:
        changed = await self._write(
            "UPDATE feeds SET post_template = $1 WHERE id = $2", _text_or_none(template), feed_id
        )
        return changed > 0

    async def add_feed_filter(
        self, feed_id: int, *, action: str, pattern: str, field: str, now: datetime
    ) -> FeedFilter | None:
        _check_choice("filter action", action, FILTER_ACTIONS)
        _check_choice("filter field", field, FILTER_FIELDS)
        row = await self._one(
            "INSERT INTO feed_filters (feed_id, action, pattern, field, created_at)"
            f" SELECT id, $2, $3, $4, $5 FROM feeds WHERE id = $1 RETURNING {FILTER_COLS}",
            feed_id, action, _text(pattern), field, _utc(now),
        )  # fmt: skip
        return None if row is None else _rows.feed_filter(row)

    async def list_feed_filters(self, feed_id: int) -> list[FeedFilter]:
        rows = await self._all(
            f"SELECT {FILTER_COLS} FROM feed_filters WHERE feed_id = $1 ORDER BY id", feed_id
        )
        return [_rows.feed_filter(r) for r in rows]

    async def remove_feed_filter(self, feed_id: int, filter_id: int) -> bool:
        return (
            await self._write("DELETE FROM feed_filters WHERE feed_id = $1 AND id = $2", feed_id, filter_id)
            > 0
        )

    async def count_held_back(self, feed_id: int, by_filter: Mapping[int, int], unmatched: int) -> None:
        total = sum(by_filter.values()) + unmatched
        if total == 0:
            return
        async with self._tx() as conn:
            await conn.execute(
                "UPDATE feeds SET items_held_back = items_held_back + $1,"
                " held_unmatched = held_unmatched + $2 WHERE id = $3",
                total, unmatched, feed_id,
            )  # fmt: skip
            await conn.executemany(
                "UPDATE feed_filters SET held_back = held_back + $1 WHERE feed_id = $2 AND id = $3",
                [(n, feed_id, filter_id) for filter_id, n in by_filter.items() if n],
            )

    # -- channel settings -----------------------------------------------------------
    async def set_channel_prompt(self, community: Community, channel_id: str, prompt: str | None) -> None:
        await self._write(
            "INSERT INTO channel_settings (platform, community_id, channel_id, prompt)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (platform, community_id, channel_id)"
            " DO UPDATE SET prompt = excluded.prompt",
            community.platform,
            community.id,
            channel_id,
            _text_or_none(prompt),
        )

    async def get_channel_settings(self, community: Community, channel_id: str) -> ChannelSettings | None:
        row = await self._one(
            "SELECT prompt, digest_style FROM channel_settings"
            " WHERE platform = $1 AND community_id = $2 AND channel_id = $3",
            community.platform,
            community.id,
            channel_id,
        )
        return None if row is None else ChannelSettings(community, channel_id, row[0], row[1])

    async def set_digest_style(self, community: Community, channel_id: str, style: str) -> None:
        _check_choice("digest style", style, DIGEST_STYLES)
        await self._write(
            "INSERT INTO channel_settings (platform, community_id, channel_id, digest_style)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (platform, community_id, channel_id)"
            " DO UPDATE SET digest_style = excluded.digest_style",
            community.platform, community.id, channel_id, style,
        )  # fmt: skip

    # -- community settings -------------------------------------------------------------
    async def get_community_settings(self, community: Community) -> CommunitySettings:
        row = await self._one(
            "SELECT language, summaries FROM community_settings WHERE platform = $1 AND community_id = $2",
            community.platform,
            community.id,
        )
        return CommunitySettings(community) if row is None else CommunitySettings(community, row[0], row[1])

    async def set_community_language(self, community: Community, language: str | None) -> None:
        await self._write(
            "INSERT INTO community_settings (platform, community_id, language) VALUES ($1, $2, $3)"
            " ON CONFLICT (platform, community_id) DO UPDATE SET language = excluded.language",
            community.platform, community.id, _text_or_none(language),
        )  # fmt: skip

    async def set_community_summaries(self, community: Community, engine: str) -> None:
        _check_choice("summary engine", engine, SUMMARY_ENGINES)
        await self._write(
            "INSERT INTO community_settings (platform, community_id, summaries) VALUES ($1, $2, $3)"
            " ON CONFLICT (platform, community_id) DO UPDATE SET summaries = excluded.summaries",
            community.platform, community.id, engine,
        )  # fmt: skip

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
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (discussion_id, period_start, fingerprint) DO UPDATE"
            " SET engine = excluded.engine, text = excluded.text, created_at = excluded.created_at",
            discussion_id, _utc(period_start), _text(fingerprint), _text(engine), _text(text), _utc(now),
        )  # fmt: skip

    async def get_gist(
        self, discussion_id: int, period_start: datetime, fingerprint: str
    ) -> tuple[str, str] | None:
        row = await self._one(
            "SELECT engine, text FROM gists"
            " WHERE discussion_id = $1 AND period_start = $2 AND fingerprint = $3",
            discussion_id, _utc(period_start), _text(fingerprint),
        )  # fmt: skip
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
        row = await self._one(
            "INSERT INTO discussions (article_id, platform, community_id, channel_id, prompt, state,"
            " feed_id, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) ON CONFLICT DO NOTHING"
            f" RETURNING {_DISCUSSION_RETURNING}",
            article_id, community.platform, community.id, channel_id, _text(prompt), feed_id, _utc(now),
        )  # fmt: skip
        return None if row is None else _rows.discussion(row)

    async def confirm_discussion(
        self, discussion_id: int, message_id: str, thread_id: str, now: datetime
    ) -> Discussion:
        row = await self._one(
            "UPDATE discussions SET message_id = $1, thread_id = $2, state = 'posted', posted_at = $3"
            f" WHERE id = $4 RETURNING {_DISCUSSION_RETURNING}",
            message_id, thread_id, _utc(now), discussion_id,
        )  # fmt: skip
        if row is None:
            raise StoreError(f"discussion {discussion_id} vanished while it was confirmed")
        return _rows.discussion(row)

    async def abandon_discussion(self, discussion_id: int) -> None:
        await self._write("DELETE FROM discussions WHERE id = $1 AND state = 'pending'", discussion_id)

    async def get_discussion(self, discussion_id: int) -> Discussion | None:
        row = await self._one(f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE id = $1", discussion_id)
        return None if row is None else _rows.discussion(row)

    async def find_discussion(
        self, article_id: int, community: Community, channel_id: str
    ) -> Discussion | None:
        row = await self._one(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE article_id = $1 AND platform = $2"
            " AND community_id = $3 AND channel_id = $4",
            article_id, community.platform, community.id, channel_id,
        )  # fmt: skip
        return None if row is None else _rows.discussion(row)

    async def discussion_for_thread(self, community: Community, thread_id: str) -> Discussion | None:
        row = await self._one(
            f"SELECT {DISCUSSION_COLS} FROM discussions d"
            " WHERE platform = $1 AND community_id = $2 AND thread_id = $3",
            community.platform, community.id, thread_id,
        )  # fmt: skip
        return None if row is None else _rows.discussion(row)

    async def pending_discussions(self) -> list[Discussion]:
        rows = await self._all(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE state = 'pending' ORDER BY id"
        )
        return [_rows.discussion(r) for r in rows]

    async def recent_discussions(self, community: Community, since: datetime) -> list[Discussion]:
        rows = await self._all(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE platform = $1 AND community_id = $2"
            " AND state = 'posted' AND posted_at >= $3 ORDER BY posted_at DESC, id DESC",
            community.platform, community.id, _utc(since),
        )  # fmt: skip
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
        changed = await self._write(
            "INSERT INTO replies (discussion_id, message_id, author_id, author_name, text, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            discussion_id, message_id, author_id, _text(author_name), _text(text), _utc(created_at),
        )  # fmt: skip
        return changed > 0

    async def latest_reply_message_id(self, discussion_id: int) -> str | None:
        row = await self._one(
            "SELECT message_id FROM replies WHERE discussion_id = $1"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            discussion_id,
        )
        return None if row is None else str(row[0])

    async def count_anonymous_reply(self, discussion_id: int) -> None:
        await self._write(
            "UPDATE discussions SET anonymous_replies = anonymous_replies + 1 WHERE id = $1", discussion_id
        )

    async def edit_reply(self, community: Community, message_id: str, text: str, edited_at: datetime) -> bool:
        changed = await self._write(
            # A moderator featured the words they read; new words must earn it again.
            # SET sees the old row: the mark stays only when the words did not change.
            "UPDATE replies SET featured = featured AND text = $4, text = $4, edited_at = $5"
            f" WHERE {_REPLY_IN_COMMUNITY}",
            message_id, community.platform, community.id, _text(text), _utc(edited_at),
        )  # fmt: skip
        return changed > 0

    async def delete_reply(self, community: Community, message_id: str) -> bool:
        changed = await self._write(
            f"DELETE FROM replies WHERE {_REPLY_IN_COMMUNITY}", message_id, community.platform, community.id
        )
        return changed > 0

    async def delete_thread_replies(self, discussion_id: int) -> int:
        return await self._write("DELETE FROM replies WHERE discussion_id = $1", discussion_id)

    async def get_reply(self, community: Community, message_id: str) -> Reply | None:
        row = await self._one(
            f"SELECT {REPLY_COLS} FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " WHERE r.message_id = $1 AND d.platform = $2 AND d.community_id = $3",
            message_id, community.platform, community.id,
        )  # fmt: skip
        return None if row is None else _rows.reply(row)

    async def thread_replies(self, discussion_id: int) -> list[tuple[Reply, dict[str, set[str]]]]:
        replies = await self._all(
            f"SELECT {REPLY_COLS} FROM replies r WHERE r.discussion_id = $1 ORDER BY r.created_at, r.id",
            discussion_id,
        )
        reactions = await self._all(
            "SELECT x.reply_id, x.emoji, x.user_id FROM reactions x JOIN replies r ON r.id = x.reply_id"
            " WHERE r.discussion_id = $1",
            discussion_id,
        )
        return _rows.thread_replies(replies, reactions)

    async def set_reaction(
        self, community: Community, message_id: str, user_id: str, emoji: str, present: bool
    ) -> bool:
        async with self._tx() as conn:
            reply_id = await conn.fetchval(
                f"SELECT id FROM replies WHERE {_REPLY_IN_COMMUNITY}",
                message_id, community.platform, community.id,
            )  # fmt: skip
            if reply_id is None:
                return False
            if present:
                await conn.execute(
                    "INSERT INTO reactions (reply_id, user_id, emoji) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING",
                    reply_id, user_id, emoji,
                )  # fmt: skip
            else:
                await conn.execute(
                    "DELETE FROM reactions WHERE reply_id = $1 AND user_id = $2 AND emoji = $3",
                    reply_id, user_id, emoji,
                )  # fmt: skip
        return True

    async def clear_reactions(self, community: Community, message_id: str, emoji: str | None) -> int:
        return await self._write(
            "DELETE FROM reactions WHERE ($1::text IS NULL OR emoji = $1) AND reply_id IN"
            " (SELECT r.id FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            "  WHERE r.message_id = $2 AND d.platform = $3 AND d.community_id = $4)",
            emoji, message_id, community.platform, community.id,
        )  # fmt: skip

    async def set_reply_flags(
        self,
        community: Community,
        message_id: str,
        *,
        featured: bool | None = None,
        hidden: bool | None = None,
    ) -> bool:
        changed = await self._write(
            "UPDATE replies SET featured = coalesce($4::boolean, featured),"
            " hidden = coalesce($5::boolean, hidden)"
            f" WHERE {_REPLY_IN_COMMUNITY}",
            message_id, community.platform, community.id, featured, hidden,
        )  # fmt: skip
        return changed > 0

    # -- reply batches -----------------------------------------------------------------------
    async def add_replies(self, batch: Sequence[NewReply]) -> list[bool]:
        firsts: dict[tuple[int, str], int] = {}
        for index, r in enumerate(batch):
            firsts.setdefault((r.discussion_id, r.message_id), index)  # a later copy is a second delivery
        rows = [batch[i] for i in sorted(firsts.values())]
        if not rows:
            return [False] * len(batch)
        # One statement over arrays: a single round trip, and RETURNING says which rows were new.
        new = await self._all(
            "INSERT INTO replies (discussion_id, message_id, author_id, author_name, text, created_at)"
            " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],"
            " $6::timestamptz[]) ON CONFLICT DO NOTHING RETURNING discussion_id, message_id",
            [r.discussion_id for r in rows], [r.message_id for r in rows], [r.author_id for r in rows],
            [_text(r.author_name) for r in rows], [_text(r.text) for r in rows],
            [_utc(r.created_at) for r in rows],
        )  # fmt: skip
        stored = {(r[0], r[1]) for r in new}
        return [firsts[(r.discussion_id, r.message_id)] == i and (r.discussion_id, r.message_id) in stored
                for i, r in enumerate(batch)]  # fmt: skip

    async def discussions_for_threads(
        self, community: Community, thread_ids: Iterable[str]
    ) -> dict[str, Discussion]:
        wanted = sorted(set(thread_ids))
        if not wanted:
            return {}
        rows = await self._all(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE platform = $1 AND community_id = $2"
            " AND thread_id = ANY($3::text[])",
            community.platform, community.id, wanted,
        )  # fmt: skip
        return {r[6]: _rows.discussion(r) for r in rows}

    async def prefs_of(self, platform: str, user_ids: Iterable[str]) -> dict[str, MemberPrefs]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        rows = await self._all(
            "SELECT user_id, opted_out, anonymous FROM member_prefs"
            " WHERE platform = $1 AND user_id = ANY($2::text[])",
            platform, wanted,
        )  # fmt: skip
        return {r[0]: MemberPrefs(platform, r[0], opted_out=r[1], anonymous=r[2]) for r in rows}

    # -- members ---------------------------------------------------------------------------
    async def get_prefs(self, platform: str, user_id: str) -> MemberPrefs:
        row = await self._one(
            "SELECT opted_out, anonymous FROM member_prefs WHERE platform = $1 AND user_id = $2",
            platform,
            user_id,
        )
        if row is None:
            return MemberPrefs(platform, user_id)
        return MemberPrefs(platform, user_id, opted_out=row[0], anonymous=row[1])

    async def set_prefs(self, prefs: MemberPrefs) -> None:
        await self._write(
            "INSERT INTO member_prefs (platform, user_id, opted_out, anonymous) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (platform, user_id) DO UPDATE"
            " SET opted_out = excluded.opted_out, anonymous = excluded.anonymous",
            prefs.platform, prefs.user_id, prefs.opted_out, prefs.anonymous,
        )  # fmt: skip

    async def member_replies(self, platform: str, user_id: str) -> list[tuple[Reply, Article]]:
        rows = await self._all(
            f"SELECT {REPLY_COLS}, {ARTICLE_COLS} FROM replies r"
            " JOIN discussions d ON d.id = r.discussion_id JOIN articles a ON a.id = d.article_id"
            " WHERE d.platform = $1 AND r.author_id = $2 ORDER BY r.created_at, r.id",
            platform,
            user_id,
        )
        return [(_rows.reply(r[:11]), _rows.article(r[11:])) for r in rows]

    async def forget_member(self, platform: str, user_id: str) -> tuple[int, int]:
        in_platform = "(SELECT id FROM discussions WHERE platform = $2)"
        async with self._tx() as conn:
            reactions = await conn.execute(
                "DELETE FROM reactions WHERE user_id = $1 AND reply_id IN"
                f" (SELECT id FROM replies WHERE discussion_id IN {in_platform})",
                user_id, platform,
            )  # fmt: skip
            replies = await conn.execute(
                f"DELETE FROM replies WHERE author_id = $1 AND discussion_id IN {in_platform}",
                user_id, platform,
            )  # fmt: skip
            # The opt-out itself is kept: forgetting must not start storing again.
            await conn.execute(
                "UPDATE member_prefs SET anonymous = false WHERE platform = $1 AND user_id = $2",
                platform, user_id,
            )  # fmt: skip
            await conn.execute(
                "DELETE FROM member_prefs WHERE platform = $1 AND user_id = $2 AND NOT opted_out",
                platform, user_id,
            )  # fmt: skip
        return _changed(replies), _changed(reactions)

    # -- digests -------------------------------------------------------------------------------
    async def set_digest_schedule(self, schedule: DigestSchedule) -> None:
        c = schedule.community
        await self._write(
            f"INSERT INTO digest_schedules ({SCHEDULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (platform, community_id, channel_id) DO UPDATE SET weekday = excluded.weekday,"
            " at = excluded.at, timezone = excluded.timezone, enabled = excluded.enabled,"
            " next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at",
            c.platform, c.id, schedule.channel_id, schedule.weekday,
            schedule.at.isoformat(timespec="minutes"), schedule.timezone, schedule.enabled,
            _utc_or_none(schedule.next_run_at), _utc_or_none(schedule.last_run_at),
        )  # fmt: skip

    async def digest_schedules(self, community: Community) -> list[DigestSchedule]:
        rows = await self._all(
            f"SELECT {SCHEDULE_COLS} FROM digest_schedules WHERE platform = $1 AND community_id = $2"
            ' ORDER BY channel_id COLLATE "C"',
            community.platform,
            community.id,
        )
        return [_rows.schedule(r) for r in rows]

    async def disable_digests(self, community: Community) -> int:
        return await self._write(
            "UPDATE digest_schedules SET enabled = false"
            " WHERE platform = $1 AND community_id = $2 AND enabled",
            community.platform,
            community.id,
        )

    async def advance_digest_schedule(
        self, community: Community, channel_id: str, last_run_at: datetime, next_run_at: datetime
    ) -> None:
        await self._write(
            "UPDATE digest_schedules SET last_run_at = $1, next_run_at = $2"
            " WHERE platform = $3 AND community_id = $4 AND channel_id = $5",
            _utc(last_run_at), _utc(next_run_at), community.platform, community.id, channel_id,
        )  # fmt: skip

    async def due_digest_schedules(self, now: datetime) -> list[DigestSchedule]:
        rows = await self._all(
            f"SELECT {SCHEDULE_COLS} FROM digest_schedules WHERE enabled AND next_run_at <= $1"
            ' ORDER BY next_run_at, platform COLLATE "C", community_id COLLATE "C", channel_id COLLATE "C"',
            _utc(now),
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
            "INSERT INTO digests (platform, community_id, channel_id, period_start, period_end, state,"
            " created_at) VALUES ($1, $2, $3, $4, $5, 'claimed', $6) ON CONFLICT DO NOTHING",
            community.platform, community.id, channel_id, _utc(period_start), _utc(period_end), _utc(now),
        )  # fmt: skip
        return changed > 0

    async def confirm_digest(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        await self._write(
            "UPDATE digests SET state = 'posted', message_ids = $1"
            " WHERE platform = $2 AND community_id = $3 AND channel_id = $4 AND period_end = $5",
            ",".join(message_ids), community.platform, community.id, channel_id, _utc(period_end),
        )  # fmt: skip

    async def release_digest(self, community: Community, channel_id: str, period_end: datetime) -> None:
        await self._write(
            "DELETE FROM digests WHERE platform = $1 AND community_id = $2 AND channel_id = $3"
            " AND period_end = $4 AND state = 'claimed'",
            community.platform, community.id, channel_id, _utc(period_end),
        )  # fmt: skip

    async def record_digest_messages(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        await self._write(
            "UPDATE digests SET message_ids = $1 WHERE platform = $2 AND community_id = $3"
            " AND channel_id = $4 AND period_end = $5 AND state = 'claimed'",
            ",".join(message_ids), community.platform, community.id, channel_id, _utc(period_end),
        )  # fmt: skip

    async def unfinished_digests(self, before: datetime) -> list[DigestClaim]:
        rows = await self._all(
            "SELECT platform, community_id, channel_id, period_start, period_end, message_ids, created_at"
            " FROM digests WHERE state = 'claimed' AND created_at < $1 ORDER BY created_at, period_end",
            _utc(before),
        )
        return [
            DigestClaim(Community(r[0], r[1]), r[2], r[3], r[4], tuple(i for i in r[5].split(",") if i), r[6])
            for r in rows
        ]

    async def activity(
        self, community: Community, start: datetime, end: datetime
    ) -> list[DiscussionActivity]:
        params = (community.platform, community.id, _utc(start), _utc(end))
        # The period's replies first: they name the discussions with replies, which then are
        # read by id rather than by probing every discussion of the community for one.
        marks = await self._all(
            f"SELECT r.discussion_id, {MARK_COLS},"
            " coalesce(p.opted_out, false), coalesce(p.anonymous, false)"
            " FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            " WHERE d.platform = $1 AND d.community_id = $2 AND d.state = 'posted'"
            " AND r.created_at >= $3 AND r.created_at < $4 ORDER BY r.created_at, r.id",
            *params,
        )
        by_discussion = _rows.marks(marks)
        discussions = await self._all(
            f"SELECT {DISCUSSION_COLS}, {ARTICLE_COLS},"
            " (SELECT count(*) FROM replies r WHERE r.discussion_id = d.id)"
            " FROM discussions d JOIN articles a ON a.id = d.article_id"
            " WHERE d.platform = $1 AND d.community_id = $2 AND d.state = 'posted' AND ("
            "   (d.posted_at >= $3 AND d.posted_at < $4) OR d.id = ANY($5::bigint[]))"
            " ORDER BY d.posted_at, d.id",
            *params, list(by_discussion),
        )  # fmt: skip
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
            "r.discussion_id = ANY($1::bigint[]) AND r.created_at >= $2 AND r.created_at < $3",
            (sorted(discussion_ids), _utc(start), _utc(end)),
        )

    async def _reply_views(self, where: str, params: Sequence[object]) -> dict[int, list[ReplyView]]:
        """Replies matching `where` with their authors' preferences, by discussion, oldest first."""
        rows = await self._all(
            f"SELECT {REPLY_COLS}, coalesce(p.opted_out, false), coalesce(p.anonymous, false)"
            " FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            f" WHERE {where} ORDER BY r.created_at, r.id",
            *params,
        )
        return _rows.reply_views(rows)

    async def period_counts(self, community: Community, start: datetime, end: datetime) -> PeriodCounts:
        params = (community.platform, community.id, _utc(start), _utc(end))
        articles = await self._one(
            "SELECT count(*) FROM discussions WHERE platform = $1 AND community_id = $2"
            " AND state = 'posted' AND posted_at >= $3 AND posted_at < $4",
            *params,
        )
        replies = await self._one(
            "SELECT count(*), count(DISTINCT r.author_id) FROM replies r"
            " JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            " WHERE d.platform = $1 AND d.community_id = $2 AND d.state = 'posted'"
            " AND r.created_at >= $3 AND r.created_at < $4 AND NOT coalesce(p.opted_out, false)",
            *params,
        )
        assert articles is not None and replies is not None
        return PeriodCounts(articles=articles[0], replies=replies[0], participants=replies[1])

    async def first_reply_times(self, community: Community, author_ids: Iterable[str]) -> dict[str, datetime]:
        wanted = sorted(set(author_ids))
        if not wanted:
            return {}
        # Per author, the oldest of their replies (index replies_author_created) that is in
        # this community: usually the first one looked at, not every reply of the community.
        rows = await self._all(
            "SELECT w.author_id, (SELECT r.created_at FROM replies r"
            "  JOIN discussions d ON d.id = r.discussion_id"
            "  WHERE r.author_id = w.author_id AND d.platform = $1 AND d.community_id = $2"
            "  ORDER BY r.created_at LIMIT 1) FROM unnest($3::text[]) AS w(author_id)",
            community.platform, community.id, wanted,
        )  # fmt: skip
        return {r[0]: r[1] for r in rows if r[1] is not None}

    # -- stats and export ---------------------------------------------------------------------------
    async def stats(self, community: Community, since: datetime) -> tuple[list[StatsRow], list[StatsRow]]:
        def query(label: str, group: str) -> str:
            return (
                f'SELECT ({label}) COLLATE "C" AS label, count(DISTINCT d.id), count(r.id),'
                " count(DISTINCT r.author_id), count(DISTINCT (d.id || ':' || r.author_id))"
                " FROM discussions d LEFT JOIN feeds f ON f.id = d.feed_id"
                # The opt-out test sits in the join so each discussion probes its own replies.
                " LEFT JOIN replies r ON r.discussion_id = d.id AND NOT EXISTS (SELECT 1 FROM"
                "   member_prefs p WHERE p.platform = $1 AND p.user_id = r.author_id AND p.opted_out)"
                " WHERE d.platform = $1 AND d.community_id = $2 AND d.state = 'posted'"
                f" AND d.posted_at >= $3 GROUP BY {group} ORDER BY count(r.id) DESC, label"
            )

        params = (community.platform, community.id, _utc(since))
        per_feed = await self._all(
            query(
                "coalesce(f.title, f.url, d.removed_feed || ' (removed feed)', 'posted by hand')",
                "d.feed_id, label",  # two feeds with one title stay two rows
            ),
            *params,
        )
        per_prompt = await self._all(query("d.prompt", "label"), *params)
        return (
            [StatsRow(*r) for r in per_feed],
            [StatsRow(*r) for r in per_prompt],
        )

    async def export(self, community: Community | None) -> list[tuple[Discussion, Article, list[ReplyView]]]:
        where, params = ("", ()) if community is None else (
            " AND d.platform = $1 AND d.community_id = $2", (community.platform, community.id)
        )  # fmt: skip
        discussions = await self._all(
            f"SELECT {DISCUSSION_COLS}, {ARTICLE_COLS} FROM discussions d"
            f" JOIN articles a ON a.id = d.article_id WHERE d.state = 'posted'{where}"
            " ORDER BY d.posted_at, d.id",
            *params,
        )
        by_discussion = await self._reply_views(f"true{where}", params)
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
        sql = table.select_sql(_mark, after=after is not None)
        keys = () if after is None else tuple(map(_to_db, table.key_kinds(), after))
        return [tuple(r) for r in await self._all(sql, *keys, limit)]

    async def write_rows(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        kinds = table.kinds
        async with self._tx() as conn:
            await conn.executemany(
                table.insert_sql(_mark),
                [tuple(map(_to_db, kinds, row)) for row in rows],
            )

    async def after_copy(self) -> None:
        async with self._tx() as conn:
            for table in TABLES:
                if table.identity:
                    # The next id follows the largest copied one (or starts at 1 in an empty table).
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.identity}'),"
                        f" coalesce(max({table.identity}), 0) + 1, false) FROM {table.name}"
                    )

    # -- leases --------------------------------------------------------------------------------------
    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        # One statement: the conflicting row is locked while its WHERE is checked, so two
        # processes cannot both take a free or expired lease.
        row = await self._one(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= $4"
            " RETURNING holder",
            name,
            holder,
            _utc(now + ttl),
            _utc(now),
        )
        return row is not None

    async def release_lease(self, name: str, holder: str) -> bool:
        return await self._write("DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder) == 1

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        row = await self._one(
            "SELECT holder FROM leases WHERE name = $1 AND expires_at > $2", name, _utc(now)
        )
        return None if row is None else str(row[0])

    # -- catch-up marks ----------------------------------------------------------------------------
    async def catch_up_from(self, discussion_ids: Sequence[int]) -> dict[int, str | None]:
        async with self._tx() as conn:
            # A mark left by an unfinished reading wins; else the newest reply becomes the mark.
            await conn.execute(
                "INSERT INTO catchup_marks (discussion_id, after_message_id)"
                " SELECT d.id, (SELECT r.message_id FROM replies r WHERE r.discussion_id = d.id"
                " ORDER BY r.created_at DESC, r.id DESC LIMIT 1)"
                " FROM unnest($1::bigint[]) AS d (id) ON CONFLICT DO NOTHING",
                list(discussion_ids),
            )
            rows = await conn.fetch(
                "SELECT discussion_id, after_message_id FROM catchup_marks"
                " WHERE discussion_id = ANY($1::bigint[])",
                list(discussion_ids),
            )
        return {int(r[0]): r[1] for r in rows}

    async def caught_up(self, discussion_id: int) -> None:
        await self._write("DELETE FROM catchup_marks WHERE discussion_id = $1", discussion_id)

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
        # The number comes from the table's sequence: one for every process on the database.
        row = await self._one(
            "INSERT INTO console_messages (channel, author, text, thread, opens_thread, article, created_at)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {CONSOLE_COLS}",
            _text(channel), _text(author), _text(text), _text_or_none(thread), opens_thread,
            _text_or_none(article), _utc(created_at),
        )  # fmt: skip
        assert row is not None
        return console_message(row, row[7])

    async def console_message(self, message_id: str) -> ConsoleMessage | None:
        seq = console_seq(message_id)
        if seq is None:
            return None
        row = await self._one(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE seq = $1 AND NOT deleted", seq
        )
        if row is None:
            return None
        message = console_message(row, row[7])
        for emoji, user in await self._all(
            "SELECT emoji, user_id FROM console_reactions WHERE seq = $1 ORDER BY ctid", seq
        ):
            message.reactions.setdefault(emoji, []).append(user)
        return message

    async def latest_console_opener(
        self, channel: str | None = None, article: str | None = None
    ) -> ConsoleMessage | None:
        row = await self._one(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE opens_thread AND NOT deleted"
            " AND ($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR article = $2)"
            " ORDER BY seq DESC LIMIT 1",
            channel,
            article,
        )
        return None if row is None else console_message(row, row[7])

    async def console_thread(self, thread: str) -> list[ConsoleMessage]:
        rows = await self._all(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE thread = $1 AND NOT deleted ORDER BY seq",
            thread,
        )
        return [console_message(r, r[7]) for r in rows]

    async def edit_console_message(self, message_id: str, text: str) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        changed = await self._write(
            "UPDATE console_messages SET text = $1 WHERE seq = $2 AND NOT deleted", _text(text), seq
        )
        return changed == 1

    async def delete_console_message(self, message_id: str) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        async with self._tx() as conn:
            status = await conn.execute(
                "UPDATE console_messages SET deleted = true, text = '' WHERE seq = $1 AND NOT deleted", seq
            )
            await conn.execute("DELETE FROM console_reactions WHERE seq = $1", seq)
        return _changed(status) == 1

    async def set_console_reaction(self, message_id: str, emoji: str, user_id: str, present: bool) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        if present:
            sql = (
                "INSERT INTO console_reactions (seq, emoji, user_id) SELECT seq, $1, $2 FROM console_messages"
                " WHERE seq = $3 AND NOT deleted ON CONFLICT DO NOTHING"
            )
            return await self._write(sql, _text(emoji), _text(user_id), seq) == 1
        sql = "DELETE FROM console_reactions WHERE seq = $1 AND emoji = $2 AND user_id = $3"
        return await self._write(sql, seq, emoji, user_id) == 1

    async def console_time_offset(self) -> float | None:
        row = await self._one("SELECT value FROM console_state WHERE name = 'time_offset'")
        return None if row is None else float(row[0])

    async def set_console_time_offset(self, seconds: float) -> None:
        await self._write(
            "INSERT INTO console_state (name, value) VALUES ('time_offset', $1)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            repr(float(seconds)),
        )

    async def import_console_messages(
        self, messages: Sequence[ConsoleMessage], next_number: int, time_offset: float
    ) -> bool:
        async with self._tx() as conn:
            status = await conn.execute(
                "INSERT INTO console_state (name, value) VALUES ('imported', 'yes') ON CONFLICT DO NOTHING"
            )
            if _changed(status) != 1:
                return False
            numbered = [(console_seq(m.id), m) for m in messages]
            rows = [(seq, m) for seq, m in numbered if seq is not None]
            await conn.executemany(
                "INSERT INTO console_messages (seq, channel, author, text, thread, opens_thread, article,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                [(seq, _text(m.channel), _text(m.author), _text(m.text), _text_or_none(m.thread),
                  m.opens_thread, _text_or_none(m.article), _utc(m.created_at)) for seq, m in rows],
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO console_reactions (seq, emoji, user_id) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                [(seq, _text(e), _text(u)) for seq, m in rows for e, who in m.reactions.items() for u in who],
            )
            # The sequence goes on past every number handed out before (also of deleted messages).
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('console_messages', 'seq'),"
                " greatest((SELECT coalesce(max(seq), 0) FROM console_messages), $1::bigint - 1) + 1, false)",
                next_number,
            )
            await conn.execute(
                "INSERT INTO console_state (name, value) VALUES ('time_offset', $1)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                repr(float(time_offset)),
            )
        return True
