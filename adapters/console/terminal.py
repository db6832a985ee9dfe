"""The console in a terminal: lines read with prompt_toolkit, output kept above the prompt.

A terminal in canonical mode cuts a line at 4,095 characters without a word, and anything
printed while a prompt waits (the bot's posts, the log) lands in the middle of it.
prompt_toolkit reads the keys itself (no line limit, editing, history, completion of the
bot's commands and the console's `.` verbs), and `patch_stdout` prints whatever is written
meanwhile above the prompt, which is drawn again under it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from adapters.console.shell import ConsoleShell

VERBS = (
    ".user", ".channel", ".thread", ".leave", ".where", ".edit", ".delete", ".react", ".unreact",
    ".advance", ".tick", ".show", ".help", ".quit",
)  # fmt: skip


@contextlib.contextmanager
def terminal_output() -> Iterator[TextIO]:
    """While the prompt is up, stdout and the log's stream handlers print above it; yields
    the stream the console's platform should write to."""
    with patch_stdout(raw=True):
        handlers = [
            h
            for h in logging.getLogger().handlers
            if isinstance(h, logging.StreamHandler) and h.stream in (sys.__stderr__, sys.__stdout__)
        ]
        # A handler keeps the stream it was made with: point it at the patched one meanwhile.
        before = [h.setStream(sys.stderr) for h in handlers]
        try:
            yield sys.stdout
        finally:
            for handler, stream in zip(handlers, before, strict=True):
                if stream is not None:
                    handler.setStream(stream)


def completions(commands: Iterable[str]) -> WordCompleter:
    return WordCompleter([*(f"/{c}" for c in commands), *VERBS], sentence=True)


async def terminal_lines(shell: ConsoleShell, commands: Iterable[str]) -> AsyncIterator[str]:
    """Lines typed at the prompt, until end of input (Ctrl-D) or Ctrl-C."""
    session: PromptSession[str] = PromptSession(
        history=InMemoryHistory(), completer=completions(commands), complete_while_typing=False
    )
    while True:
        try:
            line = await session.prompt_async(lambda: shell.prompt)
        except (EOFError, KeyboardInterrupt):
            return
        yield line + "\n"
