"""What the archive's pages show, gathered from the store and the digest builder.

Every text here has been through the core's rules already: digest content comes
from `DigestBuilder.build`, discussion pages keep only `bot.export.visible`
replies named by `author_label`, and free text passes `safe` (no live mentions,
no control characters). The templates only lay it out and escape it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.archive.chart import BarChart, Point, bar_chart
from bot.archive.periods import Cadence, Period, cadence_of, weekly_periods
from bot.digest import Digest, DigestBuilder, DiscussionSummary, WaitingArticle, author_label
from bot.export import visible
from bot.i18n import Languages, Words
from bot.layout import change, period_label
from bot.models import Article, Community, Discussion, ReplyView
from bot.platform import ChatPlatform
from bot.prompts import render_prompt
from bot.store import Store
from bot.text import count, safe

TITLE_LENGTH = 256  # as the digest's titles
SUMMARY_LENGTH = 1200
REPLY_LENGTH = 4000

Row = tuple[Discussion, Article, list[ReplyView]]


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    value: int
    change: str


@dataclass(frozen=True, slots=True)
class Listed:
    """A discussion as a digest lists it, with its page in the archive when known."""

    summary: DiscussionSummary
    page: str | None


@dataclass(frozen=True, slots=True)
class Waiting:
    item: WaitingArticle
    page: str | None


@dataclass(frozen=True, slots=True)
class PageLink:
    title: str
    page: str


@dataclass(frozen=True, slots=True)
class WeekPage:
    community: Community
    community_name: str
    anchor: str  # the community's section on the index
    path: str
    label: str
    period: str
    open: bool
    digest: Digest
    figures: tuple[Figure, ...]
    newcomers: str | None
    chart: BarChart
    sparkline: BarChart  # the same days, small, for the index
    ranked: tuple[Listed, ...]
    late: tuple[Listed, ...]
    waiting: tuple[Waiting, ...]
    others: tuple[PageLink, ...]  # posted this week, not listed above


@dataclass(frozen=True, slots=True)
class ShownReply:
    author: str
    text: str
    written: str
    reactions: int
    featured: bool
    edited: bool


@dataclass(frozen=True, slots=True)
class DiscussionPage:
    community: Community
    community_name: str
    anchor: str
    path: str
    title: str
    article_url: str | None
    source: str
    summary: str
    prompt: str
    posted: str
    thread_link: str | None
    replies: tuple[ShownReply, ...]
    participants: int
    week: PageLink | None


@dataclass(frozen=True, slots=True)
class CommunitySection:
    community: Community
    name: str
    anchor: str
    timezone: str
    weeks: tuple[WeekPage, ...]  # newest first, quiet weeks left out
    quiet: int
    chart: BarChart  # replies per week, oldest first, quiet weeks included


@dataclass(frozen=True, slots=True)
class Site:
    communities: tuple[CommunitySection, ...]
    discussions: tuple[DiscussionPage, ...]
    written: str

    @property
    def weeks(self) -> tuple[WeekPage, ...]:
        return tuple(w for c in self.communities for w in c.weeks)


@dataclass(frozen=True, slots=True)
class _Target:
    """What is needed to find a discussion's page from a digest entry."""

    discussion: Discussion
    title: str
    url: str | None
    thread_link: str | None
    page: str


def community_name(community: Community) -> str:
    return f"{community.platform.capitalize()} · {safe(community.id, 80)}"


def _slugs(communities: Sequence[Community]) -> dict[Community, str]:
    slugs: dict[Community, str] = {}
    for community in communities:
        base = re.sub(r"[^a-z0-9]+", "-", community.key.lower()).strip("-") or "community"
        slug, n = base, 1
        while slug in slugs.values():
            n += 1
            slug = f"{base}-{n}"
        slugs[community] = slug
    return slugs


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %d %b %Y, %H:%M}"


@dataclass(frozen=True, slots=True)
class _Place:
    """One community as the archive names and times it."""

    community: Community
    name: str
    slug: str
    cadence: Cadence

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.cadence.timezone)

    def week_path(self, period: Period) -> str:
        return f"digests/{self.slug}-{period.start.astimezone(self.zone):%Y-%m-%d}.html"


