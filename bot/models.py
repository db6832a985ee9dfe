"""The core's data: plain, platform-free records passed between modules."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Community:
    """Where a conversation lives: a Discord server, a Slack workspace, the console.

    Every subscription, discussion, schedule and statistic belongs to one
    community, so moderators of one server never see or change another's.
    """

    platform: str
    id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """An article as a source produced it, before it is stored."""

    title: str
    url: str | None
    summary: str
    source: str
    published_at: datetime | None = None
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    key: str
    title: str
    url: str | None
    summary: str
    source: str
    published_at: datetime | None
    created_at: datetime


class DiscussionState(enum.StrEnum):
    PENDING = "pending"  # recorded in the outbox, not yet confirmed by the platform
    POSTED = "posted"


@dataclass(frozen=True, slots=True)
class Discussion:
    id: int
    article_id: int
    community: Community
    channel_id: str
    message_id: str | None
    thread_id: str | None
    prompt: str
    state: DiscussionState
    feed_id: int | None
    created_at: datetime
    posted_at: datetime | None
    anonymous_replies: int = 0


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """What a platform answers after posting a discussion."""

    message_id: str
    thread_id: str
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    discussion_id: int
    message_id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime
    edited_at: datetime | None
    featured: bool
    hidden: bool
    reactions: int = 0


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    community: Community
    channel_id: str
    url: str
    title: str | None
    prompt: str | None
    backlog: int
    interval_seconds: int
    etag: str | None
    last_modified: str | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failures: int
    next_poll_at: datetime
    items_posted: int
    primed: bool  # the first poll (backlog rule) has run
    created_at: datetime
    template: str | None = None  # the post's parts in order ("title,excerpt,link"); None: standard
    items_held_back: int = 0  # new items its filters held back, in all
    held_unmatched: int = 0  # of those, the ones that matched none of its include filters


@dataclass(frozen=True, slots=True)
class FeedSuccess:
    """A successful poll of a feed, as `Store.record_feed_successes` writes it."""

    feed_id: int
    title: str | None  # None keeps the stored title
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    at: datetime


FILTER_ACTIONS = ("include", "exclude")
FILTER_FIELDS = ("all", "title", "summary", "categories")


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """One include or exclude rule of a feed: a phrase, or a /regular expression/."""

    id: int
    feed_id: int
    action: str  # one of FILTER_ACTIONS
    pattern: str  # as typed
    field: str  # one of FILTER_FIELDS ("all": title, summary and categories)
    held_back: int  # items this exclude rule held back (0 for an include)
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberPrefs:
    platform: str
    user_id: str
    opted_out: bool = False
    anonymous: bool = False


@dataclass(frozen=True, slots=True)
class DigestSchedule:
    community: Community
    channel_id: str
    weekday: int  # 0 = Monday
    at: time
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None


@dataclass(frozen=True, slots=True)
class DigestClaim:
    """A digest claimed for a destination and period and not confirmed yet: the ids of its
    messages sent so far (recorded as they go), so a later try sends only the rest."""

    community: Community
    channel_id: str
    period_start: datetime
    period_end: datetime
    message_ids: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    community: Community
    channel_id: str
    prompt: str | None
    digest_style: str = "compact"  # one of DIGEST_STYLES


DIGEST_STYLES = ("compact", "full")  # compact (the default) fits a week into one message
SUMMARY_ENGINES = ("builtin", "model")  # who writes a digest's gists


@dataclass(frozen=True, slots=True)
class CommunitySettings:
    """A community's digest settings. `language` None means the operator's default
    (THREADCAST_LANGUAGE, else English)."""

    community: Community
    language: str | None = None
    summaries: str = "builtin"  # one of SUMMARY_ENGINES


@dataclass(frozen=True, slots=True)
class ReplyView:
    """A stored reply with its author's privacy preferences, for digests and exports.

    The store only joins the facts; the rules that act on them live in the core.
    """

    reply: Reply
    opted_out: bool
    anonymous: bool


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    articles: int
    replies: int
    participants: int


class ReplyMark(NamedTuple):
    """A reply of a digest period without its words, with its author's preferences: what
    counting, ranking, the chart and the welcome need. A busy week has tens of thousands;
    a tuple is several times cheaper to build than a frozen dataclass."""

    reply_id: int
    author_id: str
    author_name: str
    created_at: datetime
    reactions: int
    hidden: bool
    opted_out: bool
    anonymous: bool


@dataclass(frozen=True, slots=True)
class DiscussionTally:
    """A discussion of a digest period with its counts there (opted-out members left out),
    counted by the database: a busy week's tens of thousands of replies stay there."""

    discussion: Discussion
    article: Article
    replies: int
    participants: int
    reactions: int
    replies_ever: int  # every stored reply, any time


@dataclass(frozen=True, slots=True)
class PeriodActivity:
    """What a digest counts of a period, counted by the database (a busy week's tens of
    thousands of replies stay there); opted-out members are left out of all of it."""

    discussions: list[DiscussionTally]
    days: tuple[tuple[int, int], ...]  # (replies, participants) per day, quiet days included
    authors: frozenset[str]  # who replied
    anonymous: frozenset[str]  # those of them who asked to stay anonymous


@dataclass(frozen=True, slots=True)
class DiscussionActivity:
    """A discussion with marks of the replies written in a digest period (oldest first).
    The words of the replies are read separately, only for the discussions a digest shows."""

    discussion: Discussion
    article: Article
    marks: list[ReplyMark] = field(default_factory=list)
    replies_ever: int = 0  # every stored reply, any time


@dataclass(frozen=True, slots=True)
class StatsRow:
    label: str
    articles: int
    replies: int
    participants: int  # distinct members over all the articles
    participations: int = 0  # members per article, summed: (article, member) pairs

    @property
    def reply_rate(self) -> float:
        return self.replies / self.articles if self.articles else 0.0

    @property
    def participant_rate(self) -> float:
        """Members taking part per article: how many people a prompt or feed draws in."""
        return self.participations / self.articles if self.articles else 0.0
