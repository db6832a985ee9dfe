"""The hot queries are served by indexes: no plan reads the replies or discussions tables whole.

The store's own statements are captured while it does the hot work (building a digest,
storing and looking up replies, finding due feeds and a thread's discussion), then each is
explained by the database itself: EXPLAIN QUERY PLAN on SQLite; EXPLAIN with sequential
scans priced out on PostgreSQL, so a Seq Scan there means no index could serve the query.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.demo.week import populate_week
from bot.digest import DigestBuilder
from bot.models import Community, FeedSuccess
from bot.store import Store
from storage.store import SQLiteStore
from tests.postgres import fresh_schema

C = Community("discord", "g1")
END = datetime(2026, 11, 9, 9, tzinfo=UTC)
BIG_TABLES = ("replies", "discussions", "feeds", "feed_items")


async def hot_work(store: Store) -> None:
    """Two weeks of a community, and a feed."""
    await populate_week(store, C, "news", end=END - timedelta(days=7), seed=2)
    await populate_week(store, C, "news", end=END)
    feed = await store.add_feed(
        C, "news", "https://news.example/feed", prompt=None, backlog=0, interval_seconds=900, now=END
    )
    await store.remember_items(feed.id, [f"guid:item-{n}" for n in range(500)], END)


async def hot_calls(store: Store) -> None:
    await DigestBuilder(store, {}).build(C, END - timedelta(days=7), END)
    [feed] = await store.due_feeds(END)
    unseen = await store.unseen_item_keys_of([(feed.id, ["guid:item-1", "guid:new"]), (feed.id + 1, ["k"])])
    assert unseen == [{"guid:new"}, {"k"}]
    await store.record_feed_successes([FeedSuccess(feed.id, None, None, None, END + timedelta(hours=1), END)])
    discussion = await store.discussion_for_thread(C, "t-none")
    found = await store.discussions_for_threads(C, ["t-none", "t-other"])
    assert discussion is None and found == {}
    recent = await store.recent_discussions(C, END - timedelta(days=14))
    assert recent[0].thread_id is not None
    await store.store_replies(C, [(recent[0].thread_id, "plan-1", "u1", "U", "words", END, False)])
    await store.prefs_of(C.platform, ["u1", "u2"])
    await store.get_reply(C, "plan-1")
    await store.latest_reply_message_id(recent[0].id)
    await store.edit_reply(C, "plan-1", "new words", END)
    await store.set_reaction(C, "plan-1", "u2", "👍", True)
    await store.delete_reply(C, "plan-1")


def full_scans_sqlite(plan: list[str]) -> list[str]:
    # "SCAN r" reads the table; "SCAN r USING (COVERING) INDEX" walks an index, still whole.
    names = "|".join(("r", "d", *BIG_TABLES))  # r and d: the aliases the store uses
    return [line for line in plan if re.match(rf"SCAN ({names})\b", line)]


async def test_sqlite_plans_use_indexes(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    store = SQLiteStore(path)
    await store.open()
    await hot_work(store)
    statements: list[str] = []
    await store.sqlite_db.connection.set_trace_callback(statements.append)  # the SQL as run, values inlined
    await hot_calls(store)
    await store.sqlite_db.connection.set_trace_callback(None)  # type: ignore[arg-type]  # aiosqlite omits None
    await store.close()

    queries = [s for s in dict.fromkeys(statements) if s.split(None, 1)[0].upper() in QUERY_WORDS]
    assert len(queries) >= 12
    explained = sqlite3.connect(path)
    try:
        plans = {q: [row[3] for row in explained.execute(f"EXPLAIN QUERY PLAN {q}")] for q in queries}
    finally:
        explained.close()
    scans = {q[:120]: full for q, plan in plans.items() if (full := full_scans_sqlite(plan))}
    assert scans == {}, scans
    # Newcomers: each author's first reply is found through their own replies, not the community's.
    first_replies = [plan for q, plan in plans.items() if "LIMIT 1) AS first_at FROM json_each" in q]
    assert first_replies and any("replies_author_created" in line for line in first_replies[0]), first_replies


QUERY_WORDS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


async def test_postgres_plans_use_indexes() -> None:
    async with fresh_schema() as schema:
        store = schema.store()
        await store.open()
        try:
            await hot_work(store)
            statements: list[tuple[str, tuple[Any, ...]]] = []
            store.pg_db.pool = _RecordingPool(store.pg_db.pool, statements)
            await hot_calls(store)
        finally:
            await store.close()

        queries = [(q, a) for q, a in dict.fromkeys(statements) if q.split(None, 1)[0].upper() in QUERY_WORDS]
        assert len(queries) >= 12
        admin = schema.admin
        await admin.execute(f'SET search_path = "{schema.name}"')
        await admin.execute("SET enable_seqscan = off")  # a Seq Scan now means no index could do
        leading = {
            r[0]: r[1]
            for r in await admin.fetch(
                "SELECT i.indexrelid::regclass::text, a.attname FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                " WHERE i.indrelid::regclass::text = ANY($1::text[])",
                list(BIG_TABLES),
            )
        }
        scans: dict[str, list[str]] = {}
        for sql, args in queries:
            plan = json.loads(await admin.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))
            if full := full_scans_postgres(plan[0]["Plan"], leading):
                scans[sql[:120]] = full
        assert scans == {}, scans


def full_scans_postgres(node: dict[str, Any], leading: dict[str, str]) -> list[str]:
    """Plan nodes that read a big table whole: a Seq Scan, or an index walked without a
    condition on its first column (PostgreSQL can filter on later columns along the way)."""
    found = []
    index = node.get("Index Name")
    if node.get("Relation Name") in BIG_TABLES or index in leading:
        kind = node["Node Type"]
        first = leading.get(index or "", "")
        if kind == "Seq Scan" or (index and not re.search(rf"\b{first}\b", node.get("Index Cond", ""))):
            found.append(f"{kind} on {node.get('Relation Name')} ({index})")
    for child in node.get("Plans", []):
        found += full_scans_postgres(child, leading)
    return found


class _RecordingPool:
    """The store's asyncpg pool, noting each statement that goes through it whole."""

    def __init__(self, pool: Any, into: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._pool = pool
        self._into = into

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._pool, name)
        if name not in ("fetch", "fetchrow", "fetchval", "execute"):
            return call

        async def recorded(sql: str, *args: Any, **options: Any) -> Any:
            self._into.append((sql, tuple(tuple(a) if isinstance(a, list) else a for a in args)))
            return await call(sql, *args, **options)

        return recorded