class PageBuilder:
    def __init__(
        self,
        store: Store,
        builder: DigestBuilder,
        platforms: Mapping[str, ChatPlatform],
        words: Words | None = None,
    ) -> None:
        self._store = store
        self._builder = builder
        self._platforms = platforms
        self._words = words or Languages().words("en")  # the archive is written in English for now

    async def site(self, now: datetime) -> Site:
        rows = await self._store.export(None)
        by_community: dict[Community, list[Row]] = defaultdict(list)
        for row in rows:
            by_community[row[0].community].append(row)
        communities = sorted(by_community, key=lambda c: c.key)
        slugs = _slugs(communities)
        sections: list[CommunitySection] = []
        discussions: list[DiscussionPage] = []
        for community in communities:
            cadence = cadence_of(await self._store.digest_schedules(community))
            place = _Place(community, community_name(community), slugs[community], cadence)
            section, pages = await self._community(place, by_community[community], now)
            sections.append(section)
            discussions.extend(pages)
        return Site(tuple(sections), tuple(discussions), f"{now:%a %d %b %Y, %H:%M} UTC")

    async def _community(
        self, place: _Place, rows: list[Row], now: datetime
    ) -> tuple[CommunitySection, list[DiscussionPage]]:
        posted = [d.posted_at for d, _, _ in rows if d.posted_at is not None]
        written = [v.reply.created_at for _, _, replies in rows for v in replies]
        # A console clock may run ahead of the real one: the open week reaches the newest activity.
        horizon = max([now, *(moment + timedelta(microseconds=1) for moment in [*posted, *written])])
        periods = weekly_periods(place.cadence, min(posted), horizon) if posted else []
        targets = [self._target(d, a) for d, a, _ in rows]

        weeks: list[WeekPage] = []
        homes: list[tuple[Period, PageLink]] = []  # where each shown week's discussions belong
        points: list[Point] = []
        for period in periods:
            digest = await self._builder.build(
                place.community, period.start, period.end, timezone=place.cadence.timezone
            )
            path = place.week_path(period)
            shown = not digest.empty or digest.figures.articles > 0
            label = _week_label(period, place.zone)
            if shown:
                weeks.append(self._week(place, path, label, period, digest, targets))
                homes.append((period, PageLink(label, path)))
            points.append(
                Point(
                    label=f"{period.start.astimezone(place.zone):%d %b}",
                    value=digest.figures.replies,
                    title=f"{label}: {count(digest.figures.replies, 'reply', 'replies')}",
                    href=path if shown else None,
                )
            )

        pages = []
        for (discussion, article, replies), target in zip(rows, targets, strict=True):
            when = discussion.posted_at
            home = next((link for p, link in homes if when and p.start <= when < p.end), None)
            pages.append(self._discussion(place, target, article, replies, home))
        section = CommunitySection(
            community=place.community,
            name=place.name,
            anchor=place.slug,
            timezone=place.cadence.timezone,
            weeks=tuple(reversed(weeks)),
            quiet=len(periods) - len(weeks),
            chart=bar_chart(points, slot=28.0, min_width=640.0, plot_height=72.0),
        )
        return section, pages

    def _target(self, discussion: Discussion, article: Article) -> _Target:
        platform = self._platforms.get(discussion.community.platform)
        return _Target(
            discussion=discussion,
            title=safe(article.title, TITLE_LENGTH),
            url=article.url,
            thread_link=platform.thread_link(discussion) if platform else None,
            page=f"discussions/{discussion.id}.html",
        )

    def _week(
        self, place: _Place, path: str, label: str, period: Period, digest: Digest, targets: list[_Target]
    ) -> WeekPage:
        def posted_in(t: _Target) -> bool:
            return t.discussion.posted_at is not None and period.start <= t.discussion.posted_at < period.end

        posted = [t for t in targets if posted_in(t)]
        earlier = [t for t in targets if t.discussion.posted_at and t.discussion.posted_at < period.start]
        ranked = tuple(Listed(s, _page_of(s.discussion_id, posted)) for s in digest.discussions)
        late = tuple(Listed(s, _page_of(s.discussion_id, earlier)) for s in digest.late)
        waiting = tuple(Waiting(w, _page_of(w.discussion_id, posted)) for w in digest.waiting)
        listed = {x.page for x in ranked} | {x.page for x in waiting}
        others = tuple(PageLink(t.title, t.page) for t in posted if t.page not in listed)
        f = digest.figures
        figures = (
            _figure(f.articles, f.previous.articles, "article", "articles", self._words),
            _figure(f.replies, f.previous.replies, "reply", "replies", self._words),
            _figure(f.participants, f.previous.participants, "participant", "participants", self._words),
        )
        return WeekPage(
            community=place.community,
            community_name=place.name,
            anchor=place.slug,
            path=path,
            label=label,
            period=period_label(digest, self._words),
            open=period.open,
            digest=digest,
            figures=figures,
            newcomers=_newcomers(digest),
            chart=_day_chart(digest),
            sparkline=_sparkline(digest),
            ranked=ranked,
            late=late,
            waiting=waiting,
            others=others,
        )

    def _discussion(
        self,
        place: _Place,
        target: _Target,
        article: Article,
        replies: list[ReplyView],
        week: PageLink | None,
    ) -> DiscussionPage:
        zone = place.zone
        shown = sorted(visible(replies), key=lambda v: (v.reply.created_at, v.reply.id))
        d = target.discussion
        return DiscussionPage(
            community=d.community,
            community_name=place.name,
            anchor=place.slug,
            path=target.page,
            title=target.title,
            article_url=article.url,
            source=safe(article.source, 120),
            summary=safe(article.summary, SUMMARY_LENGTH, keep_newlines=True),
            prompt=render_prompt(d.prompt, article),  # as the platform posted it
            posted=f"{_when(d.posted_at, zone)} ({place.cadence.timezone})" if d.posted_at else "",
            thread_link=target.thread_link,
            replies=tuple(
                ShownReply(
                    author=author_label(v),
                    text=safe(v.reply.text, REPLY_LENGTH, keep_newlines=True),
                    written=_when(v.reply.created_at, zone),
                    reactions=v.reply.reactions,
                    featured=v.reply.featured,
                    edited=v.reply.edited_at is not None,
                )
                for v in shown
            ),
            participants=len({v.reply.author_id for v in shown}),
            week=week,
        )


