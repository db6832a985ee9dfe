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
from bot.models import Community, NewReply
from bot.store import Store, StoreError
from bot.text import clean

_log = logging.getLogger(__name__)

MAX_REPLY_LENGTH = 8000
MAX_NAME_LENGTH = 100
MAX_KNOWN_THREADS = 10_000

# A new reply waiting for its batch: the event, and its author's name and words cleaned.
_Incoming = tuple[ReplyPosted, str, str]


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
        # The discussion of each thread seen: a posted discussion keeps its thread for good,
        # so a batch asks the store only about threads it has not met (bounded, see `_known`).
        self._discussions: dict[tuple[Community, str], int] = {}

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
        name = clean(event.author_name, keep_newlines=False)[:MAX_NAME_LENGTH] or "member"
        await self._batch.add((event, name, clean(event.text)[:MAX_REPLY_LENGTH]))
        # Stored with its batch; App flushes before anything else.

    async def _store_replies(self, incoming: list[_Incoming]) -> None:
        by_community: dict[Community, list[_Incoming]] = {}
        for item in incoming:
            by_community.setdefault(item[0].community, []).append(item)
        for community, batch in by_community.items():
            try:
                await self._store_community_replies(community, batch)
            except StoreError as exc:
                self._not_stored(community, [item[0] for item in batch], exc)

    def _not_stored(self, community: Community, events: Sequence[ReplyPosted], exc: StoreError) -> None:
        """Never dropped silently: each reply is named, and its thread is remembered."""
        threads: dict[str, list[str]] = {}
        for event in events:
            threads.setdefault(event.thread_id, []).append(event.message_id)
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

    async def _known(self, community: Community, threads: set[str]) -> dict[str, int]:
        """The discussion id of each of these threads that is a discussion."""
        cache = self._discussions
        found = {t: d for t in threads if (d := cache.get((community, t))) is not None}
        if unknown := threads - found.keys():
            asked = await self._store.discussions_for_threads(community, unknown)
            if len(cache) + len(asked) > MAX_KNOWN_THREADS:
                cache.clear()  # the old ones are asked for again, once
            for thread, discussion in asked.items():
                cache[(community, thread)] = found[thread] = discussion.id
        return found

    async def _store_community_replies(self, community: Community, incoming: Sequence[_Incoming]) -> None:
        discussions = await self._known(community, {item[0].thread_id for item in incoming})
        # Threads threadcast did not open are not its business.
        incoming = [item for item in incoming if item[0].thread_id in discussions]
        prefs = await self._store.prefs_of(community.platform, {item[0].author_id for item in incoming})
        new: list[NewReply] = []
        for event, name, text in incoming:
            discussion_id = discussions[event.thread_id]
            if (found := prefs.get(event.author_id)) is not None and found.opted_out:
                # Opted-out members are counted, never stored; a reply read back from
                # history may have been counted live already, so it is not counted again.
                if not event.from_history:
                    await self._store.count_anonymous_reply(discussion_id)
                continue
            new.append(
                NewReply(discussion_id, event.message_id, event.author_id, name, text, event.created_at)
            )
        stored = await self._store.add_replies(new)
        if not all(stored):
            _log.debug("%d replies arrived twice", stored.count(False))

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
