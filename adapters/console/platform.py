"""A chat platform in the terminal: channels, messages, threads and reactions.

It plays the part Discord or Slack play elsewhere: it keeps its own messages
(in the store, `bot.store.ConsoleStore`, so threads survive a restart and every
process on one database — two consoles, a console and `threadcast post` — hands
out ids from one sequence and sees the others' posts) and renders what the bot
posts the way a person reads it. Without a store it keeps them in memory.

A console state file of an older version (`<db>.console.json`) is taken into the
store once, on the first start, and kept beside it as `<db>.console.json.imported`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.clock import Clock
from bot.events import ReplyPosted
from bot.layout import DigestPost
from bot.markdown import render as render_markdown
from bot.models import Article, Community, Discussion, PostedMessage
from bot.post_layout import STANDARD, Part, PostLayout
from bot.store import ConsoleMessage, ConsoleStore
from bot.text import shorten

_log = logging.getLogger(__name__)

PLATFORM = "console"
COMMUNITY = Community(PLATFORM, "local")
BOT_NAME = "threadcast"
MAX_MESSAGE = 4000


@dataclass
class Message:
    id: str
    channel: str
    author: str
    text: str
    thread: str | None = None  # the thread it was written in
    opens_thread: bool = False
    article: str | None = None  # the key of the article a post is about
    reactions: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ConsoleState:
    """The messages of a console without a store (in memory only), and the time offset."""

    next_id: int = 1
    time_offset: float = 0.0  # seconds `.advance` has added to the real clock
    messages: dict[str, Message] = field(default_factory=dict)


def _message(stored: ConsoleMessage) -> Message:
    return Message(
        stored.id,
        stored.channel,
        stored.author,
        stored.text,
        stored.thread,
        stored.opens_thread,
        stored.article,
        {emoji: list(who) for emoji, who in stored.reactions.items()},
    )


def _read_legacy(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def article_lines(article: Article, prompt: str, layout: PostLayout) -> list[str]:
    """An article post as console lines: the layout's parts in its order, the excerpt and the
    prompt as paragraphs of their own. Plain text cannot link a title: a title shown without
    the link part has the article's address under it."""
    lines: list[str] = []
    paragraph = False  # the last part was a paragraph: a blank line follows it
    for part in layout.parts:
        if part is Part.TITLE:
            block = [shorten(article.title, 100)]
            if article.url and not layout.shows(Part.LINK):
                block.append(article.url)
        elif part is Part.LINK:
            block = [article.url] if article.url else []
        elif part is Part.SOURCE:
            when = f" · {article.published_at:%d %b %Y}" if article.published_at else ""
            block = [f"({article.source}{when})"]
        elif part is Part.EXCERPT:
            block = [article.summary] if article.summary.strip() else []
        else:
            block = [f"💬 {prompt}"]
        if not block:
            continue
        is_paragraph = part in (Part.EXCERPT, Part.PROMPT)
        if lines and (is_paragraph or paragraph):
            lines.append("")
        lines += block
        paragraph = is_paragraph
    return lines


