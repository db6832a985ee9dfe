"""Posting an article into a channel, once: record, send, confirm."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from bot.clock import Clock
from bot.identity import article_key, article_link
from bot.models import Article, ArticleDraft, Community, Discussion, DiscussionState, PostedMessage
from bot.platform import ChatPlatform, PlatformError, is_connected
from bot.post_layout import STANDARD, PostLayout
from bot.prompts import DEFAULT_PROMPT, next_prompt, render_prompt, split_prompts
from bot.store import Store
from bot.text import neutralize_mentions

_log = logging.getLogger(__name__)

# A post is sent within seconds of being recorded; one older than this was cut off.
STALE_PENDING = timedelta(minutes=10)
ROTATION_MEMORY = timedelta(days=90)  # how far back the last prompt used is looked up
GIVE_UP_CHECKING = timedelta(days=1)  # a pending post whose channel stays unreadable is let go
CLOCK_SKEW = timedelta(minutes=5)  # the platform's clock and ours may differ a little


@dataclass(frozen=True, slots=True)
class Published:
    article: Article
    discussion: Discussion
    new: bool  # False: this article was already posted in this channel


class PublishError(Exception):
    pass


def draft_key(draft: ArticleDraft) -> str:
    """The article's identity: its normalized link, else its feed GUID, else a content hash."""
    return item_keys(draft.guid, draft.url, draft.source, lambda: draft)[0]


def item_keys(
    guid: str | None,
    url: str | None,
    source: str,
    draft: Callable[[], ArticleDraft],
    *,
    by_link: bool = True,
) -> list[str]:
    """The keys an item is known by, its article's identity first: its normalized link (an
    item whose link was posted before is the same article, whatever its GUID or title), then
    its GUID key. `by_link=False` when the link does not tell items apart (several items of
    one feed share it): the GUID, else a content hash, is the identity then."""
    return known_by(article_link(url) if by_link else None, item_key(guid, url, source, draft))


def known_by(link: str | None, key: str) -> list[str]:
    """`item_keys` from an item's normalized link (None: not known by its link) and its `item_key`."""
    keys = [] if link is None else [f"url:{link}"]
    if key not in keys:
        keys.append(key)
    return keys


def item_key(guid: str | None, url: str | None, source: str, draft: Callable[[], ArticleDraft]) -> str:
    """The GUID key of an item: its feed GUID, else its normalised URL, else a content hash
    (the draft is made only when the key needs its text).

    A GUID that is not a URL ("1234") is only unique within its site, so it is
    qualified by the item's host (or its source) to keep two feeds apart.
    """
    if guid and "://" not in guid:
        site = urlsplit(url).hostname if url else None
        guid = f"{site or source}#{guid}"

    def text() -> str:
        made = draft()
        return f"{made.title}\n{made.summary}"

    return article_key(guid, url, text)


def shown(article: Article) -> Article:
    """The article as members see it: its words unable to ping anyone."""
    return replace(
        article,
        title=neutralize_mentions(article.title),
        summary=neutralize_mentions(article.summary),
        source=neutralize_mentions(article.source),
    )


