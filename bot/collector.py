"""Keeping what members write in discussion threads, as their preferences allow.

New replies are written in batches (`bot.group_commit`): the collector queues
each one, and a batch is resolved (discussions, preferences) and stored at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.app import App
from bot.events import (
    ReactionChanged,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
    ThreadDeleted,
)
from bot.group_commit import DEFAULT_MAX_DELAY, DEFAULT_MAX_ROWS, GroupCommit
from bot.models import Community
from bot.store import ReplyRow, Store, StoreError
from bot.text import clean

_log = logging.getLogger(__name__)

MAX_REPLY_LENGTH = 8000
MAX_NAME_LENGTH = 100
MAX_NAMES_KEPT = 10_000  # cleaned author names remembered (a flood repeats a few names)

# A new reply waiting for its batch: its community, and the row the store takes (name and words
# cleaned). Built once, here; the store checks the thread and the author's preferences in SQL.
_Incoming = tuple[Community, ReplyRow]


class Collector:
    def __init__(
        self, store: Store, *, batch_rows: int = DEFAULT_MAX_ROWS, batch_delay: float = DEFAULT_MAX_DELAY
    ) -> None:
        self._store = store
        self._batch: GroupCommit[_Incoming] = GroupCommit(
            self._store_replies, max_rows=batch_rows, max_delay=batch_delay, name="reply batch"
        )
        # Replies that could not be written (a full or read-only disk), per thread: a catch-up
        # that meets one keeps the thread's mark, so the next one reads those replies again.
        self._failures: dict[tuple[Community, str], int] = {}
        self._names: dict[str, str] = {}  # an author's name as given -> as kept

    def register(self, app: App) -> None:
        app.on(ReplyPosted, self.reply_posted)
        app.on(ReplyEdited, self.reply_edited)
        app.on(ReplyDeleted, self.reply_deleted)
        app.on(ThreadDeleted, self.thread_deleted)
        app.on(ReactionChanged, self.reaction_changed)
        app.on(ReactionsCleared, self.reactions_cleared)
        app.add_barrier(self._batch.flush)

    async def reply_posted(self, event: ReplyPosted) -> None:
        # Cleaned now, while the batch before is being written, not when this one is.
        if (name := self._names.get(event.author_name)) is None:
            name = clean(event.author_name, keep_newlines=False)[:MAX_NAME_LENGTH] or "member"
            if len(self._names) >= MAX_NAMES_KEPT:
                self._names.clear()
            self._names[event.author_name] = name
        row = (event.thread_id, event.message_id, event.author_id, name, clean(event.text)[:MAX_REPLY_LENGTH],
               event.created_at, event.from_history)  # fmt: skip
        await self._batch.add((event.community, row))
        # Stored with its batch; App flushes before anything else.

    async def _store_replies(self, incoming: list[_Incoming]) -> None:
        by_community: dict[Community, list[ReplyRow]] = {}
        last: Community | None = None
        rows: list[ReplyRow] = []
        for community, row in incoming:
            if community is not last:  # a flood is one community: no hashing per reply
                last = community
                rows = by_community.setdefault(community, [])
            rows.append(row)
        final = next(reversed(by_community))
        for community, batch in by_community.items():
            # Threads threadcast did not open are not its business; opted-out members are
            # counted, never stored; a reply delivered twice is kept once (see the store).
            # Once only the final write's commit is left, the next batch may start.
            staged = self._batch.staged if community is final else None
            try:
                stored = await self._store.store_replies(community, batch, staged=staged)
            except StoreError as exc:
                self._not_stored(community, batch, exc)
            else:
                _log.debug("%d of %d replies stored", stored, len(batch))

    def _not_stored(self, community: Community, rows: Sequence[ReplyRow], exc: StoreError) -> None:
        """Never dropped silently: each reply is named, and its thread is remembered."""
        threads: dict[str, list[str]] = {}
        for row in rows:
            threads.setdefault(row[0], []).append(row[1])
        for thread_id, message_ids in threads.items():
            key = (community, thread_id)
            self._failures[key] = self._failures.get(key, 0) + len(message_ids)
            _log.error(
                "replies %s in thread %s (%s) not stored: %s; the thread's catch-up mark stays,"
                " so the next catch-up reads them again",
                ", ".join(message_ids), thread_id, community.key, exc,
            )  # fmt: skip

    def failures(self, community: Community, thread_id: str) -> int:
        """How many replies in this thread could not be written since the process started."""
        return self._failures.get((community, thread_id), 0)

    async def reply_edited(self, event: ReplyEdited) -> None:
        reply = await self._store.get_reply(event.community, event.message_id)
        if reply is None:
            return
        prefs = await self._store.get_prefs(event.community.platform, reply.author_id)
        if prefs.opted_out:
            # New words of an opted-out member are never stored, and the old
            # ones are no longer what they said: the reply goes.
            await self._store.delete_reply(event.community, event.message_id)
            return
        # An edit replaces the text: the old words are not kept anywhere.
        await self._store.edit_reply(
            event.community, event.message_id, clean(event.text)[:MAX_REPLY_LENGTH], event.edited_at
        )

    async def reply_deleted(self, event: ReplyDeleted) -> None:
        await self._store.delete_reply(event.community, event.message_id)

    async def thread_deleted(self, event: ThreadDeleted) -> None:
        discussion = await self._store.discussion_for_thread(event.community, event.thread_id)
        if discussion is not None:
            count = await self._store.delete_thread_replies(discussion.id)
            _log.info("thread %s deleted: %d replies removed", event.thread_id, count)

    async def reaction_changed(self, event: ReactionChanged) -> None:
        if (await self._store.get_prefs(event.community.platform, event.user_id)).opted_out:
            return  # an opted-out member's reactions are not kept either
        await self._store.set_reaction(
            event.community, event.message_id, event.user_id, event.emoji[:64], event.added
        )

    async def reactions_cleared(self, event: ReactionsCleared) -> None:
        await self._store.clear_reactions(event.community, event.message_id, event.emoji)
