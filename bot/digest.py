"""The digest: what a community said in one period, with the privacy rules applied.

`DigestBuilder` turns stored activity into a `Digest`; every text in it is
already safe to show (no hidden, deleted or opted-out words, anonymous members
unnamed, mentions neutralised). Platforms only lay it out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.models import Community, DiscussionActivity, PeriodCounts, ReplyView
from bot.platform import ChatPlatform
from bot.store import Store
from bot.text import safe
from bot.themes import Voice, boilerplate, find_themes
from bot.wording import alike, says_something, stems, words

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
    return _label(view.reply.author_name, view.anonymous)


def _label(name: str, anonymous: bool) -> str:
    return ANONYMOUS_NAME if anonymous else safe(name, 80) or ANONYMOUS_NAME


Heard = list[tuple[ReplyView, list[str]]]


def hear(replies: list[ReplyView]) -> Heard:
    """The replies a digest may quote, with their words: found once, for the highlights
    and the themes of a discussion both."""
    return [(v, words(v.reply.text)) for v in _quotable(replies)]


def highlights(heard: Heard) -> tuple[Highlight, ...]:
    """Featured replies first, then the most reacted, then the most substantive;
    "+1", a lone emoji or a bare link only when a moderator featured it, and never
    two replies that say nearly the same."""
    candidates = [(v, said) for v, said in heard if v.reply.featured or says_something(said)]
    candidates.sort(
        key=lambda pair: (
            not pair[0].reply.featured,
            -pair[0].reply.reactions,
            -min(len(pair[1]), SUBSTANCE_WORDS),
            pair[0].reply.created_at,
        )
    )
    chosen: list[tuple[ReplyView, frozenset[str]]] = []
    for view, said in candidates:
        mine = stems(said)
        if any(alike(mine, theirs) for _, theirs in chosen):
            continue
        chosen.append((view, mine))
        if len(chosen) == HIGHLIGHTS_PER_DISCUSSION:
            break
    return tuple(
        Highlight(
            author=author_label(v),
            excerpt=safe(v.reply.text, EXCERPT_LENGTH),
            reactions=v.reply.reactions,
            featured=v.reply.featured,
        )
        for v, _ in chosen
    )


Voices = list[tuple[Voice, ReplyView]]


def voices(heard: Heard) -> Voices:
    """The quotable replies as the theme finder sees them (their phrases found once)."""
    return [(Voice(v.reply.author_id, v.reply.text, v.reply.reactions, said), v) for v, said in heard]


def themes(pairs: Voices, common: frozenset[tuple[str, ...]] = frozenset()) -> tuple[Theme, ...]:
    """Key phrases that several members' quotable replies share, leaving out `common`
    phrases (the community's turns of phrase, see `themes.boilerplate`)."""
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


@dataclass(frozen=True, slots=True)
class _Tally:
    """A discussion's counts in the period, opted-out members left out: its rank."""

    replies: int
    participants: int
    reactions: int

    def rank(self) -> tuple[int, int, int]:
        """Replies, then participants, then reactions."""
        return (self.replies, self.participants, self.reactions)


@dataclass(frozen=True, slots=True)
class Census:
    """Everything a digest counts, from one walk over the period's marks (a busy week has
    tens of thousands). Opted-out members are left out of all of it."""

    tallies: dict[int, _Tally]  # by discussion id
    authors: set[str]
    days: tuple[DayCount, ...]  # per local day of the period, quiet days included
    names: dict[str, str]  # each author's first name, unless only hidden replies show it
    anonymous: set[str]

    @classmethod
    def of(cls, activity: list[DiscussionActivity], start: datetime, end: datetime, timezone: str) -> Census:
        zone = ZoneInfo(timezone)
        first = start.astimezone(zone).date()
        last = (end - timedelta(microseconds=1)).astimezone(zone).date()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        # Each local midnight as a UTC instant: a reply's day is then a comparison of instants,
        # cheaper than converting each reply's time to local time.
        midnights = [datetime.combine(d, time(), zone).astimezone(UTC) for d in days[1:]]
        per_day = [0] * len(days)
        day_authors: list[set[str]] = [set() for _ in days]
        tallies: dict[int, _Tally] = {}
        authors: set[str] = set()
        names: dict[str, str] = {}
        anonymous: set[str] = set()
        for item in activity:
            replies, reactions, people = 0, 0, set()
            for mark in item.marks:
                if mark.opted_out:
                    continue
                author = mark.author_id
                replies += 1
                reactions += mark.reactions
                people.add(author)
                n = bisect_right(midnights, mark.created_at)
                per_day[n] += 1
                day_authors[n].add(author)
                if mark.anonymous:
                    anonymous.add(author)
                elif not mark.hidden and author not in names:  # not named by a hidden reply
                    names[author] = mark.author_name
            tallies[item.discussion.id] = _Tally(replies, len(people), reactions)
            authors |= people
        counted = tuple(DayCount(day, per_day[n], len(day_authors[n])) for n, day in enumerate(days))
        return cls(tallies, authors, counted, names, anonymous)

    def newcomer_names(self, newcomers: set[str], first_seen: Mapping[str, datetime]) -> tuple[str, ...]:
        """Names to welcome, in order of arrival: never an anonymous or opted-out member."""
        named = [a for a in self.names if a in newcomers and a not in self.anonymous]
        named.sort(key=lambda a: first_seen[a])
        return tuple(_label(self.names[a], False) for a in named[:MAX_NEWCOMER_NAMES])


def _posted_in(item: DiscussionActivity, start: datetime, end: datetime) -> bool:
    posted = item.discussion.posted_at
    return posted is not None and start <= posted < end


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
        previous = await self._store.period_counts(community, start - (end - start), start)

        census = Census.of(activity, start, end, timezone)
        tallies = census.tallies
        first_seen = await self._store.first_reply_times(community, census.authors)
        newcomers = {author for author, when in first_seen.items() if when >= start}
        # What `Store.period_counts` would answer for this period, without reading it again.
        current = PeriodCounts(
            articles=sum(_posted_in(a, start, end) for a in activity),
            replies=sum(t.replies for t in tallies.values()),
            participants=len(census.authors),
        )
        fresh: list[DiscussionActivity] = []
        late: list[DiscussionActivity] = []
        waiting: list[WaitingArticle] = []
        for item in activity:
            is_new = _posted_in(item, start, end)
            if tallies[item.discussion.id].replies:
                (fresh if is_new else late).append(item)
            elif is_new and item.replies_ever == 0 and item.discussion.anonymous_replies == 0:
                waiting.append(
                    WaitingArticle(
                        safe(item.article.title, 256), item.article.url, self._link(item), item.discussion.id
                    )
                )
        # Ranked on counts: only the discussions shown are read word by word (highlights,
        # themes), which is most of a digest's work over a busy week.
        fresh.sort(key=lambda a: tallies[a.discussion.id].rank(), reverse=True)
        late.sort(key=lambda a: tallies[a.discussion.id].rank(), reverse=True)
        shown, shown_late = fresh[:MAX_RANKED], late[:MAX_LATE]
        read = [a.discussion.id for a in (*shown, *shown_late)]
        heard = {
            key: hear(views) for key, views in (await self._store.period_replies(read, start, end)).items()
        }
        voiced = {key: voices(said) for key, said in heard.items()}
        common = boilerplate([[v for v, _ in pairs] for pairs in voiced.values()])

        def summary(item: DiscussionActivity) -> DiscussionSummary:
            key = item.discussion.id
            tally = tallies[key]
            return DiscussionSummary(
                title=safe(item.article.title, 256),
                article_url=item.article.url,
                thread_link=self._link(item),
                replies=tally.replies,
                participants=tally.participants,
                reactions=tally.reactions,
                highlights=highlights(heard.get(key, [])),
                themes=themes(voiced.get(key, []), common),
                discussion_id=key,
            )

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
                newcomer_names=census.newcomer_names(newcomers, first_seen),
            ),
            discussions=tuple(summary(a) for a in shown),
            more_discussions=max(0, len(fresh) - MAX_RANKED),
            late=tuple(summary(a) for a in shown_late),
            waiting=tuple(waiting[:MAX_WAITING]),
            more_waiting=max(0, len(waiting) - MAX_WAITING),
            note=note,
            days=census.days,
        )

    def _link(self, item: DiscussionActivity) -> str | None:
        platform = self._platforms.get(item.discussion.community.platform)
        return platform.thread_link(item.discussion) if platform else None