class ConsolePlatform:
    name = PLATFORM

    def __init__(
        self,
        out: TextIO,
        *,
        store: ConsoleStore | None = None,
        clock: Clock | None = None,
        state_file: Path | None = None,
    ) -> None:
        self._out = out
        self._store = store
        self._clock = clock
        self._file = state_file  # an older console's state, taken into the store once
        self.state = ConsoleState()

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    # -- its own persistence ------------------------------------------------
    async def load(self) -> None:
        """Take an older console state file into the store (once), and read the time offset."""
        if self._store is None:
            return
        if self._file is not None:
            await self._import(self._file)
        self.state.time_offset = await self._store.console_time_offset() or 0.0

    async def _import(self, path: Path) -> None:
        assert self._store is not None
        try:
            data = await asyncio.to_thread(_read_legacy, path)
            if data is None:
                return
            now = datetime.now(UTC)
            messages = [
                ConsoleMessage(
                    id=str(m["id"]),
                    channel=str(m["channel"]),
                    author=str(m["author"]),
                    text=str(m["text"]),
                    thread=m.get("thread"),
                    opens_thread=bool(m.get("opens_thread")),
                    article=m.get("article"),
                    created_at=now,
                    reactions={str(e): [str(u) for u in who] for e, who in m.get("reactions", {}).items()},
                )
                for m in data["messages"].values()
            ]
            next_number = int(data["next_id"])
            offset = float(data.get("time_offset", 0.0))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            _log.warning("console history %s unreadable (%s); not taken in", path, exc)
            return
        if await self._store.import_console_messages(messages, next_number, offset):
            _log.info("took %d console messages in from %s", len(messages), path)
        kept = path.with_name(path.name + ".imported")
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            await asyncio.to_thread(path.replace, kept)

    # -- messages -------------------------------------------------------------------
    def add_message(self, channel: str, author: str, text: str, thread: str | None = None) -> Message:
        """A message kept in memory only (a console without a store)."""
        message = Message(f"m{self.state.next_id}", channel, author, text[:MAX_MESSAGE], thread)
        self.state.next_id += 1
        self.state.messages[message.id] = message
        return message

    async def write(
        self,
        channel: str,
        author: str,
        text: str,
        thread: str | None = None,
        *,
        opens_thread: bool = False,
        article: str | None = None,
    ) -> Message:
        """A new message, stored (committed) before it returns: shown only once it is kept."""
        if self._store is None:
            message = self.add_message(channel, author, text, thread)
            message.opens_thread, message.article = opens_thread, article
            return message
        stored = await self._store.add_console_message(
            channel,
            author,
            text[:MAX_MESSAGE],
            self._now(),
            thread=thread,
            opens_thread=opens_thread,
            article=article,
        )
        return _message(stored)

    async def get(self, message_id: str) -> Message | None:
        if self._store is None:
            return self.state.messages.get(message_id)
        stored = await self._store.console_message(message_id)
        return None if stored is None else _message(stored)

    async def latest_opener(self, channel: str | None = None, article: str | None = None) -> Message | None:
        """The newest post that opens a thread (in that channel, about that article, if given)."""
        if self._store is None:
            for message in reversed(self.state.messages.values()):
                if (
                    message.opens_thread
                    and channel in (None, message.channel)
                    and article in (None, message.article)
                ):
                    return message
            return None
        stored = await self._store.latest_console_opener(channel, article)
        return None if stored is None else _message(stored)

    async def edit(self, message: Message, text: str) -> bool:
        message.text = text
        if self._store is None:
            return message.id in self.state.messages
        return await self._store.edit_console_message(message.id, text)

    async def delete(self, message: Message) -> bool:
        if self._store is None:
            return self.state.messages.pop(message.id, None) is not None
        return await self._store.delete_console_message(message.id)

    async def react(self, message: Message, emoji: str, user: str, added: bool) -> bool:
        """Add or take back a reaction; False if nothing changed."""
        if self._store is not None:
            return await self._store.set_console_reaction(message.id, emoji, user, added)
        users = message.reactions.setdefault(emoji, [])
        if added == (user in users):
            return False
        if added:
            users.append(user)
        else:
            users.remove(user)
        return True

    async def record_time_offset(self, seconds: float) -> None:
        self.state.time_offset = seconds
        if self._store is not None:
            await self._store.set_console_time_offset(seconds)

    def print(self, text: str = "") -> None:
        self._out.write(text + "\n")
        self._out.flush()

    # -- ChatPlatform -------------------------------------------------------------------
    async def post_discussion(
        self,
        community: Community,
        channel_id: str,
        article: Article,
        prompt: str,
        layout: PostLayout = STANDARD,
    ) -> PostedMessage:
        body = article_lines(article, prompt, layout)
        message = await self.write(
            channel_id, BOT_NAME, "\n".join(body), opens_thread=True, article=article.key
        )
        self.print(f"┌─ #{channel_id} · {message.id} · {BOT_NAME}")
        for line in "\n".join(body).splitlines():
            self.print(f"│ {line}")
        self.print(f"└─ thread {message.id} opened — `.thread {message.id}` to reply there")
        return PostedMessage(message.id, message.id, self.link(channel_id, message.id))

    async def find_post(
        self, community: Community, channel_id: str, article: Article, since: datetime
    ) -> PostedMessage | None:
        message = await self.latest_opener(channel_id, article.key)
        if message is None:
            return None
        return PostedMessage(message.id, message.id, self.link(channel_id, message.id))

    async def post_digest(
        self,
        community: Community,
        channel_id: str,
        post: DigestPost,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        if skip:  # the console sends a digest as one message
            return []
        text = render_markdown(post.layout())
        message = await self.write(channel_id, BOT_NAME, text)
        self.print(f"┌─ #{channel_id} · {message.id} · {BOT_NAME} · digest")
        for line in text.rstrip().splitlines():
            self.print(f"│ {line}")
        self.print("└─")
        if sent is not None:
            await sent(message.id)
        return [message.id]

    async def notify(self, community: Community, channel_id: str, text: str) -> None:
        message = await self.write(channel_id, BOT_NAME, text)
        self.print(f"[#{channel_id} {message.id}] {BOT_NAME}: {text}")

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        """The members' messages of the thread, as stored: the whole thread, whatever the mark (a
        console reads its own table, and a mark set by another process's newer reply must not skip
        one this process showed but was stopped before the reply was written)."""
        if self._store is None or discussion.thread_id is None:
            return []
        return [
            ReplyPosted(COMMUNITY, m.thread or "", m.id, m.author, m.author, m.text, m.created_at, True)
            for m in await self._store.console_thread(discussion.thread_id)
            if m.author != BOT_NAME
        ]

    def thread_link(self, discussion: Discussion) -> str | None:
        if discussion.thread_id is None:
            return None
        return self.link(discussion.channel_id, discussion.thread_id)

    @staticmethod
    def link(channel_id: str, message_id: str) -> str:
        return f"console://{channel_id}/{message_id}"
