"""What the store's engine-specific fragments (storage/fragments.py `bytewise`, `listed`) promise,
on both engines: text is ordered by its bytes as SQLite's BINARY orders it (PostgreSQL's own
collation follows the server's locale: "a" beside "B"), and a list read as a table gives one
row per item, whatever the item holds.

The test server's databases collate as C.UTF-8 (byte order already), so on PostgreSQL the
ordered columns are given a language collation (ICU "und") here, as a server with an
en_US.UTF-8 default would have: only the store's own `COLLATE "C"` keeps the byte order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.models import ArticleDraft, Community, DigestSchedule
from bot.store import Store
from storage.db.core import compile_sql
from storage.fragments import bytewise, listed
from storage.store import SQLiteStore
from tests.conftest import T0
from tests.postgres import fresh_schema

C = Community("discord", "g1")
# Byte order: digits, upper case, lower case, then anything past ASCII ("é" is 0xC3 0xA9 in UTF-8).
CHANNELS = ["1-news", "B-news", "Z-news", "a-news", "z-news", "é-news"]


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        sqlite = SQLiteStore(tmp_path / "order.db")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    async with fresh_schema() as schema:
        pg = schema.store()
        await pg.open()
        await schema.admin.execute(
            f'ALTER TABLE "{schema.name}".digest_schedules'
            ' ALTER COLUMN platform TYPE text COLLATE "und-x-icu",'
            ' ALTER COLUMN community_id TYPE text COLLATE "und-x-icu",'
            ' ALTER COLUMN channel_id TYPE text COLLATE "und-x-icu";'
            f' ALTER TABLE "{schema.name}".discussions ALTER COLUMN prompt TYPE text COLLATE "und-x-icu"'
        )
        yield pg
        await pg.close()


def test_bytewise_collates_only_on_postgres() -> None:
    sql = bytewise("SELECT x FROM t ORDER BY a{C}, b{C}")
    assert sql["sqlite"] == "SELECT x FROM t ORDER BY a, b"
    assert sql["postgres"] == 'SELECT x FROM t ORDER BY a COLLATE "C", b COLLATE "C"'


def test_a_listed_parameter_is_one_placeholder_per_engine() -> None:
    table = listed("ids", "text", "w")
    query = {e: f"SELECT w.value FROM {t} WHERE w.value <> :other" for e, t in table.items()}
    sqlite, postgres = compile_sql(query, "sqlite"), compile_sql(query, "postgres")
    assert sqlite.text == "SELECT w.value FROM json_each(?1) w WHERE w.value <> ?2"
    assert postgres.text == "SELECT w.value FROM unnest($1::text[]) AS w (value) WHERE w.value <> $2"
    assert sqlite.names == postgres.names == ("ids", "other")


def schedule(channel: str, community: Community = C, next_run: timedelta = timedelta(0)) -> DigestSchedule:
    return DigestSchedule(community, channel, 0, time(9), "UTC", True, T0 + next_run, None)


async def test_schedules_come_in_byte_order_of_their_channels(store: Store) -> None:
    for channel in reversed(CHANNELS):
        await store.set_digest_schedule(schedule(channel))
    assert [s.channel_id for s in await store.digest_schedules(C)] == CHANNELS
    # Due at the same time: by community, then channel, each in byte order.
    other = Community("discord", "G0")
    await store.set_digest_schedule(schedule("a-news", other))
    due = await store.due_digest_schedules(T0)
    assert [(s.community.id, s.channel_id) for s in due] == [("G0", "a-news")] + [("g1", c) for c in CHANNELS]


async def test_stats_labels_with_equal_counts_come_in_byte_order(store: Store) -> None:
    prompts = ["Why?", "what now?", "Édition?", "zebra?"]
    for number, prompt in enumerate(prompts):
        article = await store.save_article(f"k{number}", _draft(number), T0)
        pending = await store.begin_discussion(article.id, C, "news", prompt=prompt, feed_id=None, now=T0)
        assert pending is not None
        await store.confirm_discussion(pending.id, f"m{number}", f"t{number}", T0)
    _, per_prompt = await store.stats(C, T0 - timedelta(days=1))
    assert [r.label for r in per_prompt] == sorted(prompts, key=lambda p: p.encode())


async def test_first_reply_times_read_any_author_id(store: Store) -> None:
    article = await store.save_article("k", _draft(0), T0)
    pending = await store.begin_discussion(article.id, C, "news", prompt="?", feed_id=None, now=T0)
    assert pending is not None
    await store.confirm_discussion(pending.id, "m", "t", T0)
    # Ids a JSON array or a text[] must carry as they are: quotes, a backslash, a comma, braces.
    authors = ['quote"d', "back\\slash", "comma,id", "{brace}", "plain"]
    for number, author in enumerate(authors):
        at = T0 + timedelta(minutes=number)
        assert await store.add_reply(
            pending.id, message_id=f"r{number}", author_id=author, author_name="N", text="t", created_at=at
        )
    found = await store.first_reply_times(C, [*authors, "nobody"])
    assert found == {a: T0 + timedelta(minutes=n) for n, a in enumerate(authors)}


def _draft(number: int) -> ArticleDraft:
    return ArticleDraft(f"Title {number}", f"https://news.example/{number}", "Summary", "News", None, None)


async def test_remembered_item_keys_arrive_as_they_are(store: Store) -> None:
    """remember_items is one INSERT … SELECT over the list (json_each / unnest): keys holding
    what a JSON array or a text[] literal would have to escape are stored and found unchanged,
    a key given twice or remembered before is no error."""
    feed = await store.add_feed(
        C, "news", "https://news.example/feed", prompt=None, backlog=0, interval_seconds=60, now=T0
    )
    keys = ['guid "quoted"', "back\\slash", "comma,key", "{braced}", "null", "ünï", "plain"]
    await store.remember_items(feed.id, keys[:2], T0)
    await store.remember_items(feed.id, [*keys, keys[0]], T0)
    assert await store.unseen_item_keys(feed.id, [*keys, "new"]) == {"new"}
