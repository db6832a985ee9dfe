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
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from bot.commands.registry import Answer
from bot.i18n import N_, Words, english

if TYPE_CHECKING:
    from bot.app import App
    from bot.events import CommandInvoked
    from bot.models import Community

_log = logging.getLogger(__name__)

# English here, in the community's language where they are sent (Intake's methods).
DONE = N_("Done.")
RESTARTING = N_("threadcast is restarting; try again in a minute.")
FAILED = N_("That did not work: {detail}")
IN_THE_LOG = N_("the error is in the bot's log.")
WORDS_WAIT = 1.0  # seconds


def done(words: Words | None = None) -> Answer:
    """The answer to a command that had nothing more to say."""
    return Answer((words or english()).gettext(DONE))


def failed(detail: str | None = None, words: Words | None = None) -> Answer:
    """The answer to a command that failed before or around its handler; `detail` says why
    when it is the caller's to know (an option the platform could not read), else where to look."""
    w = words or english()
    return Answer(w.gettext(FAILED, detail=detail or w.gettext(IN_THE_LOG)), ok=False)


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

    async def admit(self, community: Community | None) -> Answer | None:
        """None when the command may go on (its task now tracked); the refusal to send
        when the platform is closing."""
        if self._closing:
            _log.info("refused a command: the platform is closing")
            return Answer((await self._words(community)).gettext(RESTARTING), ok=False)
        self.track()
        return None

    async def run(self, event: CommandInvoked) -> Answer:
        """The command's answer from the app; its text "Done." when it had nothing to say."""
        answer = await self._app.dispatch(event)
        if answer is not None and answer.text.strip():
            return answer
        said = done(await self._words(event.community))
        return said if answer is None else dataclasses.replace(answer, text=said.text)

    async def failed(self, community: Community | None, detail: str | None = None) -> Answer:
        """The standard answer to a command that failed outside the registry's own boundary."""
        return failed(detail, await self._words(community))

    async def _words(self, community: Community | None) -> Words:
        # A platform waits for the answer (Discord: 3 seconds from the command, if it was not
        # deferred): a store slow to say the community's language costs English, not the answer.
        if community is None:
            return english()
        try:
            return await asyncio.wait_for(self._app.commands.words_for(community), WORDS_WAIT)
        except TimeoutError:
            _log.warning("the language of %s took too long to read; answering in English", community.key)
            return english()

    async def close(self, timeout: float = 10.0) -> None:
        """Refuse new commands, then wait for those under way (at most `timeout` seconds)."""
        self._closing = True
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout)