def _week_label(period: Period, zone: ZoneInfo) -> str:
    start = period.start.astimezone(zone)
    return f"Week of {start:%a} {start.day} {start:%b %Y}" + (" (so far)" if period.open else "")


def _page_of(discussion_id: int | None, candidates: list[_Target]) -> str | None:
    """The archive page of a digest entry, if the archive has one."""
    return next((t.page for t in candidates if t.discussion.id == discussion_id), None)


def _figure(now: int, before: int, one: str, many: str, words: Words) -> Figure:
    return Figure(one if now == 1 else many, now, change(now, before, words))


def _newcomers(digest: Digest) -> str | None:
    f = digest.figures
    if f.newcomer_names:
        names = ", ".join(f.newcomer_names)
        more = f.newcomers - len(f.newcomer_names)
        return f"New voices this week: {names}" + (f" and {more} more" if more > 0 else "") + "."
    if f.newcomers:
        return f"{count(f.newcomers, 'member')} joined the conversation for the first time."
    return None


def _sparkline(digest: Digest) -> BarChart:
    points = [Point(f"{d.day:%a}", d.replies, count(d.replies, "reply", "replies")) for d in digest.days]
    return bar_chart(points, slot=14.0, plot_height=36.0, top=2.0, bottom=2.0)


def _day_chart(digest: Digest) -> BarChart:
    return bar_chart(
        [
            Point(
                label=f"{day.day:%a} {day.day.day}",
                value=day.replies,
                secondary=day.participants,
                title=(
                    f"{day.day:%A} {day.day.day} {day.day:%B}: {count(day.replies, 'reply', 'replies')}"
                    f" from {count(day.participants, 'participant')}"
                ),
            )
            for day in digest.days
        ]
    )
