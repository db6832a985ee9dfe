"""Members' replies, their reactions and flags, and the catch-up marks (bot.store.ReplyStore)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.models import Community, Reply
from bot.store import ReplyRow
from storage.db.core import EachRow, Insert, NewRows, Row, Write
from storage.queries import Queries
from storage.rows import REPLY_COLS

# Led by the message id (indexed), then one check of its discussion.
_IN_COMMUNITY = (
    "message_id = :message AND EXISTS (SELECT 1 FROM discussions d WHERE d.id = replies.discussion_id"
    " AND d.platform = :platform AND d.community_id = :community)"
)
_COLUMNS = ("discussion_id", "message_id", "author_id", "author_name", "text", "created_at")
_COUNT_ANONYMOUS = "UPDATE discussions SET anonymous_replies = anonymous_replies + :count WHERE id = :id"
_NEW_REPLIES = NewRows("replies", _COLUMNS, ("bigint", "text", "text", "text", "text", "timestamptz"))

# What a batch of new replies needs to know, in one query: the discussion of each of its
# threads (of this community), and which of its authors opted out.
_BATCH_CONTEXT = (
    "SELECT thread_id, id FROM discussions WHERE platform = :platform AND community_id = :community"
    " AND thread_id = ANY(:threads::text[])"
    " UNION ALL SELECT user_id, NULL FROM member_prefs"
    " WHERE platform = :platform AND opted_out AND user_id = ANY(:authors::text[])"
)


def _message(community: Community, message_id: str, **more: object) -> dict[str, object]:
    return {"message": message_id, "platform": community.platform, "community": community.id, **more}


class ReplyQueries(Queries):
    async def add_reply(
        self,
        discussion_id: int,
        *,
        message_id: str,
        author_id: str,
        author_name: str,
        text: str,
        created_at: datetime,
    ) -> bool:
        changed = await self._db.execute(
            f"INSERT INTO replies ({', '.join(_COLUMNS)}) VALUES (:discussion, :message, :author, :name,"
            " :text, :at) ON CONFLICT DO NOTHING",
            {"discussion": discussion_id, "message": message_id, "author": author_id, "name": author_name,
             "text": text, "at": created_at},
        )  # fmt: skip
        return changed > 0

    async def store_replies(
        self, community: Community, rows: Sequence[ReplyRow], *, staged: Callable[[], None] | None = None
    ) -> int:
        # Per reply only what must be: a tuple for the insert; the checks are per batch (one
        # query), the duplicates left to the unique key (ON CONFLICT DO NOTHING).
        if not rows:
            return 0
        context = {"platform": community.platform, "community": community.id,
                   "threads": list({r[0] for r in rows}), "authors": list({r[2] for r in rows})}  # fmt: skip

        def plan(found: list[Row]) -> list[Write]:
            discussions: dict[str, int] = {}
            opted_out: set[str] = set()
            for key, discussion_id in found:
                if discussion_id is None:
                    opted_out.add(key)
                else:
                    discussions[key] = int(discussion_id)
            if not opted_out:
                new = [(d, message, author, name, text, at)
                       for thread, message, author, name, text, at, _ in rows
                       if (d := discussions.get(thread)) is not None]  # fmt: skip
                return [Insert(_NEW_REPLIES, new)]
            new = []
            anonymous: dict[int, int] = {}
            for thread, message, author, name, text, at, from_history in rows:
                if (discussion := discussions.get(thread)) is None:
                    continue
                if author in opted_out:
                    # Counted, never stored; a reply read back from history may have been
                    # counted live already, so it is not counted again.
                    if not from_history:
                        anonymous[discussion] = anonymous.get(discussion, 0) + 1
                    continue
                new.append((discussion, message, author, name, text, at))
            # In the discussions' order: two processes' batches never wait on each other crosswise.
            counts = [{"id": d, "count": n} for d, n in sorted(anonymous.items())]
            return [Insert(_NEW_REPLIES, new), EachRow(_COUNT_ANONYMOUS, counts)]

        # One transaction; on SQLite one call to the connection's thread for the whole batch,
        # its COMMIT queued behind it (`staged` once only that is left).
        return await self._db.read_then_write(_BATCH_CONTEXT, context, plan, staged=staged)

    async def count_anonymous_reply(self, discussion_id: int) -> None:
        await self._db.execute(_COUNT_ANONYMOUS, {"id": discussion_id, "count": 1})

    async def latest_reply_message_id(self, discussion_id: int) -> str | None:
        found = await self._db.fetch_value(
            "SELECT message_id FROM replies WHERE discussion_id = :id"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            {"id": discussion_id},
        )
        return None if found is None else str(found)

    async def edit_reply(self, community: Community, message_id: str, text: str, edited_at: datetime) -> bool:
        changed = await self._db.execute(
            # A moderator featured the words they read; new words must earn it again.
            # SET sees the old row: the mark stays only when the words did not change.
            "UPDATE replies SET featured = featured AND text = :text, text = :text, edited_at = :at"
            f" WHERE {_IN_COMMUNITY}",
            _message(community, message_id, text=text, at=edited_at),
        )
        return changed > 0

    async def delete_reply(self, community: Community, message_id: str) -> bool:
        return (
            await self._db.execute(
                f"DELETE FROM replies WHERE {_IN_COMMUNITY}", _message(community, message_id)
            )
            > 0
        )

    async def delete_thread_replies(self, discussion_id: int) -> int:
        return await self._db.execute("DELETE FROM replies WHERE discussion_id = :id", {"id": discussion_id})

    async def get_reply(self, community: Community, message_id: str) -> Reply | None:
        row = await self._db.fetch_one(
            f"SELECT {REPLY_COLS} FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " WHERE r.message_id = :message AND d.platform = :platform AND d.community_id = :community",
            _message(community, message_id),
        )
        return None if row is None else self._rows.reply(row)

    async def thread_replies(self, discussion_id: int) -> list[tuple[Reply, dict[str, set[str]]]]:
        replies = await self._db.fetch(
            f"SELECT {REPLY_COLS} FROM replies r WHERE r.discussion_id = :id ORDER BY r.created_at, r.id",
            {"id": discussion_id},
        )
        reactions = await self._db.fetch(
            "SELECT x.reply_id, x.emoji, x.user_id FROM reactions x JOIN replies r ON r.id = x.reply_id"
            " WHERE r.discussion_id = :id",
            {"id": discussion_id},
        )
        return self._rows.thread_replies(replies, reactions)

    # -- reactions and flags ---------------------------------------------------------
    async def set_reaction(
        self, community: Community, message_id: str, user_id: str, emoji: str, present: bool
    ) -> bool:
        async with self._db.transaction() as tx:
            reply_id = await tx.fetch_value(
                f"SELECT id FROM replies WHERE {_IN_COMMUNITY}", _message(community, message_id)
            )
            if reply_id is None:
                return False
            reaction = {"reply": reply_id, "user": user_id, "emoji": emoji}
            if present:
                await tx.execute(
                    "INSERT INTO reactions (reply_id, user_id, emoji) VALUES (:reply, :user, :emoji)"
                    " ON CONFLICT DO NOTHING",
                    reaction,
                )
            else:
                await tx.execute(
                    "DELETE FROM reactions WHERE reply_id = :reply AND user_id = :user AND emoji = :emoji",
                    reaction,
                )
        return True

    async def clear_reactions(self, community: Community, message_id: str, emoji: str | None) -> int:
        return await self._db.execute(
            "DELETE FROM reactions WHERE (:emoji::text IS NULL OR emoji = :emoji) AND reply_id IN"
            " (SELECT r.id FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            "  WHERE r.message_id = :message AND d.platform = :platform AND d.community_id = :community)",
            _message(community, message_id, emoji=emoji),
        )

    async def set_reply_flags(
        self,
        community: Community,
        message_id: str,
        *,
        featured: bool | None = None,
        hidden: bool | None = None,
    ) -> bool:
        changed = await self._db.execute(
            "UPDATE replies SET featured = coalesce(:featured::boolean, featured),"
            f" hidden = coalesce(:hidden::boolean, hidden) WHERE {_IN_COMMUNITY}",
            _message(community, message_id, featured=featured, hidden=hidden),
        )
        return changed > 0

    # -- catch-up marks --------------------------------------------------------------------
    async def catch_up_from(self, discussion_ids: Sequence[int]) -> dict[int, str | None]:
        ids = list(discussion_ids)
        if not ids:
            return {}
        async with self._db.transaction() as tx:
            # A mark left by an unfinished reading wins; else the newest reply becomes the mark.
            await tx.execute_many(
                "INSERT INTO catchup_marks (discussion_id, after_message_id)"
                " SELECT :id::bigint, (SELECT message_id FROM replies WHERE discussion_id = :id"
                " ORDER BY created_at DESC, id DESC LIMIT 1) ON CONFLICT DO NOTHING",
                [{"id": i} for i in ids],
            )
            rows = await tx.fetch(
                "SELECT discussion_id, after_message_id FROM catchup_marks"
                " WHERE discussion_id = ANY(:ids::bigint[])",
                {"ids": ids},
            )
        return {int(r[0]): r[1] for r in rows}

    async def caught_up(self, discussion_id: int) -> None:
        await self._db.execute("DELETE FROM catchup_marks WHERE discussion_id = :id", {"id": discussion_id})
