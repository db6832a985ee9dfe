"""A lease in the store: which of several processes over one database runs a job.

The holder renews it every tick; if it dies, the lease runs out after `ttl` and
the next process to ask takes it over. A process believes it holds the lease
only until the expiry of its last successful renewal, so a process cut off
from the database stops before another can take over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from bot.clock import Clock, SystemClock
from bot.store import Store, StoreError

_log = logging.getLogger(__name__)


def holder_id() -> str:
    """host:pid:random — the pid finds the process, the random part tells a restarted one apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    def __init__(
        self,
        store: Store,
        name: str,
        *,
        ttl: timedelta,
        holder: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.holder = holder or holder_id()
        self.ttl = ttl
        self._store = store
        # Real time, not the bot's (a console's clock can be moved forward): other processes read it.
        self._clock = clock or SystemClock()
        self._held_until: datetime | None = None
        self._told_waiting = False

    @property
    def held(self) -> bool:
        return self._held_until is not None and self._clock.now() < self._held_until

    async def renew(self) -> bool:
        """Take or renew the lease; True while this process holds it. Logs each hand-over once."""
        now = self._clock.now()
        was_held = self.held
        try:
            taken = await self._store.acquire_lease(self.name, self.holder, now, self.ttl)
        except StoreError as exc:
            _log.warning("could not renew the %s lease (%s); holding it until it runs out", self.name, exc)
            return self.held
        if taken:
            self._held_until = now + self.ttl
            if not was_held:
                _log.info("this process (%s) now runs the %s jobs", self.holder, self.name)
            self._told_waiting = False
            return True
        self._held_until = None
        if was_held:
            _log.warning("the %s lease went to another process; this one stops its jobs", self.name)
        if not self._told_waiting:
            self._told_waiting = True
            other = await self._other_holder(now)
            _log.info("%s runs the %s jobs; this process waits to take over", other, self.name)
        return False

    async def _other_holder(self, now: datetime) -> str:
        try:
            return await self._store.lease_holder(self.name, now) or "another process"
        except StoreError:
            return "another process"

    async def release(self) -> None:
        """Give the lease up (on a clean stop), so another process takes over at its next tick."""
        if self._held_until is None:
            return
        self._held_until = None
        try:
            if await self._store.release_lease(self.name, self.holder):
                _log.info("released the %s lease", self.name)
        except StoreError as exc:
            _log.warning("could not release the %s lease (%s); it runs out by itself", self.name, exc)
