"""`threadcast migrate-db`: every table copied between stores, ids kept, counts verified.

A community's week (the demo generator) plus feeds, seen items, a removed
feed, a pending post, channel prompts, schedules and digests goes SQLite →
PostgreSQL → SQLite and must come back the same, through the Store protocol
and row for row.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.demo.week import populate_week
from bot.models import ArticleDraft, Community, DigestSchedule
from bot.store import ConsoleStore, Store
from storage.copy import TargetNotEmpty, copy_tables, plan_copy
from storage.store import SQLiteStore
from storage.tables import TABLES, Kind, Row, TableStore
from tests.postgres import Schema, fresh_schema
from threadcast.cli import main

COMMUNITY = Community("discord", "guild-1")
END = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
D = timedelta(days=1)


@pytest.fixture
async def pg() -> AsyncIterator[Schema]:
    async with fresh_schema() as schema:
        yield schema


async def opened(store: TableStore) -> TableStore:
    await store.open()
    return store


async def fill(store: Store) -> None:
    """Something in every table, and the awkward cases: a removed feed, a pending post, a claim."""
    await populate_week(store, COMMUNITY, "news", end=END, articles=6, replies=90, seed=3)
    feed = await store.add_feed(
        COMMUNITY, "news", "https://gazette.example/feed", prompt="Your take on {title}?", backlog=2,
        interval_seconds=900, now=END - 3 * D,
    )  # fmt: skip
    await store.record_feed_success(
        feed.id, title="Gazette", etag='"v1"', last_modified="Mon, 02 Nov 2026 15:00:00 GMT",
        next_poll_at=END + timedelta(minutes=15), now=END,
    )  # fmt: skip
    await store.remember_items(feed.id, [f"https://gazette.example/{i}" for i in range(25)], END - D)
    await store.set_feed_template(feed.id, "title,link,prompt")
    rule = await store.add_feed_filter(
        feed.id, action="exclude", pattern="/sponsor(ed)?/", field="title", now=END
    )
    assert rule is not None
    await store.count_held_back(feed.id, {rule.id: 2}, 1)
    gone = await store.add_feed(
        COMMUNITY, "news", "https://gone.example/feed", prompt=None, backlog=0, interval_seconds=600, now=END
    )
    await store.record_feed_failure(gone.id, error="HTTP 500", next_poll_at=END + D, now=END)
    for key, feed_id in (("from-gazette", feed.id), ("from-gone", gone.id)):
        draft = ArticleDraft(f"About {key}", f"https://news.example/{key}", "Summary", "News", END - 2 * D)
        article = await store.save_article(key, draft, END - D)
        begun = await store.begin_discussion(
            article.id, COMMUNITY, "news", prompt="p", feed_id=feed_id, now=END
        )
        assert begun is not None
        await store.confirm_discussion(begun.id, f"m-{key}", f"t-{key}", END)
        await store.catch_up_from([begun.id])  # a catch-up cut off: its marks stay
    await store.remove_feed(gone.id)  # its discussion keeps the feed's name
    assert isinstance(store, ConsoleStore)  # the console's messages, a reaction, a deleted one, its time
    post = await store.add_console_message(
        "news", "threadcast", "A post", END, opens_thread=True, article="k"
    )
    reply = await store.add_console_message("news", "ann", "A reply", END, thread=post.id)
    await store.set_console_reaction(reply.id, "👍", "bob", True)
    await store.delete_console_message((await store.add_console_message("news", "ann", "Gone", END)).id)
    await store.set_console_time_offset(3600.0)
    waiting = await store.save_article("waiting", ArticleDraft("Waiting", None, "S", "News"), END)
    assert await store.begin_discussion(waiting.id, COMMUNITY, "other", prompt="p", feed_id=None, now=END)
    await store.set_channel_prompt(COMMUNITY, "news", "What happened to you?")
    await store.set_digest_schedule(
        DigestSchedule(COMMUNITY, "digest", 0, time(9, 0), "Europe/Paris", True, END + 7 * D, END)
    )
    await store.set_digest_schedule(
        DigestSchedule(COMMUNITY, "quiet", 4, time(17, 30), "UTC", False, None, None)
    )
    assert await store.claim_digest(COMMUNITY, "digest", END - 7 * D, END, END)
    await store.confirm_digest(COMMUNITY, "digest", END, ["d-1", "d-2"])
    assert await store.claim_digest(COMMUNITY, "digest", END, END + 7 * D, END + 7 * D)  # claimed only
    assert await store.acquire_lease("scheduler", "host:1:a", END, timedelta(seconds=90))
    await store.set_digest_style(COMMUNITY, "digest", "full")
    await store.set_community_language(COMMUNITY, "de")
    await store.set_community_summaries(COMMUNITY, "model")
    for discussion in await store.recent_discussions(COMMUNITY, END - 30 * D):
        await store.save_gist(discussion.id, END - 7 * D, "fp", "builtin", f"Gist {discussion.id}", END)


async def every_row(store: TableStore) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for table in TABLES:
        rows: list[Row] = []
        while batch := await store.read_rows(table, table.key_of(rows[-1]) if rows else None, 50):
            rows += batch
        found[table.name] = sorted(rows, key=repr)  # engines order text keys by their own collation
    return found


async def seen_by_the_core(store: Store) -> tuple[object, ...]:
    return (
        await store.export(None),
        await store.list_feeds(COMMUNITY),
        await store.pending_discussions(),
        await store.digest_schedules(COMMUNITY),
        await store.stats(COMMUNITY, END - 30 * D),
        await store.activity(COMMUNITY, END - 7 * D, END),
        await store.period_counts(COMMUNITY, END - 7 * D, END),
        await store.get_channel_settings(COMMUNITY, "news"),
        await store.get_channel_settings(COMMUNITY, "digest"),
        await store.get_community_settings(COMMUNITY),
    )


async def test_sqlite_to_postgres_to_sqlite_keeps_everything(tmp_path: Path, pg: Schema) -> None:
    first = await opened(SQLiteStore(tmp_path / "first.db"))
    middle = await opened(pg.store())
    last = await opened(SQLiteStore(tmp_path / "last.db"))
    try:
        await fill(first)
        planned = await plan_copy(first, middle)
        assert all(planned.values()), planned  # every table has rows to copy
        moved: list[int] = []
        counts = await copy_tables(first, middle, batch=7, progress=moved.append)  # many batches
        assert [c.table for c in counts] == [t.name for t in TABLES]
        assert all(c.matches for c in counts)
        assert {c.table: c.source for c in counts} == planned
        assert sum(moved) == sum(planned.values())

        await plan_copy(middle, last)
        await copy_tables(middle, last, batch=7)

        original = await every_row(first)
        assert await every_row(middle) == original
        assert await every_row(last) == original  # ids, times to the microsecond, flags
        core_view = await seen_by_the_core(first)
        assert await seen_by_the_core(middle) == core_view
        assert await seen_by_the_core(last) == core_view
    finally:
        for store in (first, middle, last):
            await store.close()


async def test_postgres_numbers_new_rows_past_the_copied_ids(tmp_path: Path, pg: Schema) -> None:
    source = await opened(SQLiteStore(tmp_path / "source.db"))
    target = await opened(pg.store())
    try:
        await fill(source)
        await plan_copy(source, target)
        await copy_tables(source, target)
        highest = max(int(str(row[0])) for row in (await every_row(source))["articles"])
        article = await target.save_article("new", ArticleDraft("New", None, "S", "News"), END)
        assert article.id == highest + 1
        feed = await target.add_feed(
            COMMUNITY,
            "news",
            "https://new.example/feed",
            prompt=None,
            backlog=0,
            interval_seconds=900,
            now=END,
        )
        assert feed.id not in {f.id for f in await source.list_feeds(COMMUNITY)}
        begun = await target.begin_discussion(
            article.id, COMMUNITY, "news", prompt="p", feed_id=None, now=END
        )
        assert begun is not None and begun.id > max(d.id for d, _, _ in await source.export(None))
    finally:
        await source.close()
        await target.close()


async def test_a_target_with_data_is_refused_and_left_alone(tmp_path: Path, pg: Schema) -> None:
    source = await opened(SQLiteStore(tmp_path / "source.db"))
    target = await opened(pg.store())
    try:
        await fill(source)
        kept = await target.save_article("theirs", ArticleDraft("Theirs", None, "S", "News"), END)
        with pytest.raises(TargetNotEmpty, match=r"already holds data \(articles 1\)"):
            await plan_copy(source, target)
        assert [(d.id, a.id) for d, a, _ in await target.export(None)] == []
        assert await target.get_article(kept.id) == kept
        assert await target.count_rows(TABLES[0]) == 1
    finally:
        await source.close()
        await target.close()


def migrate_db(*args: str) -> Result:
    return CliRunner().invoke(main, ["migrate-db", *args])


async def test_the_command_copies_shows_counts_and_refuses_a_second_copy(tmp_path: Path, pg: Schema) -> None:
    path = tmp_path / "threadcast.db"
    source = await opened(SQLiteStore(path))
    await fill(source)
    await source.close()
    source_url = f"sqlite:///{path}"

    # The command runs its own event loop, so it gets a thread of its own.
    result = await asyncio.to_thread(migrate_db, "--from", source_url, "--to", pg.store_url)
    assert result.exit_code == 0, result.output
    assert "Copying rows" in result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines() if line.strip()}
    for table in TABLES:
        source_count, target_count = lines[table.name]
        assert source_count == target_count and int(source_count) > 0
    assert "every count matches" in result.output

    again = await asyncio.to_thread(migrate_db, "--from", source_url, "--to", pg.store_url)
    assert again.exit_code == 1
    assert "already holds data" in again.output and "nothing was copied" in again.output

    back = tmp_path / "back.db"
    home = await asyncio.to_thread(migrate_db, "--from", pg.store_url, "--to", f"sqlite:///{back}")
    assert home.exit_code == 0, home.output
    first, last = SQLiteStore(path), SQLiteStore(back)
    await first.open()
    await last.open()
    try:
        assert await every_row(last) == await every_row(first)
    finally:
        await first.close()
        await last.close()


def test_the_command_refuses_what_it_cannot_copy(tmp_path: Path) -> None:
    missing = migrate_db("--from", f"sqlite:///{tmp_path}/missing.db", "--to", f"sqlite:///{tmp_path}/t.db")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert not (tmp_path / "t.db").exists()
    same = migrate_db("--from", f"sqlite:///{tmp_path}/a.db", "--to", f"sqlite:///{tmp_path}/a.db")
    assert same.exit_code == 1 and "same database" in same.output
    (tmp_path / "a.db").touch()
    other = migrate_db("--from", f"sqlite:///{tmp_path}/a.db", "--to", "mysql://u:secret@h/db")
    assert other.exit_code == 1 and "unsupported database URL" in other.output
    assert "secret" not in other.output


async def test_a_nul_character_arrives_in_postgres_as_a_replacement_character(
    tmp_path: Path, pg: Schema
) -> None:
    """PostgreSQL text cannot hold U+0000; SQLite's can, so a copy must not stop on it."""
    source = await opened(SQLiteStore(tmp_path / "source.db"))
    target = await opened(pg.store())
    try:
        article = await source.save_article("k\x00", ArticleDraft("T\x00", None, "S", "News"), END)
        begun = await source.begin_discussion(
            article.id, COMMUNITY, "news", prompt="p", feed_id=None, now=END
        )
        assert begun is not None
        await source.confirm_discussion(begun.id, "m1", "t1", END)
        await source.add_reply(
            begun.id,
            message_id="r1",
            author_id="u1",
            author_name="Ann",
            text="a null\x00 char",
            created_at=END,
        )
        await plan_copy(source, target)
        assert all(c.matches for c in await copy_tables(source, target))
        copied = await target.get_reply(COMMUNITY, "r1")
        assert copied is not None and copied.text == "a null\ufffd char"
        assert (
            await target.save_article("k\x00", ArticleDraft("Other", None, "S", "N"), END)
        ).title == "T\ufffd"

        assert await target.add_reply(
            begun.id, message_id="r2", author_id="u1", author_name="A\x00n", text="\x00", created_at=END
        )
        written = await target.get_reply(COMMUNITY, "r2")
        assert written is not None and (written.author_name, written.text) == ("A\ufffdn", "\ufffd")
    finally:
        await source.close()
        await target.close()


