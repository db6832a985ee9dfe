"""Reading what members wrote while the bot was away, once, on every (re)connect."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from bot.app import App
from bot.clock import Clock
from bot.events import PlatformReady
from bot.models import Discussion
from bot.platform import ChatPlatform
from bot.store import Store

_log = logging.getLogger(__name__)

RECENT = timedelta(days=14)  # older threads are archived by then; reading them is wasted requests


class CatchUp:
    def __init__(self, app: App, store: Store, platforms: Mapping[str, ChatPlatform], clock: Clock) -> None:
        self._app = app
        self._store = store
        self._platforms = platforms
        self._clock = clock

    def register(self, app: App) -> None:
        app.on(PlatformReady, self.platform_ready)

    async def platform_ready(self, event: PlatformReady) -> None:
        # Where each thread's reading starts is fixed now, while events are held in
        # order, so a live reply handled meanwhile cannot move it past the gap.
        since = self._clock.now() - RECENT
        starts = [
            (discussion, await self._store.latest_reply_message_id(discussion.id))
            for discussion in await self._store.recent_discussions(event.community, since)
        ]
        # The reading itself in the background: a connect must not wait for it.
        self._app.spawn(self.run(event, starts), name=f"catch-up {event.community.key}")

    async def run(self, event: PlatformReady, starts: list[tuple[Discussion, str | None]]) -> int:
        platform = self._platforms.get(event.community.platform)
        if platform is None:
            return 0
        found = 0
        for discussion, after in starts:
            try:
                missed = await platform.replies_since(discussion, after)
            except Exception:
                _log.exception("could not read the history of thread %s", discussion.thread_id)
                continue
            for reply in missed:
                await self._app.dispatch(reply)  # stored once: the store ignores a message seen before
            found += len(missed)
        if found:
            _log.info("caught up with %d replies in %s", found, event.community.key)
        return found
