"""SQLite schema migrations: numbered, forward-only, recorded in the database.

These tests look inside the file with `sqlite3` on purpose: they check the
SQLite backend's bookkeeping, which the `Store` protocol does not show.
Temporary migration folders stand in for the package's own through
`storage.migrations.resources`, so the real `load` reads them.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.models import ArticleDraft, Community
from bot.store import StoreError
from storage import migrations
from storage.store import SQLiteStore

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SQLITE_FOLDER = Path(migrations.__file__).parent / "sqlite"


def migration_files() -> list[Path]:
    return sorted(SQLITE_FOLDER.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return list(db.execute(sql).fetchall())


def schema(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")


def recorded(path: Path) -> list[tuple[Any, ...]]:
    return query(path, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")


def use_migrations(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Make `storage.migrations.load(engine)` read `root/engine/` instead of the package."""
    monkeypatch.setattr(migrations, "resources", SimpleNamespace(files=lambda _package: root))


def folder_with_real_migrations(tmp_path: Path) -> Path:
    root = tmp_path / "migrations"
    shutil.copytree(SQLITE_FOLDER, root / "sqlite")
    return root


async def opened(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    await store.open()
    return store


def draft(key: str) -> ArticleDraft:
    return ArticleDraft(title=f"Title {key}", url=f"https://news.example/{key}", summary="s", source="src")


# -- load --------------------------------------------------------------------------


def test_load_returns_every_file_in_order() -> None:
    files = migration_files()
    assert files, "the package ships no SQLite migration"
    loaded = migrations.load("sqlite")
    assert [(m.version, m.name) for m in loaded] == [(int(f.stem[:4]), f.stem[5:]) for f in files]
    assert [m.version for m in loaded] == list(range(1, len(files) + 1))
    assert loaded[0].sql == files[0].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["0001_first.sql", "0003_third.sql"], "expected number 0002, found 0003"),
        (["0002_second.sql"], "expected number 0001, found 0002"),
        (["0001_first.sql", "0001_again.sql", "0002_second.sql"], "expected number 0002, found 0001"),
    ],
    ids=["gap", "no-first", "repeat"],
)
def test_load_refuses_a_gap_or_repeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str], message: str
) -> None:
    folder = tmp_path / "sqlite"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("CREATE TABLE t (id INTEGER);\n", encoding="utf-8")
    use_migrations(monkeypatch, tmp_path)
    with pytest.raises(RuntimeError, match=message):
        migrations.load("sqlite")


def test_load_orders_by_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sqlite"
    folder.mkdir()
    for version in range(12, 0, -1):  # written newest first, whatever order the folder lists
        (folder / f"{version:04d}_step_{version}.sql").write_text("SELECT 1;\n", encoding="utf-8")
    use_migrations(monkeypatch, tmp_path)
    loaded = migrations.load("sqlite")
    assert [(m.version, m.name) for m in loaded] == [(v, f"step_{v}") for v in range(1, 13)]


def test_load_ignores_other_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sqlite"
    folder.mkdir()
    (folder / "0001_first.sql").write_text("CREATE TABLE t (id INTEGER);\n", encoding="utf-8")
    (folder / "README.md").write_text("notes\n", encoding="utf-8")
    (folder / "0002_draft.sql.orig").write_text("junk\n", encoding="utf-8")
    use_migrations(monkeypatch, tmp_path)
    assert [(m.version, m.name) for m in migrations.load("sqlite")] == [(1, "first")]


# -- applying them ---------------------------------------------------------------


async def test_a_fresh_database_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    store = await opened(path)
    try:
        assert await store.schema_version() == len(migration_files())
    finally:
        await store.close()

    rows = recorded(path)
    assert [(version, name) for version, name, _ in rows] == [
        (int(f.stem[:4]), f.stem[5:]) for f in migration_files()
    ]
    assert all(isinstance(applied_at, str) and applied_at for _, _, applied_at in rows)


