"""Rows of the tables both stores share, read into the core's models.

Both stores select the same columns in the same order; they differ only in how
a time comes back (SQLite: text, PostgreSQL: timestamptz), which `Rows` is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, cast

from bot.models import (
    Article,
    Community,
    DigestSchedule,
    Discussion,
    DiscussionState,
    Feed,
    FeedFilter,
    Reply,
    ReplyMark,
    ReplyView,
)
from bot.store import ConsoleMessage

ARTICLE_COLS = "a.id, a.key, a.title, a.url, a.summary, a.source, a.published_at, a.created_at"
DISCUSSION_COLS = (
    "d.id, d.article_id, d.platform, d.community_id, d.channel_id, d.message_id, d.thread_id,"
    " d.prompt, d.state, d.feed_id, d.created_at, d.posted_at, d.anonymous_replies"
)
REPLY_COLS = (
    "r.id, r.discussion_id, r.message_id, r.author_id, r.author_name, r.text, r.created_at,"
    " r.edited_at, r.featured, r.hidden,"
    " (SELECT count(*) FROM reactions x WHERE x.reply_id = r.id)"
)
# A reply's mark (see `ReplyMark`) before its author's two preferences, which each store adds.
MARK_COLS = (
    "r.id, r.author_id, r.author_name, r.created_at,"
    " (SELECT count(*) FROM reactions x WHERE x.reply_id = r.id), r.hidden"
)
FEED_COLS = (
    "id, platform, community_id, channel_id, url, title, prompt, backlog, interval_seconds,"
    " etag, last_modified, last_success_at, last_error, last_error_at, failures, next_poll_at,"
    " items_posted, primed, created_at, post_template, items_held_back, held_unmatched"
)
FILTER_COLS = "id, feed_id, action, pattern, field, held_back, created_at"
SCHEDULE_COLS = "platform, community_id, channel_id, weekday, at, timezone, enabled, next_run_at, last_run_at"


@dataclass(frozen=True, slots=True)
class Rows:
    when: Callable[[Any], datetime | None]  # a stored time (or NULL) as an aware UTC datetime

    def _at(self, value: Any) -> datetime:
        moment = self.when(value)
        assert moment is not None, "a NOT NULL time column was NULL"
        return moment

    def article(self, row: Sequence[Any]) -> Article:
        return Article(
            id=row[0], key=row[1], title=row[2], url=row[3], summary=row[4], source=row[5],
            published_at=self.when(row[6]), created_at=self._at(row[7]),
        )  # fmt: skip

    def discussion(self, row: Sequence[Any]) -> Discussion:
        return Discussion(
            id=row[0], article_id=row[1], community=Community(row[2], row[3]), channel_id=row[4],
            message_id=row[5], thread_id=row[6], prompt=row[7], state=DiscussionState(row[8]),
            feed_id=row[9], created_at=self._at(row[10]), posted_at=self.when(row[11]),
            anonymous_replies=row[12],
        )  # fmt: skip

    def reply(self, row: Sequence[Any]) -> Reply:
        return Reply(
            id=row[0], discussion_id=row[1], message_id=row[2], author_id=row[3],
            author_name=row[4], text=row[5], created_at=self._at(row[6]), edited_at=self.when(row[7]),
            featured=bool(row[8]), hidden=bool(row[9]), reactions=row[10],
        )  # fmt: skip

    def thread_replies(
        self, replies: Iterable[Sequence[Any]], reactions: Iterable[Sequence[Any]]
    ) -> list[tuple[Reply, dict[str, set[str]]]]:
        """Rows of `REPLY_COLS` (in order) and of `reply_id, emoji, user_id` as each reply with
        its reactions: emoji -> members."""
        by_reply: dict[int, dict[str, set[str]]] = {}
        for reply_id, emoji, user_id in reactions:
            by_reply.setdefault(reply_id, {}).setdefault(str(emoji), set()).add(str(user_id))
        return [(reply, by_reply.get(reply.id, {})) for reply in map(self.reply, replies)]

    def reply_views(self, rows: Iterable[Sequence[Any]]) -> dict[int, list[ReplyView]]:
        """Rows of `REPLY_COLS, opted_out, anonymous` as replies with their authors' preferences,
        by discussion."""
        when = self.when
        at = cast(Callable[[Any], datetime], when)  # created_at is NOT NULL
        grouped: dict[int, list[ReplyView]] = {}
        # A digest reads a busy week's shown replies before its reading starts: the loop is
        # kept tight (no slice or call of `reply` per row, arguments by position).
        for row in rows:
            reply = Reply(
                row[0], row[1], row[2], row[3], row[4], row[5], at(row[6]), when(row[7]),
                bool(row[8]), bool(row[9]), row[10],
            )  # fmt: skip
            grouped.setdefault(row[1], []).append(ReplyView(reply, bool(row[11]), bool(row[12])))
        return grouped

    def marks(self, rows: Iterable[Sequence[Any]]) -> dict[int, list[ReplyMark]]:
        """Rows of `discussion_id, MARK_COLS, opted_out, anonymous` as marks, by discussion.
        A busy week has tens of thousands, so the loop is kept tight."""
        when = cast(Callable[[Any], datetime], self.when)  # created_at is NOT NULL
        grouped: dict[int, list[ReplyMark]] = {}
        for discussion, reply, author, name, created, reactions, hidden, opted_out, anonymous in rows:
            grouped.setdefault(discussion, []).append(
                ReplyMark(
                    reply,
                    author,
                    name,
                    when(created),
                    reactions,
                    bool(hidden),
                    bool(opted_out),
                    bool(anonymous),
                )
            )
        return grouped

    def feed(self, row: Sequence[Any]) -> Feed:
        return Feed(
            id=row[0], community=Community(row[1], row[2]), channel_id=row[3], url=row[4],
            title=row[5], prompt=row[6], backlog=row[7], interval_seconds=row[8], etag=row[9],
            last_modified=row[10], last_success_at=self.when(row[11]), last_error=row[12],
            last_error_at=self.when(row[13]), failures=row[14], next_poll_at=self._at(row[15]),
            items_posted=row[16], primed=bool(row[17]), created_at=self._at(row[18]),
            template=row[19], items_held_back=row[20], held_unmatched=row[21],
        )  # fmt: skip

    def feed_filter(self, row: Sequence[Any]) -> FeedFilter:
        return FeedFilter(
            id=row[0], feed_id=row[1], action=row[2], pattern=row[3], field=row[4], held_back=row[5],
            created_at=self._at(row[6]),
        )  # fmt: skip

    def schedule(self, row: Sequence[Any]) -> DigestSchedule:
        return DigestSchedule(
            community=Community(row[0], row[1]), channel_id=row[2], weekday=row[3],
            at=time.fromisoformat(row[4]), timezone=row[5], enabled=bool(row[6]),
            next_run_at=self.when(row[7]), last_run_at=self.when(row[8]),
        )  # fmt: skip


CONSOLE_COLS = "seq, channel, author, text, thread, opens_thread, article, created_at"


def console_seq(message_id: str) -> int | None:
    """The number of a console message id ("m12" -> 12); None for any other id."""
    if len(message_id) < 2 or message_id[0] != "m" or not message_id[1:].isdigit():
        return None
    return int(message_id[1:])


def console_message(row: Sequence[Any], created_at: datetime) -> ConsoleMessage:
    return ConsoleMessage(
        id=f"m{row[0]}",
        channel=row[1],
        author=row[2],
        text=row[3],
        thread=row[4],
        opens_thread=bool(row[5]),
        article=row[6],
        created_at=created_at,
    )
