"""What the core asks of a chat platform. Adapters implement it; they own
rendering and the platform's limits, and hold no business rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.models import Article, Community, Discussion, PostedMessage
from bot.post_layout import STANDARD, PostLayout

if TYPE_CHECKING:
    from bot.events import ReplyPosted
    from bot.layout import DigestPost


class PlatformError(Exception):
    """The platform refused or failed a request; the message says what a moderator can do."""


class PartlyPosted(PlatformError):
    """A message of a split digest was refused after earlier ones went out: their ids are in
    `message_ids`, so a later try sends only the rest."""

    def __init__(self, message: str, message_ids: list[str]) -> None:
        super().__init__(message)
        self.message_ids = message_ids


class IncompleteHistory(PlatformError):
    """A thread's history was read only part-way (a rate limit, the page cap): the replies
    read so far are in `replies`; the rest is read again at the next catch-up. `transient`:
    the platform failed on its side (a 5xx), so reading again in a moment may succeed."""

    def __init__(self, message: str, replies: list[ReplyPosted], *, transient: bool = False) -> None:
        super().__init__(message)
        self.replies = replies
        self.transient = transient


@dataclass(frozen=True, slots=True)
class ShownReply:
    """A member's message as the platform shows it now."""

    reply: ReplyPosted  # its current words, read from history
    edited_at: datetime | None
    # emoji -> how many reacted with it, the bot itself left out (other bots may be counted)
    reactions: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ThreadShown:
    """What a thread shows now: its members' messages, oldest first. `since`: the messages
    were read back to this time only (the thread is longer than one reading takes), so a
    stored reply written at or before it may be there unread; None: the whole thread was read,
    and a stored reply missing from `replies` was deleted."""

    replies: list[ShownReply]
    since: datetime | None


@runtime_checkable
class ShowsThreads(Protocol):
    """A platform whose history gives each message's current words and reaction counts, and who
    reacted: a catch-up brings the stored replies back to it (see bot/catchup.py)."""

    async def thread_shown(self, discussion: Discussion) -> ThreadShown | None:
        """The thread as it stands (None if it has no thread, or the bot cannot see it). Raises
        IncompleteHistory (its `replies` empty) when the reading failed part-way."""

    async def reactors(self, discussion: Discussion, message_id: str, emoji: str) -> set[str] | None:
        """The members (not bots) who reacted to the message with this emoji, None if the
        platform would not say. Raises IncompleteHistory (transient) on a failure of its own."""


@runtime_checkable
class Connects(Protocol):
    """A platform that can be down (Discord, Slack): while it is, the scheduler leaves its due
    posts and digests due, and sends them at its first tick after it is connected again."""

    @property
    def connected(self) -> bool:
        """True while it can take posts (logged in, the socket up)."""


def is_connected(platforms: Mapping[str, ChatPlatform], name: str) -> bool:
    """The platform runs in this process and is connected (one that cannot be down always is)."""
    platform = platforms.get(name)
    return platform is not None and (not isinstance(platform, Connects) or platform.connected)


class ChatPlatform(Protocol):
    name: str

    async def post_discussion(
        self,
        community: Community,
        channel_id: str,
        article: Article,
        prompt: str,
        layout: PostLayout = STANDARD,
    ) -> PostedMessage:
        """Post the article with its prompt, showing the parts `layout` names in its order (see
        bot/post_layout.py), and open a thread on it."""

    async def find_post(
        self, community: Community, channel_id: str, article: Article, since: datetime
    ) -> PostedMessage | None:
        """The bot's own post of this article in the channel since then, if the channel
        still shows it: after a crash between sending a post and recording it. A post
        whose thread was never opened gets its thread now. None if there is no such post."""

    async def post_digest(
        self,
        community: Community,
        channel_id: str,
        post: DigestPost,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        """Post a digest as `post.fitted` lays it out (a compact one in one message, a full
        one split as the platform's limits need), leaving out its first `skip` messages
        (sent before); returns the ids of the messages sent now. `sent` is awaited with each
        message's id as soon as it went out (the caller records it). Raises PartlyPosted when
        a message is refused after others went out."""

    async def notify(self, community: Community, channel_id: str, text: str) -> None:
        """Tell a channel something a person must act on (a failing feed, say)."""

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        """Replies in the discussion's thread after that message (all if None), oldest
        first, as events, within the platform's reading limits. Raises IncompleteHistory
        when it had to stop before the end."""

    def thread_link(self, discussion: Discussion) -> str | None:
        """A link members can follow to the discussion's thread, if the platform has one."""