async def test_reopening_applies_nothing_twice_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "reopen.db"
    store = await opened(path)
    article = await store.save_article("k1", draft("k1"), NOW)
    await store.set_channel_prompt(Community("console", "local"), "general", "Tell us")
    await store.close()
    before_rows, before_schema = recorded(path), schema(path)

    for _ in range(2):
        store = await opened(path)
        try:
            assert await store.schema_version() == len(migration_files())
            assert await store.get_article(article.id) == article
            settings = await store.get_channel_settings(Community("console", "local"), "general")
            assert settings is not None and settings.prompt == "Tell us"
        finally:
            await store.close()

    assert recorded(path) == before_rows  # same rows, same applied_at: nothing ran again
    assert schema(path) == before_schema


async def test_wal_mode_and_foreign_keys_are_on(tmp_path: Path) -> None:
    path = tmp_path / "pragmas.db"
    community = Community("console", "local")
    store = await opened(path)
    try:
        assert query(path, "PRAGMA journal_mode") == [("wal",)]

        # Foreign keys are a per-connection setting: prove the store's own
        # connection enforces them by the cascades its deletes must trigger.
        feed = await store.add_feed(
            community, "general", "https://news.example/feed", prompt=None, backlog=0,
            interval_seconds=900, now=NOW,
        )  # fmt: skip
        await store.remember_items(feed.id, ["a", "b"], NOW)
        article = await store.save_article("k1", draft("k1"), NOW)
        pending = await store.begin_discussion(
            article.id, community, "general", prompt="p", feed_id=feed.id, now=NOW
        )
        assert pending is not None
        await store.confirm_discussion(pending.id, "m1", "t1", NOW)
        await store.add_reply(
            pending.id, message_id="r1", author_id="u1", author_name="U", text="hi", created_at=NOW
        )
        await store.set_reaction(community, "r1", "u2", "👍", True)
        assert query(path, "SELECT count(*) FROM feed_items") == [(2,)]
        assert query(path, "SELECT count(*) FROM reactions") == [(1,)]

        assert await store.remove_feed(feed.id)
        assert await store.delete_reply(community, "r1")

        assert query(path, "SELECT count(*) FROM feed_items") == [(0,)]
        assert query(path, "SELECT count(*) FROM reactions") == [(0,)]
        assert query(path, "SELECT feed_id FROM discussions") == [(None,)]
        assert query(path, "PRAGMA foreign_key_check") == []
    finally:
        await store.close()
    assert query(path, "PRAGMA journal_mode") == [("wal",)]  # WAL is kept in the file


BROKEN = """\
-- Half of this works, then one statement fails.
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
ALTER TABLE articles ADD COLUMN extra TEXT;
UPDATE articles SET title = 'changed by a half-done migration';
CREATE INDEX notes_body ON notes (body);
INSERT INTO no_such_table (id) VALUES (1);
"""

FIXED = """\
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
ALTER TABLE articles ADD COLUMN extra TEXT;
"""


async def test_a_failing_migration_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = folder_with_real_migrations(tmp_path)
    use_migrations(monkeypatch, root)
    current = len(migration_files())
    path = tmp_path / "failing.db"

    store = await opened(path)
    article = await store.save_article("k1", draft("k1"), NOW)
    await store.close()
    before_rows, before_schema = recorded(path), schema(path)
    before_articles = query(path, "SELECT * FROM articles")

    broken = root / "sqlite" / f"{current + 1:04d}_add_notes.sql"
    broken.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(StoreError, match="no_such_table"):
        await opened(path)

    assert recorded(path) == before_rows
    assert schema(path) == before_schema  # no notes table, no index, no extra column
    assert query(path, "SELECT * FROM articles") == before_articles

    # once the migration is fixed, it applies on the next start, and only it
    broken.write_text(FIXED, encoding="utf-8")
    store = await opened(path)
    try:
        assert await store.schema_version() == current + 1
        assert await store.get_article(article.id) == article
    finally:
        await store.close()
    rows = recorded(path)
    assert rows[:-1] == before_rows  # the earlier ones were not run again
    assert (rows[-1][0], rows[-1][1]) == (current + 1, "add_notes")
    assert query(path, "SELECT count(*) FROM notes") == [(0,)]
    assert query(path, "SELECT extra FROM articles") == [(None,)]


