"""Reading what members wrote while the bot was away, once, on every (re)connect."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.app import App
from bot.clock import Clock
from bot.events import (
    Event,
    PlatformReady,
    ReactionChanged,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
)
from bot.models import Community, Discussion
from bot.platform import ChatPlatform, IncompleteHistory
from bot.store import Store

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThreadCaughtUp(Event):
    """The history of a thread was read and its replies handed on; dispatched after them, so
    it is handled only once they are stored."""

    discussion_id: int


RECENT = timedelta(days=14)  # older threads are archived by then; reading them is wasted requests


class CatchUp:
    def __init__(
        self,
        app: App,
        store: Store,
        platforms: Mapping[str, ChatPlatform],
        clock: Clock,
        *,
        failures: Callable[[Community, str], int] | None = None,
    ) -> None:
        self._app = app
        # Replies of a thread that could not be stored so far (`Collector.failures`).
        self._failures = failures or (lambda community, thread_id: 0)
        self._store = store
        self._platforms = platforms
        self._clock = clock
        # Changes to messages seen live while a catch-up runs, per community and catch-up.
        self._watches: dict[Community, list[list[Event]]] = {}

    def register(self, app: App) -> None:
        app.on(PlatformReady, self.platform_ready)
        app.on(ThreadCaughtUp, self.thread_caught_up)
        for change in (ReplyEdited, ReplyDeleted, ReactionChanged, ReactionsCleared):
            app.on(change, self._seen)

    async def _seen(self, event: Event) -> None:
        for changes in self._watches.get(event.community, []):
            changes.append(event)

    async def platform_ready(self, event: PlatformReady) -> None:
        # Where each thread's reading starts is fixed now, while events are held in
        # order, so a live reply handled meanwhile cannot move it past the gap.
        # They are kept in the store until each thread is read: a process killed mid catch-up,
        # after storing newer live replies, must not start the next reading past the gap.
        since = self._clock.now() - RECENT
        discussions = await self._store.recent_discussions(event.community, since)
        marks = await self._store.catch_up_from([d.id for d in discussions])
        starts = [(discussion, marks.get(discussion.id)) for discussion in discussions]
        # A history page is a snapshot: an edit, delete or reaction that arrives live after it
        # was read, for a message not stored yet, found nothing to change. Those are kept from
        # now on, and played again once the catch-up has stored their message.
        changes: list[Event] = []
        self._watches.setdefault(event.community, []).append(changes)
        # The reading itself in the background: a connect must not wait for it.
        self._app.spawn(self.run(event, starts, changes), name=f"catch-up {event.community.key}")

    async def thread_caught_up(self, event: ThreadCaughtUp) -> None:
        await self._store.caught_up(event.discussion_id)

    async def recovered(self, discussion: Discussion) -> None:
        """A post found in its channel after a crash (see `Publisher.recover_pending`): members
        may have replied while it was unconfirmed, unseen, so its whole thread is read."""
        marks = await self._store.catch_up_from([discussion.id])
        event = PlatformReady(discussion.community)
        self._app.spawn(
            self.run(event, [(discussion, marks.get(discussion.id))]), name=f"catch-up {discussion.id}"
        )

    async def run(
        self,
        event: PlatformReady,
        starts: list[tuple[Discussion, str | None]],
        changes: list[Event] | None = None,
    ) -> int:
        try:
            return await self._run(event, starts, [] if changes is None else changes)
        finally:
            watches = self._watches.get(event.community, [])
            if changes in watches:
                watches.remove(changes)
            if not watches:
                self._watches.pop(event.community, None)

    async def _run(
        self, event: PlatformReady, starts: list[tuple[Discussion, str | None]], changes: list[Event]
    ) -> int:
        platform = self._platforms.get(event.community.platform)
        if platform is None:
            return 0
        found = 0
        for discussion, after in starts:
            complete = True
            thread = discussion.thread_id or ""
            failed_before = self._failures(event.community, thread)
            try:
                missed = await platform.replies_since(discussion, after)
            except IncompleteHistory as exc:
                # Keep what was read; the thread's mark stays, so the next catch-up reads on.
                _log.warning("thread %s read only in part: %s", discussion.thread_id, exc)
                missed, complete = exc.replies, False
            except Exception:
                _log.exception("could not read the history of thread %s", discussion.thread_id)
                continue
            for reply in missed:
                await self._app.dispatch(reply)  # stored once: the store ignores a message seen before
                # In their order; each is idempotent, so one already applied changes nothing.
                for change in [c for c in changes if getattr(c, "message_id", None) == reply.message_id]:
                    await self._app.dispatch(change)
            if complete:
                await self._app.flush()  # so a reply that could not be written is known now
                if self._failures(event.community, thread) != failed_before:
                    _log.warning("thread %s keeps its mark: a reply read was not stored", thread)
                else:
                    await self._app.dispatch(ThreadCaughtUp(event.community, discussion.id))
            found += len(missed)
        if found:
            _log.info("caught up with %d replies in %s", found, event.community.key)
        return found
