"""The digest: what a community said in one period, with the privacy rules applied.

`DigestBuilder` turns stored activity into a `Digest`; every text in it is
already safe to show (no hidden, deleted or opted-out words, anonymous members
unnamed, mentions neutralised). Platforms only lay it out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import Community, DiscussionActivity, PeriodCounts, ReplyView
from bot.platform import ChatPlatform
from bot.store import Store
from bot.text import safe
from bot.themes import Voice, boilerplate, find_themes
from bot.wording import is_substantive, near_duplicate, words

ANONYMOUS_NAME = "a member"
EXCERPT_LENGTH = 280
HIGHLIGHTS_PER_DISCUSSION = 3
MAX_RANKED = 10
MAX_LATE = 5
MAX_WAITING = 10
MAX_NEWCOMER_NAMES = 10
THEME_EXCERPT_LENGTH = 200
SUBSTANCE_WORDS = 60  # beyond this, a longer reply is not a better highlight


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

    @property
    def empty(self) -> bool:
        return not (self.discussions or self.late or self.waiting or self.figures.replies)


def author_label(view: ReplyView) -> str:
    return ANONYMOUS_NAME if view.anonymous else safe(view.reply.author_name, 80) or ANONYMOUS_NAME


def highlights(replies: list[ReplyView]) -> tuple[Highlight, ...]:
    """Featured replies first, then the most reacted, then the most substantive;
    "+1", a lone emoji or a bare link only when a moderator featured it, and never
    two replies that say nearly the same."""
    candidates = [v for v in _quotable(replies) if v.reply.featured or is_substantive(v.reply.text)]
    candidates.sort(
        key=lambda v: (
            not v.reply.featured,
            -v.reply.reactions,
            -min(len(words(v.reply.text)), SUBSTANCE_WORDS),
            v.reply.created_at,
        )
    )
    chosen: list[ReplyView] = []
    for view in candidates:
        if any(near_duplicate(view.reply.text, c.reply.text) for c in chosen):
            continue
        chosen.append(view)
        if len(chosen) == HIGHLIGHTS_PER_DISCUSSION:
            break
    return tuple(
        Highlight(
            author=author_label(v),
            excerpt=safe(v.reply.text, EXCERPT_LENGTH),
            reactions=v.reply.reactions,
            featured=v.reply.featured,
        )
        for v in chosen
    )


def _voices(replies: list[ReplyView]) -> list[tuple[Voice, ReplyView]]:
    return [(Voice(v.reply.author_id, v.reply.text, v.reply.reactions), v) for v in _quotable(replies)]


def themes(replies: list[ReplyView], common: frozenset[tuple[str, ...]] = frozenset()) -> tuple[Theme, ...]:
    """Key phrases that several members' quotable replies share, leaving out `common`
    phrases (the community's turns of phrase, see `themes.boilerplate`)."""
    pairs = _voices(replies)
    by_voice = {id(voice): view for voice, view in pairs}
    return tuple(
        Theme(
            phrase=safe(found.phrase, 60),
            replies=found.replies,
            excerpt=safe(found.sentence, THEME_EXCERPT_LENGTH),
            author=author_label(by_voice[id(found.voice)]),
        )
        for found in find_themes([voice for voice, _ in pairs], ignore=common)
    )


def _quotable(replies: list[ReplyView]) -> list[ReplyView]:
    """Replies a digest may quote: not hidden, not an opted-out member's, not empty."""
    return [v for v in replies if not v.opted_out and not v.reply.hidden and v.reply.text.strip()]


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
        newcomers = {author for author, when in first_seen.items() if when >= start}

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
                    WaitingArticle(
                        safe(item.article.title, 256), item.article.url, self._link(item), item.discussion.id
                    )
                )
        # Ranked on counts first: only the discussions shown are read word by word (highlights,
        # themes), which is most of a digest's work over a busy week.
        fresh.sort(key=_engagement, reverse=True)
        late.sort(key=_engagement, reverse=True)
        shown, shown_late = fresh[:MAX_RANKED], late[:MAX_LATE]
        common = boilerplate([[v for v, _ in _voices(a.replies)] for a in (*shown, *shown_late)])
        return Digest(
            community=community,
            period_start=start,
            period_end=end,
            timezone=timezone,
            figures=Figures(
                articles=current.articles,
                replies=current.replies,
                participants=current.participants,
                newcomers=len(newcomers),
                previous=previous,
                newcomer_names=newcomer_names(activity, newcomers, first_seen),
            ),
            discussions=tuple(self._summary(a, common) for a in shown),
            more_discussions=max(0, len(fresh) - MAX_RANKED),
            late=tuple(self._summary(a, common) for a in shown_late),
            waiting=tuple(waiting[:MAX_WAITING]),
            more_waiting=max(0, len(waiting) - MAX_WAITING),
            note=note,
            days=daily_counts(activity, start, end, timezone),
        )

    def _link(self, item: DiscussionActivity) -> str | None:
        platform = self._platforms.get(item.discussion.community.platform)
        return platform.thread_link(item.discussion) if platform else None

    def _summary(self, item: DiscussionActivity, common: frozenset[tuple[str, ...]]) -> DiscussionSummary:
        visible = [v for v in item.replies if not v.opted_out]
        return DiscussionSummary(
            title=safe(item.article.title, 256),
            article_url=item.article.url,
            thread_link=self._link(item),
            replies=len(visible),
            participants=len({v.reply.author_id for v in visible}),
            reactions=sum(v.reply.reactions for v in visible),
            highlights=highlights(visible),
            themes=themes(visible, common),
            discussion_id=item.discussion.id,
        )


def _engagement(item: DiscussionActivity) -> tuple[int, int, int]:
    """Replies, then participants, then reactions (opted-out members left out)."""
    visible = [v for v in item.replies if not v.opted_out]
    return (len(visible), len({v.reply.author_id for v in visible}), sum(v.reply.reactions for v in visible))


def newcomer_names(
    activity: list[DiscussionActivity], newcomers: set[str], first_seen: Mapping[str, datetime]
) -> tuple[str, ...]:
    """Names to welcome, in order of arrival: never an anonymous or opted-out member."""
    named: dict[str, str] = {}
    anonymous: set[str] = set()
    for item in activity:
        for view in item.replies:
            author = view.reply.author_id
            if author not in newcomers or view.opted_out:
                continue
            if view.anonymous:
                anonymous.add(author)
            elif not view.reply.hidden:  # a member known only by a hidden reply is not named
                named.setdefault(author, author_label(view))
    shown = sorted((a for a in named if a not in anonymous), key=lambda a: first_seen[a])
    return tuple(named[a] for a in shown[:MAX_NEWCOMER_NAMES])


def daily_counts(
    activity: list[DiscussionActivity], start: datetime, end: datetime, timezone: str
) -> tuple[DayCount, ...]:
    """Replies and participants per local day of [start, end), quiet days included.
    Opted-out members are left out, like in every figure."""
    zone = ZoneInfo(timezone)
    authors: dict[date, set[str]] = defaultdict(set)
    replies: dict[date, int] = defaultdict(int)
    for item in activity:
        for view in item.replies:
            if view.opted_out:
                continue
            day = view.reply.created_at.astimezone(zone).date()
            replies[day] += 1
            authors[day].add(view.reply.author_id)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    days = []
    day = first
    while day <= last:
        days.append(DayCount(day, replies[day], len(authors[day])))
        day += timedelta(days=1)
    return tuple(days)
