"""Digest schedules and posting: once per channel and period, on time or late."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.digest import Digest, DigestBuilder
from bot.i18n import Languages
from bot.layout import DigestPost, Style
from bot.models import Community, DigestSchedule
from bot.platform import ChatPlatform, PartlyPosted
from bot.schedule import next_run, previous_run
from bot.store import Store

_log = logging.getLogger(__name__)

LATE_LIMIT = timedelta(days=1)  # a digest missed by more than this is skipped
LATE_NOTE_AFTER = timedelta(minutes=10)
DEFAULT_PERIOD = timedelta(days=7)


class DigestJobs:
    def __init__(
        self,
        store: Store,
        builder: DigestBuilder,
        platforms: Mapping[str, ChatPlatform],
        clock: Clock,
        languages: Languages,
        *,
        archive_url: str | None = None,
    ) -> None:
        self._store = store
        self._builder = builder
        self._platforms = platforms
        self._clock = clock
        self._languages = languages
        self._archive_url = archive_url
        # Scheduled digests cut off part-way by a refusal: the digest as built and the ids of
        # the messages that went out, so the next try sends only the rest. In memory: after a
        # crash the claim stands and the rest is not sent (at most once, never twice).
        self._partial: dict[tuple[Community, str, datetime], tuple[Digest, list[str]]] = {}

    async def set_schedule(
        self, community: Community, channel_id: str, weekday: int, at: time, timezone: str
    ) -> DigestSchedule:
        schedule = DigestSchedule(
            community=community,
            channel_id=channel_id,
            weekday=weekday,
            at=at,
            timezone=timezone,
            enabled=True,
            next_run_at=next_run(weekday, at, timezone, self._clock.now()),
            last_run_at=None,
        )
        existing = {s.channel_id: s for s in await self._store.digest_schedules(community)}
        if channel_id in existing:  # keep where the last digest ended
            schedule = replace(schedule, last_run_at=existing[channel_id].last_run_at)
        await self._store.set_digest_schedule(schedule)
        return schedule

    async def current(self, community: Community) -> tuple[Digest, list[DigestSchedule]]:
        """The digest `digest now` would post at this moment, and where it would go."""
        schedules = [s for s in await self._store.digest_schedules(community) if s.enabled]
        now = self._clock.now()
        # Where the scheduled digest's period would begin: its last run, else
        # the schedule's previous slot, else a week back.
        starts = [s.last_run_at or previous_run(s.weekday, s.at, s.timezone, now) for s in schedules]
        start = max(starts) if starts else now - DEFAULT_PERIOD
        timezone = schedules[0].timezone if schedules else "UTC"
        return await self._builder.build(community, start, now, timezone=timezone), schedules

    async def at(self, community: Community, end: datetime) -> Digest:
        """The digest of the period that ends at `end` (a past week's, for instance): from the
        schedule's previous slot before `end`, else a week back. A naive `end` is a wall time
        in the schedule's timezone (UTC without a schedule)."""
        schedules = [s for s in await self._store.digest_schedules(community) if s.enabled]
        timezone = schedules[0].timezone if schedules else "UTC"
        if end.tzinfo is None:
            end = end.replace(tzinfo=ZoneInfo(timezone))
        end = end.astimezone(UTC)
        starts = [previous_run(s.weekday, s.at, s.timezone, end) for s in schedules]
        start = max(starts) if starts else end - DEFAULT_PERIOD
        return await self._builder.build(community, start, end, timezone=timezone)

    async def shaped(self, digest: Digest, channel_id: str) -> DigestPost:
        """The digest as `channel_id` gets it: in its style, in the community's words."""
        settings = await self._store.get_channel_settings(digest.community, channel_id)
        style = Style(settings.digest_style) if settings else Style.COMPACT
        words = self._languages.words(digest.language)
        return DigestPost(digest, words, style, self._archive_url)

    async def post(self, digest: Digest, channel_id: str, *, skip: int = 0) -> list[str]:
        platform = self._platforms[digest.community.platform]
        shaped = await self.shaped(digest, channel_id)
        return await platform.post_digest(digest.community, channel_id, shaped, skip=skip)

    async def posted_by_hand(self, schedule: DigestSchedule, digest: Digest) -> None:
        """After `digest now`, the scheduled digest starts where this one ended."""
        assert schedule.next_run_at is not None
        await self._store.advance_digest_schedule(
            schedule.community, schedule.channel_id, digest.period_end, schedule.next_run_at
        )

    async def run_due(self) -> int:
        """Post every scheduled digest that is due; returns how many were posted."""
        posted = 0
        for schedule in await self._store.due_digest_schedules(self._clock.now()):
            if schedule.community.platform not in self._platforms:
                continue  # that platform runs in another process or not at all
            try:
                posted += await self._run(schedule)
            except Exception:
                _log.exception("digest for %s %s failed", schedule.community.key, schedule.channel_id)
        return posted

    async def _run(self, schedule: DigestSchedule) -> int:
        assert schedule.next_run_at is not None
        now = self._clock.now()
        end = schedule.next_run_at
        start = schedule.last_run_at or previous_run(schedule.weekday, schedule.at, schedule.timezone, end)
        following = next_run(schedule.weekday, schedule.at, schedule.timezone, max(now, end))
        community, channel = schedule.community, schedule.channel_id
        overdue = now - end
        if overdue > LATE_LIMIT:
            _log.warning(
                "digest for %s %s due %s was missed by %s: skipped",
                community.key, channel, end.isoformat(), overdue,
            )  # fmt: skip
            # last_run_at stays: the next digest covers the skipped week too.
            await self._store.advance_digest_schedule(community, channel, start, following)
            return 0
        key = (community, channel, end)
        resumed = self._partial.pop(key, None)
        if resumed is None and not await self._store.claim_digest(community, channel, start, end, now):
            await self._store.advance_digest_schedule(community, channel, end, following)
            return 0  # posted before (a restart between posting and advancing)
        note = None
        if overdue > LATE_NOTE_AFTER:
            note = "Posted late: the bot was offline at the scheduled time."
        sent: list[str] = []
        try:
            if resumed is None:
                digest = await self._builder.build(
                    community, start, end, timezone=schedule.timezone, note=note
                )
            else:
                digest, sent = resumed
            ids = sent + await self.post(digest, channel, skip=len(sent))
        except PartlyPosted as exc:
            self._partial[key] = (digest, sent + exc.message_ids)
            raise
        except BaseException:
            if sent:  # part of it is out: keep the claim, send the rest next time
                self._partial[key] = (digest, sent)
            else:  # not posted: free the period so the next tick tries again
                await asyncio.shield(self._store.release_digest(community, channel, end))
            raise
        await self._store.confirm_digest(community, channel, end, ids)
        await self._store.advance_digest_schedule(community, channel, end, following)
        _log.info("posted the digest for %s to %s", community.key, channel)
        return 1
