"""The console's input side: lines typed (or scripted) become core events.

Plain lines are messages where you are; `/…` lines are slash commands
(`/feed list` or `/threadcast feed list`); `.…` lines act on the console
itself: switch user, channel or thread, edit, delete, react, let time pass.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta

from adapters.console.clock import ConsoleClock
from adapters.console.platform import BOT_NAME, COMMUNITY, ConsolePlatform, Message, article_lines
from bot.app import App
from bot.commands.registry import Answer
from bot.events import (
    Caller,
    CommandInvoked,
    ReactionChanged,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from bot.intake import Intake
from bot.markdown import render as render_markdown
from bot.text import clean

_log = logging.getLogger(__name__)

HELP = """\
Console commands:
  <text>                 say something here (in a thread, it is a reply)
  /<command> …           a slash command, e.g. /help, /post article.txt, /digest preview
  .user <name>           speak as another member (the moderator is {moderator})
  .channel <name>        go to a channel          .thread [id]   enter a discussion thread
  .leave                 leave the thread          .where         where you are
  .edit <id> <text>      edit your message         .delete <id>   delete your message
  .react <id> <emoji>    react                     .unreact <id> <emoji>
  .advance <N>d|h|m      let time pass (runs due feed polls and digests)
  .tick                  run due feed polls and digests now
  .show <id>             show a message            .help   .quit
