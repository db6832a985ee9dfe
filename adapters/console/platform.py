"""A chat platform in the terminal: channels, messages, threads and reactions.

It plays the part Discord or Slack play elsewhere: it keeps its own messages
(in a small JSON file beside the database, so threads survive a restart) and
renders what the bot posts the way a person reads it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.events import ReplyPosted
from bot.layout import DigestPost
from bot.markdown import render as render_markdown
from bot.models import Article, Community, Discussion, PostedMessage
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
    next_id: int = 1
    time_offset: float = 0.0  # seconds `.advance` has added to the real clock
    channels: list[str] = field(default_factory=lambda: ["general"])
    messages: dict[str, Message] = field(default_factory=dict)


class ConsolePlatform:
    name = PLATFORM

    def __init__(self, out: TextIO, *, state_file: Path | None = None) -> None:
        self._out = out
        self._file = state_file
        self.state = ConsoleState()
        self._lock = asyncio.Lock()

    # -- its own persistence ------------------------------------------------
    async def load(self) -> None:
        if self._file is None or not self._file.exists():
            return
        raw = await asyncio.to_thread(self._file.read_text, encoding="utf-8")
        try:
            data = json.loads(raw)
            self.state = ConsoleState(
                next_id=int(data["next_id"]),
                time_offset=float(data.get("time_offset", 0.0)),
                channels=list(data["channels"]),
                messages={k: Message(**v) for k, v in data["messages"].items()},
            )
        except (ValueError, KeyError, TypeError) as exc:
            _log.warning("console history %s unreadable (%s); starting empty", self._file, exc)

    async def save(self) -> None:
        if self._file is None:
            return
        # A shallow snapshot taken here (the state changes on the loop), encoded in a thread:
        # this runs after every line, over every message so far. `asdict` deep-copied each
        # message and made a long console session quadratic (98 of 100 s of a 2,500-line run).
        data = {
            "next_id": self.state.next_id,
            "time_offset": self.state.time_offset,
            "channels": list(self.state.channels),
            "messages": {
                k: {**vars(v), "reactions": {e: list(who) for e, who in v.reactions.items()}}
                for k, v in self.state.messages.items()
            },
        }
        text = await asyncio.to_thread(json.dumps, data, ensure_ascii=False)
        async with self._lock:
            tmp = self._file.with_suffix(".tmp")
            await asyncio.to_thread(tmp.write_text, text, encoding="utf-8")
            await asyncio.to_thread(tmp.replace, self._file)

    # -- messages -------------------------------------------------------------------
    def add_message(self, channel: str, author: str, text: str, thread: str | None = None) -> Message:
        message = Message(f"m{self.state.next_id}", channel, author, text[:MAX_MESSAGE], thread)
        self.state.next_id += 1
        self.state.messages[message.id] = message
        if channel not in self.state.channels:
            self.state.channels.append(channel)
        return message

    def print(self, text: str = "") -> None:
        self._out.write(text + "\n")
        self._out.flush()

    # -- ChatPlatform -------------------------------------------------------------------
    async def post_discussion(
        self, community: Community, channel_id: str, article: Article, prompt: str
    ) -> PostedMessage:
        body = [shorten(article.title, 100)]
        if article.url:
            body.append(article.url)
        meta = article.source + (f" · {article.published_at:%d %b %Y}" if article.published_at else "")
        body += [f"({meta})", "", article.summary, "", f"💬 {prompt}"]
        message = self.add_message(channel_id, BOT_NAME, "\n".join(body))
        message.opens_thread = True
        message.article = article.key
        await self.save()
        self.print(f"┌─ #{channel_id} · {message.id} · {BOT_NAME}")
        for line in "\n".join(body).splitlines():
            self.print(f"│ {line}")
        self.print(f"└─ thread {message.id} opened — `.thread {message.id}` to reply there")
        return PostedMessage(message.id, message.id, self.link(channel_id, message.id))

    async def find_post(
        self, community: Community, channel_id: str, article: Article, since: datetime
    ) -> PostedMessage | None:
        for message in self.state.messages.values():
            if message.channel == channel_id and message.opens_thread and message.article == article.key:
                return PostedMessage(message.id, message.id, self.link(channel_id, message.id))
        return None

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
        message = self.add_message(channel_id, BOT_NAME, text)
        await self.save()
        self.print(f"┌─ #{channel_id} · {message.id} · {BOT_NAME} · digest")
        for line in text.rstrip().splitlines():
            self.print(f"│ {line}")
        self.print("└─")
        if sent is not None:
            await sent(message.id)
        return [message.id]

    async def notify(self, community: Community, channel_id: str, text: str) -> None:
        message = self.add_message(channel_id, BOT_NAME, text)
        await self.save()
        self.print(f"[#{channel_id} {message.id}] {BOT_NAME}: {text}")

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        return []  # the console never misses a message: it is the bot's own terminal

    def thread_link(self, discussion: Discussion) -> str | None:
        if discussion.thread_id is None:
            return None
        return self.link(discussion.channel_id, discussion.thread_id)

    @staticmethod
    def link(channel_id: str, message_id: str) -> str:
        return f"console://{channel_id}/{message_id}"
