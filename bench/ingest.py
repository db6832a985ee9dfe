"""Reply ingest: events through `App.dispatch` into the store, against a raw batched INSERT.

Both sides store the same rows in a fresh database: the App side as a platform delivers
them (ReplyPosted events, one `dispatch` each: the collector's checks, cleaning and group
commit), the raw side as prepared tuples, `executemany` in transactions of the same batch
size on a connection of the same driver. The rate is replies per second.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bench import pg
from bench.common import COMMUNITY, T0, Timer, peak_rss_mb, rss_mb
from bot.app import App
from bot.collector import Collector
from bot.events import ReplyPosted
from bot.group_commit import DEFAULT_MAX_ROWS
from bot.models import ArticleDraft
from bot.store import Store
from storage.store import SQLiteStore

THREADS = 100
AUTHORS = 200
TEXT = (
    "We had exactly this at my last job: the night shift covered for everyone and nobody noticed"
    " until it stopped. Reply number {n} from someone who lived it."
)
INSERT = (
    "INSERT INTO replies (discussion_id, message_id, author_id, author_name, text, created_at)"
    " VALUES ({marks}) ON CONFLICT DO NOTHING"
)


def events(count: int) -> list[ReplyPosted]:
    return [
        ReplyPosted(
            COMMUNITY,
            f"t{n % THREADS}",
            f"m{n}",
            f"u{n % AUTHORS}",
            f"Member {n % AUTHORS}",
            TEXT.format(n=n),
            T0 + timedelta(seconds=n),
        )
        for n in range(count)
    ]


async def _threads(store: Store) -> dict[str, int]:
    ids = {}
    for i in range(THREADS):
        article = await store.save_article(f"k{i}", ArticleDraft(f"Article {i}", None, "", "bench"), T0)
        pending = await store.begin_discussion(
            article.id, COMMUNITY, "news", prompt="?", feed_id=None, now=T0
        )
        assert pending is not None
        ids[f"t{i}"] = (await store.confirm_discussion(pending.id, f"p{i}", f"t{i}", T0)).id
    return ids


@asynccontextmanager
async def _database(backend: str, url: str | None) -> AsyncIterator[tuple[Store, dict[str, Any]]]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ingest.db"
            yield SQLiteStore(path), {"path": path}
        return
    assert url is not None
    async with pg.scratch_schema(url, f"bench_ingest_{os.getpid()}") as schema:
        yield pg.store(url, schema), {"url": url, "schema": schema}


async def through_app(backend: str, count: int, url: str | None = None) -> dict[str, float]:
    async with _database(backend, url) as (store, _):
        await store.open()
        await _threads(store)
        app = App()
        Collector(store).register(app)
        todo = events(count)
        idle = rss_mb()
        with Timer() as timer:
            for event in todo:
                await app.dispatch(event)
            await app.flush()
        stored = (await store.period_counts(COMMUNITY, T0, T0 + timedelta(seconds=count))).replies
        await store.close()
    if stored != count:
        raise AssertionError(f"{stored} of {count} replies stored")
    return {
        "seconds": timer.seconds,
        "rate": count / timer.seconds,
        "rss_idle_mb": idle,
        "rss_peak_mb": peak_rss_mb(),
    }


async def raw_insert(
    backend: str, count: int, url: str | None = None, batch: int = DEFAULT_MAX_ROWS
) -> dict[str, float]:
    async with _database(backend, url) as (store, where):
        await store.open()
        threads = await _threads(store)
        await store.close()
        todo = events(count)
        if backend == "sqlite":
            rows = [
                (threads[e.thread_id], e.message_id, e.author_id, e.author_name, e.text,
                 e.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
                for e in todo
            ]  # fmt: skip
            db = await aiosqlite.connect(where["path"], isolation_level=None)
            # The pragmas the store sets on its connection (storage/db/sqlite.py): the same work
            # per row, including the check that each reply's discussion exists.
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            sql = INSERT.format(marks=", ".join("?" * 6))
            with Timer() as timer:
                for start in range(0, count, batch):
                    await db.execute("BEGIN IMMEDIATE")
                    await db.executemany(sql, rows[start : start + batch])
                    await db.execute("COMMIT")
            await db.close()
        else:
            pg_rows = [(threads[e.thread_id], e.message_id, e.author_id, e.author_name, e.text, e.created_at)
                       for e in todo]  # fmt: skip
            conn = await pg.connect(where["url"], where["schema"])
            sql = INSERT.format(marks=", ".join(f"${i}" for i in range(1, 7)))
            with Timer() as timer:
                for start in range(0, count, batch):
                    async with conn.transaction():
                        await conn.executemany(sql, pg_rows[start : start + batch])
            await conn.close()
    return {"seconds": timer.seconds, "rate": count / timer.seconds, "rss_peak_mb": peak_rss_mb()}
