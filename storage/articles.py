"""Articles and the discussions posted about them (bot.store.ArticleStore).

A discussion is the outbox of a post: recorded 'pending' before the platform is asked, made
'posted' with the platform's ids once it answered, forgotten if it refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.models import Article, ArticleDraft, Community, Discussion
from bot.store import StoreError
from storage.queries import Queries
from storage.rows import ARTICLE_COLS, DISCUSSION_COLS

_DISCUSSION_RETURNING = DISCUSSION_COLS.replace("d.", "")  # for INSERT/UPDATE … RETURNING, no alias


class ArticleQueries(Queries):
    async def save_article(self, key: str, draft: ArticleDraft, now: datetime) -> Article:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO articles (key, title, url, summary, source, published_at, created_at)"
                " VALUES (:key, :title, :url, :summary, :source, :published, :now)"
                " ON CONFLICT (key) DO NOTHING",
                {"key": key, "title": draft.title, "url": draft.url, "summary": draft.summary,
                 "source": draft.source, "published": draft.published_at, "now": now},
            )  # fmt: skip
            row = await tx.fetch_one(f"SELECT {ARTICLE_COLS} FROM articles a WHERE key = :key", {"key": key})
        assert row is not None
        return self._rows.article(row)

    async def get_article(self, article_id: int) -> Article | None:
        row = await self._db.fetch_one(
            f"SELECT {ARTICLE_COLS} FROM articles a WHERE id = :id", {"id": article_id}
        )
        return None if row is None else self._rows.article(row)

    # -- discussions (the outbox) ----------------------------------------------
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
        row = await self._db.fetch_one(
            "INSERT INTO discussions (article_id, platform, community_id, channel_id, prompt, state,"
            " feed_id, created_at) VALUES (:article, :platform, :community, :channel, :prompt, 'pending',"
            f" :feed, :now) ON CONFLICT DO NOTHING RETURNING {_DISCUSSION_RETURNING}",
            {"article": article_id, "platform": community.platform, "community": community.id,
             "channel": channel_id, "prompt": prompt, "feed": feed_id, "now": now},
        )  # fmt: skip
        return None if row is None else self._rows.discussion(row)

    async def confirm_discussion(
        self, discussion_id: int, message_id: str, thread_id: str, now: datetime
    ) -> Discussion:
        row = await self._db.fetch_one(
            "UPDATE discussions SET message_id = :message, thread_id = :thread, state = 'posted',"
            f" posted_at = :now WHERE id = :id RETURNING {_DISCUSSION_RETURNING}",
            {"message": message_id, "thread": thread_id, "now": now, "id": discussion_id},
        )
        if row is None:
            raise StoreError(f"discussion {discussion_id} vanished while it was confirmed")
        return self._rows.discussion(row)

    async def abandon_discussion(self, discussion_id: int) -> None:
        await self._db.execute(
            "DELETE FROM discussions WHERE id = :id AND state = 'pending'", {"id": discussion_id}
        )

    async def get_discussion(self, discussion_id: int) -> Discussion | None:
        return await self._discussion("id = :id", {"id": discussion_id})

    async def find_discussion(
        self, article_id: int, community: Community, channel_id: str
    ) -> Discussion | None:
        return await self._discussion(
            "article_id = :article AND platform = :platform AND community_id = :community"
            " AND channel_id = :channel",
            {
                "article": article_id,
                "platform": community.platform,
                "community": community.id,
                "channel": channel_id,
            },
        )

    async def discussion_for_thread(self, community: Community, thread_id: str) -> Discussion | None:
        return await self._discussion(
            "platform = :platform AND community_id = :community AND thread_id = :thread",
            {"platform": community.platform, "community": community.id, "thread": thread_id},
        )

    async def _discussion(self, where: str, params: dict[str, object]) -> Discussion | None:
        row = await self._db.fetch_one(f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE {where}", params)
        return None if row is None else self._rows.discussion(row)

    async def pending_discussions(self) -> list[Discussion]:
        rows = await self._db.fetch(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE state = 'pending' ORDER BY id"
        )
        return [self._rows.discussion(r) for r in rows]

    async def recent_discussions(self, community: Community, since: datetime) -> list[Discussion]:
        rows = await self._db.fetch(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE platform = :platform"
            " AND community_id = :community AND state = 'posted' AND posted_at >= :since"
            " ORDER BY posted_at DESC, id DESC",
            {"platform": community.platform, "community": community.id, "since": since},
        )
        return [self._rows.discussion(r) for r in rows]

    async def discussions_for_threads(
        self, community: Community, thread_ids: Iterable[str]
    ) -> dict[str, Discussion]:
        wanted = sorted(set(thread_ids))
        if not wanted:
            return {}
        rows = await self._db.fetch(
            f"SELECT {DISCUSSION_COLS} FROM discussions d WHERE platform = :platform"
            " AND community_id = :community AND thread_id = ANY(:threads::text[])",
            {"platform": community.platform, "community": community.id, "threads": wanted},
        )
        return {r[6]: self._rows.discussion(r) for r in rows}
