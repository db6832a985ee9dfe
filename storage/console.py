"""The console platform's messages, reactions and clock offset (bot.store.ConsoleStore).

Messages are numbered from one sequence for every process on the database (SQLite: the
INTEGER PRIMARY KEY under the write lock; PostgreSQL: the column's sequence). A deleted
message stays as a tombstone, so its number is never handed out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.store import ConsoleMessage
from storage.db.core import Tx, pick
from storage.queries import Queries
from storage.rows import CONSOLE_COLS, console_message, console_seq

# SQLite's partial index is on `opens_thread = 1`: its planner wants that very term.
_OPENS = {"sqlite": "opens_thread = 1", "postgres": "opens_thread"}
_REACTION_ORDER = {"sqlite": "rowid", "postgres": "ctid"}  # the order they were added in
_SET_OFFSET = (
    "INSERT INTO console_state (name, value) VALUES ('time_offset', :value)"
    " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


class ConsoleQueries(Queries):
    def _message(self, row: Sequence[object]) -> ConsoleMessage:
        created = self._db.when(row[7])
        assert created is not None
        return console_message(row, created)

    async def add_console_message(
        self,
        channel: str,
        author: str,
        text: str,
        created_at: datetime,
        *,
        thread: str | None = None,
        opens_thread: bool = False,
        article: str | None = None,
    ) -> ConsoleMessage:
        row = await self._db.fetch_one(
            "INSERT INTO console_messages (channel, author, text, thread, opens_thread, article, created_at)"
            f" VALUES (:channel, :author, :text, :thread, :opens, :article, :at) RETURNING {CONSOLE_COLS}",
            {"channel": channel, "author": author, "text": text, "thread": thread, "opens": opens_thread,
             "article": article, "at": created_at},
        )  # fmt: skip
        assert row is not None
        return self._message(row)

    async def console_message(self, message_id: str) -> ConsoleMessage | None:
        seq = console_seq(message_id)
        if seq is None:
            return None
        row = await self._db.fetch_one(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE seq = :seq AND NOT deleted", {"seq": seq}
        )
        if row is None:
            return None
        message = self._message(row)
        order = pick(_REACTION_ORDER, self._db.engine)
        for emoji, user in await self._db.fetch(
            f"SELECT emoji, user_id FROM console_reactions WHERE seq = :seq ORDER BY {order}", {"seq": seq}
        ):
            message.reactions.setdefault(emoji, []).append(user)
        return message

    async def latest_console_opener(
        self, channel: str | None = None, article: str | None = None
    ) -> ConsoleMessage | None:
        row = await self._db.fetch_one(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE {pick(_OPENS, self._db.engine)}"
            " AND NOT deleted AND (:channel::text IS NULL OR channel = :channel)"
            " AND (:article::text IS NULL OR article = :article)"
            " ORDER BY seq DESC LIMIT 1",
            {"channel": channel, "article": article},
        )
        return None if row is None else self._message(row)

    async def console_thread(self, thread: str) -> list[ConsoleMessage]:
        rows = await self._db.fetch(
            f"SELECT {CONSOLE_COLS} FROM console_messages WHERE thread = :thread AND NOT deleted"
            " ORDER BY seq",
            {"thread": thread},
        )
        return [self._message(r) for r in rows]

    async def edit_console_message(self, message_id: str, text: str) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        changed = await self._db.execute(
            "UPDATE console_messages SET text = :text WHERE seq = :seq AND NOT deleted",
            {"text": text, "seq": seq},
        )
        return changed == 1

    async def delete_console_message(self, message_id: str) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE console_messages SET deleted = true, text = '' WHERE seq = :seq AND NOT deleted",
                {"seq": seq},
            )
            await tx.execute("DELETE FROM console_reactions WHERE seq = :seq", {"seq": seq})
        return changed == 1

    async def set_console_reaction(self, message_id: str, emoji: str, user_id: str, present: bool) -> bool:
        seq = console_seq(message_id)
        if seq is None:
            return False
        reaction = {"seq": seq, "emoji": emoji, "user": user_id}
        if present:
            sql = (
                "INSERT INTO console_reactions (seq, emoji, user_id) SELECT seq, :emoji, :user"
                " FROM console_messages WHERE seq = :seq AND NOT deleted ON CONFLICT DO NOTHING"
            )
        else:
            sql = "DELETE FROM console_reactions WHERE seq = :seq AND emoji = :emoji AND user_id = :user"
        return await self._db.execute(sql, reaction) == 1

    async def console_time_offset(self) -> float | None:
        value = await self._db.fetch_value("SELECT value FROM console_state WHERE name = 'time_offset'")
        return None if value is None else float(value)

    async def set_console_time_offset(self, seconds: float) -> None:
        await self._db.execute(_SET_OFFSET, {"value": repr(float(seconds))})

    async def import_console_messages(
        self, messages: Sequence[ConsoleMessage], next_number: int, time_offset: float
    ) -> bool:
        async with self._db.transaction() as tx:
            first = await tx.execute(
                "INSERT INTO console_state (name, value) VALUES ('imported', 'yes') ON CONFLICT DO NOTHING"
            )
            if first != 1:
                return False
            rows = [(seq, m) for m in messages if (seq := console_seq(m.id)) is not None]
            await tx.execute_many(
                "INSERT INTO console_messages (seq, channel, author, text, thread, opens_thread, article,"
                " created_at) VALUES (:seq, :channel, :author, :text, :thread, :opens, :article, :at)"
                " ON CONFLICT DO NOTHING",
                [{"seq": seq, "channel": m.channel, "author": m.author, "text": m.text, "thread": m.thread,
                  "opens": m.opens_thread, "article": m.article, "at": m.created_at} for seq, m in rows],
            )  # fmt: skip
            await tx.execute_many(
                "INSERT INTO console_reactions (seq, emoji, user_id) VALUES (:seq, :emoji, :user)"
                " ON CONFLICT DO NOTHING",
                [
                    {"seq": seq, "emoji": e, "user": u}
                    for seq, m in rows
                    for e, who in m.reactions.items()
                    for u in who
                ],
            )
            await _keep_numbers(tx, max([seq for seq, _ in rows], default=0), next_number)
            await tx.execute(_SET_OFFSET, {"value": repr(float(time_offset))})
        return True


async def _keep_numbers(tx: Tx, top: int, next_number: int) -> None:
    """Numbers handed out before (to messages since deleted) stay used."""
    if tx.engine == "postgres":  # the sequence goes on past every number handed out
        await tx.execute(
            "SELECT setval(pg_get_serial_sequence('console_messages', 'seq'),"
            " greatest((SELECT coalesce(max(seq), 0) FROM console_messages), :next::bigint - 1) + 1, false)",
            {"next": next_number},
        )
    elif next_number - 1 > top:  # SQLite numbers past the largest row: a tombstone at the top
        await tx.execute(
            "INSERT INTO console_messages (seq, channel, author, text, deleted, created_at)"
            " VALUES (:seq, '', '', '', true, :now) ON CONFLICT DO NOTHING",
            {"seq": next_number - 1, "now": datetime.now(UTC)},
        )
