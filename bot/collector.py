"""Keeping what members write in discussion threads, as their preferences allow."""

from __future__ import annotations

import logging

from bot.app import App
from bot.events import (
    ReactionChanged,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
    ThreadDeleted,
)
from bot.store import Store
from bot.text import clean

_log = logging.getLogger(__name__)

MAX_REPLY_LENGTH = 8000
MAX_NAME_LENGTH = 100


class Collector:
    def __init__(self, store: Store) -> None:
        self._store = store

    def register(self, app: App) -> None:
        app.on(ReplyPosted, self.reply_posted)
        app.on(ReplyEdited, self.reply_edited)
        app.on(ReplyDeleted, self.reply_deleted)
        app.on(ThreadDeleted, self.thread_deleted)
        app.on(ReactionChanged, self.reaction_changed)
        app.on(ReactionsCleared, self.reactions_cleared)

    async def reply_posted(self, event: ReplyPosted) -> None:
        discussion = await self._store.discussion_for_thread(event.community, event.thread_id)
        if discussion is None:
            return  # a thread threadcast did not open
        prefs = await self._store.get_prefs(event.community.platform, event.author_id)
        if prefs.opted_out:
            # Opted-out members are counted, never stored; a reply read back from
            # history may have been counted live already, so it is not counted again.
            if not event.from_history:
                await self._store.count_anonymous_reply(discussion.id)
            return
        stored = await self._store.add_reply(
            discussion.id,
            message_id=event.message_id,
            author_id=event.author_id,
            author_name=clean(event.author_name, keep_newlines=False)[:MAX_NAME_LENGTH] or "member",
            text=clean(event.text)[:MAX_REPLY_LENGTH],
            created_at=event.created_at,
        )
        if not stored:
            _log.debug("reply %s arrived twice", event.message_id)

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