class Publisher:
    def __init__(
        self,
        store: Store,
        platforms: Mapping[str, ChatPlatform],
        clock: Clock,
        *,
        default_prompt: str = DEFAULT_PROMPT,
        recovered: Callable[[Discussion], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._recovered = recovered  # told of each post kept after a crash (its thread is read)
        self._platforms = platforms
        self._clock = clock
        self._default_prompt = default_prompt

    async def save(self, draft: ArticleDraft, key: str | None = None) -> Article:
        """Store the article under `key` (else `draft_key`); one stored under that key is
        returned as it stands (an updated item keeps its first title and summary)."""
        return await self._store.save_article(key or draft_key(draft), draft, self._clock.now())

    async def prompts(self, community: Community, channel_id: str) -> tuple[str, ...]:
        """The channel's prompts in rotation order; the default when none is set."""
        settings = await self._store.get_channel_settings(community, channel_id)
        return split_prompts(settings.prompt if settings else None) or (self._default_prompt,)

    async def prompt_for(self, community: Community, channel_id: str, override: str | None) -> str:
        """The given prompt, else the channel's next one in rotation."""
        if override:
            return override
        templates = await self.prompts(community, channel_id)
        if len(templates) == 1:
            return templates[0]
        since = self._clock.now() - ROTATION_MEMORY
        recent = await self._store.recent_discussions(community, since)
        last = next((d.prompt for d in recent if d.channel_id == channel_id and d.prompt in templates), None)
        return next_prompt(templates, last)

    async def publish(
        self,
        draft: ArticleDraft,
        community: Community,
        channel_id: str,
        *,
        prompt: str | None = None,
        feed_id: int | None = None,
        key: str | None = None,
        layout: PostLayout = STANDARD,
    ) -> Published:
        """Post once per article and channel.

        The discussion row is written before the platform call (the outbox) and
        confirmed after it; a refused post is taken back so a later try can post.
        """
        platform = self._platforms.get(community.platform)
        if platform is None:
            raise PublishError(f"the {community.platform} platform is not running")
        article = await self.save(draft, key)
        template = await self.prompt_for(community, channel_id, prompt)
        text = render_prompt(template, article)
        pending = await self._store.begin_discussion(
            article.id, community, channel_id, prompt=template, feed_id=feed_id, now=self._clock.now()
        )
        if pending is None:
            existing = await self._existing(article, community, channel_id)
            return Published(article, existing, new=False)
        try:
            posted = await platform.post_discussion(community, channel_id, shown(article), text, layout)
        except PlatformError as exc:
            await self._store.abandon_discussion(pending.id)
            raise PublishError(str(exc)) from exc
        except Exception as exc:
            await self._store.abandon_discussion(pending.id)
            _log.exception("posting %r to %s failed", article.title, channel_id)
            raise PublishError(f"the platform failed: {type(exc).__name__}") from exc
        except BaseException:
            # Cancelled (shutdown): take the record back even while being cancelled.
            await asyncio.shield(self._store.abandon_discussion(pending.id))
            raise
        discussion = await self._store.confirm_discussion(
            pending.id, posted.message_id, posted.thread_id, self._clock.now()
        )
        if feed_id is not None:
            await self._store.count_feed_post(feed_id)
        _log.info("posted %r to %s %s", article.title, community.key, channel_id)
        return Published(article, discussion, new=True)

    async def _existing(self, article: Article, community: Community, channel_id: str) -> Discussion:
        found = await self._store.find_discussion(article.id, community, channel_id)
        if found is None or found.state is not DiscussionState.POSTED:
            # Another task is posting it right now (or a crash left it half done):
            # not "already posted", so a feed does not count it as done.
            raise PublishError(f"“{article.title}” is being posted to {channel_id} already; try again later")
        return found

    async def recover_pending(self, older_than: timedelta = STALE_PENDING) -> int:
        """Settle posts recorded but never confirmed (the process died in between).

        The channel is asked first: if the post is there, it is confirmed as it
        stands, never sent twice; if it is not, the record is taken back so the
        article can be posted again. While the channel cannot be read, the record
        waits (for up to `GIVE_UP_CHECKING`) rather than risk a second post."""
        now = self._clock.now()
        stale = [d for d in await self._store.pending_discussions() if d.created_at < now - older_than]
        settled = 0
        for discussion in stale:
            where = f"{discussion.community.key} {discussion.channel_id}"
            if (
                discussion.community.platform in self._platforms
                and not is_connected(self._platforms, discussion.community.platform)
                and discussion.created_at >= now - GIVE_UP_CHECKING
            ):
                continue  # its platform is down: checked once it is connected again
            try:
                found = await self._find_post(discussion)
            except PlatformError as exc:
                if discussion.created_at >= now - GIVE_UP_CHECKING:
                    _log.warning("cannot check %s for discussion %d yet: %s", where, discussion.id, exc)
                    continue
                found = None
            if found is not None:
                kept = await self._store.confirm_discussion(
                    discussion.id, found.message_id, found.thread_id, now
                )
                if discussion.feed_id is not None:
                    await self._store.count_feed_post(discussion.feed_id)
                _log.warning(
                    "discussion %d was posted before a crash: found in %s, kept", discussion.id, where
                )
                if self._recovered is not None:
                    await self._recovered(kept)
            else:
                _log.warning(
                    "discussion %d in %s was never posted; it will be posted again", discussion.id, where
                )
                await self._store.abandon_discussion(discussion.id)
            settled += 1
        return settled

    async def _find_post(self, discussion: Discussion) -> PostedMessage | None:
        platform = self._platforms.get(discussion.community.platform)
        article = await self._store.get_article(discussion.article_id)
        if platform is None or article is None:
            raise PlatformError(f"the {discussion.community.platform} platform is not running")
        since = discussion.created_at - CLOCK_SKEW
        return await platform.find_post(discussion.community, discussion.channel_id, shown(article), since)
