"""Stats and export: figures per feed and per prompt, and everything posted, with its replies."""

from __future__ import annotations

from datetime import datetime

from bot.models import Article, Community, Discussion, ReplyView, StatsRow
from storage.digests import reply_views
from storage.fragments import bytewise
from storage.queries import Queries
from storage.rows import ARTICLE_COLS, DISCUSSION_COLS


def _stats(label: str, group: str) -> dict[str, str]:
    return dict(
        bytewise(
            f"SELECT ({label}){{C}} AS label, count(DISTINCT d.id), count(r.id),"
            " count(DISTINCT r.author_id), count(DISTINCT (d.id || ':' || r.author_id))"
            " FROM discussions d LEFT JOIN feeds f ON f.id = d.feed_id"
            # The opt-out test sits in the join so each discussion probes its own replies.
            " LEFT JOIN replies r ON r.discussion_id = d.id AND NOT EXISTS (SELECT 1 FROM member_prefs p"
            "   WHERE p.platform = :platform AND p.user_id = r.author_id AND p.opted_out = true)"
            " WHERE d.platform = :platform AND d.community_id = :community AND d.state = 'posted'"
            f" AND d.posted_at >= :since GROUP BY {group} ORDER BY count(r.id) DESC, label"
        )
    )


_PER_FEED = _stats(
    "coalesce(f.title, f.url, d.removed_feed || ' (removed feed)', 'posted by hand')",
    "d.feed_id, label",  # two feeds with one title stay two rows
)
_PER_PROMPT = _stats("d.prompt", "label")


class StatsQueries(Queries):
    """`bot.store.StatsStore`."""

    async def stats(self, community: Community, since: datetime) -> tuple[list[StatsRow], list[StatsRow]]:
        params = {"platform": community.platform, "community": community.id, "since": since}
        per_feed = await self._db.fetch(_PER_FEED, params)
        per_prompt = await self._db.fetch(_PER_PROMPT, params)
        return [StatsRow(*r) for r in per_feed], [StatsRow(*r) for r in per_prompt]

    async def export(self, community: Community | None) -> list[tuple[Discussion, Article, list[ReplyView]]]:
        where, params = ("", {}) if community is None else (
            " AND d.platform = :platform AND d.community_id = :community",
            {"platform": community.platform, "community": community.id},
        )  # fmt: skip
        discussions = await self._db.fetch(
            f"SELECT {DISCUSSION_COLS}, {ARTICLE_COLS} FROM discussions d"
            f" JOIN articles a ON a.id = d.article_id WHERE d.state = 'posted'{where}"
            " ORDER BY d.posted_at, d.id",
            params,
        )
        by_discussion = await reply_views(self._db, self._rows, f"true{where}", params)
        return [
            (self._rows.discussion(r[:13]), self._rows.article(r[13:21]), by_discussion.get(r[0], []))
            for r in discussions
        ]
