"""What a digest holds: plain data, already safe to show, for every rendering.

Built by `bot.digest.DigestBuilder`; laid out once by `bot.layout` and translated by each
platform. Every text here is cleaned: no hidden, deleted or opted-out words, anonymous
members unnamed, mentions neutralised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.models import Community, PeriodCounts, ReplyView
from bot.text import safe

ANONYMOUS_NAME = "a member"


@dataclass(frozen=True, slots=True)
class Highlight:
    author: str
    excerpt: str
    reactions: int
    featured: bool


@dataclass(frozen=True, slots=True)
class Theme:
    """A key phrase that several replies of one discussion share, with one
    representative excerpt (already safe to show)."""

    phrase: str
    replies: int  # how many replies use it
    excerpt: str
    author: str


@dataclass(frozen=True, slots=True)
class DiscussionSummary:
    title: str
    article_url: str | None
    thread_link: str | None
    replies: int
    participants: int
    reactions: int
    highlights: tuple[Highlight, ...] = ()
    themes: tuple[Theme, ...] = ()
    discussion_id: int | None = None
    gist: str = ""  # one or two sentences on what members said (see bot.gist)
    gist_engine: str = ""  # "builtin" or "model"
    experiences: int = 0  # members who told a first-hand experience


@dataclass(frozen=True, slots=True)
class DayCount:
    """Participation on one local day of the period (the chart's bars)."""

    day: date
    replies: int
    participants: int


@dataclass(frozen=True, slots=True)
class WaitingArticle:
    title: str
    article_url: str | None
    thread_link: str | None
    discussion_id: int | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    articles: int
    replies: int
    participants: int
    newcomers: int
    previous: PeriodCounts
    newcomer_names: tuple[str, ...] = ()  # only members who are not anonymous


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
    days: tuple[DayCount, ...] = ()
    language: str = "en"  # the community's digest language (see bot.i18n)

    @property
    def empty(self) -> bool:
        return not (self.discussions or self.late or self.waiting or self.figures.replies)


def author_label(view: ReplyView) -> str:
    return label(view.reply.author_name, view.anonymous)


def label(name: str, anonymous: bool) -> str:
    return ANONYMOUS_NAME if anonymous else safe(name, 80) or ANONYMOUS_NAME