"""

_DURATION = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_STEP = timedelta(minutes=5)
MAX_ADVANCE = timedelta(days=366)


class ConsoleShell:
    def __init__(
        self,
        app: App,
        platform: ConsolePlatform,
        clock: ConsoleClock,
        run_due: Callable[[], Awaitable[None]],
        *,
        moderator: str,
    ) -> None:
        self._app = app
        # The standard answers (a command with nothing to say is "Done."); commands here come
        # one line after another, so there is never one to refuse or wait for while stopping.
        self._intake = Intake(app)
        self._platform = platform
        self._clock = clock
        self._run_due = run_due
        self.moderator = moderator
        self.user = moderator
        self.channel = "general"
        self.thread: str | None = None

    def say(self, text: str) -> None:
        self._platform.print(text)

    def command_names(self) -> list[str]:
        """The bot's commands as typed after `/`, for completion."""
        return [" ".join(command.path) for command in self._app.commands]

    @property
    def prompt(self) -> str:
        where = f"#{self.channel}" + (f"/{self.thread}" if self.thread else "")
        return f"{self.user}@{where}> "

    async def run(self, lines: AsyncIterator[str], *, echo: bool) -> None:
        async for raw in lines:
            line = raw.rstrip("\n")
            if echo and line.strip() and not line.lstrip().startswith("# "):
                self.say(f"{self.prompt}{line}")
            try:
                if not await self.handle(line):
                    break
            except BrokenPipeError:
                raise  # nobody is reading any more: stop, don't log it line after line
            except Exception:  # the console's own error boundary: one bad line, not the session
                _log.exception("console line failed: %r", line[:200])
                self.say("! that line failed; see the log")
            await self._app.drain(timeout=30)

    async def handle(self, line: str) -> bool:
        stripped = line.strip()
        if not stripped or stripped == "#" or stripped.startswith("# "):
            return True
        if stripped.startswith("/"):
            await self._command(stripped)
        elif stripped.startswith("."):
            return await self._control(stripped)
        else:
            await self._message(stripped)
        return True

    # -- slash commands ---------------------------------------------------------
    async def _command(self, line: str) -> None:
        path, text = self._app.commands.split_line(line)
        await self.invoke(path, text=text)

    async def invoke(
        self, path: tuple[str, ...], *, text: str = "", options: Mapping[str, object] | None = None
    ) -> bool:
        """Run a command as the current user, here, and show the answer; True if it went well."""
        event = CommandInvoked(
            community=COMMUNITY,
            channel_id=self.channel,
            caller=Caller(self.user, self.user, is_moderator=self.user == self.moderator),
            path=path,
            text=text,
            options=options or {},
            local=True,  # the console's user sits at this machine
        )
        answer = await self._intake.run(event)
        self.show_answer(answer)
        return answer.ok

    def show_answer(self, answer: Answer) -> None:
        mark = "✓" if answer.ok else "✗"
        scope = " (only you see this)" if answer.private else ""
        self.say(f"{mark} {BOT_NAME}{scope}:")
        for line in answer.text.splitlines():
            self.say(f"  {line}")
        if answer.digest is not None:
            for line in render_markdown(answer.digest.layout()).rstrip().splitlines():
                self.say(f"  │ {line}")
        if answer.post is not None:  # a preview: the post as the channel would get it
            preview = answer.post
            for line in "\n".join(
                article_lines(preview.article, preview.prompt, preview.layout)
            ).splitlines():
                self.say(f"  │ {line}")
        if answer.attachment is not None:
            self.say(f"  📎 {answer.attachment.filename}:")
            for line in answer.attachment.content.decode("utf-8", "replace").splitlines():
                self.say(f"  │ {line}")

    # -- messages ------------------------------------------------------------------
    async def _message(self, text: str) -> None:
        # Stored before it is shown: a reply the console showed is in its history, so when a stop
        # cuts off its writing into the replies, the catch-up at the next start brings it back.
        message = await self._platform.write(self.channel, self.user, text, self.thread)
        self.say(f"[{message.id}] {self.user}: {clean(text, keep_newlines=False)}")
        if self.thread:
            await self._app.dispatch(
                ReplyPosted(
                    community=COMMUNITY,
                    thread_id=self.thread,
                    message_id=message.id,
                    author_id=self.user,
                    author_name=self.user,
                    text=text,
                    created_at=self._clock.now(),
                )
            )

    async def _find(self, message_id: str) -> Message | None:
        message = await self._platform.get(message_id)
        if message is None:
            self.say(f"! no message {message_id!r}")
        return message

    # -- console controls --------------------------------------------------------------
    async def _control(self, line: str) -> bool:
        verb, _, arg = line[1:].partition(" ")
        verb, arg = verb.lower(), arg.strip()
        if verb in ("quit", "exit"):
            return False
        handler = getattr(self, f"_do_{verb.replace('-', '_')}", None)
        if handler is None:
            self.say(f"! unknown console command .{verb}; .help lists them")
        else:
            await handler(arg)
        return True

    async def _do_help(self, arg: str) -> None:
        self.say(HELP.format(moderator=self.moderator))

    async def _do_user(self, arg: str) -> None:
        if not re.fullmatch(r"[\w.-]{1,32}", arg):
            self.say("! usage: .user <name> (letters, digits, . _ -)")
            return
        self.user = arg
        role = " (moderator)" if arg == self.moderator else ""
        self.say(f"· you are now {arg}{role}")

    async def _do_channel(self, arg: str) -> None:
        name = arg.lstrip("#")
        if not re.fullmatch(r"[\w-]{1,80}", name):
            self.say("! usage: .channel <name>")
            return
        self.channel, self.thread = name, None
        self.say(f"· in #{name}")

    async def _do_thread(self, arg: str) -> None:
        if not arg:
            # The latest discussion here, else the latest anywhere.
            latest = await self._platform.latest_opener(self.channel) or await self._platform.latest_opener()
            if latest is None:
                self.say("! no discussion threads yet; /post an article first")
                return
            arg = latest.id
        message = await self._find(arg)
        if message is None:
            return
        if not message.opens_thread:
            self.say(f"! {arg} has no thread")
            return
        self.channel, self.thread = message.channel, message.id
        self.say(f"· in the thread of {message.id}: {message.text.splitlines()[0]}")

    async def _do_leave(self, arg: str) -> None:
        self.thread = None
        self.say(f"· back in #{self.channel}")

    async def _do_where(self, arg: str) -> None:
        self.say(f"· {self.prompt.strip()} (time: {self._clock.now():%Y-%m-%d %H:%M} UTC)")

    async def _do_show(self, arg: str) -> None:
        message = await self._find(arg)
        if message:
            reactions = " ".join(f"{e}×{len(u)}" for e, u in message.reactions.items() if u)
            self.say(f"[{message.id}] {message.author}: {message.text} {reactions}".rstrip())

    async def _own(self, arg: str) -> tuple[Message, str] | None:
        message_id, _, rest = arg.partition(" ")
        if not message_id:
            self.say("! give the message id, e.g. .edit m3 new text or .delete m3")
            return None
        message = await self._find(message_id)
        if message is None:
            return None
        if message.author != self.user:
            self.say(f"! {message_id} is {message.author}'s message, not yours")
            return None
        return message, rest.strip()

    async def _do_edit(self, arg: str) -> None:
        found = await self._own(arg)
        if found is None:
            return
        message, text = found
        if not text:
            self.say("! usage: .edit <id> <new text>")
            return
        await self._platform.edit(message, text)
        self.say(f"[{message.id}] {message.author} (edited): {text}")
        if message.thread:
            await self._app.dispatch(
                ReplyEdited(COMMUNITY, message.thread, message.id, text, self._clock.now())
            )

    async def _do_delete(self, arg: str) -> None:
        found = await self._own(arg)
        if found is None:
            return
        message, _ = found
        await self._platform.delete(message)
        self.say(f"· {message.id} deleted")
        await self._app.dispatch(ReplyDeleted(COMMUNITY, message.id, message.thread))

    async def _react(self, arg: str, added: bool) -> None:
        message_id, _, emoji = arg.partition(" ")
        emoji = emoji.strip() or "👍"
        message = await self._find(message_id)
        if message is None:
            return
        if not await self._platform.react(message, emoji, self.user, added):
            return  # nothing changes, as on a real platform
        self.say(f"· {self.user} {'reacted' if added else 'took back'} {emoji} on {message.id}")
        await self._app.dispatch(ReactionChanged(COMMUNITY, message.id, self.user, emoji, added))

    async def _do_react(self, arg: str) -> None:
        await self._react(arg, True)

    async def _do_unreact(self, arg: str) -> None:
        await self._react(arg, False)

    async def _do_advance(self, arg: str) -> None:
        match = _DURATION.match(arg)
        if not match or timedelta(**{_UNITS[match[2]]: int(match[1])}) > MAX_ADVANCE:
            self.say("! usage: .advance 7d | 3h | 30m (at most a year)")
            return
        # Step through the interval so feed polls and digests fall due at their time.
        remaining = timedelta(**{_UNITS[match[2]]: int(match[1])})
        while remaining > timedelta():
            step = min(remaining, _STEP)
            self._clock.advance(step)
            remaining -= step
            await self._run_due()
        # Kept with the console's messages: the database now holds times this far ahead.
        await self._platform.record_time_offset(self._clock.offset.total_seconds())
        self.say(f"· time is now {self._clock.now():%a %d %b %Y %H:%M} UTC")

    async def _do_tick(self, arg: str) -> None:
        await self._run_due()


async def stdin_lines(shell: ConsoleShell, interactive: bool) -> AsyncIterator[str]:
    """Lines from the terminal (with a prompt) or a piped script.

    A pipe or socket is read through the event loop, so a signal can stop the
    console mid-wait. Anything else (a regular file, /dev/null) cannot be
    watched by epoll but never makes a read wait, so it is read line by line
    in a worker thread.
    """
    if interactive:
        from adapters.console.terminal import terminal_lines

        async for line in terminal_lines(shell, shell.command_names()):
            yield line
        return
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        while line := await asyncio.to_thread(sys.stdin.readline):
            yield line
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    fd = sys.stdin.fileno()
    # A duplicate, so closing the transport leaves the process's stdin open.
    pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while True:
            raw = await reader.readline()
            if not raw:
                return
            yield raw.decode("utf-8", "replace")
    finally:
        os.set_blocking(fd, True)  # the flag is shared with the terminal's shell: put it back
        transport.close()