async def test_a_failing_first_migration_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "migrations" / "sqlite"
    folder.mkdir(parents=True)
    (folder / "0001_initial.sql").write_text(
        "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO a (id) VALUES (1);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n",
        encoding="utf-8",
    )
    use_migrations(monkeypatch, tmp_path / "migrations")
    path = tmp_path / "first.db"
    with pytest.raises(StoreError):
        await opened(path)

    tables = {name for _, name, _, _ in schema(path)}
    assert tables == {"schema_migrations"}
    assert recorded(path) == []


async def test_a_version_4_database_upgrades_in_place_to_digest_settings_and_gists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0005 on a database written before it: old rows keep their values, the
    new settings read as their defaults, and the gist triggers cover old replies too."""
    root = folder_with_real_migrations(tmp_path)
    later = sorted((root / "sqlite").glob("000[5-9]_*.sql"))
    assert later, "no migration after 0004"
    held = tmp_path / "held"
    held.mkdir()
    for file in later:
        file.rename(held / file.name)
    use_migrations(monkeypatch, root)
    path = tmp_path / "old.db"
    community = Community("console", "local")
    store = await opened(path)
    try:
        assert await store.schema_version() == 4
        article = await store.save_article("k1", draft("k1"), NOW)
        pending = await store.begin_discussion(
            article.id, community, "news", prompt="p", feed_id=None, now=NOW
        )
        assert pending is not None
        await store.add_reply(
            pending.id, message_id="r1", author_id="u1", author_name="U", text="old words", created_at=NOW
        )
        await store.set_channel_prompt(community, "news", "Tell us")
    finally:
        await store.close()

    for file in later:
        (held / file.name).rename(root / "sqlite" / file.name)
    store = await opened(path)
    try:
        assert await store.schema_version() == len(migration_files())
        settings = await store.get_channel_settings(community, "news")
        assert settings is not None and (settings.prompt, settings.digest_style) == ("Tell us", "compact")
        assert (await store.get_community_settings(community)).summaries == "builtin"
        await store.save_gist(pending.id, NOW, "fp", "builtin", "A gist.", NOW)
        assert await store.get_gist(pending.id, NOW, "fp") == ("builtin", "A gist.")
        assert await store.edit_reply(community, "r1", "new words", NOW)
        assert await store.get_gist(pending.id, NOW, "fp") is None
    finally:
        await store.close()


async def test_a_version_6_database_upgrades_in_place_to_feed_filters_and_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0007 on a database written before it: the feed keeps its values, has no
    template and nothing held back, and takes filters."""
    root = folder_with_real_migrations(tmp_path)
    later = sorted((root / "sqlite").glob("000[7-9]_*.sql"))
    assert later, "no migration after 0006"
    held = tmp_path / "held"
    held.mkdir()
    for file in later:
        file.rename(held / file.name)
    use_migrations(monkeypatch, root)
    path = tmp_path / "old.db"
    community = Community("console", "local")
    store = await opened(path)
    try:
        assert await store.schema_version() == 6
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as db, db:  # a feed as version 6 wrote it
        db.execute(
            "INSERT INTO feeds (id, platform, community_id, channel_id, url, prompt, interval_seconds,"
            " next_poll_at, items_posted, created_at) VALUES (7, 'console', 'local', 'news',"
            " 'https://news.example/feed', 'Tell us', 900, '2026-11-02T12:00:00Z', 1, '2026-11-02T12:00:00Z')"
        )

    for file in later:
        (held / file.name).rename(root / "sqlite" / file.name)
    store = await opened(path)
    try:
        assert await store.schema_version() == len(migration_files())
        [upgraded] = await store.list_feeds(community)
        assert (upgraded.id, upgraded.prompt, upgraded.items_posted, upgraded.template) == (
            7,
            "Tell us",
            1,
            None,
        )
        assert (upgraded.items_held_back, upgraded.held_unmatched) == (0, 0)
        rule = await store.add_feed_filter(7, action="exclude", pattern="ads", field="all", now=NOW)
        assert rule is not None and await store.list_feed_filters(7) == [rule]
        assert await store.set_feed_template(7, "title,prompt")
    finally:
        await store.close()
