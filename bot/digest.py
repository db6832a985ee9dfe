"""The digest: what a community said in one period, with the privacy rules applied.

`DigestBuilder` turns stored activity into a `Digest`; every text in it is
already safe to show (no hidden, deleted or opted-out words, anonymous members
unnamed, mentions neutralised). Platforms only lay it out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.digest_model import (
    ANONYMOUS_NAME,
    DayCount,
    Digest,
    DiscussionSummary,
    Figures,
    Highlight,
    Theme,
    WaitingArticle,
    author_label,
    label,
)
from bot.gist import Gist, GistEngine, GistFailed, GistRequest
from bot.i18n import CommunityWords, Words, english
from bot.models import Community, CommunitySettings, DiscussionTally, PeriodActivity, PeriodCounts
from bot.platform import ChatPlatform
from bot.quotes import DigestReader, Reading
from bot.store import Store
from bot.text import safe

_log = logging.getLogger(__name__)

__all__ = (
    "ANONYMOUS_NAME",
    "Census",
    "DayCount",
    "Digest",
    "DigestBuilder",
    "DiscussionSummary",
    "Figures",
    "Highlight",
    "Theme",
    "WaitingArticle",
    "author_label",
)

MAX_RANKED = 10
MAX_LATE = 5
MAX_WAITING = 10
MAX_NEWCOMER_NAMES = 10
MODEL_CALLS_AT_ONCE = 2  # a local model server answers one or two at a time anyway


@dataclass(frozen=True, slots=True)
class Census:
    """Who replied in a period, on which local days, and who of them is new (opted-out
    members left out of all of it)."""

    participants: int
    days: tuple[DayCount, ...]  # per local day of the period, quiet days included
    newcomers: int
    newcomer_names: tuple[str, ...]  # in order of arrival: never an anonymous member


def local_days(start: datetime, end: datetime, timezone: str) -> tuple[list[date], list[datetime]]:
    """The local days of a period, and each local midnight between them as a UTC instant (a
    reply's day is the number of those it follows)."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return days, [datetime.combine(d, time(), zone).astimezone(UTC) for d in days[1:]]


def _rank(item: DiscussionTally) -> tuple[int, int, int]:
    """Replies, then participants, then reactions."""
    return (item.replies, item.participants, item.reactions)


def _fingerprint(request: GistRequest) -> str:
    """What a gist was made of: the same words in the same language give the same gist."""
    said = [(r.author, r.text) for r in request.replies]
    material = json.dumps([request.language, request.title, request.prompt, said], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


_T = TypeVar("_T")


class _Reads:
    """Store reads started beside a build's own work; any still running when the build
    fails are cancelled."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []

    def start(self, read: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        task = asyncio.create_task(read)
        self._tasks.append(task)
        return task

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()  # a no-op for the reads already awaited
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _posted_in(item: DiscussionTally, start: datetime, end: datetime) -> bool:
    posted = item.discussion.posted_at
    return posted is not None and start <= posted < end


class DigestBuilder:
    """Builds digests in each community's language, with a gist for every discussion shown:
    the built-in one, or the model's where a community switched it on and one is configured
    (any failure of the model falls back to the built-in gist, and the log says why)."""

    def __init__(
        self,
        store: Store,
        platforms: Mapping[str, ChatPlatform],
        *,
        words: CommunityWords | None = None,
        model: GistEngine | None = None,
    ) -> None:
        self._store = store
        self._platforms = platforms
        self._words = words
        self._model = model

    async def build(
        self,
        community: Community,
        start: datetime,
        end: datetime,
        *,
        timezone: str = "UTC",
        note: str | None = None,
    ) -> Digest:
        settings = await self._store.get_community_settings(community)
        words = await self._words.words(community) if self._words else english()
        # The reads that only the figures need run beside the rest of the work: on SQLite the
        # database's thread works while replies are read word by word, on PostgreSQL they run
        # on other pooled connections.
        reads = _Reads()
        try:
            return await self._build(community, start, end, timezone, note, settings, words, reads)
        finally:
            await reads.close()

    async def _build(
        self,
        community: Community,
        start: datetime,
        end: datetime,
        timezone: str,
        note: str | None,
        settings: CommunitySettings,
        words: Words,
        reads: _Reads,
    ) -> Digest:
        # Counted by the database: only the counts of each discussion, day and replier cross
        # into Python, not the period's replies one by one.
        days, midnights = local_days(start, end, timezone)
        counted = await self._store.period_activity(community, start, end, midnights)
        activity = counted.discussions
        fresh: list[DiscussionTally] = []
        late: list[DiscussionTally] = []
        waiting: list[WaitingArticle] = []
        for item in activity:
            is_new = _posted_in(item, start, end)
            if item.replies:
                (fresh if is_new else late).append(item)
            elif is_new and item.replies_ever == 0 and item.discussion.anonymous_replies == 0:
                waiting.append(
                    WaitingArticle(
                        safe(item.article.title, 256), item.article.url, self._link(item), item.discussion.id
                    )
                )
        # Ranked on counts: only the discussions shown are read word by word (highlights,
        # themes), which is most of a digest's work over a busy week.
        fresh.sort(key=_rank, reverse=True)
        late.sort(key=_rank, reverse=True)
        shown, shown_late = fresh[:MAX_RANKED], late[:MAX_LATE]
        read = [a.discussion.id for a in (*shown, *shown_late)]
        # Asked for in this order (on SQLite the reads queue on one connection): the shown
        # replies and the newcomers (rows to hand to Python) before the reading word by word
        # starts, since a query returning rows while a thread of Python runs waits for the
        # interpreter's lock at every row; the previous period's counts (one row: the database
        # works without the lock, on PostgreSQL on another pooled connection) while it runs.
        replies_read = reads.start(self._store.period_replies(read, start, end))
        census_read = reads.start(self._census(community, start, end, counted, days))
        previous_read = reads.start(self._store.period_counts(community, start - (end - start), start))
        replies = await replies_read
        census = await census_read

        # Reading thousands of replies word by word (and the language's word list, once) is
        # work for a thread, not for the event loop.
        # In the order shown: the first discussions get the first pick of quotes.
        def read_all() -> dict[int, Reading]:
            reader = DigestReader(words, replies)
            return {
                a.discussion.id: reader.read(
                    a.discussion.id,
                    title=a.article.title,
                    prompt=a.discussion.prompt,
                    site=a.article.url or "",
                )
                for a in (*shown, *shown_late)
            }

        readings = await asyncio.to_thread(read_all)
        # What `Store.period_counts` would answer for this period, without reading it again.
        current = PeriodCounts(
            articles=sum(_posted_in(a, start, end) for a in activity),
            replies=sum(a.replies for a in activity),
            participants=census.participants,
        )
        previous = await previous_read
        gists = {key: reading.gist for key, reading in readings.items()}
        if settings.summaries == "model" and self._model is not None:
            gists |= await self._model_gists(readings, start, end)

        def summary(item: DiscussionTally) -> DiscussionSummary:
            key = item.discussion.id
            reading, gist = readings[key], gists[key]
            return DiscussionSummary(
                title=safe(item.article.title, 256),
                article_url=item.article.url,
                thread_link=self._link(item),
                replies=item.replies,
                participants=item.participants,
                reactions=item.reactions,
                highlights=reading.highlights,
                themes=reading.themes,
                discussion_id=key,
                gist=gist.text,
                gist_engine=gist.engine,
                experiences=reading.experiences,
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
                newcomers=census.newcomers,
                previous=previous,
                newcomer_names=census.newcomer_names,
            ),
            discussions=tuple(summary(a) for a in shown),
            more_discussions=max(0, len(fresh) - MAX_RANKED),
            late=tuple(summary(a) for a in shown_late),
            waiting=tuple(waiting[:MAX_WAITING]),
            more_waiting=max(0, len(waiting) - MAX_WAITING),
            note=note,
            days=census.days,
            language=words.language,
        )

    async def _census(
        self, community: Community, start: datetime, end: datetime, counted: PeriodActivity, days: list[date]
    ) -> Census:
        """The period's repliers and days, and its newcomers: members whose first reply in
        the community was written in it."""
        # Only the newcomers' first replies come back: for the others, "before the period"
        # is all there is to know.
        first_seen = await self._store.first_reply_times(community, counted.authors, since=start)
        newcomers = set(first_seen)
        # In the order of their first shown reply, so that arrivals at the same instant keep it.
        names = await self._store.period_names(community, start, end, newcomers - counted.anonymous)
        named = sorted(names, key=lambda a: first_seen[a])[:MAX_NEWCOMER_NAMES]
        return Census(
            participants=len(counted.authors),
            days=tuple(DayCount(day, *counted.days[n]) for n, day in enumerate(days)),
            newcomers=len(newcomers),
            newcomer_names=tuple(label(names[a], False) for a in named),
        )

    async def _model_gists(
        self, readings: Mapping[int, Reading], start: datetime, end: datetime
    ) -> dict[int, Gist]:
        """The model's gist of each discussion that has replies to send, a few at a time; a
        gist kept from an earlier build of the same replies is used again, not asked for."""
        limit = asyncio.Semaphore(MODEL_CALLS_AT_ONCE)

        async def one(key: int, reading: Reading) -> tuple[int, Gist]:
            request = reading.request
            fingerprint = _fingerprint(request)
            kept = await self._store.get_gist(key, start, fingerprint)
            if kept is not None:
                engine, text = kept
                return key, Gist(text, engine, reading.experiences)
            assert self._model is not None
            try:
                async with limit:
                    made = await self._model.gist(request)
            except GistFailed as exc:
                _log.warning(
                    "the model's gist of discussion %s failed (%s): the built-in gist is used", key, exc
                )
                return key, reading.gist
            await self._store.save_gist(key, start, fingerprint, made.engine, made.text, end)
            return key, Gist(made.text, made.engine, reading.experiences)

        asked = [one(key, reading) for key, reading in readings.items() if reading.request.replies]
        return dict(await asyncio.gather(*asked))

    def _link(self, item: DiscussionTally) -> str | None:
        platform = self._platforms.get(item.discussion.community.platform)
        return platform.thread_link(item.discussion) if platform else None
