"""Events that adapters translate platform payloads into, and hand to `App.dispatch`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.models import Community


@dataclass(frozen=True, slots=True)
class Event:
    community: Community


@dataclass(frozen=True, slots=True)
class ReplyPosted(Event):
    thread_id: str
    message_id: str
    author_id: str
    # Members' words stay out of reprs, so they never reach a log line.
    author_name: str = field(repr=False)
    text: str = field(repr=False)
    created_at: datetime = field(repr=False)
    from_history: bool = False  # read back after the bot was away, not seen live


@dataclass(frozen=True, slots=True)
class ReplyEdited(Event):
    thread_id: str
    message_id: str
    text: str = field(repr=False)
    edited_at: datetime = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReplyDeleted(Event):
    message_id: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class ThreadDeleted(Event):
    thread_id: str


@dataclass(frozen=True, slots=True)
class ReactionChanged(Event):
    message_id: str
    user_id: str
    emoji: str
    added: bool


@dataclass(frozen=True, slots=True)
class ReactionsCleared(Event):
    """A moderator removed every reaction of a message (or every one of one emoji)."""

    message_id: str
    emoji: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformReady(Event):
    """The platform (re)connected to a community: time to read what was missed."""


@dataclass(frozen=True, slots=True)
class Caller:
    id: str
    name: str
    is_moderator: bool


@dataclass(frozen=True, slots=True)
class CommandInvoked(Event):
    """A slash command (or message action) from a member.

    `path` is the command words, e.g. ("feed", "add"). Text platforms pass the
    rest of the line in `text`; platforms with typed options (Discord) pass
    them in `options`. The registry validates both the same way.
    """

    channel_id: str
    caller: Caller
    path: tuple[str, ...]
    text: str = field(default="", repr=False)
    options: Mapping[str, object] = field(default_factory=dict, repr=False)
    # The caller sits at this machine (console, CLI), so local files may be read.
    local: bool = False
