"""A digest over a large store, against one hand-written SQL aggregate of the same figures.

The store holds `replies` replies in `discussions` discussions posted over a year (one
community), with reactions on a tenth of the replies and a few opted-out members; the
digest covers its last week. The generated SQLite file is cached under bench/.cache (and
the PostgreSQL schema kept) between runs, since making a million rows takes a while.

`DigestBuilder.build` does what the weekly digest does: the store's queries (activity,
counts, first replies) and the core's work on them (privacy rules, ranking, highlights,
themes, days). The aggregate computes, in one statement, the figures a digest reports:
replies, participants and reactions per discussion of the week and in total, leaving
out opted-out members. The time is the best of three runs of each.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench import pg
from bench.common import COMMUNITY, T0, Timer, peak_rss_mb
from bot.digest import DigestBuilder
from bot.store import Store
from storage.store import SQLiteStore

CACHE = Path(__file__).parent / ".cache"
YEAR = timedelta(days=364)
END = T0 + YEAR
START = END - timedelta(days=7)
AUTHORS = 5000
RUNS = 3

TEXTS = (
    "I worked night shift for six years and my body never really adjusted to it.",
    "Remote work saved my sanity, but I had to learn to close the laptop at six every day.",
    "Our council moved to a four-day week and the hardest part was the meetings, honestly.",
    "The commute was the real productivity killer for me; without it I get an hour back.",
    "+1",
    "We had exactly this at my last job, the night shift covered for everyone else.",
    "My manager measures us by hours online, which makes remote work feel like surveillance.",
)

# Bulk generation: one INSERT … SELECT per table over a counter. {d}: discussions,
# {n}: replies; times as the store writes them (UTC text on SQLite, timestamptz on PostgreSQL).
SQLITE_FILL = """
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {d})
INSERT INTO articles (id, key, title, url, summary, source, created_at)
SELECT i, 'k' || i, 'Article ' || i, 'https://news.example/' || i, 'Summary', 'bench', '{t0}' FROM k;
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {d})
INSERT INTO discussions (id, article_id, platform, community_id, channel_id, message_id, thread_id,
    prompt, state, created_at, posted_at)
SELECT i, i, '{platform}', '{community}', 'news', 'p' || i, 't' || i, 'What do you think?', 'posted',
    strftime('%Y-%m-%dT%H:%M:%S.000000Z', '{t0s}', '+' || (i * {step}) || ' seconds'),
    strftime('%Y-%m-%dT%H:%M:%S.000000Z', '{t0s}', '+' || (i * {step}) || ' seconds') FROM k;
WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < {n} - 1)
INSERT INTO replies (id, discussion_id, message_id, author_id, author_name, text, created_at)
SELECT i + 1, i % {d} + 1, 'r' || i, 'u' || (i * 7919 % {authors}), 'Member ' || (i * 7919 % {authors}),
    {text_case} || ' (' || i || ')',
    strftime('%Y-%m-%dT%H:%M:%S.000000Z', '{t0s}',
             '+' || ((i % {d} + 1) * {step} + 120 + (i / {d}) * {spread}) || ' seconds') FROM k;
INSERT INTO reactions (reply_id, user_id, emoji)
SELECT id, 'u' || (id * 31 % {authors}), '👍' FROM replies WHERE id % 10 = 0;
INSERT INTO member_prefs (platform, user_id, opted_out, anonymous)
SELECT '{platform}', 'u' || i, i % 2, 1 - i % 2
FROM (SELECT DISTINCT id % 50 * 97 AS i FROM replies LIMIT 50);
"""

POSTGRES_FILL = """
INSERT INTO articles (id, key, title, url, summary, source, created_at)
SELECT i, 'k' || i, 'Article ' || i, 'https://news.example/' || i, 'Summary', 'bench', '{t0}'
FROM generate_series(1, {d}) i;
INSERT INTO discussions (id, article_id, platform, community_id, channel_id, message_id, thread_id,
    prompt, state, created_at, posted_at)
SELECT i, i, '{platform}', '{community}', 'news', 'p' || i, 't' || i, 'What do you think?', 'posted',
    '{t0}'::timestamptz + i * {step} * interval '1 second',
    '{t0}'::timestamptz + i * {step} * interval '1 second'
FROM generate_series(1, {d}) i;
INSERT INTO replies (id, discussion_id, message_id, author_id, author_name, text, created_at)
SELECT i + 1, i % {d} + 1, 'r' || i, 'u' || (i::bigint * 7919 % {authors}),
    'Member ' || (i::bigint * 7919 % {authors}),
    {text_case} || ' (' || i || ')',
    '{t0}'::timestamptz + ((i % {d} + 1) * {step} + 120 + (i / {d}) * {spread}) * interval '1 second'
