"""The digest: what a community said in one period, with the privacy rules applied.

`DigestBuilder` turns stored activity into a `Digest`; every text in it is
already safe to show (no hidden, deleted or opted-out words, anonymous members
unnamed, mentions neutralised). Platforms only lay it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.models import Community, DiscussionActivity, PeriodCounts, ReplyView
from bot.platform import ChatPlatform
from bot.store import Store
from bot.text import safe

ANONYMOUS_NAME = "a member"
EXCERPT_LENGTH = 280
HIGHLIGHTS_PER_DISCUSSION = 3
MAX_RANKED = 10
MAX_LATE = 5
MAX_WAITING = 10


@dataclass(frozen=True, slots=True)
class Highlight:
    author: str
    excerpt: str
    reactions: int
    featured: bool


@dataclass(frozen=True, slots=True)
class DiscussionSummary:
    title: str
    article_url: str | None
    thread_link: str | None
    replies: int
    participants: int
    reactions: int
    highlights: tuple[Highlight, ...] = ()


@dataclass(frozen=True, slots=True)
class WaitingArticle:
    title: str
    article_url: str | None
    thread_link: str | None


@dataclass(frozen=True, slots=True)
class Figures:
    articles: int
    replies: int
    participants: int
    newcomers: int
    previous: PeriodCounts


@dataclass(frozen=True, slots=True)
class Digest:
    community: Community
    period_start: datetime
    period_end: datetime
    timezone: str
    figures: Figures
    discussions: tuple[DiscussionSummary, ...] = ()
    more_discussions: int = 0
    late: tuple[DiscussionSummary, ...] = ()
    waiting: tuple[WaitingArticle, ...] = ()
    more_waiting: int = 0
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.discussions or self.late or self.waiting or self.figures.replies)


def author_label(view: ReplyView) -> str:
    return ANONYMOUS_NAME if view.anonymous else safe(view.reply.author_name, 80) or ANONYMOUS_NAME


def highlights(replies: list[ReplyView]) -> tuple[Highlight, ...]:
    """Featured replies first, then the most reacted, then the earliest."""
    candidates = [v for v in replies if not v.opted_out and not v.reply.hidden and v.reply.text.strip()]
    candidates.sort(key=lambda v: (not v.reply.featured, -v.reply.reactions, v.reply.created_at))
    return tuple(
        Highlight(
            author=author_label(v),
            excerpt=safe(v.reply.text, EXCERPT_LENGTH),
            reactions=v.reply.reactions,
            featured=v.reply.featured,
        )
        for v in candidates[:HIGHLIGHTS_PER_DISCUSSION]
    )


class DigestBuilder:
    def __init__(self, store: Store, platforms: Mapping[str, ChatPlatform]) -> None:
        self._store = store
        self._platforms = platforms

    async def build(
        self,
        community: Community,
        start: datetime,
        end: datetime,
        *,
        timezone: str = "UTC",
        note: str | None = None,
    ) -> Digest:
        activity = await self._store.activity(community, start, end)
        current = await self._store.period_counts(community, start, end)
        previous = await self._store.period_counts(community, start - (end - start), start)

        authors = {v.reply.author_id for a in activity for v in a.replies if not v.opted_out}
        first_seen = await self._store.first_reply_times(community, authors)
        newcomers = sum(1 for when in first_seen.values() if when >= start)

        fresh: list[DiscussionActivity] = []
        late: list[DiscussionActivity] = []
        waiting: list[WaitingArticle] = []
        for item in activity:
            posted = item.discussion.posted_at
            is_new = posted is not None and start <= posted < end
            visible = [v for v in item.replies if not v.opted_out]
            if visible:
                (fresh if is_new else late).append(item)
            elif is_new and item.replies_ever == 0 and item.discussion.anonymous_replies == 0:
                waiting.append(
                    WaitingArticle(safe(item.article.title, 256), item.article.url, self._link(item))
                )
        ranked = sorted((self._summary(a) for a in fresh), key=_engagement, reverse=True)
        late_ranked = sorted((self._summary(a) for a in late), key=_engagement, reverse=True)
        return Digest(
            community=community,
            period_start=start,
            period_end=end,
            timezone=timezone,
            figures=Figures(
                articles=current.articles,
                replies=current.replies,
                participants=current.participants,
                newcomers=newcomers,
                previous=previous,
            ),
            discussions=tuple(ranked[:MAX_RANKED]),
            more_discussions=max(0, len(ranked) - MAX_RANKED),
            late=tuple(late_ranked[:MAX_LATE]),
            waiting=tuple(waiting[:MAX_WAITING]),
            more_waiting=max(0, len(waiting) - MAX_WAITING),
            note=note,
        )

    def _link(self, item: DiscussionActivity) -> str | None:
        platform = self._platforms.get(item.discussion.community.platform)
        return platform.thread_link(item.discussion) if platform else None

    def _summary(self, item: DiscussionActivity) -> DiscussionSummary:
        visible = [v for v in item.replies if not v.opted_out]
        return DiscussionSummary(
            title=safe(item.article.title, 256),
            article_url=item.article.url,
            thread_link=self._link(item),
            replies=len(visible),
            participants=len({v.reply.author_id for v in visible}),
            reactions=sum(v.reply.reactions for v in visible),
            highlights=highlights(visible),
        )


def _engagement(summary: DiscussionSummary) -> tuple[int, int, int]:
    return (summary.replies, summary.participants, summary.reactions)
