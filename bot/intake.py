"""A platform's intake of commands: the cross-platform policy every adapter follows.

Once a platform starts closing, a new command is refused with the same answer
everywhere; a command (or event) under way is tracked, so closing waits for it;
a command whose handler says nothing is answered "Done.", and one that failed
outside the registry's own error boundary gets the standard error answer.
Adapters translate their platform's call into a `CommandInvoked` and the
`Answer` back into their platform's messages; the rules are here, once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.commands.registry import Answer

if TYPE_CHECKING:
    from bot.app import App
    from bot.events import CommandInvoked

_log = logging.getLogger(__name__)

DONE = "Done."
RESTARTING = "threadcast is restarting; try again in a minute."
IN_THE_LOG = "the error is in the bot's log."


def done() -> Answer:
    """The answer to a command that had nothing more to say."""
    return Answer(DONE)


def failed(detail: str = IN_THE_LOG) -> Answer:
    """The answer to a command that failed before or around its handler; `detail` says why
    when it is the caller's to know (an option the platform could not read), else where to look."""
    return Answer(f"That did not work: {detail}", ok=False)


class Intake:
    """One platform's commands in flight. Each adapter builds its own (platforms close one
    by one) over the app that runs the commands."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._inflight: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def closing(self) -> bool:
        return self._closing

    def track(self) -> None:
        """Keep the current task (a command's or an event's) so `close` waits for it."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    def admit(self) -> Answer | None:
        """None when the command may go on (its task now tracked); the refusal to send
        when the platform is closing."""
        if self._closing:
            _log.info("refused a command: the platform is closing")
            return Answer(RESTARTING, ok=False)
        self.track()
        return None

    async def run(self, event: CommandInvoked) -> Answer:
        """The command's answer from the app; "Done." when it had none."""
        return await self._app.dispatch(event) or done()

    async def close(self, timeout: float = 10.0) -> None:
        """Refuse new commands, then wait for those under way (at most `timeout` seconds)."""
        self._closing = True
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout)
