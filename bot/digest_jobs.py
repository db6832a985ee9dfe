"""Digest schedules and posting: once per channel and period, on time or late."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.digest import Digest, DigestBuilder
from bot.i18n import Languages
from bot.layout import DigestPost, Style
from bot.models import Community, DigestClaim, DigestSchedule
from bot.platform import ChatPlatform, is_connected
from bot.schedule import next_run, previous_run
from bot.store import Store

_log = logging.getLogger(__name__)

LATE_LIMIT = timedelta(days=1)  # a digest missed by more than this is skipped
LATE_NOTE_AFTER = timedelta(minutes=10)
# A digest is sent within seconds of its claim; a claim older than this was cut off (a crash,
# a refusal part-way) and is finished, or released when none of its messages went out.
STALE_CLAIM = timedelta(minutes=10)
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

    async def post(
        self,
        digest: Digest,
        channel_id: str,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        platform = self._platforms[digest.community.platform]
        shaped = await self.shaped(digest, channel_id)
        return await platform.post_digest(digest.community, channel_id, shaped, skip=skip, sent=sent)

    async def post_once(self, digest: Digest, channel_id: str) -> list[str]:
        """`digest now`: the digest's period is claimed and each message's id recorded as it
        goes out, so a try cut off after some went out (a crash, a refusal) is finished by the
        scheduler (`finish_unfinished`) and never sent twice; one cut off before any went out
        is released."""
        community, end = digest.community, digest.period_end
        if not await self._store.claim_digest(
            community, channel_id, digest.period_start, end, self._clock.now()
        ):
            return await self.post(digest, channel_id)  # the same instant twice: nothing to guard
        ids = await self._send(digest, channel_id, [])
        await self._store.confirm_digest(community, channel_id, end, ids)
        return ids

    async def _send(self, digest: Digest, channel_id: str, ids: list[str]) -> list[str]:
        """Send the claimed digest's messages after the `ids` sent before, recording each; on
        failure the claim is kept if any message is out, else released."""
        community, end = digest.community, digest.period_end

        async def record(message_id: str) -> None:
            ids.append(message_id)
            await self._store.record_digest_messages(community, channel_id, end, ids)

        try:
            await self.post(digest, channel_id, skip=len(ids), sent=record)
        except BaseException:
            if not ids:  # nothing out: free the period so a later try posts it
                await asyncio.shield(self._store.release_digest(community, channel_id, end))
            raise
        return ids

    async def finish_unfinished(self) -> int:
        """Finish the digests whose posting was cut off part-way (claimed over `STALE_CLAIM`
        ago, some messages out): the digest of the same period is built again and only the
        rest is sent. A claim with no message out is released (a scheduled digest is then
        posted by its schedule). Returns how many were finished."""
        finished = 0
        now = self._clock.now()
        for claim in await self._store.unfinished_digests(now - STALE_CLAIM):
            if not is_connected(self._platforms, claim.community.platform):
                continue  # in another process, or down: finished once it is connected again
            where = f"{claim.community.key} {claim.channel_id}"
            if not claim.message_ids:
                _log.warning("the digest for %s was cut off before it went out: released", where)
                await self._store.release_digest(claim.community, claim.channel_id, claim.period_end)
                continue
            try:
                finished += await self._finish(claim, now)
            except Exception:
                _log.exception("finishing the digest for %s failed", where)
        return finished

    async def _finish(self, claim: DigestClaim, now: datetime) -> int:
        community, channel, end = claim.community, claim.channel_id, claim.period_end
        schedule = next(
            (s for s in await self._store.digest_schedules(community) if s.channel_id == channel), None
        )
        timezone = schedule.timezone if schedule else "UTC"
        digest = await self._builder.build(community, claim.period_start, end, timezone=timezone)
        ids = await self._send(digest, channel, list(claim.message_ids))
        await self._store.confirm_digest(community, channel, end, ids)
        if schedule is not None and schedule.enabled and (schedule.last_run_at or end) <= end:
            assert schedule.next_run_at is not None
            following = schedule.next_run_at
            if following <= end:  # the scheduled digest itself: move on to the next slot
                following = next_run(schedule.weekday, schedule.at, schedule.timezone, max(now, end))
            await self._store.advance_digest_schedule(community, channel, end, following)
        _log.warning(
            "the digest for %s %s was cut off after %d messages: the rest is posted",
            community.key, channel, len(claim.message_ids),
        )  # fmt: skip
        return 1

    async def posted_by_hand(self, schedule: DigestSchedule, digest: Digest) -> None:
        """After `digest now`, the scheduled digest starts where this one ended."""
        assert schedule.next_run_at is not None
        await self._store.advance_digest_schedule(
            schedule.community, schedule.channel_id, digest.period_end, schedule.next_run_at
        )

    async def run_due(self) -> int:
        """Post every scheduled digest that is due; returns how many were posted."""
        posted = await self.finish_unfinished()
        for schedule in await self._store.due_digest_schedules(self._clock.now()):
            if not is_connected(self._platforms, schedule.community.platform):
                continue  # in another process, not at all, or down: stays due until it is back
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
        if not await self._store.claim_digest(community, channel, start, end, now):
            unfinished = await self._store.unfinished_digests(now + timedelta(seconds=1))
            if any(
                (c.community, c.channel_id, c.period_end) == (community, channel, end) for c in unfinished
            ):
                return 0  # cut off part-way a moment ago: `finish_unfinished` finishes it
            await self._store.advance_digest_schedule(community, channel, end, following)
            return 0  # posted before (a restart between posting and advancing)
        note = None
        if overdue > LATE_NOTE_AFTER:
            note = "Posted late: the bot was offline at the scheduled time."
        try:
            digest = await self._builder.build(community, start, end, timezone=schedule.timezone, note=note)
        except BaseException:
            await asyncio.shield(self._store.release_digest(community, channel, end))
            raise
        ids = await self._send(digest, channel, [])
        await self._store.confirm_digest(community, channel, end, ids)
        await self._store.advance_digest_schedule(community, channel, end, following)
        _log.info("posted the digest for %s to %s", community.key, channel)
        return 1