PG_TYPES = {Kind.INT: {"integer", "bigint"}, Kind.TEXT: {"text"}, Kind.BOOL: {"boolean"},
            Kind.TIME: {"timestamp with time zone"}}  # fmt: skip


async def test_the_table_list_describes_both_schemas(tmp_path: Path, pg: Schema) -> None:
    """A migration that adds a table or column must add it to storage/tables.py, or copies would lose it."""
    described = {t.name: dict(t.columns) for t in TABLES}
    for store in (SQLiteStore(tmp_path / "schema.db"), pg.store()):
        await store.open()
        await store.close()

    db = sqlite3.connect(tmp_path / "schema.db")
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        in_sqlite = {
            name: {r[1] for r in db.execute(f"PRAGMA table_info({name})")}
            for name in names
            if name != "schema_migrations"
        }
    finally:
        db.close()
    assert in_sqlite == {name: set(columns) for name, columns in described.items()}

    in_postgres: dict[str, dict[str, str]] = {}
    for table, column, data_type in await pg.admin.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name <> 'schema_migrations'",
        pg.name,
    ):
        in_postgres.setdefault(table, {})[column] = data_type
    assert {name: set(columns) for name, columns in in_postgres.items()} == in_sqlite
    for name, columns in described.items():
        for column, kind in columns.items():
            assert in_postgres[name][column] in PG_TYPES[kind], (name, column)