FROM generate_series(0, {n} - 1) i;
INSERT INTO reactions (reply_id, user_id, emoji)
SELECT id, 'u' || (id * 31 % {authors}), '👍' FROM replies WHERE id % 10 = 0;
INSERT INTO member_prefs (platform, user_id, opted_out, anonymous)
SELECT '{platform}', 'u' || i, i % 2 = 1, i % 2 = 0
FROM generate_series(0, 49) g, LATERAL (SELECT g * 97 AS i) x;
SELECT setval(pg_get_serial_sequence('replies', 'id'), {n} + 1);
SELECT setval(pg_get_serial_sequence('discussions', 'id'), {d} + 1);
SELECT setval(pg_get_serial_sequence('articles', 'id'), {d} + 1);
ANALYZE;
"""


def _fill(template: str, replies: int, discussions: int) -> str:
    per = max(1, replies // discussions)
    cases = " ".join(f"WHEN {i} THEN '{t}'" for i, t in enumerate(TEXTS))
    return template.format(
        d=discussions, n=replies, authors=AUTHORS, platform=COMMUNITY.platform, community=COMMUNITY.id,
        t0=T0.isoformat(), t0s=T0.strftime("%Y-%m-%d %H:%M:%S"),
        step=int(YEAR.total_seconds()) // discussions, spread=max(1, 7 * 86400 // per),
        text_case=f"CASE i % {len(TEXTS)} {cases} END",
    )  # fmt: skip


async def _sqlite_store(replies: int, discussions: int) -> SQLiteStore:
    path = CACHE / f"digest-{replies}-{discussions}.db"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        store = SQLiteStore(partial)
        await store.open()  # the schema, through the store's own migrations
        await store.close()
        db = sqlite3.connect(partial, isolation_level=None)
        db.executescript("BEGIN;" + _fill(SQLITE_FILL, replies, discussions) + "COMMIT; ANALYZE;")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        partial.rename(path)
    return SQLiteStore(path)


async def _postgres_store(url: str, replies: int, discussions: int) -> Store:
    schema = f"bench_digest_{replies}_{discussions}"
    admin = await asyncpg.connect(url)
    try:
        count = await admin.fetchval(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = $1 AND table_name = 'replies'",
            schema,
        )
        if count:
            found = await admin.fetchval(f'SELECT count(*) FROM "{schema}".replies')
            if found != replies:
                count = 0
        if not count:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
            store = pg.store(url, schema)
            await store.open()
            await store.close()
            await admin.execute(f'SET search_path = "{schema}"')
            await admin.execute(_fill(POSTGRES_FILL, replies, discussions))
    finally:
        await admin.close()
    return pg.store(url, schema)


async def _store(backend: str, replies: int, discussions: int, url: str | None) -> Store:
    if backend == "sqlite":
        return await _sqlite_store(replies, discussions)
    assert url is not None
    return await _postgres_store(url, replies, discussions)


async def builder(backend: str, replies: int, discussions: int, url: str | None = None) -> dict[str, Any]:
    store = await _store(backend, replies, discussions, url)
    await store.open()
    best = float("inf")
    for _ in range(RUNS):
        with Timer() as timer:
            digest = await DigestBuilder(store, {}).build(COMMUNITY, START, END)
        best = min(best, timer.seconds)
    await store.close()
    figures = digest.figures
    return {"seconds": best, "replies": figures.replies, "participants": figures.participants,
            "rss_peak_mb": peak_rss_mb()}  # fmt: skip


SQLITE_AGGREGATE = """
SELECT r.discussion_id, count(*), count(DISTINCT r.author_id), sum(x.n)
FROM replies r JOIN discussions d ON d.id = r.discussion_id
LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id
LEFT JOIN (SELECT reply_id, count(*) AS n FROM reactions GROUP BY reply_id) x ON x.reply_id = r.id
WHERE d.platform = ?1 AND d.community_id = ?2 AND r.created_at >= ?3 AND r.created_at < ?4
  AND coalesce(p.opted_out, 0) = 0
GROUP BY r.discussion_id
UNION ALL
SELECT NULL, count(*), count(DISTINCT r.author_id), NULL
FROM replies r JOIN discussions d ON d.id = r.discussion_id
LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id
WHERE d.platform = ?1 AND d.community_id = ?2 AND r.created_at >= ?3 AND r.created_at < ?4
  AND coalesce(p.opted_out, 0) = 0
"""
POSTGRES_AGGREGATE = """
SELECT r.discussion_id, count(*), count(DISTINCT r.author_id),
       (SELECT count(*) FROM reactions x WHERE x.reply_id = ANY(array_agg(r.id)))
FROM replies r JOIN discussions d ON d.id = r.discussion_id
LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id
WHERE d.platform = $1 AND d.community_id = $2 AND r.created_at >= $3 AND r.created_at < $4
  AND NOT coalesce(p.opted_out, false)
GROUP BY GROUPING SETS ((r.discussion_id), ())
"""


async def aggregate(backend: str, replies: int, discussions: int, url: str | None = None) -> dict[str, Any]:
    store = await _store(backend, replies, discussions, url)
    best = float("inf")
    if backend == "sqlite":
        await store.close()
        db = sqlite3.connect(CACHE / f"digest-{replies}-{discussions}.db")
        params = (COMMUNITY.platform, COMMUNITY.id, _text_time(START), _text_time(END))
        for _ in range(RUNS):
            with Timer() as timer:
                rows = db.execute(SQLITE_AGGREGATE, params).fetchall()
            best = min(best, timer.seconds)
        db.close()
    else:
        assert url is not None
        conn = await pg.connect(url, f"bench_digest_{replies}_{discussions}")
        for _ in range(RUNS):
            with Timer() as timer:
                rows = await conn.fetch(POSTGRES_AGGREGATE, COMMUNITY.platform, COMMUNITY.id, START, END)
            best = min(best, timer.seconds)
        await conn.close()
    total = next(r for r in rows if r[0] is None)
    return {"seconds": best, "replies": total[1], "participants": total[2], "rss_peak_mb": peak_rss_mb()}


def _text_time(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
