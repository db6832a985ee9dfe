"""Reading what members wrote while the bot was away, once, on every (re)connect; and, where
the platform's history shows it (Discord), bringing the stored replies back to what the
threads show: words, deletions and reactions made while no session received them.

How reactions are reconciled. The store keeps one row per member and emoji; a platform's
history gives only a count per emoji. For each stored reply and emoji, the count on the
platform (the bot's own reaction left out) is compared with the stored rows:
- equal: the rows stay as they are (a member who took a reaction back while another added the
  same one meanwhile leaves the same count; the rows then name the wrong member until a live
  event of either corrects it, but the count is right);
- zero on the platform: the emoji's rows are deleted, no further question asked;
- otherwise: the platform is asked who reacted with it, and the rows are made to match (a
  member who opted out is not stored, as live). If it will not say, the rows stay.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TypeVar

from bot.app import App
from bot.clock import Clock
from bot.collector import MAX_REPLY_LENGTH
from bot.events import (
    Event,
    PlatformReady,
    ReactionChanged,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from bot.models import Community, Discussion, Reply
from bot.platform import ChatPlatform, IncompleteHistory, ShownReply, ShowsThreads, ThreadShown
from bot.store import Store
from bot.text import clean

_log = logging.getLogger(__name__)

T = TypeVar("T")

# A reading the platform failed on its side (a 5xx) is tried again after these pauses (seconds).
RETRY_DELAYS = (1.0, 3.0, 9.0)


@dataclass(eq=False, slots=True)
class Watch:
    """One catch-up's view of live changes: those seen since it began, by message id, in order.
    `handed_over`: a newer session's catch-up of the same community began; this one dispatches
    nothing more (what it would replay is older than what the newer one reads)."""

    changes: dict[str, list[Event]] = field(default_factory=dict)
    handed_over: bool = False


class _HandedOver(Exception):
    pass


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
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self._app = app
        self._retry_delays = tuple(retry_delays)
        # Replies of a thread that could not be stored so far (`Collector.failures`).
        self._failures = failures or (lambda community, thread_id: 0)
        self._store = store
        self._platforms = platforms
        self._clock = clock
        # Changes to messages seen live while a catch-up runs, per community and catch-up.
        self._watches: dict[Community, list[Watch]] = {}
        # The newest catch-up after a (re)connect, per community: an older one still running
        # stops, as the newer one reads from the same marks (kept until a thread is read) and
        # brings the threads back to what they show after all the older one saw.
        self._newest: dict[Community, Watch] = {}

    def register(self, app: App) -> None:
        app.on(PlatformReady, self.platform_ready)
        app.on(ThreadCaughtUp, self.thread_caught_up)
        for change in (ReplyEdited, ReplyDeleted, ReactionChanged, ReactionsCleared):
            app.on(change, self._seen)

    async def _seen(self, event: Event) -> None:
        message_id = getattr(event, "message_id", "")
        for watch in self._watches.get(event.community, []):
            watch.changes.setdefault(message_id, []).append(event)

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
        watch = Watch()
        self._watches.setdefault(event.community, []).append(watch)
        # Only where the newer one also brings the threads back to what they show: elsewhere the
        # older one's replays are what keeps a change made to a reply it had not stored yet.
        if isinstance(self._platforms.get(event.community.platform), ShowsThreads):
            if (older := self._newest.get(event.community)) is not None:
                older.handed_over = True
            self._newest[event.community] = watch
        # The reading itself in the background: a connect must not wait for it.
        # A new session (or a start) received nothing of what happened meanwhile: the threads
        # are also brought back to what the platform shows, where its history can tell.
        self._app.spawn(
            self.run(event, starts, watch, reconcile=True), name=f"catch-up {event.community.key}"
        )

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
        watch: Watch | None = None,
        *,
        reconcile: bool = False,
    ) -> int:
        watch = Watch() if watch is None else watch
        try:
            return await self._run(event, starts, watch, reconcile)
        except _HandedOver:
            _log.info("catch-up of %s handed over to a newer one", event.community.key)
            return 0
        finally:
            watches = [w for w in self._watches.get(event.community, []) if w is not watch]
            if watches:
                self._watches[event.community] = watches
            else:
                self._watches.pop(event.community, None)
            if self._newest.get(event.community) is watch:
                self._newest.pop(event.community, None)

    async def _run(
        self,
        event: PlatformReady,
        starts: list[tuple[Discussion, str | None]],
        watch: Watch,
        reconcile: bool,
    ) -> int:
        platform = self._platforms.get(event.community.platform)
        if platform is None:
            return 0
        found = 0
        outcome: Counter[str] = Counter()
        for discussion, after in starts:
            thread = discussion.thread_id or ""
            failed_before = self._failures(event.community, thread)
            try:
                read, complete = await self._read_new(platform, discussion, after, watch)
            except _HandedOver:
                raise
            except Exception:
                _log.exception("could not read the history of thread %s", discussion.thread_id)
                continue
            if complete:
                await self._app.flush()  # so a reply that could not be written is known now
                if self._failures(event.community, thread) != failed_before:
                    _log.warning("thread %s keeps its mark: a reply read was not stored", thread)
                else:
                    await self._dispatch(ThreadCaughtUp(event.community, discussion.id), watch)
            found += read
            if reconcile and isinstance(platform, ShowsThreads):
                try:
                    outcome += await self._reconcile(platform, discussion, watch)
                except _HandedOver:
                    raise
                except Exception:
                    _log.exception("could not bring thread %s back to what it shows", thread)
        if found:
            _log.info("caught up with %d replies in %s", found, event.community.key)
        if outcome:
            _log.info("threads of %s brought back to what they show: %s", event.community.key, dict(outcome))
        return found

    async def _read_new(
        self, platform: ChatPlatform, discussion: Discussion, after: str | None, watch: Watch
    ) -> tuple[int, bool]:
        """The replies after the mark, handed on; whether the reading went to the end."""
        delays = list(self._retry_delays)
        found = 0
        while True:
            try:
                missed, complete = await platform.replies_since(discussion, after), True
            except IncompleteHistory as exc:
                missed, complete = exc.replies, False
                if exc.transient and delays:
                    # Keep what was read and read on from there in a moment.
                    _log.info("reading thread %s again: %s", discussion.thread_id, exc)
                    await self._hand_on(missed, watch)
                    found += len(missed)
                    after = missed[-1].message_id if missed else after
                    await asyncio.sleep(delays.pop(0))
                    continue
                # Keep what was read; the thread's mark stays, so the next catch-up reads on.
                _log.warning("thread %s read only in part: %s", discussion.thread_id, exc)
            await self._hand_on(missed, watch)
            return found + len(missed), complete

    async def _hand_on(self, replies: list[ReplyPosted], watch: Watch) -> None:
        for reply in replies:
            await self._dispatch(reply, watch)  # stored once: the store ignores a message seen before
            await self._replay(reply.message_id, watch)

    async def _replay(self, message_id: str, watch: Watch) -> None:
        """Live changes to the message seen since the catch-up began, in their order, on top of
        what was read (each is idempotent, so one already applied changes nothing)."""
        for change in list(watch.changes.get(message_id, ())):
            await self._dispatch(change, watch)

    async def _dispatch(self, event: Event, watch: Watch) -> None:
        if watch.handed_over:
            raise _HandedOver
        await self._app.dispatch(event)

    async def _retrying(self, read: Callable[[], Awaitable[T]]) -> T:
        delays = list(self._retry_delays)
        while True:
            try:
                return await read()
            except IncompleteHistory as exc:
                if not (exc.transient and delays):
                    raise
                _log.info("reading again: %s", exc)
                await asyncio.sleep(delays.pop(0))

    async def _reconcile(self, platform: ShowsThreads, discussion: Discussion, watch: Watch) -> Counter[str]:
        """Bring the thread's stored replies back to what the platform shows: a reply gone
        from it is deleted, new words replace the stored ones, reactions are matched (see the
        module's docstring) and a reply shown but not stored is stored (as history gives it).
        Hidden and featured marks stay as live events leave them."""
        shown = await self._retrying(partial(platform.thread_shown, discussion))
        if shown is None:
            return Counter()
        outcome: Counter[str] = Counter()
        await self._app.flush()  # replies handed on so far are in the store
        stored = await self._store.thread_replies(discussion.id)
        known = {reply.message_id for reply, _ in stored}
        on_platform = {s.reply.message_id: s for s in shown.replies}
        for reply, reactions in stored:
            now = on_platform.get(reply.message_id)
            touched = await self._match(platform, discussion, reply, reactions, now, shown, watch, outcome)
            if touched:
                await self._replay(reply.message_id, watch)
        missing = [s.reply for s in shown.replies if s.reply.message_id not in known]
        if missing:  # an opted-out member's stay unstored, and uncounted (from history)
            await self._hand_on(missing, watch)
            outcome["read back"] += len(missing)
        return outcome

    async def _match(
        self,
        platform: ShowsThreads,
        discussion: Discussion,
        reply: Reply,
        reactions: dict[str, set[str]],
        now: ShownReply | None,
        shown: ThreadShown,
        watch: Watch,
        outcome: Counter[str],
    ) -> bool:
        """Dispatch what makes the stored reply match the platform; whether anything was."""
        community, thread = discussion.community, discussion.thread_id or ""
        if now is None:
            if shown.since is not None and reply.created_at <= shown.since:
                return False  # older than what was read: unknown, left alone
            await self._dispatch(ReplyDeleted(community, reply.message_id, thread), watch)
            outcome["deleted"] += 1
            return True
        events: list[Event] = []
        if clean(now.reply.text)[:MAX_REPLY_LENGTH] != reply.text:
            edited_at = now.edited_at or self._clock.now()
            events.append(ReplyEdited(community, thread, reply.message_id, now.reply.text, edited_at))
            outcome["edited"] += 1
        for emoji in sorted(set(now.reactions) | set(reactions)):
            count, members = now.reactions.get(emoji, 0), reactions.get(emoji, set())
            if count == len(members):
                continue
            outcome["reactions matched"] += 1
            if count == 0:
                events.append(ReactionsCleared(community, reply.message_id, emoji))
                continue
            reactors = await self._retrying(partial(platform.reactors, discussion, reply.message_id, emoji))
            if reactors is None:
                _log.warning("the platform would not say who reacted to %s; its rows stay", reply.message_id)
                continue
            events.extend(
                ReactionChanged(community, reply.message_id, user, emoji, user in reactors)
                for user in sorted(reactors ^ members)
            )
        for change in events:
            await self._dispatch(change, watch)
        return bool(events)
