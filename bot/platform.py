"""What the core asks of a chat platform. Adapters implement it; they own
rendering and the platform's limits, and hold no business rule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.models import Article, Community, Discussion, PostedMessage

if TYPE_CHECKING:
    from bot.digest import Digest
    from bot.events import ReplyPosted


class PlatformError(Exception):
    """The platform refused or failed a request; the message says what a moderator can do."""


class ChatPlatform(Protocol):
    name: str

    async def post_discussion(
        self, community: Community, channel_id: str, article: Article, prompt: str
    ) -> PostedMessage:
        """Post the article with its prompt and open a thread on it."""

    async def post_digest(self, community: Community, channel_id: str, digest: Digest) -> list[str]:
        """Post a digest, split as the platform's limits need; returns the message ids."""

    async def notify(self, community: Community, channel_id: str, text: str) -> None:
        """Tell a channel something a person must act on (a failing feed, say)."""

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        """Replies in the discussion's thread after that message (all if None), oldest
        first, as events; best effort, within the platform's reading limits."""

    def thread_link(self, discussion: Discussion) -> str | None:
        """A link members can follow to the discussion's thread, if the platform has one."""
