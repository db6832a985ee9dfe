"""Stopping on SIGTERM or SIGINT: the first asks for a clean stop, a second one forces it.

A clean stop stops taking new work, lets the work under way finish, writes what is
pending and closes the connections; that can take a while (a slow platform, a locked
database). An operator who will not wait sends the signal again: the process then logs
one line and exits at once with 128 + the signal's number, writing nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

_log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Shutdown:
    """Signal handlers for one run of the bot, from before its store opens until it has closed."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self._callbacks: list[Callable[[], None]] = []

    def on_request(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the first signal (at once if it came already)."""
        self._callbacks.append(callback)
        if self.requested.is_set():
            callback()

    def _signalled(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.requested.is_set():
            _log.critical("forced stop (%s during shutdown): pending work is not written", name)
            for handler in logging.getLogger().handlers:
                with contextlib.suppress(Exception):
                    handler.flush()
            os._exit(128 + signum)
        _log.warning("stopping (%s): finishing the work under way; send it again to force", name)
        self.requested.set()
        for callback in self._callbacks:
            callback()


@contextlib.asynccontextmanager
async def handle_signals() -> AsyncIterator[Shutdown]:
    """Installed for the whole block, shutdown included, so a second signal always forces."""
    loop = asyncio.get_running_loop()
    shutdown = Shutdown()
    previous: dict[int, Any] = {}
    for signum in SIGNALS:
        previous[signum] = signal.getsignal(signum)
        loop.add_signal_handler(signum, shutdown._signalled, signum)
    try:
        yield shutdown
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
            # Back to what was there (the CLI's start-up handler), not to the default that kills.
            if previous[signum] is not None:
                signal.signal(signum, previous[signum])
