"""Members' preferences and forgetting a member (bot.store.MemberStore)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.models import Article, MemberPrefs, Reply
from storage.queries import Queries
from storage.rows import ARTICLE_COLS, REPLY_COLS

_IN_PLATFORM = "(SELECT id FROM discussions WHERE platform = :platform)"


class MemberQueries(Queries):
    async def get_prefs(self, platform: str, user_id: str) -> MemberPrefs:
        return (await self.prefs_of(platform, [user_id])).get(user_id) or MemberPrefs(platform, user_id)

    async def prefs_of(self, platform: str, user_ids: Iterable[str]) -> dict[str, MemberPrefs]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        rows = await self._db.fetch(
            "SELECT user_id, opted_out, anonymous FROM member_prefs"
            " WHERE platform = :platform AND user_id = ANY(:users::text[])",
            {"platform": platform, "users": wanted},
        )
        return {r[0]: MemberPrefs(platform, r[0], opted_out=bool(r[1]), anonymous=bool(r[2])) for r in rows}

    async def set_prefs(self, prefs: MemberPrefs) -> None:
        await self._db.execute(
            "INSERT INTO member_prefs (platform, user_id, opted_out, anonymous)"
            " VALUES (:platform, :user, :opted_out, :anonymous) ON CONFLICT (platform, user_id)"
            " DO UPDATE SET opted_out = excluded.opted_out, anonymous = excluded.anonymous",
            {"platform": prefs.platform, "user": prefs.user_id, "opted_out": prefs.opted_out,
             "anonymous": prefs.anonymous},
        )  # fmt: skip

    async def member_replies(self, platform: str, user_id: str) -> list[tuple[Reply, Article]]:
        rows = await self._db.fetch(
            f"SELECT {REPLY_COLS}, {ARTICLE_COLS} FROM replies r"
            " JOIN discussions d ON d.id = r.discussion_id JOIN articles a ON a.id = d.article_id"
            " WHERE d.platform = :platform AND r.author_id = :user ORDER BY r.created_at, r.id",
            {"platform": platform, "user": user_id},
        )
        return [(self._rows.reply(r[:11]), self._rows.article(r[11:])) for r in rows]

    async def forget_member(self, platform: str, user_id: str) -> tuple[int, int]:
        member = {"platform": platform, "user": user_id}
        async with self._db.transaction() as tx:
            reactions = await tx.execute(
                "DELETE FROM reactions WHERE user_id = :user AND reply_id IN"
                f" (SELECT id FROM replies WHERE discussion_id IN {_IN_PLATFORM})",
                member,
            )
            replies = await tx.execute(
                f"DELETE FROM replies WHERE author_id = :user AND discussion_id IN {_IN_PLATFORM}", member
            )
            # The opt-out itself is kept: forgetting must not start storing again.
            await tx.execute(
                "UPDATE member_prefs SET anonymous = false WHERE platform = :platform AND user_id = :user",
                member,
            )
            await tx.execute(
                "DELETE FROM member_prefs WHERE platform = :platform AND user_id = :user AND NOT opted_out",
                member,
            )
        return replies, reactions
