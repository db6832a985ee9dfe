"""PostgreSQL schema migrations: the same rules as SQLite's (tests/test_migrations.py).

These look behind the store with a connection of their own (the schema's
catalog and `schema_migrations`), which the `Store` protocol does not show.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.models import Community, MemberPrefs
from bot.store import StoreError
from storage import migrations, store_for_url
from storage.store import PostgresStore
from tests.postgres import Schema, fresh_schema
from tests.test_migrations import BROKEN, FIXED, NOW, draft, use_migrations

FOLDER = Path(migrations.__file__).parent


@pytest.fixture
async def schema() -> AsyncIterator[Schema]:
    async with fresh_schema() as fresh:
        yield fresh


async def opened(schema: Schema) -> PostgresStore:
    store = schema.store()
    await store.open()
    return store


async def rows(schema: Schema, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await schema.admin.fetch(sql.replace("{s}", f'"{schema.name}"'))]


async def recorded(schema: Schema) -> list[tuple[Any, ...]]:
    return await rows(schema, "SELECT version, name, applied_at FROM {s}.schema_migrations ORDER BY version")


async def catalog(schema: Schema) -> list[tuple[Any, ...]]:
    """Tables, columns and indexes of the schema."""
    columns = await schema.admin.fetch(
        "SELECT table_name, column_name, data_type, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_schema = $1 ORDER BY 1, 2",
        schema.name,
    )
    indexes = await schema.admin.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2",
        schema.name,
    )
    return [tuple(r) for r in columns] + [tuple(r) for r in indexes]


def test_every_sqlite_migration_has_its_postgres_twin() -> None:
    """One schema history: each number means the same change on both engines."""
    sqlite = [(m.version, m.name) for m in migrations.load("sqlite")]
    assert [(m.version, m.name) for m in migrations.load("postgres")] == sqlite


async def test_a_fresh_database_records_every_migration(schema: Schema) -> None:
    store = await opened(schema)
    try:
        assert await store.schema_version() == len(migrations.load("postgres"))
    finally:
        await store.close()
    assert [(v, n) for v, n, _ in await recorded(schema)] == [
        (m.version, m.name) for m in migrations.load("postgres")
    ]


async def test_reopening_applies_nothing_twice_and_keeps_data(schema: Schema) -> None:
    store = await opened(schema)
    article = await store.save_article("k1", draft("k1"), NOW)
    await store.set_channel_prompt(Community("console", "local"), "general", "Tell us")
    await store.close()
    before_rows, before_catalog = await recorded(schema), await catalog(schema)

    for _ in range(2):
        store = await opened(schema)
        try:
            assert await store.get_article(article.id) == article
        finally:
            await store.close()
    assert await recorded(schema) == before_rows  # same applied_at: nothing ran again
    assert await catalog(schema) == before_catalog


async def test_a_failing_migration_leaves_the_database_as_it_was(
    schema: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(FOLDER / "postgres", root / "postgres")
    use_migrations(monkeypatch, root)
    current = len(migrations.load("postgres"))

    store = await opened(schema)
    article = await store.save_article("k1", draft("k1"), NOW)
    await store.close()
    before_rows, before_catalog = await recorded(schema), await catalog(schema)
    before_articles = await rows(schema, "SELECT * FROM {s}.articles")

    broken = root / "postgres" / f"{current + 1:04d}_add_notes.sql"
    broken.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(StoreError, match="no_such_table"):
        await opened(schema)

    assert await recorded(schema) == before_rows
    assert await catalog(schema) == before_catalog  # no notes table, no index, no extra column
    assert await rows(schema, "SELECT * FROM {s}.articles") == before_articles

    # once the migration is fixed, it applies on the next start, and only it
    broken.write_text(FIXED, encoding="utf-8")
    store = await opened(schema)
    try:
        assert await store.schema_version() == current + 1
        assert await store.get_article(article.id) == article
    finally:
        await store.close()
    after = await recorded(schema)
    assert after[:-1] == before_rows
    assert (after[-1][0], after[-1][1]) == (current + 1, "add_notes")
    assert await rows(schema, "SELECT count(*) FROM {s}.notes") == [(0,)]
    assert await rows(schema, "SELECT extra FROM {s}.articles") == [(None,)]


async def test_a_failing_first_migration_leaves_nothing_behind(
    schema: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "migrations" / "postgres"
    folder.mkdir(parents=True)
    (folder / "0001_initial.sql").write_text(
        "CREATE TABLE a (id integer PRIMARY KEY);\n"
        "INSERT INTO a (id) VALUES (1);\n"
        "INSERT INTO no_such_table (id) VALUES (1);\n",
        encoding="utf-8",
    )
    use_migrations(monkeypatch, tmp_path / "migrations")
    with pytest.raises(StoreError):
        await opened(schema)
    assert {r[0] for r in await catalog(schema)} == {"schema_migrations"}
    assert await recorded(schema) == []


async def test_processes_opening_a_fresh_database_at_once_apply_each_migration_once(schema: Schema) -> None:
    """The advisory lock: without it, concurrent CREATE TABLEs collide in the catalog."""
    stores = [schema.store() for _ in range(6)]
    results = await asyncio.gather(*(s.open() for s in stores), return_exceptions=True)
    try:
        assert [r for r in results if r is not None] == []
        versions = {await s.schema_version() for s in stores}
        assert versions == {len(migrations.load("postgres"))}
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert [v for v, _, _ in await recorded(schema)] == [m.version for m in migrations.load("postgres")]


async def test_the_database_url_chooses_postgres(schema: Schema) -> None:
    store = store_for_url(schema.store_url)
    assert isinstance(store, PostgresStore)
    await store.open()
    try:
        await store.save_article("k1", draft("k1"), NOW)
    finally:
        await store.close()
    assert await rows(schema, "SELECT key FROM {s}.articles") == [("k1",)]  # in the schema the URL named


async def test_an_unreachable_server_is_a_store_error() -> None:
    store = PostgresStore("postgresql://threadcast:hunter2@127.0.0.1:9/nothing")  # port 9: discard, closed
    with pytest.raises(StoreError) as caught:
        await store.open()
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:9" in str(caught.value)


async def test_a_version_4_database_upgrades_in_place_to_digest_settings_and_gists(
    schema: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(FOLDER / "postgres", root / "postgres")
    held = tmp_path / "held"
    held.mkdir()
    later = sorted((root / "postgres").glob("000[5-9]_*.sql"))
    assert later, "no migration after 0004"
    for file in later:
        file.rename(held / file.name)
    use_migrations(monkeypatch, root)
    community = Community("console", "local")
    store = await opened(schema)
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
        (held / file.name).rename(root / "postgres" / file.name)
    store = await opened(schema)
    try:
        assert await store.schema_version() == len(migrations.load("postgres"))
        settings = await store.get_channel_settings(community, "news")
        assert settings is not None and (settings.prompt, settings.digest_style) == ("Tell us", "compact")
        assert (await store.get_community_settings(community)).summaries == "builtin"
        await store.save_gist(pending.id, NOW, "fp", "builtin", "A gist.", NOW)
        assert await store.get_gist(pending.id, NOW, "fp") == ("builtin", "A gist.")
        await store.set_prefs(MemberPrefs("console", "u1", opted_out=True))
        assert await store.get_gist(pending.id, NOW, "fp") is None
    finally:
        await store.close()


async def test_a_version_6_database_upgrades_in_place_to_feed_filters_and_templates(
    schema: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(FOLDER / "postgres", root / "postgres")
    held = tmp_path / "held"
    held.mkdir()
    later = sorted((root / "postgres").glob("000[7-9]_*.sql"))
    assert later, "no migration after 0006"
    for file in later:
        file.rename(held / file.name)
    use_migrations(monkeypatch, root)
    community = Community("console", "local")
    store = await opened(schema)
    try:
        assert await store.schema_version() == 6
    finally:
        await store.close()
    await rows(  # a feed as version 6 wrote it
        schema,
        "INSERT INTO {s}.feeds (id, platform, community_id, channel_id, url, prompt, interval_seconds,"
        " next_poll_at, items_posted, created_at) VALUES (7, 'console', 'local', 'news',"
        " 'https://news.example/feed', 'Tell us', 900, now(), 1, now())",
    )

    for file in later:
        (held / file.name).rename(root / "postgres" / file.name)
    store = await opened(schema)
    try:
        assert await store.schema_version() == len(migrations.load("postgres"))
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
